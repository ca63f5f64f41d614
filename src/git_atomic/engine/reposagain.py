"""Folders that are repositories of their own now, which the scan's record still has as folders
of files (scan.py).

A scan index holds every file the last capture saw, untracked ones too. A folder of files it
held (a nested clone whose `.git` was renamed aside, `.git_disabled`, then renamed back; a
folder where you ran `git init`, or made a `.git` file naming a git dir elsewhere) that holds a
repository now is, to your git, a repository of its own: your index has no path under it, so
`git status` lists it as one (`?? sub/`), its files its own. Read through the scan index's
entries, git takes it for a folder of files, and the checkpoint held that repository's files
as yours. The capture asks here, where the walk of the folders found a `.git` below the top
(imported only then), and reads the files anew where such a folder is found (capturedisk.py):
each capture holds what git lists now, never what it listed last (docs/design.md)."""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence

from git_atomic.engine import safefs, straydotgit
from git_atomic.engine.git import Repo


def stale(repo: Repo, folders: Sequence[bytes], staged_tree: str, tree: str) -> list[bytes]:
    """Those of `folders` (holding a `.git`: the walk's) that the scan's `tree` has files
    under where your index (`staged_tree`) has nothing at their path, and that hold a `.git`
    git takes for a repository now. Asked first of how the two trees differ (known from the
    scan: reconcile.py), so a submodule, or a repository the scan has as one (a gitlink),
    costs no git call."""
    added = sorted(c.path for c in repo.diff_trees(staged_tree, tree) if c.status == "A")
    candidates = [f for f in folders if _has_under(added, f + b"/")]
    if not candidates:
        return []
    yours = {e.path for e in repo.ls_tree_at(staged_tree, candidates)}
    candidates = [f for f in candidates if f not in yours]
    if not candidates:
        return []
    root = os.fsencode(repo.root)
    with safefs.Tree(root) as worktree:
        return [
            folder
            for folder in candidates
            if not straydotgit.nothing_to_git(worktree, folder)
            and straydotgit.is_repository(worktree, root, folder)
        ]


def _has_under(paths: Sequence[bytes], prefix: bytes) -> bool:
    """Whether any of the sorted `paths` starts with `prefix`."""
    at = bisect.bisect_left(paths, prefix)
    return at < len(paths) and paths[at].startswith(prefix)
