"""`git atomic status` for people: open or interrupted, which phase, since when, who, what next."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from git_atomic.core.errors import RefusedError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.lock import Holder, why_gone
from git_atomic.core.vocab import CheckpointKind, OpKind
from git_atomic.engine.git import Repo
from git_atomic.ops import context
from git_atomic.ops.commandresults import ChangedPath, KilledTurn, OpChanges, OpenTurn
from git_atomic.views.logview import log_lines
from git_atomic.views.render import PHASE_WORD, Style, clock, relative

# Paths listed per side (on disk, staged) before "and N more"; `--json` lists them all.
SHOWN: Final = 10

_SESSION_NEXT = (
    "`git atomic checkpoint` records a stage, `git atomic commit` runs the gates",
    "and makes it final, `git atomic abort` rolls it back",
)
_RECOVER_NEXT = (
    "`git atomic recover` goes back to PRE-OP (what it replaces is kept as a rescue);",
    "`git atomic recover --accept` keeps the tree as it is",
)


def _row(label: str, *lines: str) -> list[str]:
    return [f"  {label:<8} {lines[0]}", *(f"  {'':<8} {line}" for line in lines[1:])]


def _phase(journal: Journal, op: OpRow, now: float) -> str:
    word = PHASE_WORD.get(op.phase, op.phase)
    cps = [c for c in journal.checkpoints(op.id) if c.kind != CheckpointKind.RESCUE]
    stages = sum(1 for c in cps if c.kind == CheckpointKind.OP_EXEC)
    if stages:
        word += f", stage {stages} recorded {relative(cps[-1].created_at, now)}"
    return word


def _since(holder: Holder, now: float) -> str:
    try:
        ts = datetime.fromisoformat(holder.since).timestamp()
    except ValueError:
        return holder.since
    return f"{clock(ts)} ({relative(ts, now)})"


def status_lines(
    repo: Repo,
    journal: Journal,
    *,
    open_op: OpRow | None,
    interrupted: OpRow | None,
    holder: Holder | None,
    style: Style,
    now: float | None = None,
    changes: OpChanges | None = None,
) -> list[str]:
    now = time.time() if now is None else now
    out = _pending_restore_lines(repo, style)
    op = interrupted or open_op
    if op is not None:
        stopped = interrupted is not None
        out += _operation_lines(journal, op, interrupted=stopped, style=style, now=now)
        if changes is not None:
            out += changes_lines(changes)
    elif not out:
        out += _quiet_lines(repo, journal, style=style, now=now)
    if holder is not None:
        gone = why_gone(holder)
        state = f" (gone: {gone}; `git atomic recover` clears it)" if gone else ""
        state = style.paint(state, "red") if state else ""
        command = f" `{holder.command}`" if holder.command else ""
        out += _row("lock", f"pid {holder.pid}{command} since {_since(holder, now)}{state}")
    try:
        context.check_git_state(repo)
    except RefusedError as exc:
        out += _row("note", f"{exc.message}; git-atomic will not start an operation")
    return out


def changes_lines(changes: OpChanges) -> list[str]:
    """What the open operation changed since its PRE-OP: on disk, then in the index."""
    since = f"since PRE-OP {changes.since[:12]}"
    if changes.unknown is not None:
        return _row("changed", f"not worked out: {changes.unknown}")
    if not changes.worktree and not changes.staged:
        return _row("changed", f"nothing {since}")
    out = []
    for label, side, what in (
        ("changed", changes.worktree, "on disk"),
        ("staged", changes.staged, "in the index"),
    ):
        if not side:
            continue
        n = len(side)
        rows = [f"{n} path{'s' if n != 1 else ''} {what} {since}:"]
        rows += [_path_line(c) for c in side[:SHOWN]]
        if n > SHOWN:
            rows.append(f"and {n - SHOWN} more (`git atomic status --json` lists them)")
        out += _row(label, *rows)
    return out


def turn_lines(line: str, turn: OpenTurn) -> list[str]:
    """An agent turn open here: its line (turnabandoned.open_line), then the files its calls
    changed so far."""
    out = _row("turn", line)
    if turn.changes is None:
        return out
    n = len(turn.changes)
    if not n:
        return [*out, *_row("", "its calls changed no file so far")]
    rows = [f"its calls changed {n} path{'s' if n != 1 else ''} so far:"]
    rows += [_path_line(c) for c in turn.changes[:SHOWN]]
    if n > SHOWN:
        rows.append(f"and {n - SHOWN} more (`git atomic status --json` lists them)")
    return [*out, *_row("", *rows)]


def _path_line(change: ChangedPath) -> str:
    from git_atomic.ops.output import quote_path

    shown = quote_path(change.path)
    if change.source is not None:
        shown = f"{quote_path(change.source)} -> {shown}"
    return f"  {change.action:<8} {shown}"


def killed_turn_lines(killed: Sequence[KilledTurn], *, style: Style) -> list[str]:
    """Turns whose Stop was killed before they were operations (agents/turnstopkilled.py)."""
    out = []
    for turn in killed:
        name = f"{turn.platform} turn of session {turn.session[:12]}"
        out += [
            f"{style.status('interrupted', 'interrupted:')} {style.paint(name, 'bold')} "
            f"[{style.paint(turn.op_id, 'yellow')}]",
            *_row("phase", "its Stop was killed before the turn was recorded"),
            *_row(
                "next",
                "`git atomic recover` takes back the turn's own changes (what you did",
                "meanwhile stays); new operations in this worktree wait until then",
            ),
        ]
    return out


def commit_stopped_lines(stopped: tuple[str, str] | None, style: Style) -> list[str]:
    """A kept turn's commit (commits mode) that a kill stopped half way."""
    if stopped is None:
        return []
    op_id, name = stopped
    return [
        f"{style.status('interrupted', 'interrupted:')} the commit of "
        f"{style.paint(name, 'bold')} [{style.paint(op_id, 'yellow')}]",
        *_row("phase", "its Stop was killed while it made the kept turn's commit"),
        *_row(
            "next",
            "`git atomic recover` finishes it (your index as the Stop leaves it) or says it",
            "was not made",
        ),
    ]


