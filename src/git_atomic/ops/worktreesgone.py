"""Linked worktrees an operation removed (`git worktree remove --force`, `git worktree prune`
after an `rm -rf`): no checkpoint holds another worktree's files, so none comes back with a
rollback. What a rollback can do is say so, with the folder and the commit its checkout was
on, and never call such an operation one that "changed nothing".

An operation records the other linked worktrees when it begins (`WORKTREES`: folder -> what
its HEAD said, Repo.linked_worktrees) and, when it closes, those gone since (`REMOVED`).

One the operation added (`git worktree add ../wt -b nb`) is outside this worktree, where
git-atomic never writes: its own rollback leaves it, and says so with the `git worktree
remove` that takes it away (its branch stays too, checked out there)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Final

from git_atomic.engine.git import Repo

WORKTREES: Final = "worktrees"  # op detail: the other linked worktrees when it began
REMOVED: Final = "worktrees_removed"  # op detail: those gone when it closed


def removed(repo: Repo, details: Mapping[str, object]) -> dict[str, str]:
    """The linked worktrees recorded when the operation began that are gone now."""
    before = details.get(WORKTREES)
    if not isinstance(before, dict) or not before:
        return {}
    now = repo.linked_worktrees()
    return {str(k): str(v) for k, v in before.items() if k not in now}


def added(repo: Repo, details: Mapping[str, object]) -> dict[str, str]:
    """The linked worktrees there now that were not when the operation began (where it
    recorded them: an operation from before this record has none, and is told nothing)."""
    before = details.get(WORKTREES)
    if not isinstance(before, dict):
        return {}
    return {k: v for k, v in repo.linked_worktrees().items() if k not in before}


def added_lines(added: Mapping[str, str]) -> list[str]:
    """One line per worktree the operation added, for people."""
    out = []
    for folder, head in sorted(added.items()):
        was = (
            f"branch {head[5:].removeprefix('refs/heads/')}"
            if head.startswith("ref: ")
            else f"detached at {head[:12]}"
        )
        out.append(
            f"the operation added the linked worktree {folder} ({was}); it stays: git-atomic "
            f"never writes outside this worktree. `git worktree remove {shlex.quote(folder)}` "
            "takes it away"
        )
    return out


def lines(repo: Repo, gone: Mapping[str, str]) -> list[str]:
    """One line per worktree gone, for people: what cannot come back, and how to make the
    worktree again from its branch."""
    out = []
    for folder, head in sorted(gone.items()):
        if head.startswith("ref: "):
            branch = head[5:].removeprefix("refs/heads/")
            oid = repo.rev_parse(head[5:])
            at = f", at {oid[:12]}" if oid else ""
            was = f"branch {branch}{at}"
            again = f"git worktree add {shlex.quote(folder)} {shlex.quote(branch)}"
        else:
            was = f"detached at {head[:12]}"
            again = f"git worktree add --detach {shlex.quote(folder)} {head}"
        out.append(
            f"the operation removed the linked worktree {folder} ({was}); it does not come "
            "back: no checkpoint holds another worktree's files, and any it had that were not "
            f"committed are gone. `{again}` makes it again from the commit"
        )
    return out
