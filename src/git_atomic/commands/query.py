"""`status`, `log`, `show`: read the journal; never change anything."""

from __future__ import annotations

import re
import time

from git_atomic.core import wholefile
from git_atomic.core.errors import GitError, UsageError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.lock import WorktreeLock
from git_atomic.core.vocab import IntentAction, OpStatus
from git_atomic.engine import discovery, git
from git_atomic.ops import commandresults, context, output, results


def status(*, json_out: bool) -> int:
    from git_atomic.agents import turnstopkilled

    repo = discovery.discover()
    journal = context.open_journal(repo, read_only=True)
    try:
        op = journal.open_op(repo.worktree_id)
        holder = WorktreeLock(repo.git_dir / "atomic.lock").read()
        interrupted = op if op is not None and context.is_interrupted(op) else None
        # A turn whose Stop was killed before it was an operation (agents/turnstopkilled.py)
        killed = tuple(
            commandresults.KilledTurn(t.op_id, t.session, t.platform)
            for t in turnstopkilled.killed(repo.state_dir, repo.worktree_id)
        )
        open_op = op if op is not None and interrupted is None else None
        stopped = _commit_stopped(journal, repo.worktree_id)
        turns = _open_turns(repo)
        changes = None
        if open_op is not None:  # (only then: a status with none open pays nothing for it)
            from git_atomic.ops import opchanges

            changes = opchanges.of_operation(repo, journal, open_op)
        if json_out:

            def described(op: OpRow | None) -> results.OperationResult | None:
                if op is None:
                    return None
                return results.operation(journal, op, with_times=True, with_phase=True)

            lock = None
            if holder is not None:
                lock = commandresults.LockHolder(
                    holder.pid, holder.since, holder.command, holder.alive
                )
            # What the human status says as a note: an agent asking "what state am I in"
            # learns that a merge left half way refuses every operation, and the ways out.
            open_id = open_op.id if open_op is not None else None
            blocked = context.git_state_in_the_way(repo, open_op=open_id) or None
            output.emit(
                commandresults.StatusResult(
                    described(open_op),
                    described(interrupted),
                    _interrupted_restore(repo),
                    lock,
                    blocked,
                    killed,
                    stopped,
                    changes,
                    tuple(turn for turn, _ in turns),
                )
            )
            return 0
        from git_atomic.views.render import Style, want_colour
        from git_atomic.views.statusview import (
            commit_stopped_lines,
            killed_turn_lines,
            status_lines,
        )

        lines = status_lines(
            repo,
            journal,
            open_op=open_op,
            interrupted=interrupted,
            holder=holder,
            style=Style(colour=want_colour(repo)),
            changes=changes,
        )
        if interrupted is None:
            style = Style(colour=want_colour(repo))
            lines = (
                killed_turn_lines(killed, style=style)
                + commit_stopped_lines(stopped, style)
                + lines
            )
        from git_atomic.views.statusview import turn_lines  # a turn here is no operation yet

        for turn, line in turns:
            lines += turn_lines(line, turn)
        print("\n".join(lines))
        return 0
    finally:
        journal.close()


def _open_turns(repo: git.Repo) -> list[tuple[commandresults.OpenTurn, str]]:
    """The agent turns open in this worktree (no operation yet), with the line people read of
    each: the files their calls changed so far, and whether each waits to be judged by its
    session's next call (its Stop could not wait for the lock)."""
    from git_atomic.agents import turnabandoned, turnstate, turnsteps, turnstopkilled

    found = []
    for _, record, when in turnstate.slots_in(repo.state_dir, repo.worktree_id):
        changes = None
        noted = turnsteps.pending_of(record)
        if record.steps or noted:
            from git_atomic.ops import opchanges

            changes = opchanges.of_turn(repo, record.steps, noted)
        turn = commandresults.OpenTurn(
            record.op_id,
            record.session,
            record.platform,
            len(record.steps) + len(noted),
            judged_next=turnstopkilled.busy(record) is not None,
            changes=changes,
        )
        found.append((turn, turnabandoned.open_line(record, when)))
    return found


def _commit_stopped(journal: Journal, worktree: str) -> tuple[str, str] | None:
    """A kept turn's commit a kill stopped half way (agents/turncommit.py): `recover` finishes
    it. Until then your branch may name the commit while your index does not."""
    for op_id in journal.closed_with_pending(worktree):
        op = journal.op(op_id)
        intent = op.pending_intent if op is not None else None
        if op is not None and intent is not None and intent.get("action") == IntentAction.ADVANCE:
            return op.id, op.name
    return None


