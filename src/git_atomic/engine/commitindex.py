"""`git commit -a` (or with paths) runs its hooks and editor on a temporary index of its own,
named in GIT_INDEX_FILE: a git-atomic they run is refused as with another index (discovery.py),
in a line that says which `git commit` that is, not "unset it"."""

from __future__ import annotations

from typing import Final

from git_atomic.core.errors import UsageError
from git_atomic.engine.git import Repo

# git commands whose hooks get GIT_INDEX_FILE: `git commit -a` or with paths names a temporary
# index of its own there (`index.lock`, `next-index-*.lock`).
_INDEXING: Final = (b"commit", b"merge", b"cherry-pick", b"revert", b"am")


def refuse_a_commits_own_index(repo: Repo, value: str) -> None:
    """Raise UsageError where a `git commit` of this worktree, among the processes that started
    us, is the one whose temporary index GIT_INDEX_FILE names (its hook or editor runs this):
    "unset it" would be poor advice there. Nothing where none is (a script's own index)."""
    from git_atomic.engine import gitancestors  # (os alone: a few /proc reads up the chain)

    found = gitancestors.git_ancestor(repo.root, _INDEXING)
    if found is None:
        return
    pid, verb, _ = found
    raise UsageError(
        f"GIT_INDEX_FILE={value}: `git {verb}` (pid {pid}), whose hook or editor runs this, "
        "is making its commit from a temporary index of its own, and git-atomic checkpoints "
        "and restores the worktree's own index; nothing was changed",
        hint="run git-atomic outside that git's hooks, or once it is done; "
        "in a plain `git commit`'s hooks, use --history shadow",
    )
