"""A turn whose Stop was killed before the turn became an operation.

Where the turn's last call was a file tool that only noted its file (turn.py), its end event
captures that call's step before the turn's operation row is written (turnend.py); any turn's
end then moves its refs (judge.py) before that row. The end event notes in the turn's record
that it began judging it (`mark`), before any capture, and the record, marked, stays in its
slot until the row is written (`recorded`): a platform that kills the hook anywhere on that
path (its hook timeout) leaves the record so marked, and

- `git atomic recover` (turnkilledend.record_killed) does what the killed hook had not done
  yet (the last step captured, the turn written as an operation of its own, open), then takes
  back the turn's own changes as it does for a Stop killed once the operation existed: what the user
  wrote since, in another file or the same one, stays;
- the next hook call of that session that ends the turn (the next prompt, the session's end)
  judges it as its Stop would have, never "ended without Stop".

A Stop that could not wait for the worktree's lock (another git-atomic held it past
GIT_ATOMIC_HOOK_LOCK_WAIT) captured nothing and judged nothing: it marks the record `busy`, and
the session's next call that ends the turn (its next prompt, its end) judges it as that Stop
would have, never closes it unjudged; its next Stop judges it too (the turn stays open).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from git_atomic.agents.turnstate import Record, Slot
from git_atomic.core import records
from git_atomic.ops.context import Context

# In `Record.extra`: the end event that began judging the turn ({"pid", "history"}).
STOP_BEGAN: Final = "stop_began"
# In `Record.extra`: the end event that could not wait for the lock ({"history"}).
STOP_BUSY: Final = "stop_busy"


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


def marked_busy(record: Record, history: str) -> Record:
    """The record as a Stop that could not wait for the lock leaves it: judged by the next
    call that ends the turn."""
    return records.replace(record, extra={**record.extra, STOP_BUSY: {"history": history}})


def busy(record: Record) -> str | None:
    """The history mode of the end event that could not wait for the lock (None: none)."""
    was = record.extra.get(STOP_BUSY)
    if not isinstance(was, dict):
        return None
    history = was.get("history")
    return history if isinstance(history, str) else "shadow"


def unmarked(record: Record) -> Record:
    """The record without either mark (its end begins now)."""
    if STOP_BEGAN not in record.extra and STOP_BUSY not in record.extra:
        return record
    return records.replace(
        record,
        extra={k: v for k, v in record.extra.items() if k not in (STOP_BEGAN, STOP_BUSY)},
    )


def recorded(ctx: Context, record: Record) -> None:
    """The turn is an operation now: its record, marked, leaves its slot (turnend.py wrote it
    there once its last step was taken, for `record_killed` if the end is killed before)."""
    slot = Slot(ctx.repo.state_dir, record.session, ctx.worktree)
    with slot.held():
        left = slot.read()
        if left is not None and left.op_id == record.op_id and began(left) is not None:
            slot.remove()


def killed(state_dir: Path, worktree: str) -> list[Record]:
    """The turns of `worktree` whose end event began judging them and died before their
    operation row (its process gone), oldest first: `recover` finishes them
    (turnkilledend.py); `status` names them as interrupted."""
    from git_atomic.agents.turnstate import slots_in
    from git_atomic.core.lock import process_alive

    found = []
    for _, record, _ in slots_in(state_dir, worktree):
        began = record.extra.get(STOP_BEGAN)
        pid = began.get("pid") if isinstance(began, dict) else None
        if isinstance(began, dict) and not (isinstance(pid, int) and process_alive(pid, None)):
            found.append(record)
    return sorted(found, key=lambda record: record.started_at)
