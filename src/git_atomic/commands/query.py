"""`status`, `log`, `show`: read the journal; never change anything."""

from __future__ import annotations

import re
import time
from typing import Any

from git_atomic import context, git, output
from git_atomic.errors import UsageError
from git_atomic.journal import Journal, OpRow
from git_atomic.lock import WorktreeLock


def status(*, json_out: bool) -> int:
    repo = git.discover()
    journal = context.open_journal(repo)
    try:
        op = journal.open_op(repo.worktree_id)
        holder = WorktreeLock(repo.git_dir / "atomic.lock").read()
        interrupted = op if op is not None and context.is_interrupted(op) else None
        open_op = op if op is not None and interrupted is None else None
        lock = None
        if holder is not None:
            lock = {"pid": holder.pid, "since": holder.since, "command": holder.command,
                    "alive": holder.alive}
        if json_out:
            obj: dict[str, Any] = {
                "schema": output.SCHEMA,
                "open": output.op_object(journal, open_op, with_times=True) if open_op else None,
                "interrupted": (output.op_object(journal, interrupted, with_times=True)
                                if interrupted else None),
                "lock": lock,
            }
            if interrupted is not None:
                obj["interrupted"]["phase"] = interrupted.phase
            if open_op is not None:
                obj["open"]["phase"] = open_op.phase
            output.emit_json(obj)
            return 0
        if interrupted is not None:
            output.say(f"interrupted: {interrupted.name} [{interrupted.id}] in phase "
                       f"{interrupted.phase}, started {_ago(interrupted.started_at)}; "
                       f"pid {interrupted.owner_pid} is gone")
            output.say("  next: `git atomic recover` (back to PRE-OP) or "
                       "`git atomic recover --accept` (keep the tree as it is)")
        elif open_op is not None:
            who = f", pid {open_op.owner_pid} working on it" if open_op.owner_pid else ""
            output.say(f"open: {open_op.name} [{open_op.id}] in phase {open_op.phase}, "
                       f"started {_ago(open_op.started_at)}{who}")
            if open_op.kind == "session":
                output.say("  next: `git atomic checkpoint`, `git atomic commit` or "
                           "`git atomic abort`")
        else:
            output.say("no operation is open in this worktree")
        if holder is not None:
            state = "" if holder.alive else " (dead: run `git atomic recover`)"
            output.say(f"lock: pid {holder.pid} `{holder.command}` since {holder.since}{state}")
        return 0
    finally:
        journal.close()


def _ago(ts: float) -> str:
    delta = max(0.0, time.time() - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return f"{int(delta)}s ago"


_SINCE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")


def parse_since(text: str) -> float:
    m = _SINCE.match(text.strip())
    if m:
        size = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return time.time() - float(m.group(1)) * size
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise UsageError(f"--since: expected 2h, 3d, 1w or a date like 2026-11-01, "
                         f"got {text!r}") from None


def log(*, limit: int | None, status: str | None, name: str | None, since: str | None,
        json_out: bool) -> int:
    repo = git.discover()
    journal = context.open_journal(repo)
    try:
        ops = journal.ops(worktree=repo.worktree_id, status=status, name=name,
                          since=parse_since(since) if since else None, limit=limit)
        if json_out:
            output.emit_json({"schema": output.SCHEMA,
                              "operations": [output.op_object(journal, o, with_times=True)
                                             for o in ops]})
            return 0
        from git_atomic.render import log_lines

        text = "\n".join(log_lines(journal, ops, repo=repo))
        if text:
            from git_atomic.render import page

            page(text + "\n", repo=repo)
        else:
            output.say("no operations yet")
        return 0
    finally:
        journal.close()


def resolve_op(journal: Journal, op_id: str) -> OpRow:
    if not re.fullmatch(r"[0-9a-fA-F]{4,40}", op_id):
        raise UsageError(f"unknown operation id {op_id!r} (expected 4 or more hex digits)")
    found = journal.find_op(op_id.lower())
    if not found:
        raise UsageError(f"unknown operation id {op_id!r} (see `git atomic log`)")
    if len(found) > 1:
        raise UsageError(f"operation id {op_id!r} is ambiguous: "
                         + ", ".join(o.id for o in found[:5]))
    return found[0]


def show(*, op_id: str, diff: bool, stat: bool, json_out: bool) -> int:
    repo = git.discover()
    journal = context.open_journal(repo)
    try:
        op = resolve_op(journal, op_id)
        if json_out:
            obj = output.op_object(journal, op, with_times=True)
            obj["phase"] = op.phase
            obj["checkpoint_list"] = [
                {"seq": c.seq, "kind": c.kind, "sha": c.sha, "ref": c.ref, "message": c.message,
                 "commit": c.commit_sha, "at": output.iso(c.created_at)}
                for c in journal.checkpoints(op.id)
            ]
            obj["gate_logs"] = [{"name": g.name, "log": g.log_path, "message": g.message}
                                for g in journal.gates(op.id)]
            if diff or stat:
                from git_atomic.render import diff_text

                obj["diff"] = diff_text(repo, journal, op, stat_only=not diff)
            output.emit_json(obj)
            return 0
        from git_atomic.render import show_text

        from git_atomic.render import page

        page(show_text(repo, journal, op, diff=diff, stat=stat), repo=repo)
        return 0
    finally:
        journal.close()
