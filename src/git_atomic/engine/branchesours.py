"""Branches an operation made symbolic refs to one of our own refs (`git symbolic-ref
refs/heads/main refs/atomic/ops/...`), found and made branches of their own again before a
rollback's rescue is taken (gitlinks.py, which names them too, did so before)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from git_atomic.core.errors import GitError

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo


def branches_on_ours(repo: Repo, listed: bytes | None = None) -> list[str]:
    """The branches that are symbolic refs to one of our own refs (`git symbolic-ref
    refs/heads/main refs/atomic/ops/...`): a commit on them moves a checkpoint's ref, which
    `git atomic gc` later deletes with the commits made on it. `listed`: a listing of
    `Repo.refs_listing` that covers refs/heads/ (none is run then)."""
    if listed is None:
        from git_atomic.engine.gitoutput import REFS_FORMAT

        listed = repo.run(
            "for-each-ref", f"--format={REFS_FORMAT}", "refs/heads/", check=False
        ).stdout
    found = []
    for line in listed.decode("utf-8", "surrogateescape").splitlines():
        _, name, symref = line.split(" ", 2)
        if name.startswith("refs/heads/") and symref.startswith("refs/atomic/"):
            found.append(name)
    return found


def branches_off_ours(
    repo: Repo, target_branches: Mapping[str, str], listed: bytes | None = None
) -> bool:
    """Such branches made branches of their own again, as the restore's target holds them
    (removed where it has none): the symbolic ref itself goes, never the ref it names. Before
    the rescue is taken, as HEAD is: `undo` then never makes one again, nor deletes the branch
    it was. True when there was one. `listed`: as for `branches_on_ours`."""
    names = branches_on_ours(repo, listed)
    for name in names:
        repo.run("symbolic-ref", "--delete", name)  # its reflog goes with it
        if name in target_branches:
            # The reflog the PRE-OP kept comes back first, as for a branch made again.
            from git_atomic.engine import reflogkeep

            written = reflogkeep.put_back(repo, name, target_branches[name])
            try:
                repo.run(
                    "update-ref", "-m", "git-atomic: off refs/atomic/", name, target_branches[name]
                )
            except GitError:
                if written:
                    reflogkeep.forget(repo, name)
                raise
    return bool(names)
