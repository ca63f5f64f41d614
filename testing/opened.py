"""Whether a file was opened, by any process, while a test ran commands: the kernel's inotify
(IN_OPEN) watches the file itself, so an open through a link to it counts, and a `stat` of it
(which reads nothing) does not. Its times are no witness (atime is rarely kept), and a trace of
system calls sees only the processes it started, not a warm helper's."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

_IN_OPEN: Final = 0x20
_IN_NONBLOCK: Final = os.O_NONBLOCK


class Watch:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._seen = False

    def opened(self) -> bool:
        """Whether the file was opened since the watch began (events read so far and now)."""
        if self._fd >= 0:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._fd, 4096):
                    self._seen = True
        return self._seen

    def close(self) -> None:
        self.opened()
        os.close(self._fd)
        self._fd = -1


def available() -> bool:
    return ctypes.util.find_library("c") is not None and hasattr(os, "O_NONBLOCK")


@contextlib.contextmanager
def watching(path: Path) -> Iterator[Watch]:
    """A watch of `path` (the file itself, never a link: give the link's target)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.inotify_init1(_IN_NONBLOCK)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    try:
        if libc.inotify_add_watch(fd, os.fsencode(path), _IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        watch = Watch(fd)
    except BaseException:
        os.close(fd)
        raise
    try:
        yield watch
    finally:
        watch.close()  # the events so far read first: `opened` answers after the watch too
