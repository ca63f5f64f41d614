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
from typing import Final

_reached: dict[str, int] = {}


def _nth(spec: str) -> tuple[str, int]:
    step, _, nth = spec.partition("@")
    return step, int(nth) if nth.isdigit() else 1


# The names above as the environment's own mapping holds them (bytes on POSIX), None where it
# is another: `hit` is reached thousands of times in a large restore (twice a file), and
# `os.environ.get` of a name that is not there raises and catches a KeyError each time (three
# such, 4 us a step; a look in the mapping, 0.1 us).
_RAW: Final = getattr(os.environ, "_data", None) if os.name == "posix" else None
_NAMES: Final = (
    b"GIT_ATOMIC_FAILPOINT",
    b"GIT_ATOMIC_FAILPOINT_TRACE",
    b"GIT_ATOMIC_FAILPOINT_PAUSE",
)


def hit(step: str) -> None:
    # Read at each step, not at import: the warm helper (cli/helperd.py) imports this module
    # once and runs each command in a child with the command's own environment (os.environ
    # keeps the one mapping, `_RAW`, whatever is set or unset in it).
    raw = _RAW
    if isinstance(raw, dict) and not (_NAMES[0] in raw or _NAMES[1] in raw or _NAMES[2] in raw):
        return
    armed = os.environ.get("GIT_ATOMIC_FAILPOINT")
    trace = os.environ.get("GIT_ATOMIC_FAILPOINT_TRACE")
    pause = os.environ.get("GIT_ATOMIC_FAILPOINT_PAUSE")
    if armed is None and trace is None and pause is None:
        return
    count = _reached[step] = _reached.get(step, 0) + 1
    if trace is not None:
        with open(trace, "a") as fh:
            fh.write(step + "\n")
    if armed is not None and _nth(armed) == (step, count):
        os.kill(os.getpid(), signal.SIGKILL)
    pause_file = os.environ.get("GIT_ATOMIC_FAILPOINT_PAUSE_FILE")
    if pause is not None and pause_file is not None and _nth(pause) == (step, count):
        _pause(pause_file)


def _pause(path: str) -> None:
    with open(path, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 120
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
