"""GitHub Copilot CLI: hooks in `.github/hooks/git-atomic.json`, mapped onto the turn engine.

| event | what the engine does |
| --- | --- |
| userPromptSubmitted | a turn left open is closed |
| preToolUse | before a file-changing tool: the turn and a window open |
| postToolUse, postToolUseFailure | after it (or its failure): the window closes |
| agentStop | the turn is judged; `decision: "block"` with `reason` is queued as the next prompt |
| sessionEnd | the turn is closed, not judged |

Copilot reads a permission decision from `preToolUse` and `additionalContext` from
`postToolUse` (appended to the call's result the model reads; a command `postToolUseFailure`
hook gives it only by its exit status 2, which our `|| true` hides): what the model cannot be
told goes to stderr (Copilot's log), and a note after a call to both. `toolArgs` is a JSON
string. The page is in docs/agents.md.

Each event carries its session's `sessionId`: a session that submitted a prompt has its turns
of its own, so two Copilot sessions in one worktree no longer judge each other's calls. A
subagent runs as a child session with an id of its own, no prompt and no `agentStop` (its
`subagentStop` names no parent): its calls, as any of a session that sent no prompt here (hooks
installed meanwhile, a release without `sessionId`), go to the worktree's shared turn. The
parent's own `task` call is a window of its turn around the subagent's whole run, so what the
subagent changed is its parent's as well: a session's `agentStop` judges its turn and closes the
shared one (judged twice, a subagent's changes were kept after its parent's turn took them
back); where its own turn changed nothing, it judges the shared one.

VS Code's agent runs this file too, with its own event names and payloads and no `agentStop`:
those calls are answered with nothing done (`_not_copilots`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from git_atomic.agents import tell, toolfiles, turn, turnend, turnplace
from git_atomic.agents.claude_code import describe
from git_atomic.agents.copilot_settings import LAYOUT
from git_atomic.agents.tell import QUIET, HookResult
from git_atomic.agents.turnsession import remember, remembers
from git_atomic.agents.turnstate import SUBAGENTS_TURN
from git_atomic.core.errors import AtomicError

# Tools that only look, plan or ask (the hooks reference's tool table names them): every other
# tool (shell, edit, create, MCP tools, a subagent's `task`) is checkpointed. `ask_user` waits
# for the person: a window around it took what they wrote while answering for the turn's.
READ_ONLY: Final = frozenset(
    {
        "view",
        "read",
        "grep",
        "rg",
        "glob",
        "ls",
        "web_fetch",
        "web_search",
        "think",
        "ask_user",
        "update_todo",
        "report_intent",
    }
)
FOREIGN: Final = (
    "these are Copilot CLI's hooks, run here by another agent (VS Code's, which never sends"
    " agentStop): its turns are not checkpointed or judged"
)
SESSION: Final = SUBAGENTS_TURN  # the shared turn: calls of a session that sent no prompt here
PROMPTED: Final = "copilot-prompted"  # this session submitted a prompt: its turns are its own


def handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> HookResult:
    try:
        return _handle(event, payload, environ)
    except Exception as exc:  # a safety net never breaks the agent: said, with exit 0
        return HookResult(0, "", f"git-atomic: {tell.failure(exc)}\n")


def _handle(event: str, payload: Mapping[str, Any], environ: Mapping[str, str]) -> HookResult:
    if _not_copilots(event, payload):
        # VS Code's agent runs `.github/hooks/*.json` too, each event renamed (`preToolUse` to
        # `PreToolUse`) with its own payload; `agentStop` becomes `AgentStop`, which VS Code
        # never sends. Its turns would be checkpointed and never judged, a failed call's window
        # open to the next prompt (your edits meanwhile the turn's): nothing is done for it.
        said = f"git-atomic: {FOREIGN}\n" if event == "userPromptSubmitted" else ""
        return HookResult(0, "", said)
    named = _path(payload.get("cwd")) or tell.here()
    session = _text(payload.get("sessionId")) or _text(payload.get("session_id")) or SESSION
    repo = turnplace.locate(named, named, session)
    if repo is None:
        return QUIET
    project = named or repo.root
    try:
        if event in ("preToolUse", "postToolUse", "postToolUseFailure"):
            tool = _text(payload.get("toolName"))
            if tool in READ_ONLY:
                return QUIET
            if not remembers(repo.state_dir, session, PROMPTED):
                session = SESSION  # a subagent's call, or one of a session we saw no prompt of
            args = _args(payload)
            written = toolfiles.named("copilot", tool, args, payload.get("cwd"))
            call = turn.Call(session, "", describe(tool or "tool", args), named=written)
            if event == "preToolUse":
                note = turn.before(repo, LAYOUT.platform, call)
            else:
                note = turn.after(repo, call)
            if not note:
                return QUIET
            text = f"git-atomic: {note}"
            if event == "postToolUse":  # appended to the call's result, which the model reads
                return tell.reply({"additionalContext": text}, stderr=text + "\n")
            return HookResult(0, "", text + "\n")
        if event == "userPromptSubmitted":
            remember(repo.state_dir, session, PROMPTED)
            closed = turnend.close(repo, session, "it ended without agentStop", prompt=True)
            said = tell.opening(repo.state_dir, session, closed, project)
            stale = tell.stale_hooks(repo.state_dir, session, LAYOUT, project)
            said = "\n".join(t for t in (said, stale) if t)
            return HookResult(0, "", said + "\n") if said else QUIET
        if event == "agentStop":
            verdicts = turnend.end(repo, session, history=turn.history(environ))
            if session != SESSION and verdicts:
                # Its subagents' calls in the shared turn were in its own `task` window: judged
                # with it already. Judged again, they were kept (committed, in commits mode)
                # after this turn took them back.
                turnend.close(repo, SESSION, "its calls were judged with a session's turn")
            elif session != SESSION:
                verdicts = turnend.end(repo, SESSION, history=turn.history(environ))
            # Set when this turn was already sent back once by a "block" of ours.
            again = payload.get("stop_hook_active") is True
            end = tell.ending(repo.state_dir, session, verdicts, project, again=again)
            shown = end.shown + "\n" if end.shown else ""
            if not end.send_back:
                return HookResult(0, "", shown)
            reply = tell.reply({"decision": "block", "reason": end.send_back})
            return HookResult(0, reply.stdout, shown)
        if event == "sessionEnd":  # (in a process its kill does not reach: sessionend.py)
            from git_atomic.agents import sessionend

            def closing() -> HookResult:
                closed = turnend.close(repo, session, "the session ended")
                return HookResult(0, "", tell.lines(closed, project) + "\n") if closed else QUIET

            return sessionend.detached(closing, wait=sessionend.budget(LAYOUT))
    except AtomicError as exc:
        return HookResult(0, "", f"git-atomic: {exc}\n")
    return QUIET


def _not_copilots(event: str, payload: Mapping[str, Any]) -> bool:
    """Whether another agent ran Copilot CLI's hooks file: its payload names another event
    (VS Code's `hookEventName`, `PreToolUse` where the file says `preToolUse`) or its tool in
    snake_case (`tool_name`, where Copilot CLI's camelCase payload has `toolName`)."""
    named = payload.get("hookEventName", payload.get("hook_event_name"))
    if isinstance(named, str) and named and named != event:
        return True
    return "tool_name" in payload and "toolName" not in payload


def _args(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = payload.get("toolArgs")
    if isinstance(raw, Mapping):
        return raw
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _path(value: object) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None
