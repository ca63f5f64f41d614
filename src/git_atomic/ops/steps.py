"""An operation's steps (the checkpoints immediate rollback walks) and how moves change statuses.

Steps are PRE-OP and OP-EXEC checkpoints, then POST-OP for a closed operation; rescue checkpoints
are never steps. An operation that was rolled back has a single step: its PRE-OP.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, EventKind, OpStatus

_STEP_KINDS: Final = {
    OpStatus.OPEN: (CheckpointKind.PRE_OP, CheckpointKind.OP_EXEC),
    OpStatus.ROLLED_BACK: (CheckpointKind.PRE_OP,),
}
_CLOSED_STEPS: Final = (CheckpointKind.PRE_OP, CheckpointKind.OP_EXEC, CheckpointKind.POST_OP)


@dataclass(frozen=True)
class StatusFlip:
    """A move changed a closed operation's status (recorded in its event, for `undo`)."""

    op: str
    before: OpStatus
    after: OpStatus

    def detail(self) -> dict[str, object]:
        """As the event's detail records it."""
        return {"op_status": {"op": self.op, "from": self.before, "to": self.after}}


def steps(journal: Journal, op: OpRow) -> list[CheckpointRow]:
    kinds = _STEP_KINDS.get(op.status, _CLOSED_STEPS)
    return [c for c in journal.checkpoints(op.id) if c.kind in kinds]


def position(journal: Journal, worktree: str, steps: Sequence[CheckpointRow]) -> int:
    """Which step the tree was last brought to: the newest, unless rollbacks (and undos of them)
    since the newest step moved it. A rollback and an `undo` each move it; a selective rollback
    leaves it; anything else (emergency, recover) sends it back to the newest step."""
    newest = len(steps) - 1
    if not steps:
        return 0
    index = {row.sha: i for i, row in enumerate(steps)}
    since = max(row.created_at for row in steps)
    events = [e for e in journal.events(worktree, limit=500) if e.at > since]
    pos, last = newest, None
    for event in reversed(events):
        before = pos
        if event.kind == EventKind.UNDO and last is not None:
            pos = last[0]
        elif event.kind == EventKind.ROLLBACK and "paths" in json.loads(event.detail or "{}"):
            pass  # selective: the rest of the tree stayed where it was
        elif event.kind == EventKind.ROLLBACK and event.target in index:
            pos = index[event.target]
        else:
            pos = newest
        last = (before, pos)
    return pos


def label(journal: Journal, row: CheckpointRow, op: OpRow) -> str:
    if row.kind == CheckpointKind.OP_EXEC:
        stage = sum(
            1
            for c in journal.checkpoints(op.id)
            if c.kind == CheckpointKind.OP_EXEC and c.seq <= row.seq
        )
        name = f"OP-EXEC stage {stage}"
    else:
        name = row.kind.label
    return f"{name} of {op.name} [{op.id}]"


def last_validated(journal: Journal, worktree: str) -> tuple[CheckpointRow, OpRow] | None:
    for op in journal.ops(worktree=worktree, status=OpStatus.COMMITTED):
        posts = [c for c in journal.checkpoints(op.id) if c.kind == CheckpointKind.POST_OP]
        if posts:
            return posts[-1], op
    return None


def status_flip(
    journal: Journal, target: str, op: OpRow | None, *, selective: bool
) -> StatusFlip | None:
    """A whole-tree move to the PRE-OP of a closed operation undoes it: it becomes rolled_back.

    Recorded in the event, so that `undo` can give the operation its status back.
    """
    if op is None or op.status in (OpStatus.OPEN, OpStatus.ROLLED_BACK) or selective:
        return None
    pre = next((c for c in journal.checkpoints(op.id) if c.kind == CheckpointKind.PRE_OP), None)
    if pre is None or pre.sha != target:
        return None
    return StatusFlip(op.id, op.status, OpStatus.ROLLED_BACK)


def reverse_status(journal: Journal, detail: str | None) -> StatusFlip | None:
    """The flip that gives back the status an event's move changed, if it still stands."""
    change = (json.loads(detail) if detail else {}).get("op_status")
    if not change:
        return None
    op = journal.op(change["op"])
    if op is None or op.status != change["to"] or change["from"] == OpStatus.OPEN:
        return None
    return StatusFlip(op.id, OpStatus(change["to"]), OpStatus(change["from"]))
