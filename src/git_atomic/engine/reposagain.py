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
from git_atomic.engine.nestedrepos import folders_above


def stale(repo: Repo, folders: Sequence[bytes], staged_tree: str, tree: str) -> list[bytes]:
    """The folders at or below `folders` (holding a `.git`: the walk's, which looks no further
    into them) that the scan's `tree` has files under where your index (`staged_tree`) has
    nothing at their path, and that hold a `.git` git takes for a repository now. Below one
    git reads as a folder (your index has paths under it), git looks on, and so does this.
    Asked first of how the two trees differ (known from the scan: reconcile.py), so a
    submodule, or a repository the scan has as one (a gitlink), costs no git call."""
    added = sorted(c.path for c in repo.diff_trees(staged_tree, tree) if c.status == "A")
    looked: set[bytes] = set()
    for folder in folders:
        below = _under(added, folder + b"/")
        if below:
            looked.add(folder)
            looked.update(f for f in folders_above(below) if len(f) > len(folder))
    if not looked:
        return []
    root = os.fsencode(repo.root)
    with safefs.Tree(root) as worktree:
        order = sorted(looked)
        looks = worktree.lstat_many([f + b"/.git" for f in order])
        holding = [f for f, st in zip(order, looks, strict=True) if st is not None]
        if not holding:
            return []
        yours = {e.path for e in repo.ls_tree_at(staged_tree, holding)}
        return [
            folder
            for folder in holding
            if folder not in yours
            and not straydotgit.nothing_to_git(worktree, folder)
            and straydotgit.is_repository(worktree, root, folder)
        ]


def _under(paths: Sequence[bytes], prefix: bytes) -> Sequence[bytes]:
    """Those of the sorted `paths` that start with `prefix`."""
    at = bisect.bisect_left(paths, prefix)
    end = at
    while end < len(paths) and paths[end].startswith(prefix):
        end += 1
    return paths[at:end]
