"""`git atomic show ID` for people: the facts, then the phases as a timeline, then the change.

operation 3f2a9c1e4b5d  lint-fix
status    rolled back: gate tests failed; the tree is back at PRE-OP
...
  +0.00s  PRE-OP    7d665f94b377  backup state before operation
  +0.02s  command   ruff check --fix .  exit 0 after 0.41s
  +0.45s  OP-EXEC   0a653ff1504e  ruff check --fix .  commit ef87e54a1c43
          gates     1 of 2 failed in 3.80s
            tests        FAILED: exited with status 1  exit 1  3.12s
              | E   AssertionError ...
  +4.21s  rollback  to PRE-OP 7d665f94b377; rescue 062ca5f0e7e7 holds what it replaced
"""

from __future__ import annotations

import os
import shlex
import time

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import CheckpointRow, EventRow, GateRow, OpRow
from git_atomic.core.printable import printable
from git_atomic.core.vocab import (
    CheckpointKind,
    EventKind,
    FailedPhase,
    HistoryMode,
    OpKind,
    OpStatus,
)
from git_atomic.engine.git import Repo
from git_atomic.ops import context
from git_atomic.ops.output import EXIT_OK, not_kept
from git_atomic.views.changestats import diff_text, file_stats, repositories_in
from git_atomic.views.logview import tdd_marker
from git_atomic.views.render import (
    PHASE_WORD,
    Style,
    brought_back,
    clock,
    committed_gates,
    duration,
    not_applied,
    op_word,
    own_change,
    relative,
)

TAIL_LINES = 15


def _outcome(
    op: OpRow, gates: list[GateRow], checkpoints: list[CheckpointRow], style: Style
) -> str:
    failed = [g.name for g in gates if not g.passed]
    if op.status == OpStatus.OPEN:
        if context.is_interrupted(op):
            return style.status("interrupted", "interrupted") + (
                f" in {PHASE_WORD.get(op.phase, op.phase)}: pid {op.owner_pid} is gone"
            )
        return style.status(OpStatus.OPEN) + f", in {PHASE_WORD.get(op.phase, op.phase)}"
    word = style.status(op.status, op_word(op, checkpoints))
    if op.status == OpStatus.COMMITTED:
        gates_said = committed_gates(op, gates)
        return word + (f": {gates_said}" if gates_said else "") + "; the result is final"
    if op.status == OpStatus.RECOVERED:
        return word + " after a crash"
    if failed:
        why = f"gate{'s' if len(failed) > 1 else ''} {', '.join(failed)} failed"
    elif op.failed_phase == FailedPhase.EXEC:
        why = (
            f"the command exited {op.exit_code}"
            if op.exit_code is not None
            else "the command could not run"
        )
        if op.exit_code == 0 or op.details.get(EXIT_OK):
            why += f", but {not_kept(op)}"
    else:
        words: dict[FailedPhase | None, str] = {
            FailedPhase.TIMEOUT: "the command timed out",
            FailedPhase.INTERRUPT: "interrupted",
        }
        why = words.get(op.failed_phase, "rolled back on request")
    kept_aside = not_applied(op)
    if kept_aside is not None and not failed:
        return f"{word}: passed, {kept_aside}; your worktree was not touched"
    if op.kind == OpKind.AGENT_TURN:  # judged on its own effect (agents/judge.py)
        return f"{word}: {why}; its own changes were taken back (what others did meanwhile stays)"
    return f"{word}: {why}; the tree went back to PRE-OP"


