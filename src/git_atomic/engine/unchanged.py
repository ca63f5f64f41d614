"""A path is still what the rescue saw: the restore's check just before it changes one.

A rollback saves the state it is about to replace (its rescue), then writes. Another writer (you
in an editor, a second agent session) may write a file in between; those bytes are in no
checkpoint, so the restore must not remove them. Every file or link the restore removes, writes
over or changes the mode of is checked here first, at the last moment: reached from its folder's
descriptor without following a link (safefs.py), its kind, executable bit and bytes (a link:
its target) must be the checkpoint's, hashed as git hashes a blob. A checkpoint holds the raw
bytes on disk, whatever the filters and line-ending rules (conversion.py), so the raw bytes are
compared. The file's status data is read before and after its bytes and once more just before
the removal: a write in place while it is read, or a new file put at its name, shows there.

The removal itself is a compare-and-swap (`safefs.Tree.take`): the file is moved into a folder
of the git dir in one rename, looked at there, and removed only if it is still the one looked
at; else it is put back. So a file another writer put at the name in the meantime (an editor's
save by rename, `git checkout`) is never removed.

What remains: a writer that already holds the file open and writes into it in the few
microseconds between the last look and the move aside (a shell's `>` opens the file it
truncates). A check cannot close that.
"""

from __future__ import annotations

import enum
import errno
import hashlib
import os
import stat
from typing import TYPE_CHECKING

from git_atomic.core import failpoints
from git_atomic.core.records import dataclass
from git_atomic.engine import safefs

if TYPE_CHECKING:
    from git_atomic.engine.lfskeep import Kept

_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NOT_THERE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
_CHUNK = 1 << 20


class Found(enum.Enum):
    GONE = "gone"  # nothing there (or beyond a link, which has its own entry)
    SAME = "same"  # what the checkpoint holds: the caller may change it
    CHANGED = "changed"  # something else: leave it


@dataclass(frozen=True)
class Expected:
    """What a checkpoint holds at a path: git's mode (100644, 100755, 120000) and blob id;
    `kept`: the content, when the blob is a marker for LFS content kept outside (lfskeep.py)."""

    mode: str
    oid: str
    kept: Kept | None = None


def remove(
    tree: safefs.Tree,
    rel: bytes,
    expected: Expected,
    *,
    hold: list[safefs.Taken] | None = None,
    there: os.stat_result | None = None,
) -> Found:
    """Remove the file or link at `rel` if it is still `expected`: GONE when nothing is there,
    SAME once removed, CHANGED (and nothing removed) otherwise. A folder is CHANGED. `hold`:
    kept aside until the caller drops it or gives it back (`safefs.Tree.take`). `there`: the
    caller's `lstat` of `rel` (`Tree.lstat`, just before), which the compare starts from
    instead of one more: what it says is checked against the file opened and looked at again
    after its bytes are read, so one older by a few calls decides nothing alone."""
    where = _where(tree, rel)
    if where is None:
        return Found.GONE
    dir_fd, name = where
    seen = _look(dir_fd, name, expected, there)
    if isinstance(seen, Found):
        return seen
    failpoints.hit("restore:before-removal")
    taken = tree.take(dir_fd, name, lambda st: _kept_key(st) == _kept_key(seen), hold=hold)
    return Found.GONE if taken is None else Found.SAME if taken else Found.CHANGED


def remove_special(tree: safefs.Tree, rel: bytes, mode: int) -> Found:
    """Remove the FIFO, socket or device at `rel` if it is still of the kind `mode` (st_mode)
    says, looked at just before: it holds no bytes to compare, only its kind."""
    where = _where(tree, rel)
    if where is None:
        return Found.GONE
    dir_fd, name = where
    st = safefs.lstat_at(dir_fd, name)
    if st is None:
        return Found.GONE
    if stat.S_IFMT(st.st_mode) != stat.S_IFMT(mode):
        return Found.CHANGED
    return _unlink(dir_fd, name)


def _unlink(dir_fd: int, name: bytes) -> Found:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            return Found.GONE
        raise
    return Found.SAME


