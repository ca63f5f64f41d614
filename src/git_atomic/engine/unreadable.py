"""Paths git knows that it could not read: a capture that went on would hold what the index
says, not what is there, and a rollback built on it would leave the operation's changes behind
that name (or die at it). Refused by name, before anything changes."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from git_atomic.core.errors import RefusedError

# git's words (LC_ALL=C: process.py): a file it cannot open to hash (`error: open("a"):
# Permission denied`), and a path of its index it cannot look at, in a folder it cannot
# search (`d/b: Permission denied`). A folder it cannot list and knows nothing in (`warning:
# could not open directory`) is neither captured nor touched, as before: not refused, but
# for one an operation made so, at its own rollback (scan.UNLISTABLE_SINCE).
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


# A folder git cannot list (`warning: could not open directory 'd/': Permission denied`).
_CANNOT_LIST: Final = re.compile(
    rb"^warning: could not open directory '(.+)': Permission denied$", re.M
)


def _made_unlistable_since(stderr: bytes, root: Path, since: float | None) -> list[bytes]:
    """The folders git could not list whose inode changed at or after `since` (made, or made
    unreadable, since then: its ctime says so, which no one can set back), and that are ours
    (one another user owns, a container's data folder, changes as they write into it; a folder
    of ours we cannot list was made so by us), read from the top of the worktree without
    following a link."""
    folders = [m.group(1).rstrip(b"/") for m in _CANNOT_LIST.finditer(stderr)]
    if since is None or not folders:
        return []
    from git_atomic.engine import safefs

    with safefs.Tree(os.fsencode(root)) as tree:
        looks = [tree.lstat(f) for f in folders]
    me = os.geteuid()
    return [
        f
        for f, st in zip(folders, looks, strict=True)
        if st and st.st_uid == me and st.st_ctime >= since
    ]


# A run's own rollback that meets one stops before it writes anything and leaves the operation
# interrupted: `recover` finishes it once the path is shorter (a folder moved out of the
# worktree stays as it is; one moved within it is the operation's, taken back with the rest).
_LONG_HINT: Final = (
    "move it where its path is shorter, then run this again (`git atomic recover` where "
    "`git atomic status` shows an operation interrupted)"
)


def refuse(stderr: bytes, *, root: Path, since: float | None = None) -> None:
    """Raise RefusedError naming the first path git said it could not read, if any; and a
    folder it could not list that was made so at or after `since` (an operation's own)."""
    long = _too_long(stderr)
    if long:
        shown = long[0].decode("utf-8", "backslashreplace")
        if len(shown) > 80:
            shown = shown[:40] + "..." + shown[-37:]
        raise RefusedError(
            f"{shown}: a path too long for git to open (over {len(long[0])} bytes), so no "
            "checkpoint can hold what is there; git-atomic changed nothing",
            hint=_LONG_HINT,
        )
    found = [
        m.group(1) for pattern in (_CANNOT_OPEN, _CANNOT_LOOK) for m in pattern.finditer(stderr)
    ]
    found += [f + b"/" for f in _made_unlistable_since(stderr, root, since)]
    if not found:
        return
    shown = found[0].decode("utf-8", "backslashreplace")
    raise RefusedError(
        f"{shown}: cannot be read (permission denied), so no checkpoint can hold what is there; "
        "git-atomic changed nothing",
        hint="make it readable (chmod u+rX on it and the folders above it), then run this again "
        "(`git atomic recover` where `git atomic status` shows an operation interrupted)",
    )