def _facts(
    repo: Repo, op: OpRow, cps: list[CheckpointRow], gates: list[GateRow], style: Style, now: float
) -> list[str]:
    out = [
        f"operation {style.paint(op.id, 'yellow')}  {style.paint(op.name, 'bold')}",
        f"status    {_outcome(op, gates, cps, style)}",
        f"started   {clock(op.started_at)} ({relative(op.started_at, now)})"
        + (f", took {duration(op.duration)}" if op.duration is not None else ""),
    ]
    out.append(
        "history   "
        + (
            "commits: OP-EXEC/POST-OP commits of its effect on the branch"
            if op.history == HistoryMode.COMMITS
            else "shadow: checkpoints only under refs/atomic/"
        )
    )
    if op.kind == OpKind.TDD:
        out.append(f"tdd      {tdd_marker(op)}")
    argv = op.argv_list
    if argv is not None:
        ran = f"exit {op.exit_code}" if op.exit_code is not None else "did not finish"
        command = printable(shlex.join(argv))
        out.append(f"command   {command}  ({ran} after {duration(op.command_duration)})")
    change = own_change(repo, op, cps)
    if change is not None:
        stat = file_stats(repo, {"op": (change.before, change.after)}).get("op")
        if stat is not None:
            out.append(f"change    {stat.text(style)} ({change.name})")
        for root in repositories_in(repo, change):
            out.append(
                f"nested    {printable(os.fsdecode(root))}/: a repository of its own; its files "
                "are its own, not counted (no rollback touches them)"
            )
    held = op.details.get("held_back") if op.status == OpStatus.COMMITTED else None
    if held:
        out.append(f"held back {', '.join(held)}: changed by it and by you before it, uncommitted")
    for problem in op.details.get("problems") or ():
        out.append(style.paint(f"warning   {problem}", "yellow"))
    return out


def _gate_block(gates: list[GateRow], style: Style) -> list[str]:
    failed = sum(1 for g in gates if not g.passed)
    total = sum(g.duration for g in gates)
    head = (
        f"{failed} of {len(gates)} failed" if failed else f"{len(gates)} passed"
    ) + f" in {duration(total)}"
    out = [f"gates     {style.paint(head, 'red' if failed else 'green')}"]
    for g in gates:
        verdict = "passed" if g.passed else f"FAILED: {g.message or 'failed'}"
        facts = [f"exit {g.exit_code}" if g.exit_code is not None else "", duration(g.duration)]
        if g.coverage is not None:
            facts.append(f"coverage {g.coverage:.1f}%")
        line = f"  {g.name:<12} {verdict}  " + "  ".join(f for f in facts if f)
        out.append(style.paint(line, "green" if g.passed else "red"))
        if g.command and g.command != g.name:
            out.append(f"    ran: {g.command}")
        if not g.passed:
            tail = (g.output_tail or "").rstrip("\n").splitlines()[-TAIL_LINES:]
            out += [style.paint("    | ", "dim") + text for text in tail]
        if not g.passed and g.log_path:
            out.append(f"    full output: {g.log_path}")
    return out


def _timeline(
    op: OpRow, cps: list[CheckpointRow], gates: list[GateRow], events: list[EventRow], style: Style
) -> list[str]:
    shas = {c.sha: c for c in cps}
    rescued = {e.rescue for e in events if e.rescue}
    items: list[tuple[float, int, list[str]]] = []  # (time, order, lines)
    for c in cps:
        if c.kind == CheckpointKind.RESCUE and c.sha in rescued:
            continue  # shown with the event that took it
        commit = f"  commit {c.commit_sha[:12]}" if c.commit_sha else ""
        label = c.kind.label
        items.append(
            (
                c.created_at,
                c.seq * 2,
                [
                    f"{style.paint(f'{label:<9}', 'bold')} {style.paint(c.sha[:12], 'yellow')}  "
                    f"{c.message or ''}{commit}".rstrip()
                ],
            )
        )
        if c.kind == CheckpointKind.PRE_OP and op.argv_list is not None:
            ran = f"exit {op.exit_code}" if op.exit_code is not None else "did not finish"
            items.append(
                (
                    c.created_at,
                    c.seq * 2 + 1,
                    [f"command   ran {duration(op.command_duration)}, {ran}"],
                )
            )
    if gates:
        anchor = next((c for c in cps if c.kind == CheckpointKind.POST_OP), None)
        steps = [c for c in cps if c.kind in (CheckpointKind.PRE_OP, CheckpointKind.OP_EXEC)]
        after = max((c.created_at for c in steps), default=op.started_at)
        at = anchor.created_at - 1e-6 if anchor is not None else after + 1e-6
        items.append((at, 10**6, _gate_block(gates, style)))
    for e in events:
        target = shas.get(e.target or "")
        where = (
            f"{target.kind.label} {e.target[:12]}"
            if target is not None and e.target
            else (e.target or "?")[:12]
        )
        saved = (
            f"; rescue {style.paint(e.rescue[:12], 'yellow')} holds what it replaced"
            if e.rescue
            else ""
        )
        items.append((e.at, 10**7, [f"{style.paint(f'{e.kind:<9}', 'bold')} to {where}{saved}"]))
    out = []
    for at, _, lines in sorted(items, key=lambda item: (item[0], item[1])):
        offset = f"+{duration(max(0.0, at - op.started_at))}"
        out.append(f"  {offset:>8}  {lines[0]}")
        out += [f"  {'':>8}  {line}" for line in lines[1:]]
    return out