def _pending_restore_lines(repo: Repo, style: Style) -> list[str]:
    """A rollback, undo or emergency that stopped half way, and that `recover` finishes it."""
    if not (repo.git_dir / context.PENDING_RESTORE).exists():
        return []
    return [
        style.status("interrupted", "interrupted:")
        + " a rollback, undo or emergency stopped half way",
        *_row("next", "`git atomic recover` finishes it; new operations wait until then"),
    ]


def _operation_lines(
    journal: Journal, op: OpRow, *, interrupted: bool, style: Style, now: float
) -> list[str]:
    """The open or interrupted operation: what, which phase, since when, who works on it, what
    next."""
    head = "interrupted:" if interrupted else "open:"
    out = [
        f"{style.status('interrupted' if interrupted else 'open', head)} "
        f"{style.paint(op.name, 'bold')} [{style.paint(op.id, 'yellow')}]"
    ]
    out += _row("phase", _phase(journal, op, now))
    out += _row("since", f"{clock(op.started_at)} ({relative(op.started_at, now)})")
    if interrupted:
        gone = (
            "ended before finishing a change it had started (killed, crashed, or refused)"
            if op.pending is not None  # a refused `abort` too: its rollback is recover's now
            else "is gone (killed or crashed)"
        )
        out += _row("process", f"pid {op.owner_pid} {gone}")
        out += _row("next", *_RECOVER_NEXT)
        out += _row("note", "until then new operations in this worktree are refused (exit 3)")
        return out
    if op.owner_pid:
        out += _row("process", f"pid {op.owner_pid} is working on it")
    elif op.kind == OpKind.SESSION:
        out += _row("process", "none: the operation waits for you")
    out += _row(
        "next",
        *(
            _SESSION_NEXT
            if op.kind == OpKind.SESSION
            else ("wait for it to finish; `git atomic status` again",)
        ),
    )
    return out


def _quiet_lines(repo: Repo, journal: Journal, *, style: Style, now: float) -> list[str]:
    """No operation open: the last one, and what `undo` would take back."""
    out = ["no operation is open in this worktree"]
    last = journal.ops(worktree=repo.worktree_id, limit=1)
    if last:
        line = log_lines(journal, last, repo=repo, style=style, now=now)[0]
        out += _row("last", line)
    newest = journal.events(repo.worktree_id, limit=1)
    if newest:
        kind = newest[0].kind
        what = (
            "reverses the last undo"
            if kind == "undo"
            else f"brings back what the last {kind} replaced"
        )
        out += _row("undo", f"`git atomic undo` {what}")
    return out
