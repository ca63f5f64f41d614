"""Our temporary files (`Repo.scratch_path`) that processes killed before their `finally` left
behind: removed by `gc` and by `recover`, once the process that named them is gone."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Final

from git_atomic.core.lock import process_alive

# `<what>-<pid>-<n>`, the early scan's `scan-<pid>-early` and `scan-<pid>-seed` (early.py),
# a restore's `scan-follow-<pid>` and `scan-follow-<pid>-<tree>` (scanindex.follow); and the
# `.lock` a killed git left beside.
REMOVED: Final = "removed-"  # safefs.Tree.take's names: `removed-<pid>-<n>`
_TMP_PID: Final = re.compile(
    r"(?:-(\d+)-(?:\d+|early|seed)|^scan-follow-(\d+)(?:-[0-9a-f]+)?)(?:\.lock)?$"
)


def remove_dead(tmp: Path) -> None:
    """Remove the files in `tmp` whose process is no longer alive. Nothing where `tmp` or our
    folder holding it is a link (something made it one: never removed through; a capture sets
    it aside, gitlinks.py)."""
    try:
        if any(stat.S_ISLNK(os.lstat(folder).st_mode) for folder in (tmp.parent, tmp)):
            return
        names = os.listdir(tmp)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(REMOVED):
            continue  # what a killed restore moved aside: kept, named (`aside_left`)
        m = _TMP_PID.search(name)
        pid = int(m.group(1) or m.group(2)) if m else 0
        if pid and pid != os.getpid() and not process_alive(pid, None):
            with contextlib.suppress(IsADirectoryError, PermissionError):
                (tmp / name).unlink(missing_ok=True)


def aside_left(tmp: Path) -> list[str]:
    """What a restore killed between moving a file aside and removing it (or putting it back:
    it was then someone else's save) left in `tmp`: never removed here, so nothing a writer saved
    at that instant is lost; `recover` names them."""
    dead = []
    with contextlib.suppress(OSError):
        for name in os.listdir(tmp):
            m = _TMP_PID.search(name) if name.startswith(REMOVED) else None
            if m and not process_alive(int(m.group(1)), None):
                dead.append(name)
    return sorted(dead)
