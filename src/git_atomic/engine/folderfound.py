"""Folders of a target found where no walk looks: moved into a folder a rule ignores (`mv F
build/` with `/build/`), or deeper in one (`mv F junk/a/`). foldermoves.py and effectfolders.py
ask `in_ignored` before they move a folder back."""

from __future__ import annotations

import contextlib
import os
import stat
from typing import Final

from git_atomic.engine import folderids, folderwalk, safefs
from git_atomic.engine.git import Repo

CLOCK_LAG: Final = 0.05  # seconds: a birth time that close to the capture may be after it


def in_ignored(
    repo: Repo, tree: safefs.Tree, want: folderids.Ids, now: folderids.Ids, since: float
) -> folderids.Ids:
    """`now`, with the folders of `want` it lacks that are in a folder it names that changed
    since (`mv F build/`, where a rule ignores `build/`: no walk looks into it, but a folder
    renamed into another sets that one's mtime), or deeper in a folder a rule ignores (`mv F
    junk/a/`: `junk/` itself is unchanged). One lstat per folder `now` names, and a listing of
    those changed since, only where `want` has a folder `now` lacks; then, for those still
    missing, the same for the folders in ignored ones the last walk listed (a bounded set:
    ignoredinside.py), or where no walk kept them, a listing of the folders in the ignored
    ones as git lists them, at most `_LOOK_IN_AT_MOST`."""
    missing = set(want.values()).difference(now.values())
    if not missing:
        return now
    found = dict(now)
    met = folderwalk.ignored_met(repo)
    for folder in sorted(now) if met is None else sorted(set(now).union(met)):
        st = tree.lstat(folder)
        if st is None or not stat.S_ISDIR(st.st_mode) or st.st_mtime < since - CLOCK_LAG:
            continue
        _look_in(tree, folder, st.st_dev, missing, found)
        if not missing:
            return found
    if met is not None:  # (a folder moved deeper than the walk lists is not looked for)
        return found
    queue = sorted(_ignored_folders(repo), key=lambda f: (f.count(b"/"), f))
    for listed, folder in enumerate(queue):
        if listed >= _LOOK_IN_AT_MOST or not missing:
            break
        st = tree.lstat(folder)
        if st is not None and stat.S_ISDIR(st.st_mode):
            queue += _look_in(tree, folder, st.st_dev, missing, found)
    return found


_LOOK_IN_AT_MOST: Final = 2000  # folders listed inside ignored ones, for one moved there


def _ignored_folders(repo: Repo) -> list[bytes]:
    """The folders a rule ignores (git does not look into them) as git lists them now, one
    `ls-files` (at 100,000 files about half a `git status`): where no walk kept them."""
    listing = repo.out(
        "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"
    )
    return [p[:-1] for p in listing.split(b"\0") if p.endswith(b"/")]


def _look_in(
    tree: safefs.Tree,
    folder: bytes,
    dev: int,
    missing: set[tuple[int, int]],
    found: folderids.Ids,
) -> list[bytes]:
    """The folders of `missing` directly in `folder`, added to `found` (and taken out of
    `missing`); the other folders in it."""
    fd = tree.folder(folder)
    if fd is None:
        return []
    others: list[bytes] = []
    with contextlib.suppress(OSError), os.scandir(fd) as listing:
        for entry in listing:
            if not entry.is_dir(follow_symlinks=False):
                continue
            path = folder + b"/" + os.fsencode(entry.name)
            ident = (dev, entry.inode())
            if ident in missing:
                found[path] = ident
                missing.discard(ident)
            else:
                others.append(path)
    return others
