"""The journal's records: an operation, its checkpoints, gates and events as the journal
(the journal package, the one door to SQL) reads them back, their closed vocabularies typed."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Final

from git_atomic.core.records import dataclass
from git_atomic.core.vocab import (
    CheckpointKind,
    EventKind,
    FailedPhase,
    HistoryMode,
    OpKind,
    OpStatus,
    Phase,
)

# An undo event's detail: the rescue of the event it took back (EventRow.undid).
UNDOES: Final = "undoes"

# The intent of the state change under way: {"action": "restore", "target": ..., ...}
Intent = Mapping[str, object]


@dataclass(frozen=True)
class Owner:
    """The process working on an operation: its pid and start time (a pid alone is reused)."""

    pid: int
    start: str | None

    @classmethod
    def this_process(cls) -> Owner:
        from git_atomic.core.lock import process_start

        return cls(os.getpid(), process_start(os.getpid()))


@dataclass(frozen=True)
class OpRow:
    id: str
    worktree: str
    name: str
    kind: OpKind
    history: HistoryMode
    status: OpStatus
    phase: Phase
    failed_phase: FailedPhase | None
    owner_pid: int | None
    owner_start: str | None
    pending: str | None
    argv: str | None
    exit_code: int | None
    command_duration: float | None
    coverage: float | None
    started_at: float
    ended_at: float | None
    duration: float | None
    detail: str | None

    @property
    def argv_list(self) -> list[str] | None:
        return json.loads(self.argv) if self.argv else None

    @property
    def pending_intent(self) -> dict[str, Any] | None:
        return json.loads(self.pending) if self.pending else None

    @property
    def details(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


@dataclass(frozen=True)
class CheckpointRow:
    op_id: str
    seq: int
    kind: CheckpointKind
    sha: str
    ref: str
    message: str | None
    commit_sha: str | None
    created_at: float


@dataclass(frozen=True)
class GateRow:
    op_id: str
    seq: int
    name: str
    passed: bool
    exit_code: int | None
    duration: float
    coverage: float | None
    output_tail: str | None
    log_path: str | None
    message: str | None
    command: str | None = None  # None: recorded before schema 2


@dataclass(frozen=True)
class EventRow:
    id: int
    op_id: str | None
    worktree: str
    kind: EventKind
    at: float
    rescue: str | None
    target: str | None
    detail: str | None

    @property
    def undid(self) -> str | None:
        """For an `undo` event, the state it took the event before it back to, as that event's
        rescue names it (the link from an undo to the event it undid): its target where it went
        there exactly; where it worked the result out on top of later changes, a new commit
        stands for it, and its detail names the rescue (UNDOES)."""
        if self.kind != EventKind.UNDO:
            return None
        try:
            detail = json.loads(self.detail) if self.detail else None
        except ValueError:
            detail = None
        named = detail.get(UNDOES) if isinstance(detail, dict) else None
        return named if isinstance(named, str) else self.target
