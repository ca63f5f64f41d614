"""The end of every command that runs an operation, written once: a Ctrl-C or SIGTERM while
it runs is noted, not raised (the operation rolls back and says so), the outcome is told (JSON
on stdout, or lines for people) and the exit code is chosen: 0 committed, 1 rolled back,
130/143 when an interrupt rolled it back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from git_atomic.core import children
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import FailedPhase, OpStatus
from git_atomic.ops import output, results

if TYPE_CHECKING:
    from git_atomic.ops.resultjson import Result


def interrupted_exit(signum: int) -> int:
    import signal

    return 130 if signum == signal.SIGINT else 143


def exit_code(op: OpRow) -> int:
    received = children.INTERRUPTS.received
    if received is not None and op.failed_phase == FailedPhase.INTERRUPT:
        return interrupted_exit(received)
    return 0 if op.status == OpStatus.COMMITTED else 1


def conclude(
    journal: Journal,
    work: Callable[[], OpRow],
    *,
    json_out: bool,
    tell: Callable[[OpRow], None],
    as_json: Callable[[OpRow], Result] | None = None,
) -> int:
    """Run `work` (it opens, runs and closes the operation) with interrupts noted, then tell
    its outcome: `as_json` (default: the operation's record) or `tell`."""
    children.INTERRUPTS.install()
    try:
        op = work()
    finally:
        children.INTERRUPTS.uninstall()
    if json_out:
        output.emit(as_json(op) if as_json is not None else results.operation(journal, op))
    else:
        tell(op)
    return exit_code(op)