def _interrupted_restore(repo: git.Repo) -> commandresults.InterruptedRestore | None:
    """A rollback, undo or emergency outside any operation that stopped half way: what the
    human `status` reports from the same file, for programs."""
    import json

    try:
        intent = json.loads(wholefile.read(repo.git_dir / context.PENDING_RESTORE))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # (a link, a FIFO: never read through, never waited on)
        intent = {}
    return commandresults.InterruptedRestore(
        intent.get("event"), intent.get("target"), intent.get("rescue")
    )


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
        raise UsageError(
            f"--since: expected 2h, 3d, 1w or a date like 2026-11-01, got {text!r}"
        ) from None


def log(
    *, limit: int | None, status: str | None, name: str | None, since: str | None, json_out: bool
) -> int:
    repo = discovery.discover()
    journal = context.open_journal(repo, read_only=True)
    try:
        pattern = name is not None and any(ch in name for ch in "*?[")
        ops = journal.ops(
            worktree=repo.worktree_id,
            status=OpStatus(status) if status is not None else None,
            name=None if pattern else name,
            since=parse_since(since) if since else None,
            limit=None if pattern else limit,
        )
        if pattern:
            from fnmatch import fnmatchcase

            ops = [o for o in ops if fnmatchcase(o.name, name or "")][:limit]
        if json_out:
            output.emit(
                commandresults.LogResult(
                    tuple(results.operation(journal, o, with_times=True) for o in ops)
                )
            )
            return 0
        if not ops:
            output.say(
                "no operations yet" if not (status or name or since) else "no operations match"
            )
            return 0
        from git_atomic.views.logview import log_lines
        from git_atomic.views.pager import page
        from git_atomic.views.render import Style, want_colour

        style = Style(colour=want_colour(repo))
        page("\n".join(log_lines(journal, ops, repo=repo, style=style)) + "\n", repo=repo)
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
        raise UsageError(
            f"operation id {op_id!r} is ambiguous: " + ", ".join(o.id for o in found[:5])
        )
    return found[0]


def show(*, op_id: str, diff: bool, stat: bool, json_out: bool) -> int:
    repo = discovery.discover()
    journal = context.open_journal(repo, read_only=True)
    try:
        op = resolve_op(journal, op_id)
        try:
            return _show(repo, journal, op, diff=diff, stat=stat, json_out=json_out)
        except GitError:
            from git_atomic.engine import checkpointgone

            found = checkpointgone.first_gone(repo, [c.sha for c in journal.checkpoints(op.id)])
            if found is not None:  # its rows are intact, its objects are not (pruned)
                raise checkpointgone.CheckpointGone(
                    checkpointgone.describe(
                        *found, what=f"a checkpoint of {op.name} [{op.id}]", verb="read"
                    )
                ) from None
            raise
    finally:
        journal.close()


def _show(
    repo: git.Repo, journal: Journal, op: OpRow, *, diff: bool, stat: bool, json_out: bool
) -> int:
    if json_out:
        output.emit(
            commandresults.ShowResult(
                results.operation(journal, op, with_times=True, with_phase=True),
                tuple(
                    commandresults.CheckpointEntry(
                        c.seq,
                        c.kind,
                        c.sha,
                        c.ref,
                        c.message,
                        c.commit_sha,
                        results.iso(c.created_at),
                    )
                    for c in journal.checkpoints(op.id)
                ),
                tuple(
                    commandresults.GateLog(g.name, g.log_path, g.message)
                    for g in journal.gates(op.id)
                ),
                _diff(repo, journal, op, stat_only=not diff) if diff or stat else None,
            )
        )
        return 0
    from git_atomic.views.pager import page
    from git_atomic.views.render import Style, want_colour
    from git_atomic.views.showview import show_text

    style = Style(colour=want_colour(repo))
    page(show_text(repo, journal, op, diff=diff, stat=stat, style=style), repo=repo)
    return 0


def _diff(repo: git.Repo, journal: Journal, op: OpRow, *, stat_only: bool) -> str:
    """PRE-OP -> final state (or -> rescue, for an operation that was rolled back); a TDD phase
    without a command: its commit."""
    from git_atomic.views.changestats import diff_text
    from git_atomic.views.render import own_change

    change = own_change(repo, op, journal.checkpoints(op.id))
    return "" if change is None else diff_text(repo, change, stat_only=stat_only)
