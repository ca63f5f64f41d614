"""Human views of the journal: log lines, the show timeline, diffs, paging."""

from __future__ import annotations

import os
import sys
import time

from git_atomic.git import Repo
from git_atomic.journal import Journal, OpRow

_COLOURS = {"committed": "32", "rolled_back": "31", "open": "33", "recovered": "36"}


def use_colour(stream: object = sys.stdout) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def relative(ts: float, now: float | None = None) -> str:
    delta = max(0.0, (now or time.time()) - ts)
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if delta >= size:
            n = int(delta // size)
            return f"{n} {unit if n != 1 else unit[:-1]} ago"
    return f"{int(delta)} seconds ago"


def log_lines(journal: Journal, ops: list[OpRow], *, repo: Repo,
              colour: bool | None = None) -> list[str]:
    colour = use_colour() if colour is None else colour
    lines = []
    for op in ops:
        status = op.status.replace("_", " ")
        if colour:
            status = f"\x1b[{_COLOURS.get(op.status, '0')}m{status}\x1b[0m"
        extra = ""
        failed = [g for g in journal.gates(op.id) if not g.passed]
        if failed:
            extra = f" (gate {failed[0].name} failed)"
        elif op.failed_phase:
            extra = f" ({op.failed_phase})"
        if op.kind == "tdd":
            extra = tdd_marker(op)
        dur = f"{op.duration:.1f}s" if op.duration is not None else "…"
        short_id = f"\x1b[33m{op.id[:8]}\x1b[0m" if colour else op.id[:8]
        lines.append(f"{short_id} {relative(op.started_at):>16}  {status:<11} {op.name}  "
                     f"{dur}{extra}")
    return lines


def tdd_marker(op: OpRow) -> str:
    """Where the TDD cycle stands: ` [GREEN kept, 91.2%]`, ` [RED broken: the tests pass]`."""
    details = op.details
    label = str(details.get("tdd", "")).upper()
    if op.status == "committed":
        cov = f", {op.coverage:.1f}%" if op.coverage is not None else ""
        return f" [{label} kept{cov}]"
    why = details.get("why") or op.failed_phase or op.status
    return f" [{label} broken: {why}]" if details.get("kept") is False else f" [{label}: {why}]"


def show_text(repo: Repo, journal: Journal, op: OpRow, *, diff: bool, stat: bool) -> str:
    out = [f"operation {op.id}  {op.name}", f"status:   {op.status}"
           + (f" (failed in {op.failed_phase})" if op.failed_phase else ""),
           f"history:  {op.history}"]
    if op.argv_list is not None:
        out.append(f"command:  {' '.join(op.argv_list)}  -> exit {op.exit_code}"
                   f" in {op.command_duration or 0:.2f}s")
    out.append("checkpoints:")
    for c in journal.checkpoints(op.id):
        commit = f"  commit {c.commit_sha[:12]}" if c.commit_sha else ""
        out.append(f"  {c.kind:<8} {c.sha[:12]}  +{c.created_at - op.started_at:6.2f}s  "
                   f"{c.message or ''}{commit}")
    gates = journal.gates(op.id)
    if gates:
        out.append("gates:")
        for g in gates:
            verdict = "passed" if g.passed else f"FAILED: {g.message}"
            cov = f"  coverage {g.coverage:.1f}%" if g.coverage is not None else ""
            out.append(f"  {g.name:<12} {verdict}  {g.duration:.2f}s{cov}  log: {g.log_path}")
            if not g.passed and g.output_tail:
                out += ["    " + line for line in g.output_tail.splitlines()]
    if op.duration is not None:
        out.append(f"duration: {op.duration:.2f}s")
    if diff or stat:
        out.append(diff_text(repo, journal, op, stat_only=not diff))
    return "\n".join(out) + "\n"


def diff_text(repo: Repo, journal: Journal, op: OpRow, *, stat_only: bool) -> str:
    """PRE-OP -> final state (or -> rescue, for an operation that was rolled back)."""
    cps = journal.checkpoints(op.id)
    if not cps:
        return ""
    pre = cps[0]
    later = [c for c in cps if c.kind in ("post_op", "op_exec")] or [
        c for c in cps if c.kind == "rescue"]
    end = later[-1] if later else pre
    args = ["diff", "--no-color", "--no-ext-diff", "--stat" if stat_only else "-p",
            f"{pre.sha}:files", f"{end.sha}:files"]
    return repo.out(*args).decode("utf-8", "replace")


def page(text: str, *, repo: Repo) -> None:
    """Through git's pager settings when stdout is a terminal, as git itself does."""
    if not sys.stdout.isatty() or text.count("\n") < 40:
        sys.stdout.write(text)
        return
    pager = (os.environ.get("GIT_PAGER") or repo.config("pager.atomic")
             or repo.config("core.pager") or os.environ.get("PAGER") or "less")
    if pager in ("cat", ""):
        sys.stdout.write(text)
        return
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        subprocess.run(pager, shell=True, input=text.encode(), env=env, check=False)
    except OSError:
        sys.stdout.write(text)
