"""A command that would finish or take back another live session's work.

The MCP servers refuse each other's operations (agents/mcp_owners.py), but the command line
went through without a word: a bare `rollback` took back the newest operation an agent was
still working with, an `abort` typed in another agent's shell took back the operation an MCP
session had open, `undo` brought back what such a session had aborted. The effect model
allows what the user names (`rollback --op ID` takes back that operation's effect, whoever
made it); what a bare command would pick is refused when it is another live session's, and
nothing is changed:

- an operation an MCP server that still runs made (its marker): a bare `rollback` of it,
  `undo` of its abort or rollback; `checkpoint`, `commit` and `abort` of it while it is open
  when an agent runs them (its shell call, another server). Typed by you in a terminal, those
  three name the one open operation there is, and go on, said;
- an agent turn, kept, whose session has a turn open now (the agent works on top of it): a
  bare `rollback` of it.

The server's own calls (its children carry GIT_ATOMIC_MCP_SERVER, its pid) and an agent's own
shell call for its own turn (its platform's variable: turncaller.calling_turn) are theirs to
make. A dry run changes nothing: anyone may look. The check costs one listing where no MCP
server ever marked an operation, and a turn's folder listing for a bare rollback of a kept
turn alone.
"""

from __future__ import annotations

import os
from typing import Final

from git_atomic.core.errors import RefusedError
from git_atomic.core.journalrows import EventRow, OpRow
from git_atomic.core.vocab import OpKind
from git_atomic.ops import context, output

SERVER_VAR: Final = "GIT_ATOMIC_MCP_SERVER"  # set by a server for the commands it runs


def _server_of(ctx: context.Context, op_id: str) -> int | None:
    """The pid of the live MCP server, not the caller's own, that made `op_id` (None if none)."""
    try:  # (no import, no more, where no server ever marked an operation)
        if not os.listdir(ctx.repo.state_dir / "mcp-sessions"):
            return None
    except OSError:
        return None
    from git_atomic.agents import mcp_owners

    pid = mcp_owners.others(ctx.repo.state_dir).get(op_id)
    return None if pid is None or str(pid) == os.environ.get(SERVER_VAR) else pid


def refuse_open(ctx: context.Context, verb: str, op: OpRow) -> None:
    """`checkpoint`, `commit` or `abort` of an open operation a live MCP server opened: an
    agent's (its shell call, another server's command) is refused; yours, typed in a terminal,
    is the only name that operation has there, and goes on, said."""
    pid = _server_of(ctx, op.id)
    if pid is None:
        return
    whose = (
        f"the open operation {op.name} [{op.id}] was opened by an MCP session (server pid "
        f"{pid}), which is still running"
    )
    if not _an_agents(ctx):
        done = {"abort": "aborted", "commit": "committed"}.get(verb, "checkpointed")
        output.say(f"git-atomic: note: {whose}; {done} as you asked, under that session")
        return
    raise RefusedError(
        f"{verb}: {whose}: it is that session's to checkpoint, commit or abort; nothing was "
        "changed",
        hint=f"end that session (close its client, or `kill {pid}`), then run this again",
    )


def _an_agents(ctx: context.Context) -> bool:
    """Whether this command runs for an agent, not for you at a terminal: an MCP server's
    command, or an agent's shell call (its platform's variable: turncaller.calling_turn)."""
    if os.environ.get(SERVER_VAR):
        return True
    from git_atomic.agents import turncaller

    return any(os.environ.get(name) for name in turncaller.SHELL_VARIABLES)


def refuse_newest(ctx: context.Context, op: OpRow) -> None:
    """A bare `rollback` that would take back `op`, the newest operation."""
    pid = _server_of(ctx, op.id)
    whose = f"an MCP session (server pid {pid}), which is still running" if pid else ""
    if not whose and op.kind == OpKind.AGENT_TURN:
        whose = _live_turns_session(ctx, op)
    if whose:
        raise RefusedError(
            f"rollback: the newest operation, {op.name} [{op.id}], was made by {whose}: it is "
            "that session's to take back; nothing was changed",
            hint=f"name it to take back its effect anyway: git atomic rollback --op {op.id}",
        )


def refuse_undo(ctx: context.Context, event: EventRow) -> None:
    """`undo` of `event`, which took back an operation a live MCP server made (an abort, a
    failed commit's rollback, a bare rollback: the event names it; a `rollback --op` names
    none, its undo is the namer's, as through MCP)."""
    pid = _server_of(ctx, event.op_id) if event.op_id else None
    op = ctx.journal.op(event.op_id) if event.op_id and pid is not None else None
    if op is not None and pid is not None:
        raise RefusedError(
            f"undo: the last {event.kind} took back {op.name} [{op.id}], made by an MCP "
            f"session (server pid {pid}), which is still running: it is that session's to "
            "undo; nothing was changed",
            hint=f"end that session (close its client, or `kill {pid}`), then run this again",
        )


def _live_turns_session(ctx: context.Context, op: OpRow) -> str:
    """Who made the kept turn `op`, where its session has a turn open now ('' otherwise, and
    where the command runs in a call of that very session's)."""
    from git_atomic.agents import turncaller, turnstate

    turn = op.details.get("turn")
    session = turn.get("session") if isinstance(turn, dict) else None
    if not isinstance(session, str) or not turnstate.worktrees_of(ctx.repo.state_dir, session):
        return ""
    calling = turncaller.calling_turn(ctx.repo.state_dir, ctx.worktree, os.environ)
    if calling is not None and calling.session == session:
        return ""  # the agent's own shell call: its own turn's to take back
    platform = turn.get("platform") if isinstance(turn, dict) else None
    return f"agent session {session} ({platform or 'an agent'}), which has a turn open now"
