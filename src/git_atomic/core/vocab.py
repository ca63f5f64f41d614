"""The closed vocabularies the journal records and the JSON reports.

Each is a `StrEnum`, so a member is the very string the journal's columns and the JSON output
have always held: `OpStatus.OPEN == "open"`, and `json.dumps` writes `"open"`.
"""

from __future__ import annotations

import enum


class OpStatus(enum.StrEnum):
    """Where an operation ended (or that it has not)."""

    OPEN = "open"
    COMMITTED = "committed"  # its gates passed: the tree is its POST-OP state
    ROLLED_BACK = "rolled_back"  # the tree was brought back to its PRE-OP state
    RECOVERED = "recovered"  # closed by `recover` after its process died


class Phase(enum.StrEnum):
    """The step an open operation is in (`done` once closed)."""

    PRE_OP = "pre_op"  # its first checkpoint is being taken
    EXEC = "exec"  # the command runs, or a session is open
    VALIDATE = "validate"  # the gates run
    POST_OP = "post_op"  # its last checkpoint is being taken
    APPLY = "apply"  # run --isolate: the result is being brought to the worktree
    DONE = "done"


class CheckpointKind(enum.StrEnum):
    PRE_OP = "pre_op"  # the state before the operation
    OP_EXEC = "op_exec"  # a stage while it runs (a session's checkpoint, run's end of command)
    POST_OP = "post_op"  # the state its gates validated
    RESCUE = "rescue"  # the state a rollback, undo or emergency moved away from

    @property
    def label(self) -> str:
        """The word people read: `PRE-OP`, `OP-EXEC`, `POST-OP`, `rescue`."""
        return self.value if self is CheckpointKind.RESCUE else self.value.upper().replace("_", "-")


class FailedPhase(enum.StrEnum):
    """Why an operation was rolled back (or recovered)."""

    EXEC = "exec"  # the command failed or could not start
    TIMEOUT = "timeout"  # the command ran past its time
    VALIDATE = "validate"  # a gate failed
    INTERRUPT = "interrupt"  # a signal, or the process died


class IntentAction(enum.StrEnum):
    """The `action` of the state change an operation records before it starts (`pending`)."""

    PRE_OP = "pre_op"  # `begin` takes the PRE-OP checkpoint
    ADVANCE = "advance"  # commits mode: a phase's commit moves the branch, then the index
    RESTORE = "restore"  # a rollback, undo, emergency or apply brings the tree to a target


class HistoryMode(enum.StrEnum):
    """What an operation leaves on the branch."""

    COMMITS = "commits"  # a visible commit per phase
    SHADOW = "shadow"  # only checkpoint refs; the branch and index are untouched

    @classmethod
    def parse(cls, text: str, *, what: str) -> HistoryMode:
        """`text` as a mode, or a usage error naming `what` was given (`--history`)."""
        try:
            return cls(text)
        except ValueError:
            from git_atomic.core.errors import UsageError

            modes = " or ".join(m.value for m in cls)
            raise UsageError(f"{what}: expected {modes}, got {text!r}") from None


class OpKind(enum.StrEnum):
    """Which command opened an operation."""

    RUN = "run"
    SESSION = "session"
    TDD = "tdd"
    API = "api"
    AGENT_TURN = "agent-turn"


class EventKind(enum.StrEnum):
    """What moved the tree (a row of the events table; also the name of its failpoints)."""

    ROLLBACK = "rollback"
    ABORT = "abort"
    EMERGENCY = "emergency"
    UNDO = "undo"
    RECOVER = "recover"
    APPLY = "apply"  # run --isolate brought its result to the worktree
