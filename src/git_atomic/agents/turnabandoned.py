"""Agent turns whose session never came back (its agent was killed: no end event, no next
prompt): listed (`open_lines`), and closed, recorded and not judged, by another session's
prompt (turnend.py) or by `git atomic gc` (`close_abandoned`), in every worktree.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from git_atomic.agents import turnplace, turnstate, turnsteps
from git_atomic.agents.turnstate import Record, Slot
from git_atomic.core import records
from git_atomic.core.errors import AtomicError
from git_atomic.engine import git

if TYPE_CHECKING:
    from git_atomic.agents import judge


def open_lines(state_dir: Path, worktree: str | None = None) -> list[str]:
    """One line per open turn (of `worktree`, or of every one), for people (`hooks status`,
    `status`): its platform, session, folder, steps so far and, for one abandoned, since when
    no hook call came and what closes it."""
    return [open_line(record, when) for _, record, when in turnstate.slots_in(state_dir, worktree)]


def open_line(record: Record, when: float) -> str:
    """`open_lines`' line for one turn, whose hook call last wrote its record at `when`."""
    from git_atomic.agents import turnstopkilled  # (not on a hook call's way)

    calls = len(record.steps) + len(turnsteps.pending_of(record))  # pending: turnsteps.py
    idle = time.time() - when
    gone = (
        f"; no hook call for {idle / 3600:.0f} h: abandoned (its session's next prompt, "
        "another session's, or `git atomic gc` closes it, not judged)"
        if idle >= turnstate.ABANDONED_AFTER
        else ""
    )
    if turnstopkilled.busy(record) is not None:  # (agents/turnstopkilled.py)
        gone += (
            "; its Stop could not wait for the worktree's lock: not judged yet, its "
            "session's next prompt or its end judges it"
        )
    return (
        f"{record.platform} session {record.session[:12]} in {record.root} "
        f"({calls} step{'s' if calls != 1 else ''} so far{gone})"
    )


def abandoned_why(slot: Slot) -> str:
    import datetime

    when = turnstate.last_call(slot.path) or 0.0
    since = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"its session made no hook call since {since} UTC (its agent was killed, or the session "
        "never came back); what it did after its last call is not counted, and nothing was "
        "taken back"
    )


def idle_too_long(slot: Slot) -> bool:
    """Whether no hook call of the slot's session wrote its record for ABANDONED_AFTER."""
    when = turnstate.last_call(slot.path)
    return when is not None and time.time() - when >= turnstate.ABANDONED_AFTER


def without_open_window(repo: git.Repo, record: Record) -> Record:
    """`record` without its open window and its steps only noted, for a turn whose session made
    no hook call for ABANDONED_AFTER: closing that window now would make what anyone did since
    (days of your edits) the turn's. The window's `before` ref goes."""
    if record.window_before not in (None, "", turnsteps.FILES_NOTED):
        turnsteps.forget_refs(repo, record, only=(str(record.window_before),))
    gone = (turnsteps.WINDOW_STATE, turnsteps.CLAIMS, turnsteps.NOTED, turnsteps.NOTED_AT)
    extra = {k: v for k, v in record.extra.items() if k not in (*gone, turnsteps.PENDING)}
    return records.replace(record, window_before=None, in_flight=(), extra=extra)


def close_abandoned(ctx: judge.Held, cutoff: float) -> int:
    """Close each turn in this worktree whose session made no hook call since `cutoff` (`gc`:
    its retention): the agent was killed, or the session never came back, and nothing else
    ends it. Recorded as an operation, not judged, and never taken back (`without_open_window`).
    Returns how many."""
    from git_atomic.agents import judge

    repo = ctx.repo
    closed = 0
    # (Never one a session may still come back to: `gc --older-than 0` closes no live turn.)
    cutoff = min(cutoff, time.time() - turnstate.ABANDONED_AFTER)
    for slot in turnstate.abandoned(repo.state_dir, repo.worktree_id, cutoff):
        with slot.held():
            record = slot.read()
            when = turnstate.last_call(slot.path)
            if record is None or when is None or when >= cutoff:
                continue
            if record.root != str(repo.root) and turnplace.not_here(repo, slot, record):
                continue  # a copy's record of a turn that ran elsewhere: dropped, no operation
            why = abandoned_why(slot) + "; `git atomic gc` closed it"
            record = without_open_window(repo, record)
            slot.remove()
        if record.steps:
            judge.judge(repo, ctx, record, ending=why)
        else:
            turnsteps.forget_refs(repo, record)
        closed += 1
    return closed


def close_abandoned_elsewhere(repo: git.Repo, cutoff: float) -> tuple[int, list[str]]:
    """`gc` in one worktree: the abandoned turns of the repository's other worktrees closed
    there too, each under that worktree's lock, as `close_abandoned` closes this one's (their
    records and refs are the repository's: left, they would stay for ever, since nobody runs
    `gc` in every worktree). Returns how many, and a line for each worktree whose turns are
    left: its folder gone (a worktree removed by hand: `git worktree prune` forgets it),
    another repository's (a copy's record), or busy now."""
    from git_atomic.ops import context

    cutoff = min(cutoff, time.time() - turnstate.ABANDONED_AFTER)
    waiting = sorted(
        {slot.worktree for slot, _, when in turnstate.slots_in(repo.state_dir) if when < cutoff}
        - {repo.worktree_id}
    )
    if not waiting:
        return 0, []
    folders = repo.other_worktree_folders()
    closed, lines = 0, []
    for worktree in waiting:
        folder = folders.get(worktree)
        there = turnplace.worktree_repo(repo, None if folder is None else str(folder))
        if (
            there is None
            or there.worktree_id != worktree
            or (os.path.realpath(there.common_dir) != os.path.realpath(repo.common_dir))
        ):
            why = (
                "git knows no such worktree"
                if folder is None
                else f"its folder {folder} is gone"
                if there is None
                else f"its folder {folder} is not that worktree of this repository (a copy's?)"
            )
            lines.append(
                f"the abandoned agent turns of worktree {worktree} are left open: {why} "
                "(`git worktree prune` forgets a worktree removed by hand)"
            )
            continue
        try:
            with context.opened("gc", wait=0, start=str(there.root), check_state=False) as ctx:
                closed += close_abandoned(ctx, cutoff)
        except AtomicError as exc:
            lines.append(
                f"the abandoned agent turns of worktree {worktree} ({there.root}) are left "
                f"open: {exc}; `git atomic gc` there closes them"
            )
    return closed, lines