def chmod(tree: safefs.Tree, rel: bytes, expected: Expected, mode: int) -> Found | None:
    """Set the mode of the regular file at `rel` if it is still `expected` and has no other
    name (None then: a hard link to a file elsewhere is written anew, never chmodded)."""
    where = _where(tree, rel)
    if where is None:
        return Found.GONE
    dir_fd, name = where
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            return Found.GONE
        if exc.errno in (errno.EACCES, errno.EPERM):
            return Found.CHANGED  # its bytes cannot be compared: not ours to change
        raise
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return Found.CHANGED
        if before.st_nlink != 1:
            return None
        if _mode_of(before) != expected.mode or not _same_bytes(fd, before, expected):
            return Found.CHANGED
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    after = safefs.lstat_at(dir_fd, name)
    if after is None or (after.st_ino, after.st_dev) != (before.st_ino, before.st_dev):
        return Found.CHANGED  # replaced meanwhile: the new file is left as it is
    return Found.SAME


def blob_id(data: bytes, *, like: str) -> str:
    """git's id of a blob of `data`, in the object format of the id `like`."""
    h = hashlib.sha256() if len(like) == 64 else hashlib.sha1()
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def _where(tree: safefs.Tree, rel: bytes) -> tuple[int, bytes] | None:
    parent, _, name = rel.rpartition(b"/")
    fd = tree.folder(parent)
    return None if fd is None else (fd, name)


def _look(
    dir_fd: int, name: bytes, expected: Expected, there: os.stat_result | None = None
) -> Found | os.stat_result:
    """GONE, CHANGED, or the status data of what is there when it is `expected`. `there`: an
    `lstat` of it the caller just took. A file opened is compared with it (another file put
    at the name since: CHANGED), a link read is looked at again after (`again`)."""
    st = there if there is not None else safefs.lstat_at(dir_fd, name)
    if st is None:
        return Found.GONE
    if _mode_of(st) != expected.mode:
        return Found.CHANGED
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(name, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (*_NOT_THERE, errno.EINVAL):
                return Found.CHANGED
            raise
        if blob_id(target, like=expected.oid) != expected.oid:
            return Found.CHANGED
        seen = st
    else:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (*_NOT_THERE, errno.EACCES, errno.EPERM):
                return Found.CHANGED
            raise
        try:
            seen = os.fstat(fd)
            if (seen.st_ino, seen.st_dev) != (st.st_ino, st.st_dev) or not _same_bytes(
                fd, seen, expected
            ):
                return Found.CHANGED
        finally:
            os.close(fd)
    again = safefs.lstat_at(dir_fd, name)
    return seen if again is not None and _key(again) == _key(seen) else Found.CHANGED


def _same_bytes(fd: int, seen: os.stat_result, expected: Expected) -> bool:
    """The open file's bytes are the blob `expected.oid` (or the kept content that blob
    stands for), and did not change while they were read."""
    if expected.kept is not None:
        if seen.st_size != expected.kept.size:
            return False
        h = hashlib.sha256()
        oid = expected.kept.sha256
    else:
        oid = expected.oid
        h = hashlib.sha256() if len(oid) == 64 else hashlib.sha1()
        h.update(b"blob %d\0" % seen.st_size)
    size = 0
    # Read to the size its status data says, no further: bytes written past it since change
    # that status data, which is compared again once read (no read more to meet the end).
    while size < seen.st_size or not size:
        chunk = os.pread(fd, _CHUNK, size)
        if not chunk:
            break
        h.update(chunk)
        size += len(chunk)
        if size > seen.st_size:
            return False
    return size == seen.st_size and h.hexdigest() == oid and _key(os.fstat(fd)) == _key(seen)


def _kept_key(st: os.stat_result) -> tuple[int, ...]:
    """What a rename keeps of a file's status data (it changes the ctime)."""
    return (st.st_ino, st.st_dev, st.st_mode, st.st_size, st.st_mtime_ns)


def _key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_ino, st.st_dev, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _mode_of(st: os.stat_result) -> str:
    """git's mode for what is there ("" for what git does not hold: a folder, a fifo...)."""
    if stat.S_ISLNK(st.st_mode):
        return "120000"
    if stat.S_ISREG(st.st_mode):
        return "100755" if st.st_mode & stat.S_IXUSR else "100644"
    return ""
