"""What recover, run --isolate, status, log, show, gates and gc report, as records built on
an operation's (results.py). Rendered by resultjson.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, HistoryMode
from git_atomic.ops.results import OperationResult

if TYPE_CHECKING:
    from git_atomic.core.config import GateSpec, TddConfig
    from git_atomic.ops.gates import GateResult


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
    notes: tuple[str, ...] = ()  # a commit a remote holds that the restore took off a branch


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


# --- status, log, show -----------------------------------------------------------------------
@dataclass(frozen=True)
class LockHolder:
    pid: int
    since: str
    command: str | None
    alive: bool


@dataclass(frozen=True)
class KilledTurn:
    """An agent turn whose Stop was killed before it became an operation
    (agents/turnstopkilled.py): `recover` takes its own changes back."""

    op_id: str
    session: str
    platform: str


@dataclass(frozen=True)
class InterruptedRestore:
    """A rollback, undo or emergency outside any operation that stopped half way."""

    event: object  # as its intent recorded them
    target: object
    rescue: object


# Past this many paths a side of `status --json`'s changes is cut (`truncated`; its `total`
# is exact): an agent tool's result stays readable.
CHANGES_LIMIT: Final = 1000


@dataclass(frozen=True)
class ChangedPath:
    """A path an open operation changed (opchanges.py)."""

    path: str  # decoded with surrogateescape: bytes that are not UTF-8 kept
    action: str  # added | modified | deleted | mode | type | renamed
    source: str | None = None  # renamed: the path it had at PRE-OP


@dataclass(frozen=True)
class OpChanges:
    """What an open operation changed since its PRE-OP (opchanges.py), for `status`."""

    since: str  # the PRE-OP checkpoint
    worktree: tuple[ChangedPath, ...]  # the files on disk (tracked or not) against PRE-OP's
    staged: tuple[ChangedPath, ...]  # the index's entries against PRE-OP's index
    unknown: str | None = None  # why they could not be worked out (the status goes on)


@dataclass(frozen=True)
class OpenTurn:
    """An agent turn open in the worktree (agents/turnstate.py), for `status --json`."""

    op_id: str
    session: str
    platform: str
    steps: int
    # Its Stop could not wait for the worktree's lock (agents/turnstopkilled.STOP_BUSY): the
    # session's next call that ends the turn (its next prompt, its end) judges it.
    judged_next: bool = False
    # The files its finished calls changed so far (opchanges.of_turn); None: not known (no
    # call finished, or a checkpoint of one is gone).
    changes: tuple[ChangedPath, ...] | None = None


@dataclass(frozen=True)
class StatusResult:
    open: OperationResult | None
    interrupted: OperationResult | None
    restore: InterruptedRestore | None
    lock: LockHolder | None
    blocked: str | None = None  # git's own command left half way (a merge): why, and the ways out
    killed_turns: tuple[KilledTurn, ...] = ()
    # A kept turn whose commit (commits mode) a kill stopped half way: (op id, its name)
    commit_stopped: tuple[str, str] | None = None
    changes: OpChanges | None = None  # what the open operation changed since its PRE-OP
    turns: tuple[OpenTurn, ...] = ()  # agent turns open here (no operation yet)


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
