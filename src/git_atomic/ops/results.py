"""What an operation reports, as records: built from the journal, rendered in one place.

`resultjson.py` renders them as the JSON result (one object on stdout, `docs/reference.md`); the
commands and views say them to people. Nothing here writes anything. The records of the other
commands build on `OperationResult`: moveresults.py (rollback, undo, emergency) and
commandresults.py (recover, run --isolate, status, log, show, gates, gc). They are apart so that
a checkpoint or an agent's hook call, which report one operation, do not pay for the import of
all of them (each frozen dataclass costs about a millisecond to define).
"""

from __future__ import annotations

from collections.abc import Mapping

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import GateRow, OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import (
    CheckpointKind,
    FailedPhase,
    HistoryMode,
    OpKind,
    OpStatus,
    Phase,
)


@dataclass(frozen=True)
class Checkpoints:
    """The checkpoints a result names: the first PRE-OP, every OP-EXEC, the last POST-OP and
    the last rescue."""

    pre_op: str | None = None
    op_exec: tuple[str, ...] = ()
    post_op: str | None = None
    rescue: str | None = None


@dataclass(frozen=True)
class CommandRun:
    """The operation's command: what ran, how it ended, how long it took."""

    argv: tuple[str, ...]
    exit_code: int | None
    duration_s: float


@dataclass(frozen=True)
class GateRun:
    name: str
    passed: bool
    exit_code: int | None
    duration_s: float
    coverage: float | None
    message: str | None
    output_tail: str | None
    log: str | None
    command: str | None  # None: recorded before schema 2 of the journal

    @classmethod
    def of(cls, row: GateRow) -> GateRun:
        return cls(
            row.name,
            row.passed,
            row.exit_code,
            round(row.duration, 3),
            row.coverage,
            row.message,
            row.output_tail,
            row.log_path,
            row.command,
        )


@dataclass(frozen=True)
class TddFacts:
    """A TDD phase's facts: its rule, whether it held and why, the coverage it compared."""

    phase: object
    rule: object
    message: object
    kept: object
    why: object
    coverage: object
    green_coverage: object
    untouched: bool

    @classmethod
    def of(cls, details: Mapping[str, object]) -> TddFacts:
        return cls(
            details.get("tdd"),
            details.get("rule"),
            details.get("message"),
            details.get("kept"),
            details.get("why"),
            details.get("coverage"),
            details.get("green_coverage"),
            bool(details.get("untouched")),
        )


@dataclass(frozen=True)
class Times:
    started_at: str  # ISO 8601, UTC, to the second
    ended_at: str | None


@dataclass(frozen=True)
class OperationResult:
    """One operation as the JSON results show it (run, begin, checkpoint, commit, abort, tdd).

    `problems`, `held_back`, `tdd` and `times` are left out of the JSON when None. A result
    about no operation (recover with none to recover) has no id, name nor history.
    """

    op_id: str | None
    name: str | None
    status: OpStatus | None
    failed_phase: FailedPhase | None
    history: HistoryMode | None
    checkpoints: Checkpoints
    command: CommandRun | None
    gates: tuple[GateRun, ...]
    duration_s: float
    problems: object = None  # what the restore could not do, as the journal recorded it
    changed_since_rescue: object = None  # paths another writer changed meanwhile: left alone
    refs_moved_since_rescue: object = None  # HEAD or branches another writer moved meanwhile
    not_restored: object = None  # paths the restore could not put back (`problems` says why)
    notes: object = None  # what its rollback did that you are told (ops/published.py)
    held_back: object = None  # commits mode: files left out of the commit
    tdd: TddFacts | None = None
    times: Times | None = None
    phase: Phase | None = None  # status and show: the phase it is in (done once closed)


def no_operation(
    *,
    status: OpStatus | None,
    rescue: str | None,
    duration_s: float,
    name: str | None = None,
    history: HistoryMode | None = None,
) -> OperationResult:
    """The operation part of a result that concerns no operation (`name`: a move's event)."""
    return OperationResult(
        None, name, status, None, history, Checkpoints(rescue=rescue), None, (), duration_s
    )


def operation(
    journal: Journal, op: OpRow, *, with_times: bool = False, with_phase: bool = False
) -> OperationResult:
    cps = journal.checkpoints(op.id)
    rescues = [c.sha for c in cps if c.kind == CheckpointKind.RESCUE]
    post = [c.sha for c in cps if c.kind == CheckpointKind.POST_OP]
    pre = [c.sha for c in cps if c.kind == CheckpointKind.PRE_OP]
    argv = op.argv_list
    details = op.details
    return OperationResult(
        op_id=op.id,
        name=op.name,
        status=op.status,
        failed_phase=op.failed_phase,
        history=op.history,
        checkpoints=Checkpoints(
            pre[0] if pre else None,
            tuple(c.sha for c in cps if c.kind == CheckpointKind.OP_EXEC),
            post[-1] if post else None,
            rescues[-1] if rescues else None,
        ),
        command=(
            CommandRun(tuple(argv), op.exit_code, round(op.command_duration or 0.0, 3))
            if argv is not None
            else None
        ),
        gates=tuple(GateRun.of(g) for g in journal.gates(op.id)),
        duration_s=round(op.duration if op.duration is not None else 0.0, 3),
        problems=details.get("problems") or None,
        changed_since_rescue=details.get("changed_since_rescue") or None,
        refs_moved_since_rescue=details.get("refs_moved_since_rescue") or None,
        not_restored=details.get("not_restored") or None,
        notes=details.get("notes") or None,
        held_back=(details.get("held_back") or None if op.status == OpStatus.COMMITTED else None),
        tdd=TddFacts.of(details) if op.kind == OpKind.TDD else None,
        times=Times(iso(op.started_at), iso(op.ended_at) if op.ended_at else None)
        if with_times
        else None,
        phase=op.phase if with_phase else None,
    )


def iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
