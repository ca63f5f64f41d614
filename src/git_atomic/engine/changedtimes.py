"""When a file or folder in the worktree last changed, read from its stat data (never through a
link): whether it was there before a time (born before it, where the filesystem tells: statx),
changed within an operation's windows, or untouched since, a rename of a folder on its way
counting as a change of everything below it (a renamed folder's files keep their ctime).
Used to tell what is yours (there before, untouched) from what an operation made or moved.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
from collections.abc import Callable, Sequence
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo


def older_than(repo: Repo, paths: Sequence[bytes], since: float) -> list[bytes]:
    """Those of `paths` whose file was there before `since`: born before it where the
    filesystem tells (statx), else not changed since (ctime)."""
    return [path for path, born in born_at(repo, paths).items() if born <= since]


def changed_outside(
    repo: Repo, paths: Sequence[bytes], windows: Sequence[tuple[float, float]]
) -> set[bytes]:
    """Of `paths`, the files and links on disk (never read through a link) whose last change
    (ctime: a write, a chmod, a rename into place) falls in none of an effect's `windows`: not
    the effect's doing. An ignored file the effect's capture could not see, where taking the
    effect back would make a file (the operation hid it behind a rule it added, or deleted it
    and you made it again), is yours then: left as it is, never written over. Not one under a
    folder moved in a window (`git rm -r lib && mv build lib` leaves `lib/x.o`'s own ctime as
    it was): its ctime in the window, its mtime older, as a rename leaves it."""
    changed = _changed_at(repo, paths, folders=False)
    outside = {p for p, at in changed.items() if not any(a <= at <= b for a, b in windows)}
    if not outside:
        return outside
    ways = sorted({p[:at] for p in outside for at in range(len(p)) if p[at : at + 1] == b"/"})
    moved = set()
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for folder in ways:
            st = tree.lstat(folder)
            if st is None or not stat.S_ISDIR(st.st_mode):
                continue
            if any(a <= st.st_ctime <= b and st.st_mtime < a for a, b in windows):
                moved.add(folder)
    return {p for p in outside if not any(p.startswith(m + b"/") for m in moved)}


def untouched_since(
    repo: Repo, paths: Sequence[bytes], since: float, *, folders: bool = False
) -> set[bytes]:
    """Those of `paths` (files and links, or with `folders` folders; never read through a
    link) that nothing changed after `since`: their ctime (a write, a chmod, a rename into
    place all set it; in a folder, an entry made or removed) is older, by more than the coarse
    clock the kernel stamps it with may lag. Nor is one where a folder on its way was moved
    since (`mv build out` leaves `out/cache.bin`'s own ctime, and `mv path0 path2`
    `path2/empty`'s, as they were): one whose ctime is newer with its mtime older, as a rename
    leaves it (an entry made or removed in it sets both). One lstat per folder on the way."""
    before = since - _CLOCK_LAG
    changed = _changed_at(repo, paths, folders=folders)
    found = {p for p, at in changed.items() if at < before}
    if found:
        ways = {p[:at] for p in found for at in range(len(p)) if p[at : at + 1] == b"/"}
        moved = _moved_since(repo, sorted(ways), before)
        found = {p for p in found if not any(p.startswith(m + b"/") for m in moved)}
    return found


def _moved_since(repo: Repo, folders: Sequence[bytes], before: float) -> set[bytes]:
    """Those of `folders` whose ctime is `before` or later while their mtime is older: moved
    (or their bits changed) since, nothing made or removed in them. One not reached: moved."""
    moved = set()
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for folder in folders:
            st = tree.lstat(folder)
            if st is None or not stat.S_ISDIR(st.st_mode):
                moved.add(folder)  # (gone, or no folder now)
            elif st.st_ctime >= before > st.st_mtime:
                moved.add(folder)
    return moved


def _changed_at(repo: Repo, paths: Sequence[bytes], *, folders: bool) -> dict[bytes, float]:
    """The ctime of each of `paths` that is a file or a link on disk, or a folder (never read
    through a link)."""
    found: dict[bytes, float] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in paths:
            st = tree.lstat(path)
            if st is None:
                continue
            kind = stat.S_IFMT(st.st_mode)
            if kind in ((stat.S_IFDIR,) if folders else (stat.S_IFREG, stat.S_IFLNK)):
                found[path] = st.st_ctime
    return found


_CLOCK_LAG: Final = 0.05  # seconds: a file stamped that close to `since` may be after it


def born_at(repo: Repo, paths: Sequence[bytes]) -> dict[bytes, float]:
    """When each of `paths` was made: its birth where the filesystem tells (statx), else its
    last change (ctime, never earlier). A path beyond a link is left out: not ours."""
    found: dict[bytes, float] = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in paths:
            st = tree.lstat(path)
            if st is None:
                continue
            folder = tree.folder(os.path.dirname(path))
            born = None if folder is None else birth_time(folder, os.path.basename(path))
            found[path] = born if born is not None else st.st_ctime
    return found


def birth_time(folder: int, name: bytes) -> float | None:
    """When `name` in the folder open as `folder` (not followed) was created, or None where
    Linux's statx cannot say (another system, an old kernel, a filesystem that does not)."""
    statx = _statx()
    if statx is None:
        return None
    import ctypes  # only a rollback that has a deletion to decide on pays for it

    buf = ctypes.create_string_buffer(256)  # struct statx
    if statx(folder, name, _AT_SYMLINK_NOFOLLOW, _STATX_BTIME, buf) != 0:
        return None
    mask = int.from_bytes(buf.raw[0:4], sys.byteorder)
    if not mask & _STATX_BTIME or not buf.raw[80:92].strip(b"\0"):
        return None  # overlay filesystems answer 0
    seconds = int.from_bytes(buf.raw[80:88], sys.byteorder, signed=True)
    nanos = int.from_bytes(buf.raw[88:92], sys.byteorder)
    return seconds + nanos / 1e9


_AT_SYMLINK_NOFOLLOW: Final = 0x100
_STATX_BTIME: Final = 0x800


@functools.cache
def _statx() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    result: Callable[..., int] = fn
    return result
