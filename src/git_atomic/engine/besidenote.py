"""The note `safefs.Tree.take` writes before it moves a file aside beside itself (a rename into
our folder of the git dir that crosses file systems), and removes after: what a killed taker
left is found by it (besideleft.py)."""

from __future__ import annotations

import contextlib
import os
from typing import Final

NOTE: Final = "beside-"  # in the scratch folder: `beside-<pid>-<n>`
BESIDE: Final = b".git-atomic-removed-"  # the file moved aside: `<BESIDE><pid>-<n>`


def note(aside_fd: int | None, pid: int, n: int, folder: bytes | None, name: bytes) -> None:
    """Noted before `name` of `folder` (from the worktree's top) is moved aside beside
    itself; nothing where there is no scratch folder open or the folder is not known."""
    if aside_fd is None or folder is None:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with contextlib.suppress(OSError):
        fd = os.open(f"{NOTE}{pid}-{n}", flags, 0o644, dir_fd=aside_fd)
        with open(fd, "wb") as fh:
            fh.write(folder + b"\0" + name)


def forget(aside_fd: int | None, moved: bytes) -> None:
    """The note of the file moved aside as `moved`, removed (it was removed or put back)."""
    if aside_fd is None or not moved.startswith(BESIDE):
        return
    with contextlib.suppress(OSError):
        os.unlink(os.fsencode(NOTE) + moved[len(BESIDE) :], dir_fd=aside_fd)
