"""GitHub Copilot CLI: hooks in `.github/hooks/git-atomic.json`, mapped onto the turn engine.

| event | what the engine does |
| --- | --- |
| userPromptSubmitted | a turn left open is closed |
| preToolUse | before a file-changing tool: the turn and a window open |
| postToolUse, postToolUseFailure | after it (or its failure): the window closes |
| agentStop | the turn is judged; `decision: "block"` with `reason` is queued as the next prompt |
| sessionEnd | the turn is closed, not judged |

Copilot reads only a permission decision from tool hooks, so what the model cannot be told
there goes to stderr (Copilot's log). Its tool events carry no session id: one worktree's
Copilot sessions share one turn. `toolArgs` is a JSON string. The page is in docs/agents.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from git_atomic.agents import tell, turn
from git_atomic.agents.claude_code import describe
from git_atomic.agents.hookfiles import Event, Layout
from git_atomic.agents.tell import QUIET, HookResult
from git_atomic.core.errors import AtomicError

LAYOUT: Final = Layout(
    platform="copilot",
    path=".github/hooks/git-atomic.json",
    events=(
        Event("userPromptSubmitted", 60),
        Event("preToolUse", 60),
        Event("postToolUse", 60),
        # A call that failed sends this instead of `postToolUse` (which comes only after a
        # success): without it the call's window stayed open to `agentStop`.
        Event("postToolUseFailure", 60),
        Event("agentStop", 1800),
        Event("sessionEnd", 60),
    ),
    grouped=False,
    command_key="bash",
    timeout_key="timeoutSec",
    top={"version": 1},
    restart="Copilot CLI reads it when a session starts in this folder",
)
# Tools that only look: every other tool (shell, edit, create, MCP tools) is checkpointed.
READ_ONLY: Final = frozenset({"view", "read", "grep", "glob", "ls", "web_fetch", "think"})
SESSION: Final = "copilot-cli"


def handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> HookResult:
    try:
        return _handle(event, payload, environ)
    except Exception as exc:  # a safety net never breaks the agent: said, with exit 0
        return HookResult(0, "", f"git-atomic: {tell.failure(exc)}\n")


def _handle(event: str, payload: Mapping[str, Any], environ: Mapping[str, str]) -> HookResult:
    named = _path(payload.get("cwd")) or tell.here()
    repo = turn.locate(named, named)
    if repo is None:
        return QUIET
    project = named or repo.root
    try:
        if event in ("preToolUse", "postToolUse", "postToolUseFailure"):
            tool = _text(payload.get("toolName"))
            if tool in READ_ONLY:
                return QUIET
            call = turn.Call(SESSION, "", describe(tool or "tool", _args(payload)))
            if event == "preToolUse":
                note = turn.before(repo, LAYOUT.platform, call)
            else:
                note = turn.after(repo, call)
            return HookResult(0, "", f"git-atomic: {note}\n") if note else QUIET
        if event == "userPromptSubmitted":
            closed = turn.close(repo, SESSION, "it ended without agentStop")
            said = tell.opening(repo.state_dir, SESSION, closed, project)
            return HookResult(0, "", said + "\n") if said else QUIET
        if event == "agentStop":
            verdicts = turn.end(repo, SESSION, history=turn.history(environ))
            end = tell.ending(repo.state_dir, SESSION, verdicts, project, again=False)
            shown = end.shown + "\n" if end.shown else ""
            if not end.send_back:
                return HookResult(0, "", shown)
            reply = tell.reply({"decision": "block", "reason": end.send_back})
            return HookResult(0, reply.stdout, shown)
        if event == "sessionEnd":
            closed = turn.close(repo, SESSION, "the session ended")
            return HookResult(0, "", tell.lines(closed, project) + "\n") if closed else QUIET
    except AtomicError as exc:
        return HookResult(0, "", f"git-atomic: {exc}\n")
    return QUIET


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
