"""Calls on a file or folder already open (or named in a folder open) by safefs.Tree: its owner
given back, all its bytes written, its mode changed where it cannot be opened for reading."""

from __future__ import annotations

import contextlib
import errno
import os
import stat


def chmod_unreadable(dir_fd: int, name: bytes, mode: int) -> bool:
    """A file we may not open for reading (mode 000): Linux's `O_PATH` names the file itself
    (never a link's target), and its `/proc/self/fd` entry takes a chmod."""
    if not hasattr(os, "O_PATH"):
        raise PermissionError(errno.EACCES, "cannot change the mode of an unreadable file", name)
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        if not own_file(os.fstat(fd)):
            return False
        os.chmod(f"/proc/self/fd/{fd}", mode)
    finally:
        os.close(fd)
    return True


def owner_of(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_uid, st.st_gid


def give(fd: int, owner: tuple[int, int], *, group_too: bool = False) -> None:
    """The new file or folder open as `fd` given to `owner` where it is not its owner's and we
    may (root may; anyone else keeps what they made); `group_too`: also where only its group
    is another (the file it replaces had it). Before a file's mode is set: a chown may clear
    bits of it."""
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) == owner or (st.st_uid == owner[0] and not group_too):
        return
    # Best effort: anyone but root may not (EPERM), and a file system that keeps no owners
    # (vfat, some FUSE mounts) may refuse otherwise; the file is written all the same.
    with contextlib.suppress(OSError):
        os.fchown(fd, *owner)


def write_all(fd: int, data: bytes) -> None:
    """All of `data` to the file open as `fd` (a write may take part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def own_file(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1
