"""OP-EXEC: the user's command, run for an operation in the user's terminal, and its exit code
and duration recorded in the journal before anything looks at what it did. One way for `run`
and for each `tdd` phase."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from git_atomic.core import children
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import FailedPhase
from git_atomic.ops import output
from git_atomic.ops.operation import Engine


def run_command(
    engine: Engine, op: OpRow, argv: Sequence[str], *, timeout: float | None, json_out: bool
) -> children.ChildResult:
    """Run `argv` (its output on stderr when stdout carries our JSON); a command that could
    not start is said, and recorded as such."""
    res = children.run_child(
        list(argv),
        cwd=os.getcwd(),
        timeout=timeout,
        stdout=sys.stderr.fileno() if json_out else None,
        interactive=True,
        escapees_under=engine.repo.root,
    )
    engine.journal.set_command_result(op.id, exit_code=res.exit_code, duration=res.duration_s)
    if res.error:
        output.say(f"git-atomic: cannot run the command: {res.error}")
    return res


def failed_phase(res: children.ChildResult, ok_exit: tuple[int, ...]) -> FailedPhase | None:
    """Why an operation cannot go on from its command's run (an interrupt, the timeout, an exit
    code not among `ok_exit`), or None."""
    if children.INTERRUPTS.received is not None:
        return FailedPhase.INTERRUPT
    if res.timed_out:
        return FailedPhase.TIMEOUT
    if res.exit_code is None or res.exit_code not in ok_exit:
        return FailedPhase.EXEC
    return None
