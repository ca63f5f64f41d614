"""Our temporary files (`Repo.scratch_path`) that processes killed before their `finally` left
behind: removed by `gc` and by `recover`, once the process that named them is gone."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from git_atomic.core.lock import process_alive

# `<what>-<pid>-<n>`, the early scan's `scan-<pid>-early` and `scan-<pid>-seed` (early.py),
# a restore's `scan-follow-<pid>` (scanindex.follow); and the `.lock` a killed git left beside.
_TMP_PID: Final = re.compile(r"(?:-(\d+)-(?:\d+|early|seed)|^scan-follow-(\d+))(?:\.lock)?$")


def remove_dead(tmp: Path) -> None:
    """Remove the files in `tmp` whose process is no longer alive."""
    try:
        names = os.listdir(tmp)
    except FileNotFoundError:
        return
    for name in names:
        m = _TMP_PID.search(name)
        pid = int(m.group(1) or m.group(2)) if m else 0
        if pid and pid != os.getpid() and not process_alive(pid, None):
            (tmp / name).unlink(missing_ok=True)
