"""`recover` of a turn whose Stop was killed before the turn became an operation
(turnstopkilled.py marks it): the killed end's work done, the turn an open operation."""

from __future__ import annotations

from git_atomic.agents import turnend, turnop, turnsteps, turnstopkilled
from git_atomic.agents.turnstate import slots_in
from git_atomic.core import records
from git_atomic.ops.context import Context


def record_killed(ctx: Context) -> bool:
    """A turn of this worktree whose end event was killed before its operation row (one, the
    oldest): its last step captured, the turn written as an open operation owned by this
    process, for recover to take back (commands/recover.py). The caller holds the worktree's
    lock, which the end event held from its mark to its row: a marked record found under it
    is one whose end event died. False: none, or a turn that changed nothing (its record and
    refs dropped)."""
    from git_atomic.core.vocab import HistoryMode
    from git_atomic.engine import indexerrors
    from git_atomic.ops import context

    repo = ctx.repo
    if ctx.journal.open_op(ctx.worktree) is not None:
        return False  # that one first: recover finishes one operation at a time
    marked = [
        (record.started_at, slot)
        for slot, record, _ in slots_in(repo.state_dir, ctx.worktree)
        if turnstopkilled.began(record) is not None
    ]
    for _, slot in sorted(marked, key=lambda found: found[0]):
        with slot.held():
            record = slot.read()
            history = turnstopkilled.began(record) if record is not None else None
            if record is None or history is None:
                continue
            if ctx.journal.op(record.op_id) is not None:
                slot.remove()  # killed once it was an operation: that one is recover's
                continue
            record = records.replace(record, root=str(repo.root))
            raw_index = bool(context.git_state_in_the_way(repo))
            try:  # (its end may have taken the last step already: then nothing to take)
                record = turnend.closed(repo, record, raw_index=raw_index)
            except indexerrors.UnreadableIndex:
                record = turnend.closed(repo, record, raw_index=True)
            if not record.steps:
                slot.remove()
                turnsteps.forget_refs(repo, record)
                continue
            slot.write(
                turnstopkilled.mark(turnstopkilled.unmarked(record), history)
            )  # as its end leaves it (turnend.py)
        refs = turnop.adopt_refs(repo, record, None)
        mode = HistoryMode.parse(history, what="history")
        detail: dict[str, object] = {turnstopkilled.STOP_BEGAN: "killed"}
        turnop.record_op(ctx, turnstopkilled.unmarked(record), refs, detail=detail, history=mode)
        return True
    return False
