"""What a dry run of a move says beside its plan, worked out as the real move would do it
and changing nothing: the permission bits it would close (no tree holds them, so they are
listed as `mode` lines with the files), what it takes back of an effect beside the trees, and
the files inside submodules it leaves, warned of as the real move does."""

from __future__ import annotations

import time

from git_atomic.core.journalrows import OpRow
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.ops import context, effect, moves


def beside(
    ctx: context.Context, op: OpRow | None, current: Snapshot
) -> tuple[list[str], list[bytes]]:
    """What a dry run's move would take back of `op`'s effect beside its trees (as
    moving.beside_trees would): said as clauses, and the paths whose permission bits it would
    close (listed as `mode`)."""
    from git_atomic.engine import checkpoint
    from git_atomic.ops import effectbeside

    taken = effect.operation_steps(ctx.repo, ctx.journal, op) if op is not None else []
    if not taken:
        return [], []
    pre = checkpoint.load(ctx.repo, taken[0].before)
    end = checkpoint.load(ctx.repo, taken[-1].after)
    found = effectbeside.find(ctx.repo, pre, end, current)
    return effectbeside.foresee(found), [p for p, _ in found.close]


def bits(ctx: context.Context, prev: moves.Preview, move: moves.Move) -> list[bytes]:
    """The files and folders whose permission bits the restore of `prev` would close again
    (restorebits.closed_again: no tree holds them), for its dry run to list as `mode` lines."""
    if prev.target.made_within or move.made_within:
        return []  # as the restore itself: a worked-out one closes none
    from git_atomic.engine import restorebits, restoreplan

    written = {c.path for c in prev.plan.files}
    only = restoreplan.named_modes(ctx.repo, prev.target, move.paths)
    said = restorebits.closed_again(
        ctx.repo, prev.current, prev.target, written, only=only, dry_run=True
    )
    return [path for path, why in said if not why]


def inside(ctx: context.Context, op: OpRow | None) -> list[str]:
    """The files inside submodules that `op` changed while it ran, which the move taking its
    effect back leaves (no checkpoint holds them: moving.mend_reflogs), for its dry run to name."""
    if op is None or "submodules" not in op.details:
        return []
    from git_atomic.ops import submodulesback

    ended = op.ended_at or time.time()
    return submodulesback.changed_inside(ctx.repo, op.details, until=ended)


def folders(ctx: context.Context, prev: moves.Preview, move: moves.Move) -> list[str]:
    """The folders the move would put back first (foldermoves.py), said as notes: its list
    of paths is worked out from the state before, where they are still at the operation's
    names."""
    if move.paths or prev.current.folder_ids is None:
        return []
    effect = move.folders_effect
    if effect is None and prev.target.folder_ids is None:
        return []
    from git_atomic.engine import foldermoves

    known = dict(move.folders_known)
    only = dict(effect[0]) if effect is not None else None
    return [
        *(effect[1] if effect is not None else ()),
        *foldermoves.foresee(ctx.repo, prev.current, prev.target, known, only=only),
    ]