def _next(op: OpRow, journal: Journal, events: list[EventRow], *, shown: bool) -> str:
    short = op.id[:8]
    if op.status == OpStatus.OPEN:
        if context.is_interrupted(op):
            return (
                "next: `git atomic recover` (back to PRE-OP) or `git atomic recover --accept`"
                " (keep the tree as it is)"
            )
        return (
            "next: `git atomic checkpoint`, `git atomic commit` (gates, then final) or "
            "`git atomic abort`"
            if op.kind == OpKind.SESSION
            else "next: let it finish"
        )
    if op.status == OpStatus.COMMITTED:
        return f"next: `git atomic rollback --op {short}` takes it back"
    newest = journal.events(op.worktree, limit=1)
    rescue = events[-1].rescue if events else None
    if newest and events and newest[0].id == events[-1].id:
        return "next: `git atomic undo` brings its result back" + (
            "" if shown else f"; `git atomic show {short} --diff` shows it"
        )
    if rescue:
        return f"next: `git atomic rollback --to {rescue[:12]} --whole` brings its result back"
    return ""


def show_text(
    repo: Repo,
    journal: Journal,
    op: OpRow,
    *,
    diff: bool,
    stat: bool,
    style: Style,
    now: float | None = None,
) -> str:
    now = time.time() if now is None else now
    cps = journal.checkpoints(op.id)
    gates = journal.gates(op.id)
    every = sorted(journal.events(op.worktree, limit=10_000), key=lambda e: e.id)
    mine = {c.sha for c in cps}
    took = f'"takes_back": "{op.id}"'  # a `rollback --op` of it (moving.go)
    events = [
        e
        for e in every
        if e.op_id == op.id
        or (e.kind == EventKind.UNDO and e.undid in mine)
        or took in (e.detail or "")
    ]
    rolled_back = op.status in (OpStatus.ROLLED_BACK, OpStatus.RECOVERED)
    back = rolled_back and brought_back(cps, every, op.id)
    out = _facts(repo, op, cps, gates, style, now)
    if back:
        out.append("undone    `git atomic undo` brought its result back into the tree")
    out += ["", "timeline", *_timeline(op, cps, gates, events, style)]
    hint = "" if back else _next(op, journal, events, shown=diff or stat)
    if hint:
        out += ["", style.paint(hint, "dim")]
    pre = next((c for c in cps if c.kind == CheckpointKind.PRE_OP), None)
    change = own_change(repo, op, cps)
    if (diff or stat) and pre is not None:
        out.append("")
        if change is None:
            out.append("no change recorded: the operation has only its PRE-OP checkpoint")
        else:
            out.append(style.paint(change.header, "bold"))
            for wanted, only_stat in ((stat, True), (diff, False)):
                if wanted:
                    text = diff_text(repo, change, stat_only=only_stat, colour=style.colour)
                    out.append(text.rstrip("\n"))
    return "\n".join(out) + "\n"
