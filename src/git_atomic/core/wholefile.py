"""Small state files written whole: a process killed at any instant leaves the old content or
the new, never an empty or a partial file.

The hooks and the MCP server keep what they know between calls in small files other processes
read at any moment (a turn's record, an open turn's mark, an MCP server's marker, a note for
the model). Truncating a file and then writing it leaves a moment where a reader finds it
empty, and a writer killed there leaves it so: an MCP server's marker read empty is no
server's, and another server's abort of its operation is not refused. So the content is
written aside under a name of this process's, flushed to the disk (as the journal's
`synchronous=FULL` does: a power cut after the rename never finds the new name empty), and
renamed over the file in one step. The aside name is made with O_EXCL|O_NOFOLLOW and the
rename replaces a link made at the file's name: nothing is written through a link. Reads
(`read`) neither follow a link nor wait on a fifo, and take a bounded size.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import zlib
from pathlib import Path
from typing import Final

from git_atomic.core import failpoints

_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NEW: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def replace(path: Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """`path` holds `data`, written whole. Its folder is the caller's to have checked (a
    `.git` that is a link to the git dir is a layout git knows); the name is never followed.
    Raises OSError where it cannot be written; the old content is then as it was."""
    folder = os.open(path.parent, _DIR)
    try:
        replace_at(folder, path.name, data, mode=mode, durable=durable)
    finally:
        os.close(folder)


def replace_at(
    folder: int,
    name: str,
    data: bytes,
    *,
    mode: int = 0o644,
    durable: bool = True,
    state: bool = True,
) -> None:
    """`name` in the open folder `folder` holds `data`, written whole; flushed to the disk
    before the rename unless not `durable` (a kill still leaves old or new: only a power cut
    could find it empty). Not `state`: a cache's file, which the failpoint the kill tests
    aim at a command's state files passes by (config.py's parse, written on a first read)."""
    # The aside name is this process's: one a killed process of the same pid left is written
    # over; the others' are theirs (a writer of the same file at once keeps its own).
    aside = f".{name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(aside, dir_fd=folder)
    fd = os.open(aside, _NEW, mode, dir_fd=folder)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if state:
            failpoints.hit("wholefile:aside")
        os.rename(aside, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(aside, dir_fd=folder)
        raise


def write_new(path: Path | str, data: bytes, *, mode: int = 0o644) -> None:
    """`data` in a file made anew at `path`, a name of this process's (an aside before its
    rename, a scratch file git is handed): what stands there (a link, a file a killed process
    of the same pid left) is removed first and the file made with O_EXCL|O_NOFOLLOW, so
    nothing is written through a link planted at a name anyone can foresee (a pid, a count).
    Raises OSError where it cannot be made."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fd = os.open(path, _NEW, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def read(path: Path | str, *, limit: int = 1 << 20) -> bytes:
    """The content of the regular file `path`, at most `limit` bytes: a link there is not
    followed (nothing outside the repository is read), a fifo is never waited on, a folder or
    a device is no state file. Raises OSError for each (FileNotFoundError where nothing is)."""
    return _read_opened(os.open(path, _READ), path, limit)


def read_at(folder: int, name: str, *, limit: int = 1 << 20) -> bytes:
    """`read` of `name` in the open folder `folder`."""
    return _read_opened(os.open(name, _READ, dir_fd=folder), name, limit)


def read_beneath(top: str, rel: str, *, limit: int = 1 << 40) -> bytes:
    """`read` of the file `rel` (no `..` in it) under the folder `top`, each folder on its way
    opened from the one before it with O_NOFOLLOW: nothing read through a link, whenever one
    came. A check of a path's `realpath` and then an open by its name leaves a window in which
    a link swapped in is followed. Raises OSError: ELOOP (or ENOTDIR) where a link stands on
    the way, IsADirectoryError where `rel` names `top` itself."""
    parts = [part for part in rel.split("/") if part not in ("", ".")]
    if not parts:
        raise IsADirectoryError(errno.EISDIR, "a folder", top)
    if ".." in parts:
        raise OSError(errno.EINVAL, "a path out of the folder", rel)
    folder = os.open(top, _DIR)
    try:
        for part in parts[:-1]:
            inner = os.open(part, _DIR | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        return read_at(folder, parts[-1], limit=limit)
    finally:
        os.close(folder)


def _read_opened(fd: int, path: object, limit: int) -> bytes:
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        # The whole file in one read where it has the size it had (a state file rarely grows
        # while read): small reads cost a copy each, 13 ms of a 9 MB entries memo in 64 KiB
        # ones against 1 ms at once. Then on to the end, whatever it has become, up to `limit`.
        chunks: list[bytes] = []
        left = limit
        step = max(st.st_size + 1, 1 << 16)
        while left > 0:
            chunk = os.read(fd, min(left, step))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            step = 1 << 16
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def read_checked(path: Path, magic: bytes, *, limit: int) -> bytes | None:
    """The body of a record written as `magic`, the body's CRC-32 (4 bytes, big-endian) and
    the body: None where there is none, it is not a regular file (never read through a link,
    never waited on), it is larger than `limit`, or its magic or checksum is not right (a
    damaged record is no record)."""
    try:
        data = read(path, limit=limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        return None
    at = len(magic)
    head, crc, body = data[:at], data[at : at + 4], data[at + 4 :]
    if head != magic or len(crc) != 4 or zlib.crc32(body) != int.from_bytes(crc, "big"):
        return None
    return body


def remove_left(path: Path) -> list[str]:
    """The asides of `path` (`.<name>.<pid>.tmp`, regular files) that processes killed between
    writing one and its rename left beside it, removed; their names. One of a live process is
    its own: kept. For a file outside our folder (an agent's settings), where the sweep of our
    folder (scratch.remove_dead_asides) never looks."""
    from git_atomic.core.lock import process_alive

    prefix, removed = f".{path.name}.", []
    with contextlib.suppress(OSError):
        for name in os.listdir(path.parent):
            pid = name[len(prefix) : -len(".tmp")]
            if not (name.startswith(prefix) and name.endswith(".tmp") and pid.isdigit()):
                continue
            if int(pid) == os.getpid() or process_alive(int(pid), None):
                continue
            aside = path.parent / name
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(aside).st_mode):
                    os.unlink(aside)
                    removed.append(name)
    return removed
