"""What a command reports, as records: built from the journal, rendered in one place.

`resultjson.py` renders them as the JSON result (one object on stdout, `docs/reference.md`); the
commands and views say them to people. Nothing here writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import GateRow, OpRow
from git_atomic.core.vocab import (
    CheckpointKind,
    EventKind,
    FailedPhase,
    HistoryMode,
    OpKind,
    OpStatus,
    Phase,
)

if TYPE_CHECKING:
    from git_atomic.core.config import GateSpec, TddConfig
    from git_atomic.ops.gates import GateResult


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


@dataclass(frozen=True)
class LockBroken:
    pid: int
    since: str


@dataclass(frozen=True)
class RestoreFinished:
    """A restore a crash had stopped half way, finished by recover."""

    event: object  # the intent's event, as it was recorded
    target: str
    rescue: str
    op_id: str | None = None  # a rollback of an operation closed long before (`--op ID`)


@dataclass(frozen=True)
class Recovery:
    action: str | None  # commands.recover.Action
    lock_broken: LockBroken | None
    stopped_group: int | None
    isolated_closed: tuple[str, ...]
    restore_finished: RestoreFinished | None
    rescue: str | None
    problems: tuple[str, ...]
    duration_s: float


@dataclass(frozen=True)
class RecoverResult:
    operation: OperationResult
    recovery: Recovery


@dataclass(frozen=True)
class Isolated:
    """How an isolated run's validated result came home (or why not, and how to by hand)."""

    applied: bool
    merged: bool
    not_applied: str | None  # isolation_apply.NotApplied
    why: str | None
    conflicts: tuple[str, ...]
    result: str | None  # the POST-OP checkpoint of the private worktree
    private_worktree: str
    apply_by_hand: tuple[str, ...]


@dataclass(frozen=True)
class IsolatedResult:
    operation: OperationResult
    isolated: Isolated


# --- moves: rollback, undo, emergency --------------------------------------------------------
@dataclass(frozen=True)
class ChangedPath:
    path: str
    action: str  # restoreplan.Action


@dataclass(frozen=True)
class FromTo:
    before: str | None
    after: str | None


@dataclass(frozen=True)
class BranchMove:
    name: str  # without refs/heads/
    before: str | None  # None: the branch is created
    after: str | None  # None: the branch is deleted


@dataclass(frozen=True)
class DroppedCommit:
    """A commit no branch nor HEAD holds after the move (the rescue still does)."""

    sha: str
    subject: str
    branch: str


@dataclass(frozen=True)
class MoveFacts:
    """What a move changes (or would): paths and how, HEAD, branches, the staged entries, the
    branches it leaves alone, the commits it drops from history, git's unfinished command
    (`before`: what is cleared, `after`: what comes back), and the refs it keeps."""

    changes: tuple[ChangedPath, ...]
    head: FromTo | None
    branches: tuple[BranchMove, ...]
    index: tuple[str, ...]
    branches_left: tuple[str, ...]
    dropped_commits: tuple[DroppedCommit, ...]
    git_state: FromTo | None
    kept: tuple[str, ...]
    changed_since_rescue: tuple[str, ...] = ()  # written by someone else meanwhile: left
    refs_moved_since_rescue: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    sha: str  # the checkpoint commit the tree goes to
    label: str  # for people: "OP-EXEC stage 2 of fmt [ab12cd34ef56]"


@dataclass(frozen=True)
class MoveResult:
    """A rollback, undo or emergency (or its dry run): the operation concerned, or the
    stand-in of none (`no_operation` named after the event), and what moved."""

    operation: OperationResult
    status: str  # the operation's status after the move, or "undone"
    event: EventKind
    dry_run: bool
    target: Target
    rescue: str | None  # the checkpoint of the state the move replaced
    paths: tuple[str, ...]  # a selective move: only these
    facts: MoveFacts
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Overlap:
    """Where an effect and the changes made since overlap (effect.Conflict)."""

    path: str
    where: str
    kind: str
    lines: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class RefusedMove:
    """A move refused because the effect to take back overlaps with later changes."""

    operation: OperationResult  # the operation concerned, or the stand-in of none
    event: EventKind
    dry_run: bool
    conflicts: tuple[Overlap, ...]
    error: str
    hint: str
    exit_code: int


@dataclass(frozen=True)
class NothingFurther:
    """`rollback` of an operation already back at its first step."""

    operation: OperationResult


# --- status, log, show -----------------------------------------------------------------------
@dataclass(frozen=True)
class LockHolder:
    pid: int
    since: str
    command: str | None
    alive: bool


@dataclass(frozen=True)
class InterruptedRestore:
    """A rollback, undo or emergency outside any operation that stopped half way."""

    event: object  # as its intent recorded them
    target: object
    rescue: object


@dataclass(frozen=True)
class StatusResult:
    open: OperationResult | None
    interrupted: OperationResult | None
    restore: InterruptedRestore | None
    lock: LockHolder | None


@dataclass(frozen=True)
class LogResult:
    operations: tuple[OperationResult, ...]


@dataclass(frozen=True)
class CheckpointEntry:
    seq: int
    kind: CheckpointKind
    sha: str
    ref: str
    message: str | None
    commit: str | None  # commits mode: the visible commit made for this phase
    at: str


@dataclass(frozen=True)
class GateLog:
    name: str
    log: str | None
    message: str | None


@dataclass(frozen=True)
class ShowResult:
    operation: OperationResult
    checkpoint_list: tuple[CheckpointEntry, ...]
    gate_logs: tuple[GateLog, ...]
    diff: str | None  # only with --diff or --stat


# --- gates, gc ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class GateEntry:
    """A configured gate, and how it ended when `gates --run` ran it."""

    spec: GateSpec
    ran: bool  # `gates --run`: the entry has a result (None: not run after a failure)
    result: GateResult | None


@dataclass(frozen=True)
class GatesResult:
    """`gates`: the configuration's gates and TDD test; with `--run`, how they ended."""

    source: str | None  # where the configuration was read from
    history: HistoryMode
    gates: tuple[GateEntry, ...]
    tdd: TddConfig
    passed: bool | None = None  # `--run` only
    log_dir: str | None = None  # `--run` only


@dataclass(frozen=True)
class GcResult:
    """What `gc` retired."""

    operations: int
    refs: int
    events: int
    logs: int
    bytes_freed: int
    expire: str | None  # what `git prune --expire` was given; None: pruning is off


Result = (
    OperationResult
    | RecoverResult
    | IsolatedResult
    | MoveResult
    | RefusedMove
    | NothingFurther
    | StatusResult
    | LogResult
    | ShowResult
    | GatesResult
    | GcResult
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
