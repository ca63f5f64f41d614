"""Files the configuration includes (`include.path`, `includeIf.<condition>.path`) where a FIFO
(or a socket or a device) would keep git waiting for ever: every git process reads the
configuration first, so an operation's `git config include.path /path/to/fifo` had every git
call of its rollback, and every later command, wait with nothing said. Looked at before git
reads them (layoutcheck.check_layout, gitconfig.config_current), refused by name, exit 3 (as
stalls.py does for the files git reads its rules from)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from typing import Final

from git_atomic.core.errors import RefusedError

# Sections whose `path` names a file git reads as configuration (`[include]`,
# `[includeIf "gitdir:..."]`), and how deep one is followed into another (git's own: 10).
_INCLUDE_SECTIONS: Final = re.compile(rb'^\s*\[\s*include(if\s*"[^"]*")?\s*\]', re.I)
_SECTION: Final = re.compile(rb"^\s*\[")
_PATH_KEY: Final = re.compile(
    rb'^\s*path\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;#]*?))\s*(?:[;#].*)?$', re.I
)
_MOST_INCLUDES: Final = 10
_MOST_BYTES: Final = 1 << 20


def check_includes(files: Iterable[str]) -> None:
    """Refuse a file an `include.path` or `includeIf.<condition>.path` of the configuration
    `files` names (and of those it includes in turn) that would stall git: an operation's `git
    config include.path /path/to/fifo` had every git call of its rollback wait for ever on
    it. Called where a configuration file changed since it was read (gitconfig.py): read
    here, the files git includes followed as git follows them (a link too: yours)."""
    queue = [(path, 0) for path in files]
    seen: set[str] = set()
    while queue:
        file, depth = queue.pop()
        if file in seen or depth > _MOST_INCLUDES:
            continue
        seen.add(file)
        try:
            st = os.stat(file)
            if not stat.S_ISREG(st.st_mode) or st.st_size > _MOST_BYTES:
                continue
            with open(file, "rb") as fh:
                data = fh.read(_MOST_BYTES)
        except (OSError, ValueError):
            continue
        for named in _included(data):
            path = os.path.expanduser(os.fsdecode(named))
            path = os.path.join(os.path.dirname(file), path)
            try:
                st = os.stat(path)
            except (OSError, ValueError):
                continue
            if _stalls(st):
                raise RefusedError(
                    f"{path}, which {file} includes ({_kind(st.st_mode)}), would have git "
                    "wait for ever reading its configuration, so no checkpoint can be made; "
                    "git-atomic changed nothing",
                    hint=f"remove its include line from {file} with an editor (git itself "
                    "would wait reading it), then run this again (`git atomic recover` where "
                    "`git atomic status` shows an operation interrupted)",
                )
            queue.append((path, depth + 1))


def _included(data: bytes) -> list[bytes]:
    """The `path` values of the include sections of a configuration file's text."""
    found: list[bytes] = []
    inside = False
    for line in data.splitlines():
        if _SECTION.match(line):
            inside = _INCLUDE_SECTIONS.match(line) is not None
            line = line.split(b"]", 1)[1] if b"]" in line else b""
        if inside:
            m = _PATH_KEY.match(line)
            if m is not None:
                value = m.group(1) if m.group(1) is not None else m.group(2)
                if value:
                    found.append(value.replace(b'\\"', b'"').replace(b"\\\\", b"\\"))
    return found


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    return "a socket" if stat.S_ISSOCK(mode) else "a device"


def _stalls(st: os.stat_result) -> bool:
    """Anything but a regular file, a folder or a link, and not the null device."""
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
        return False
    try:
        null = os.stat(os.devnull)
    except OSError:
        return True
    return not (stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev)
