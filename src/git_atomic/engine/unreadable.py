"""Paths git knows that it could not read: a capture that went on would hold what the index
says, not what is there, and a rollback built on it would leave the operation's changes behind
that name (or die at it). Refused by name, before anything changes."""

from __future__ import annotations

import re
from typing import Final

from git_atomic.core.errors import RefusedError

# git's words (LC_ALL=C: process.py): a file it cannot open to hash (`error: open("a"):
# Permission denied`), and a path of its index it cannot look at, in a folder it cannot
# search (`d/b: Permission denied`). A folder it cannot list and knows nothing in (`warning:
# could not open directory`) is neither captured nor touched, as before: not refused.
_CANNOT_OPEN: Final = re.compile(rb'^error: open\("(.+)"\): Permission denied$', re.M)
_CANNOT_LOOK: Final = re.compile(rb"^(?!warning: |error: |fatal: )(.+): Permission denied$", re.M)


# A folder whose path is longer than the system lets git open by name (PATH_MAX: an operation
# reaches it a folder at a time): git says so, or, its message cut at 4096 bytes, says nothing
# after the path. Its files are in no checkpoint, and an operation can delete them.
# A file in such a folder, or whose own path is that long: git dies at it (`unable to stat`).
_TOO_LONG: Final = re.compile(
    rb"^(?:warning: could not open directory|fatal: unable to stat) '(.+?)"
    rb"(?:': File name too long)?$",
    re.M,
)
_REASON: Final = re.compile(rb"': [A-Z][a-z ]+$")


def _too_long(stderr: bytes) -> list[bytes]:
    return [
        m.group(1)
        for m in _TOO_LONG.finditer(stderr)
        if m.group(0).endswith(b"': File name too long") or not _REASON.search(m.group(0))
    ]


def refuse(stderr: bytes) -> None:
    """Raise RefusedError naming the first path git said it could not read, if any."""
    long = _too_long(stderr)
    if long:
        shown = long[0].decode("utf-8", "backslashreplace")
        if len(shown) > 80:
            shown = shown[:40] + "..." + shown[-37:]
        raise RefusedError(
            f"{shown}: a path too long for git to open (over {len(long[0])} bytes), so no "
            "checkpoint can hold what is there; git-atomic changed nothing",
            hint="move it where its path is shorter, then run this again",
        )
    found = [
        m.group(1) for pattern in (_CANNOT_OPEN, _CANNOT_LOOK) for m in pattern.finditer(stderr)
    ]
    if not found:
        return
    shown = found[0].decode("utf-8", "backslashreplace")
    raise RefusedError(
        f"{shown}: cannot be read (permission denied), so no checkpoint can hold what is there; "
        "git-atomic changed nothing",
        hint="make it readable (chmod u+rX on it and the folders above it), then run this again "
        "(`git atomic recover` where `git atomic status` shows an operation interrupted)",
    )
