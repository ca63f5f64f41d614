"""`git atomic log` for people: one line per operation, like `git log --oneline` grown up.

3f2a9c1e  2 minutes ago  rolled back  lint-fix  4.21s  3 files +12 -4  gate tests failed
"""

from __future__ import annotations

import re
import time

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import GateRow, OpRow
from git_atomic.core.vocab import CheckpointKind, FailedPhase, OpKind, OpStatus
from git_atomic.engine.git import Repo
from git_atomic.ops import context
from git_atomic.ops.output import EXIT_OK, not_kept
from git_atomic.views.changestats import file_stats
from git_atomic.views.render import (
    Stat,
    Style,
    brought_back,
    committed_gates,
    duration,
    not_applied,
    op_word,
    own_change,
    relative,
)

NAME_WIDTH = 32


def _why(op: OpRow, gates: list[GateRow], post_op: bool) -> str:
    """Why it ended as it did, in a few words; empty when there is nothing to add."""
    if op.status == OpStatus.OPEN:
        if context.is_interrupted(op):
            return "interrupted: `git atomic recover`"
        if op.owner_pid is None:
            return "waiting for `git atomic commit` or `abort`"
        return {"validate": "running the gates"}.get(op.phase, "running")
    failed = [g for g in gates if not g.passed]
    covered = [g.coverage for g in gates if g.coverage is not None]
    coverage = f", coverage {covered[-1]:.1f}%" if covered else ""
    if op.status == OpStatus.COMMITTED:
        return committed_gates(op, gates) + (coverage if gates and not failed else "")
    if op.status == OpStatus.RECOVERED:
        return "recovered after a crash"
    if failed:
        names = ", ".join(g.name for g in failed)
        low = (
            f": coverage {failed[0].coverage:.1f}%"
            if len(failed) == 1 and failed[0].coverage is not None
            else ""
        )
        return f"gate{'s' if len(failed) > 1 else ''} {names} failed{low}"
    if op.failed_phase == FailedPhase.EXEC:
        if op.exit_code == 0 or op.details.get(EXIT_OK):
            return f"command exited {op.exit_code}, {not_kept(op)}"
        return f"command exited {op.exit_code}" if op.exit_code is not None else "command failed"
    kept_aside = not_applied(op)
    if kept_aside is not None:
        return kept_aside
    words: dict[FailedPhase | None, str] = {
        FailedPhase.TIMEOUT: "timed out",
        FailedPhase.INTERRUPT: "interrupted",
    }
    return words.get(op.failed_phase, "rolled back after commit" if post_op else "aborted")


def tdd_marker(op: OpRow) -> str:
    """Where the TDD cycle stands: ` [GREEN kept, 91.2%]`, ` [RED broken: the tests pass]`."""
    details = op.details
    label = str(details.get("tdd", "")).upper()
    if op.status == OpStatus.COMMITTED:
        cov = f", {op.coverage:.1f}%" if op.coverage is not None else ""
        return f" [{label} kept{cov}]"
    why = details.get("why") or op.failed_phase or op.status
    return f" [{label} broken: {why}]" if details.get("kept") is False else f" [{label}: {why}]"


def log_lines(
    journal: Journal, ops: list[OpRow], *, repo: Repo, style: Style, now: float | None = None
) -> list[str]:
    now = time.time() if now is None else now
    rows = []
    pairs: dict[str, tuple[str, str]] = {}
    events = (
        sorted(journal.events(ops[0].worktree, limit=10_000), key=lambda e: e.id) if ops else []
    )
    for op in ops:
        cps = journal.checkpoints(op.id)
        gates = journal.gates(op.id)
        # An agent turn's own change (its calls' steps), as `show` gives it: what you did
        # between its calls is not counted as the turn's.
        made = own_change(repo, op, cps)
        if made is not None:
            pairs[op.id] = (made.before, made.after)
        post_op = any(c.kind == CheckpointKind.POST_OP for c in cps)
        rolled_back = op.status in (OpStatus.ROLLED_BACK, OpStatus.RECOVERED)
        back = rolled_back and brought_back(cps, events, op.id)
        rows.append((op, gates, post_op, back, op_word(op, cps)))
    stats = file_stats(repo, pairs)
    when = [relative(op.started_at, now) for op, *_ in rows]
    names = [
        op.name if len(op.name) <= NAME_WIDTH else op.name[: NAME_WIDTH - 1] + "…"
        for op, *_ in rows
    ]
    durations = [duration(op.duration) if op.status != OpStatus.OPEN else "…" for op, *_ in rows]
    changes = [_change(stats.get(op.id), style) for op, *_ in rows]
    w_when = max(map(len, when), default=0)
    w_name = max(map(len, names), default=0)
    w_dur = max(map(len, durations), default=0)
    w_change = max((_visible(c) for c in changes), default=0)
    lines = []
    for (op, gates, post_op, back, kept_word), ago, name, dur, change in zip(
        rows, when, names, durations, changes, strict=True
    ):
        interrupted = op.status == OpStatus.OPEN and context.is_interrupted(op)
        status = "interrupted" if interrupted else op.status
        text = "interrupted" if interrupted else kept_word
        word = style.status(status, text)
        pad = " " * (11 - len(text))
        why = tdd_marker(op).lstrip() if op.kind == OpKind.TDD else _why(op, gates, post_op)
        why = (
            style.paint(why, "red")
            if op.status == OpStatus.ROLLED_BACK and op.kind != OpKind.TDD
            else why
        )
        if back:
            why += style.paint("; brought back by undo", "cyan")
        line = (
            f"{style.paint(op.id[:8], 'yellow')}  {ago:<{w_when}}  {word}{pad}  "
            f"{style.paint(name, 'bold')}{' ' * (w_name - len(name))}  {dur:>{w_dur}}  "
            f"{change}{' ' * (w_change - _visible(change))}  {why}"
        )
        lines.append(line.rstrip())
    return lines


def _change(stat: Stat | None, style: Style) -> str:
    return stat.text(style) if stat is not None else "-"


def _visible(text: str) -> int:
    return len(re.sub(r"\x1b\[[0-9;]*m", "", text))
