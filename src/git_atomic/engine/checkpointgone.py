"""A checkpoint git no longer holds whole: told in one line instead of git's own failure.

An operation can take away what keeps a checkpoint: delete its ref under `refs/atomic/` and
prune (`git gc --prune=now`), replace the repository (`rm -rf .git && git init`), or remove the
alternate object store its files' blobs live in (`objects/info/alternates` of a `clone
--shared`). A restore to it then fails inside git ("not a tree object", "bad object"); this
module says which checkpoint it is and how much of it is missing. It is asked only after git
failed, never on the way of a restore that works.

Where git fails on every command in the repository instead (the operation broke its
configuration: a `bad config line`, `core.repositoryformatversion 1` with an extension git does
not know), no object is missing: that is said, with git's own line (`GitRefuses`), not that the
checkpoint is gone.
"""

from __future__ import annotations

from git_atomic.core.errors import RefusedError
from git_atomic.engine.git import Repo


class CheckpointGone(RefusedError):
    """A restore's target (or the state it must measure from) is not in the object store."""


class GitRefuses(RefusedError):
    """git fails on every command in the repository: nothing can be read or restored."""


def _refusal(repo: Repo) -> None:
    """Raise GitRefuses where git refuses the repository itself (its configuration broken),
    with git's line (and those indented below it: the extension it does not know)."""
    res = repo.run("rev-parse", "--git-dir", check=False)
    if res.returncode == 0:
        return
    lines = res.stderr.decode("utf-8", "replace").splitlines()
    start = next((i for i, x in enumerate(lines) if x.startswith("fatal: ")), None)
    if start is None:
        return
    said = [lines[start].removeprefix("fatal: ").strip()]
    said += [x.strip() for x in lines[start + 1 :] if x[:1] in ("\t", " ") and x.strip()]
    raise GitRefuses(
        f"git refuses this repository now: {' '.join(said)}; nothing was changed (the "
        "checkpoints are there: the operation changed git's configuration)",
        hint="mend what git names, then `git atomic recover` finishes the rollback",
    )


def missing(repo: Repo, commit: str) -> list[str]:
    """The objects of checkpoint `commit` (the commit, its tree and all under it) that git does
    not have; [] when it is whole. A partial clone's promised objects are not fetched to find
    out (`--missing=print` asks no remote)."""
    head = repo.run("cat-file", "-e", f"{commit}^{{commit}}", check=False)
    if head.returncode != 0:
        _refusal(repo)
        return [commit]
    listed = repo.run("rev-list", "--objects", "--no-walk", "--missing=print", commit, check=False)
    if listed.returncode != 0:  # its tree itself unreadable: rev-list stops there
        return [commit + "^{tree}"]
    return [
        line[1:].decode("ascii", "replace")
        for line in listed.stdout.splitlines()
        if line.startswith(b"?")
    ]


def first_gone(repo: Repo, commits: list[str]) -> tuple[str, list[str]] | None:
    """The first of `commits` that is not whole, with what it misses; None when all are."""
    for commit in dict.fromkeys(commits):
        gone = missing(repo, commit)
        if gone:
            return commit, gone
    return None


def check(repo: Repo, commit: str, *, what: str = "checkpoint") -> None:
    """Raise CheckpointGone when `commit` is not whole; nothing otherwise."""
    gone = missing(repo, commit)
    if gone:
        raise CheckpointGone(describe(commit, gone, what=what) + "; nothing was changed")


def describe(
    commit: str,
    gone: list[str],
    *,
    what: str = "checkpoint",
    verb: str = "restored",
    cause: bool = True,
) -> str:
    """`cause`: name what may have taken them (False: the caller names it)."""
    if gone == [commit]:
        amount = "git no longer has it"
    else:
        amount = f"{len(gone)} of its git objects are missing (first: {gone[0][:12]})"
    said = f"{what} {commit[:12]} cannot be {verb}: {amount}"
    if not cause:
        return said
    return (
        f"{said}; something took away what kept it "
        "(its ref under refs/atomic/ deleted and the objects pruned, `.git` replaced, or an "
        "alternate object store in objects/info/alternates removed)"
    )


def fetched_first(repo: Repo, commit: str) -> None:
    """In a partial clone (`clone --filter=blob:none`), the objects of `commit` git never
    fetched, fetched now, before a restore to it is recorded: where its promisor remote cannot
    give them (gone, offline), CheckpointGone, nothing recorded or changed. Without this the
    restore failed half way on its first read, recorded as interrupted, and `recover` needed
    the same objects. Asked only where the repository is one (restoring.partial_clone)."""
    gone = missing(repo, commit)
    if not gone:
        return
    asked = ("\n".join(gone) + "\n").encode()
    res = repo.run("cat-file", "--batch-check", input=asked, check=False)  # fetches each
    answer = res.stdout.decode("ascii", "replace").splitlines()
    still = [x for x in answer if x.endswith(" missing")]
    if res.returncode == 0 and not still:
        return
    said = [x for x in res.stderr.decode("utf-8", "replace").splitlines() if x.startswith("fatal")]
    why = said[-1].removeprefix("fatal: ") if said else "its promisor remote did not give them"
    raise CheckpointGone(
        f"{len(still) or len(gone)} objects of the state to restore were never fetched into this "
        f"partial clone, and git could not fetch them now ({why}); nothing was changed",
        hint="make the promisor remote reachable again (`git remote -v`), then run this again",
    )
