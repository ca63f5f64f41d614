"""`recover` after its first operation: every further turn of this worktree whose Stop was
killed, and what is left to recover elsewhere.

A killed Stop leaves its turn marked in its session's slot (agents/turnstopkilled.py); two
sessions of one worktree (the first's dead lock removed by hand) leave two. `recover` makes
one an operation at a time (one open operation per worktree), so it takes each in turn, oldest
first, while the one before finished cleanly; where one did not (its changes overlap later
ones, a path the system refused), it stops there and says what is left. A worktree's lock,
files and journal rows are its own: killed turns and interrupted operations of the
repository's other worktrees are named with where to run `recover`, never touched."""

from __future__ import annotations

import os
from collections.abc import Callable

from git_atomic.agents import turnkilledend, turnstopkilled
from git_atomic.agents.turnstate import slots_in
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import OpStatus
from git_atomic.ops import context
from git_atomic.ops.context import Context
from git_atomic.ops.samefolder import ROOT_KEY


def every_killed_turn(ctx: Context, finish: Callable[[OpRow], bool]) -> None:
    """Each further killed turn of this worktree made an operation and given to `finish`,
    which says whether it finished cleanly (only then the next one)."""
    while ctx.journal.open_op(ctx.worktree) is None and turnkilledend.record_killed(ctx):
        op = ctx.journal.open_op(ctx.worktree)
        if op is None or not finish(op):
            return


def left_lines(ctx: Context) -> list[str]:
    """What `recover` here did not finish: killed turns still marked (here, where it
    stopped; in another worktree) and interrupted operations of other worktrees."""
    out = []
    here = ctx.worktree
    for slot, record, _ in slots_in(ctx.repo.state_dir):
        if turnstopkilled.began(record) is None or ctx.journal.op(record.op_id) is not None:
            continue
        if slot.path.name == f"{here}.json":
            out.append(
                f"the turn of session {record.session[:8]} (its Stop killed) is left: "
                "run `git atomic recover` again once the one above is settled"
            )
        else:
            out.append(
                f"the turn of session {record.session[:8]} in {_where(record.root)} (its Stop "
                "killed) is "
                "left: run `git atomic recover` there"
            )
    for op in ctx.journal.ops(status=OpStatus.OPEN):
        if op.worktree == here or not context.is_interrupted(op):
            continue
        begun = op.details.get(ROOT_KEY)
        path = begun.get("path") if isinstance(begun, dict) else None
        where = _where(path) if isinstance(path, str) else "another worktree"
        out.append(
            f"{op.name} [{op.id}] in {where} was interrupted too: run `git atomic recover` there"
        )
    return out


def _where(root: str) -> str:
    return root if os.path.isdir(root) else f"{root} (a worktree no longer there)"
