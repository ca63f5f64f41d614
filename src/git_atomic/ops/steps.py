"""An operation's steps (the checkpoints immediate rollback walks) and how moves change statuses.

Steps are PRE-OP and OP-EXEC checkpoints, then POST-OP for a closed operation; rescue checkpoints
are never steps. An operation that was rolled back has a single step: its PRE-OP.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from git_atomic.core.journal import CheckpointRow, Journal, OpRow

_STEP_KINDS: Final = {"open": ("pre_op", "op_exec"), "rolled_back": ("pre_op",)}
_CLOSED_STEPS: Final = ("pre_op", "op_exec", "post_op")


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
        if event.kind == "undo" and last is not None:
            pos = last[0]
        elif event.kind == "rollback" and "paths" in json.loads(event.detail or "{}"):
            pass  # selective: the rest of the tree stayed where it was
        elif event.kind == "rollback" and event.target in index:
            pos = index[event.target]
        else:
            pos = newest
        last = (before, pos)
    return pos


def label(journal: Journal, row: CheckpointRow, op: OpRow) -> str:
    if row.kind == "op_exec":
        stage = sum(
            1 for c in journal.checkpoints(op.id) if c.kind == "op_exec" and c.seq <= row.seq
        )
        name = f"OP-EXEC stage {stage}"
    else:
        name = {"pre_op": "PRE-OP", "post_op": "POST-OP"}.get(row.kind, row.kind)
    return f"{name} of {op.name} [{op.id}]"


def last_validated(journal: Journal, worktree: str) -> tuple[CheckpointRow, OpRow] | None:
    for op in journal.ops(worktree=worktree, status="committed"):
        posts = [c for c in journal.checkpoints(op.id) if c.kind == "post_op"]
        if posts:
            return posts[-1], op
    return None


def status_flip(
    journal: Journal, target: str, op: OpRow | None, *, selective: bool
) -> dict[str, Any] | None:
    """A whole-tree move to the PRE-OP of a closed operation undoes it: it becomes rolled_back.

    Recorded in the event, so that `undo` can give the operation its status back.
    """
    if op is None or op.status in ("open", "rolled_back") or selective:
        return None
    pre = next((c for c in journal.checkpoints(op.id) if c.kind == "pre_op"), None)
    if pre is None or pre.sha != target:
        return None
    return {"op_status": {"op": op.id, "from": op.status, "to": "rolled_back"}}


def reverse_status(journal: Journal, detail: str | None) -> dict[str, Any] | None:
    change = (json.loads(detail) if detail else {}).get("op_status")
    if not change:
        return None
    op = journal.op(change["op"])
    if op is None or op.status != change["to"] or change["from"] == "open":
        return None
    return {"op_status": {"op": op.id, "from": change["to"], "to": change["from"]}}
