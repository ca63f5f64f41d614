"""The folders git makes in a worktree's git dir for refs of its own and leaves empty.

A bisect writes `refs/bisect/` (in a linked worktree under its own git dir,
`worktrees/<id>/refs/bisect/`, with `refs/` made for it), a `rebase -r` `refs/rewritten/`, and
with `core.logAllRefUpdates=always` their reflogs under `logs/refs/`. Deleting those refs (the
rollback of such an operation, `git bisect reset`) leaves the folders behind, empty: to git the
same as none, but on the disk folders the operation made. An operation notes at its PRE-OP
which of them were not there (`ABSENT`, in its journal detail: a few lstat calls, no git), and
its rollback (and any later move that takes its effect back, and `recover`) removes each of
those that holds nothing but empty folders now. One there before the operation is never
touched, nor one that holds a file (a ref of a bisect of yours since). Never through a link:
reached folder by folder from the git dir (safefs.py).

So is `refs/replace/` in the repository's common git dir (COMMON_FOLDERS, `COMMON_ABSENT`),
which `git replace` makes and `git replace -d`, or the rollback that takes the replacement
back, leaves empty; and `refs/original/`, which `git filter-branch` makes for the copies of
what it rewrites, left empty by the rollback that deletes the copies of your branches."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

ABSENT: Final = "git_folders_absent"  # op detail: those of FOLDERS not there at PRE-OP
# Relative to the worktree's git dir; parents after their children (the order of removal).
FOLDERS: Final = (
    "refs/bisect",
    "refs/rewritten",
    "refs",
    "logs/refs/bisect",
    "logs/refs/rewritten",
    "logs/refs",
)


COMMON_ABSENT: Final = "common_folders_absent"  # op detail: those of COMMON_FOLDERS not there
# relative to the common git dir; `git filter-branch`'s refs/original/ (originalrefs.py)
COMMON_FOLDERS: Final = ("refs/replace", "refs/original")


def absent(git_dir: str | os.PathLike[str]) -> list[str]:
    """Those of FOLDERS not in `git_dir` now (noted at PRE-OP)."""
    return [f for f in FOLDERS if not os.path.lexists(os.path.join(git_dir, f))]


def absent_common(common_dir: str | os.PathLike[str]) -> list[str]:
    """Those of COMMON_FOLDERS not in the common git dir now (noted at PRE-OP)."""
    return [f for f in COMMON_FOLDERS if not os.path.lexists(os.path.join(common_dir, f))]


def drop_made(repo: Repo, details: Mapping[str, object]) -> list[str]:
    """Remove the folders the operation's PRE-OP did not have that hold nothing but empty
    folders now; the ones removed."""
    removed = []
    for key, root, folders in _kinds(repo):
        noted = details.get(key)
        if not isinstance(noted, list) or not noted:
            continue
        with safefs.Tree(os.fsencode(root)) as tree:
            for rel in (f for f in folders if f in noted):
                if tree.remove_empty_folders(os.fsencode(rel)):
                    removed.append(rel)
    return removed


def _kinds(repo: Repo) -> tuple[tuple[str, Path, tuple[str, ...]], ...]:
    return ((ABSENT, repo.git_dir, FOLDERS), (COMMON_ABSENT, repo.common_dir, COMMON_FOLDERS))


def foresee(repo: Repo, details: Mapping[str, object]) -> list[str]:
    """The folders `drop_made` would remove now (a dry run's: nothing removed)."""
    found = []
    for key, root, folders in _kinds(repo):
        noted = details.get(key)
        if not isinstance(noted, list) or not noted:
            continue
        with safefs.Tree(os.fsencode(root)) as tree:
            found += [f for f in folders if f in noted and tree.empty_folders(os.fsencode(f))]
    return found
