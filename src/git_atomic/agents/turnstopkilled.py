"""A turn whose Stop was killed before the turn became an operation.

Where the turn's last call was a file tool that only noted its file (turn.py), its end event
captures that call's step before the turn's operation row is written (turnend.py); any turn's
end then moves its refs (judge.py) before that row. The end event notes in the turn's record
that it began judging it (`mark`), before any capture, and the record, marked, stays in its
slot until the row is written (`recorded`): a platform that kills the hook anywhere on that
path (its hook timeout) leaves the record so marked, and

- `git atomic recover` (`record_killed`) does what the killed hook had not done yet (the last
  step captured, the turn written as an operation of its own, open), then takes back the
  turn's own changes as it does for a Stop killed once the operation existed: what the user
  wrote since, in another file or the same one, stays;
- the next hook call of that session that ends the turn (the next prompt, the session's end)
  judges it as its Stop would have, never "ended without Stop".
"""

from __future__ import annotations

import os
from typing import Final

from git_atomic.agents.turnstate import Record, Slot, slots_in
from git_atomic.core import records
from git_atomic.ops.context import Context

# In `Record.extra`: the end event that began judging the turn ({"pid", "history"}).
STOP_BEGAN: Final = "stop_began"


def mark(record: Record, history: str) -> Record:
    """The record as the end event leaves it before its first capture."""
    began = {"pid": os.getpid(), "history": history}
    return records.replace(record, extra={**record.extra, STOP_BEGAN: began})


def began(record: Record) -> str | None:
    """The history mode of the end event that began judging the turn and did not finish (None:
    none began)."""
    began = record.extra.get(STOP_BEGAN)
    if not isinstance(began, dict):
        return None
    history = began.get("history")
    return history if isinstance(history, str) else "shadow"


def marked_here(record: Record) -> bool:
    """Whether this process began judging the turn (its end failed, said: not killed)."""
    began = record.extra.get(STOP_BEGAN)
    return isinstance(began, dict) and began.get("pid") == os.getpid()


def unmarked(record: Record) -> Record:
    if STOP_BEGAN not in record.extra:
        return record
    return records.replace(record, extra={k: v for k, v in record.extra.items() if k != STOP_BEGAN})


def recorded(ctx: Context, record: Record) -> None:
    """The turn is an operation now: its record, marked, leaves its slot (turnend.py wrote it
    there once its last step was taken, for `record_killed` if the end is killed before)."""
    slot = Slot(ctx.repo.state_dir, record.session, ctx.worktree)
    with slot.held():
        left = slot.read()
        if left is not None and left.op_id == record.op_id and began(left) is not None:
            slot.remove()


def record_killed(ctx: Context) -> bool:
    """A turn of this worktree whose end event was killed before its operation row (one, the
    oldest): its last step captured, the turn written as an open operation owned by this
    process, for recover to take back (commands/recover.py). The caller holds the worktree's
    lock, which the end event held from its mark to its row: a marked record found under it
    is one whose end event died. False: none, or a turn that changed nothing (its record and
    refs dropped)."""
    from git_atomic.agents import turnend, turnop, turnsteps
    from git_atomic.core.vocab import HistoryMode
    from git_atomic.engine import staged
    from git_atomic.ops import context

    repo = ctx.repo
    if ctx.journal.open_op(ctx.worktree) is not None:
        return False  # that one first: recover finishes one operation at a time
    marked = [
        (record.started_at, slot)
        for slot, record, _ in slots_in(repo.state_dir, ctx.worktree)
        if began(record) is not None
    ]
    for _, slot in sorted(marked, key=lambda found: found[0]):
        with slot.held():
            record = slot.read()
            history = began(record) if record is not None else None
            if record is None or history is None:
                continue
            if ctx.journal.op(record.op_id) is not None:
                slot.remove()  # killed once it was an operation: that one is recover's
                continue
            record = records.replace(record, root=str(repo.root))
            raw_index = bool(context.git_state_in_the_way(repo))
            try:  # (its end may have taken the last step already: then nothing to take)
                record = turnend.closed(repo, record, raw_index=raw_index)
            except staged.UnreadableIndex:
                record = turnend.closed(repo, record, raw_index=True)
            if not record.steps:
                slot.remove()
                turnsteps.forget_refs(repo, record)
                continue
            slot.write(mark(unmarked(record), history))  # as its end leaves it (turnend.py)
        refs = turnop.adopt_refs(repo, record, None)
        mode = HistoryMode.parse(history, what="history")
        detail: dict[str, object] = {STOP_BEGAN: "killed"}
        turnop.record_op(ctx, unmarked(record), refs, detail=detail, history=mode)
        return True
    return False
