"""Crash injection for tests: GIT_ATOMIC_FAILPOINT=<step> makes the process SIGKILL itself there.

In the manner of SQLite's crash-at-write-N loop, the fault tests run each command once per
step named here and check that `recover` then reaches the exact expected state.
`<step>@N` kills at the N-th time the step is reached (a step can come several times in one
command, e.g. the commit of PRE-OP and of OP-EXEC); GIT_ATOMIC_FAILPOINT_TRACE=<file> appends
every step reached to that file, so a harness knows which kills a command can take.

GIT_ATOMIC_FAILPOINT_PAUSE=<step>[@N] with GIT_ATOMIC_FAILPOINT_PAUSE_FILE=<file> pauses there
instead: the process writes its pid to that file and waits until the file is gone (at most two
minutes). A test plays another writer in that window (a user's editor, a second agent session).
"""

from __future__ import annotations

import os
import signal
import time

_ARMED = os.environ.get("GIT_ATOMIC_FAILPOINT")
_STEP, _, _NTH = (_ARMED or "").partition("@")
_WANTED = int(_NTH) if _NTH.isdigit() else 1
_TRACE = os.environ.get("GIT_ATOMIC_FAILPOINT_TRACE")
_PAUSE = os.environ.get("GIT_ATOMIC_FAILPOINT_PAUSE")
_PAUSE_STEP, _, _PAUSE_NTH = (_PAUSE or "").partition("@")
_PAUSE_WANTED = int(_PAUSE_NTH) if _PAUSE_NTH.isdigit() else 1
_PAUSE_FILE = os.environ.get("GIT_ATOMIC_FAILPOINT_PAUSE_FILE")
_reached: dict[str, int] = {}


def hit(step: str) -> None:
    if _ARMED is None and _TRACE is None and _PAUSE is None:
        return
    count = _reached[step] = _reached.get(step, 0) + 1
    if _TRACE is not None:
        with open(_TRACE, "a") as fh:
            fh.write(step + "\n")
    if _ARMED is not None and step == _STEP and count == _WANTED:
        os.kill(os.getpid(), signal.SIGKILL)
    if _PAUSE_FILE is not None and step == _PAUSE_STEP and count == _PAUSE_WANTED:
        _pause(_PAUSE_FILE)


def _pause(path: str) -> None:
    with open(path, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 120
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
