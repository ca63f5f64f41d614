"""A child's wait that passes an interrupt on to the processes of its group that missed it.

Ctrl-C or SIGTERM is forwarded to the command's (or gate's) process group (children.py), but a
process the group starts after that never gets it. A shell takes the signal between two of its
commands (dash and bash defer it while they fork, or a `trap` runs) and waits for its next
command before it obeys, and that command runs to its end: a cancelled `run` of
`sh -c 'make; sleep 600'` waited its ten minutes, its queue behind it. So, a second after an
interrupt was passed on, while the group still runs, each of its processes that started since
is sent the signal too, once (Linux, which lists a process's group and start in /proc; elsewhere
the wait is the plain one). A process that had it already is left to finish as it chooses.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from typing import Any, Final

AGAIN_S: Final = 1.0  # after an interrupt, when the group's latecomers are sent it
_STEP_S: Final = 0.5  # how often a wait looks whether an interrupt came


def wait(child: subprocess.Popen[bytes], timeout: float | None, interrupts: Any) -> None:
    """`child.wait(timeout)`, and the group's latecomers sent the interrupt `interrupts` (the
    handlers' record: `received`, `forwarded_at` on its `clock()`) passed on, AGAIN_S after."""
    try:
        pidfd = os.pidfd_open(child.pid)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        child.wait(timeout=timeout)
        return
    import select

    deadline = None if timeout is None else time.monotonic() + timeout
    sent = False
    try:
        while child.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(child.args, timeout or 0)
            step = _STEP_S if left is None else min(_STEP_S, left)
            forwarded = interrupts.forwarded_at
            if forwarded is not None and not sent:
                due = forwarded + AGAIN_S - interrupts.clock()
                if due <= 0:
                    sent = True
                    signal_latecomers(child.pid, interrupts.received, forwarded)
                    continue
                step = min(step, due)
            select.select([pidfd], [], [], step)
    finally:
        os.close(pidfd)


def signal_latecomers(pgid: int, signum: int, since: float) -> None:
    """Send `signum` to each process of group `pgid` that started at `since` or later."""
    tick = os.sysconf("SC_CLK_TCK")
    first = int(since * tick)  # the tick it went in: a process of that tick may have missed it
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        # After the command's name: state, ppid, pgrp (5th in the file), ..., starttime (22nd).
        if len(fields) > 19 and int(fields[2]) == pgid and int(fields[19]) >= first:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)
