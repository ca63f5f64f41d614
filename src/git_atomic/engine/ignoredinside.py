"""The folders inside the folders a rule ignores, as far as a walk lists them: where each was
(device and inode), for a capture's folder-ids (foldermoves.py).

The walk never looks into a folder a rule ignores (`junk/`, `build/`), so no capture knew
`junk/F` or `build/sub`: an operation's `mv junk/F F2` (or `mv build/sub S`) was not taken back
as a move, F2's files went to the rescue and `junk/F` was gone. Each walk lists the ignored
folders it met, breadth first, and the folders in them, `_LIST_AT_MOST` folders in all: one
listing each where its stat data changed since the last walk, else one `lstat` (the listing
kept). The folders those name are known too (their ids come with the listing). A folder
holding a `.git` is not listed, nor anything through a link (`O_NOFOLLOW`, from the folder
above). What it lists is also where a rollback looks for a folder moved into an ignored one
(folderfound.in_ignored): a bounded set, not every folder of a `node_modules/`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from git_atomic.engine import safefs

# Folders listed inside ignored ones a walk (an lstat each a walk, a listing where it changed):
# a large `node_modules/` is listed at its top and a few more, never whole.
_LIST_AT_MOST: Final = 128
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

# A folder as listed: (st_dev, st_ino, st_mtime_ns, st_ctime_ns, holds a `.git`, the names of
# the folders in it (not links), their inodes).
Listed = tuple[int, int, int, int, bool, tuple[bytes, ...], tuple[int, ...]]


def met(
    found: dict[bytes, Listed],
    fd: int,
    path: bytes,
    kept: Mapping[bytes, Listed],
    *,
    icase: bool,
) -> bool:
    """Take in the ignored folder `path` a walk met in the folder it has open as `fd` (its
    last name), into `found`, while `found` holds fewer than `_LIST_AT_MOST`: so one met where
    its folder is open costs no `open` of that folder again. Whether it was taken in."""
    if len(found) >= _LIST_AT_MOST:
        return False
    record = _listing(fd, path.rpartition(b"/")[2], kept.get(path), icase=icase)
    if record is not None:
        found[path] = record
    return True


def listed(
    open_folder: Callable[[bytes], int | None],
    ignored: Sequence[bytes],
    found: dict[bytes, Listed],
    kept: Mapping[bytes, Listed],
    *,
    icase: bool,
) -> dict[bytes, Listed]:
    """`found` (what `met` took in), with the folders `ignored` (the other ones a rule ignores
    that a walk met), then the folders in all of them, breadth first, up to `_LIST_AT_MOST`
    in all, as listed now (a record of `kept` whose stat data is the same is taken as it is).
    `open_folder` opens a folder of the tree, never through a link (the caller's, which
    closes nothing it returns)."""
    by_parent: dict[bytes, list[bytes]] = {}
    for path in sorted(ignored, key=lambda p: (p.count(b"/"), p)):
        parent, _, name = path.rpartition(b"/")
        by_parent.setdefault(parent, []).append(name)
    queue = list(by_parent.items())
    queue += [(p, list(r[5])) for p, r in sorted(found.items()) if not r[4] and r[5]]
    budget = _LIST_AT_MOST - len(found)
    while queue and budget > 0:
        parent, names = queue.pop(0)
        fd = open_folder(parent)
        if fd is None:
            continue
        try:
            for name in names[:budget]:
                budget -= 1
                path = parent + b"/" + name if parent else name
                record = _listing(fd, name, kept.get(path), icase=icase)
                if record is None:
                    continue
                found[path] = record
                if not record[4] and record[5]:
                    queue.append((path, list(record[5])))
        finally:
            os.close(fd)
    return found


def _listing(fd: int, name: bytes, kept: Listed | None, *, icase: bool) -> Listed | None:
    """The folder `name` in the folder `fd`, as listed now (`kept` where its stat data is the
    same); None where it is no folder (a link, gone) or cannot be listed."""
    st = safefs.lstat_at(fd, name)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return None
    key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    if kept is not None and kept[:4] == key:
        return kept
    try:
        folder = os.open(name, _DIR_FLAGS, dir_fd=fd)
    except OSError:
        return None
    try:
        st = os.fstat(folder)  # (the folder opened: its stat data, not the name's a moment ago)
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return None
    finally:
        os.close(folder)
    names = {e.name for e in entries}
    own = ".git" in names or (icase and any(n.lower() == ".git" for n in names if len(n) == 4))
    folders = sorted(
        (os.fsencode(e.name), e.inode()) for e in entries if e.is_dir(follow_symlinks=False)
    )
    return (
        st.st_dev,
        st.st_ino,
        st.st_mtime_ns,
        st.st_ctime_ns,
        own,
        tuple(n for n, _ in folders),
        tuple(i for _, i in folders),
    )


def ids(found: Mapping[bytes, Listed]) -> dict[bytes, tuple[int, int]]:
    """The device and inode of each folder the folders `found` name (none in one holding a
    `.git`: a repository of its own, which the walk never looks into)."""
    out: dict[bytes, tuple[int, int]] = {}
    for folder, record in found.items():
        if record[4]:
            continue
        for name, inode in zip(record[5], record[6], strict=True):
            out[folder + b"/" + name] = (record[0], inode)
    return out


def valid(kept: object) -> bool:
    """Whether `kept` (read back from the walk's cache) is what `listed` returns."""
    return isinstance(kept, dict) and all(
        isinstance(k, bytes) and isinstance(v, tuple) and len(v) == 7 for k, v in kept.items()
    )
