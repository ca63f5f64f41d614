"""What a restore removes for good, removed after it: each file it wrote over or took away is
moved into a folder of ours (one rename, within our folder of the git dir) and a process of its
own empties that folder once the restore is done, so the command's answer does not wait while
the file system frees their blocks. On ext4 mounted with `discard` each removal of a file whose
blocks are on disk waits for the device: about 2 ms, 3 s for the 1,500 files of a large
rollback (docs/performance.md, stop 51); elsewhere a few microseconds, and nothing is lost by
doing it later.

Everything put in the folder is garbage: a file goes there only once what replaces it is written
whole (`safefs.Tree.drop`) or once it was found to be what the restore removes. So the emptier
removes whatever the folder holds, a killed emptier's leftovers too, and nothing else: it holds
the folder's descriptor, never its path, and removes names in it, never through a link. Where
the folder cannot be made, or a rename into it fails (another file system), the file is removed
at once, as before.
"""

from __future__ import annotations

import contextlib
import os
import sys

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Bin:
    def __init__(self, folder: bytes) -> None:
        self._folder: bytes | None = folder
        self._fd: int | None = None
        self._put = 0

    def put(self, dir_fd: int, name: bytes) -> bool:
        """`name` of the folder `dir_fd` moved in; False where it cannot be (then the caller
        removes it itself)."""
        fd = self._open()
        if fd is None:
            return False
        try:
            os.rename(name, name, src_dir_fd=dir_fd, dst_dir_fd=fd)
        except OSError:
            return False
        self._put += 1
        return True

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._put:
                # The restore is done: a process that cannot be waited for (reaped by someone
                # else) leaves the files to the next emptier or `gc`, never an error.
                with contextlib.suppress(OSError):
                    empty_later(fd)
        finally:
            os.close(fd)

    def _open(self) -> int | None:
        if self._fd is None and self._folder is not None:
            try:
                os.makedirs(self._folder, exist_ok=True)
                self._fd = os.open(self._folder, _DIR_FLAGS)
            except OSError:
                self._folder = None
        return self._fd


def empty_later(fd: int) -> None:
    """The folder open as `fd` emptied by a process of its own, which this one does not wait
    for (a daemon: its parent leaves at once, so no zombie is left to anyone); emptied here
    where no process can be made, and in a program that imports the API (only the command
    line and the warm helper have `cli.main`): never a fork of yours, with your threads and
    your handlers run at fork."""
    if "git_atomic.cli.main" not in sys.modules:
        empty(fd)
        return
    try:
        pid = os.fork()
    except OSError:
        empty(fd)
        return
    if pid:
        os.waitpid(pid, 0)
        return
    # The middle process: a session of its own (a terminal's Ctrl-C is not its), one child.
    try:
        os.setsid()
        if os.fork() == 0:
            _alone(fd)
            empty(fd)
    finally:
        os._exit(0)


def _alone(fd: int) -> None:
    """Nothing of the command's held open but the folder: a pipe the command's caller reads
    to its end (a hook's standard output) must end when the command does, not when this
    process does."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(devnull, std)
    low, high = sorted((fd, devnull))
    os.closerange(3, low)
    os.closerange(low + 1, high)
    os.closerange(high + 1, os.sysconf("SC_OPEN_MAX"))
    if devnull > 2:
        os.close(devnull)


def empty(fd: int) -> None:
    """Every name in the folder `fd` removed (none followed); what cannot be, left."""
    try:
        names = os.listdir(fd)
    except OSError:
        return
    for name in names:
        try:
            os.unlink(name, dir_fd=fd)
        except OSError:
            continue


def empty_folder(folder: str | os.PathLike[str]) -> None:
    """`empty` of the folder at `folder`, here; nothing where it is a link or not there."""
    try:
        fd = os.open(folder, _DIR_FLAGS)
    except OSError:
        return
    try:
        empty(fd)
    finally:
        os.close(fd)
