"""Crash injection for tests: GIT_ATOMIC_FAILPOINT=<step> makes the process SIGKILL itself there.

In the manner of SQLite's crash-at-write-N loop, the fault tests run each command once per
step named here and check that `recover` then reaches the exact expected state.
"""

from __future__ import annotations

import os
import signal

_ARMED = os.environ.get("GIT_ATOMIC_FAILPOINT")


def hit(step: str) -> None:
    if _ARMED is not None and _ARMED == step:
        os.kill(os.getpid(), signal.SIGKILL)
