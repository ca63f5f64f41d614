"""Commits a move takes off a branch that a remote already has, said after it.

A rollback (of a run whose command pushed, of an operation you pushed since, an `emergency`,
`rollback --to`) moves a branch back over commits that may be on a remote already: they go
from your branch only, the remote keeps them, and a `git pull` brings them back (a `git push`
is refused until then). The move is right, and nothing is pushed or fetched; but a careful user
expects to be told, as `git reset` over a pushed commit is a thing one does knowingly. Named by
the remote-tracking refs (`refs/remotes/`) as your last fetch or push left them: nothing asks the
remote itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from git_atomic.core.errors import GitError
from git_atomic.engine.git import Repo, is_zero

# Commits looked at per move: a move drops an operation's own commits, few; beyond this many
# the oldest are not looked at (their remote would hold the newer ones too).
_AT_MOST: Final = 200


def lines(
    repo: Repo,
    ref_lines: Sequence[str],
    left: Iterable[str],
    tips: Iterable[str],
    *,
    dry_run: bool = False,
) -> list[str]:
    """One line per branch the move took back (its `update-ref --stdin` lines, less the `left`
    ones it did not move) whose dropped commits a remote-tracking ref holds; `tips`: the
    commits the branches and HEAD point at after the move; `dry_run`: said of a move foreseen."""
    kept = set(left)
    moved: list[tuple[str, str, bool]] = []
    for line in ref_lines:
        _verb, name, new, old = line.split()
        if name not in kept and not is_zero(old):
            moved.append((name, old, is_zero(new)))
    if not moved:
        return []
    after = [t for t in dict.fromkeys(tips) if t and not is_zero(t)]
    try:
        return _lines(repo, moved, after, dry_run=dry_run)
    except GitError:
        return []  # a note only: the move is done (a commit git can no longer read, say)


def _lines(
    repo: Repo, moved: list[tuple[str, str, bool]], after: list[str], *, dry_run: bool
) -> list[str]:
    out = []
    for name, old, removed in moved:
        dropped = repo.out(
            "rev-list", f"--max-count={_AT_MOST}", old, "--not", *after, "--"
        ).split()
        if not dropped:
            continue
        listed = repo.out(
            "for-each-ref",
            "--format=%(refname:short)",
            *(f"--contains={sha.decode()}" for sha in dropped),
            "refs/remotes/",
        )
        remotes = [r for r in listed.decode("utf-8", "replace").splitlines() if r]
        remotes = [r for r in remotes if not r.endswith("/HEAD")] or remotes
        if not remotes:
            continue
        # Of the dropped commits, those the remotes hold (the newer ones may be yours alone).
        held = set(
            repo.out(
                "rev-list", *(f"refs/remotes/{r}" for r in remotes), "--not", *after, "--"
            ).split()
        )
        on = [sha.decode() for sha in dropped if sha in held] or [dropped[0].decode()]
        out.append(_line(name.removeprefix("refs/heads/"), on, remotes, removed, dry_run))
    return out


def _line(branch: str, on: list[str], remotes: list[str], removed: bool, dry_run: bool) -> str:
    n = len(on)
    which = f"{n} commits" if n > 1 else f"commit {on[0][:12]}"
    them, are = ("them", "are") if n > 1 else ("it", "is")
    taken = f"{'to be ' if dry_run else ''}{'removed with' if removed else 'taken off'} {branch}"
    then = (
        f"`git checkout {branch}` makes the branch again from there"
        if removed
        else f"a `git pull` brings {them} back, and a `git push` of the branch is refused "
        "until then (or needs --force)"
    )
    return (
        f"{which} ({taken}) {are} on {', '.join(remotes)} already (pushed or fetched): the "
        f"remote keeps {them}; {then}"
    )
