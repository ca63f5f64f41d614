"""Gemini CLI: hooks in `.gemini/settings.json`, mapped onto the turn engine.

| event | what the engine does |
| --- | --- |
| BeforeAgent | a turn left open is closed; what the model should know goes in `additionalContext` |
| BeforeTool | before a file-changing tool: the turn and a window open |
| AfterTool | after it: the window closes (a note for the model goes in `additionalContext`) |
| Notification | `ToolPermission`: a call waits for your confirmation; a checkpoint marks how far |
| | the window's calls went (a call you refuse sends no AfterTool: its window ends there) |
| BeforeModel | every tool call of the step is over: a window a denied call left open closes |
| | (not while a subagent runs: its own model requests send BeforeModel too; the session's |
| | own, told by its first message, ends a subagent call a policy denied) |
| AfterAgent | the turn is judged; `decision: "deny"` with `reason` sends the model back |
| SessionEnd | the turn is closed, not judged |

Gemini's payloads carry no id per tool call: parallel calls share one window all the same.
Timeouts are in milliseconds there. The page the shapes come from is in docs/agents.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from git_atomic.agents import tell, toolfiles, turn, turnend, turnplace
from git_atomic.agents.claude_code import describe, session_of
from git_atomic.agents.hookfiles import Event, Layout
from git_atomic.agents.tell import QUIET, HookResult
from git_atomic.agents.turnsession import remember, remembers
from git_atomic.core import patterns
from git_atomic.core.errors import AtomicError

# `replace` is its edit tool; an MCP server's tools are `mcp_<server>_<tool>` (one underscore,
# google-gemini/gemini-cli docs/hooks/reference.md): `mcp_.*` is every one of them (and the
# `mcp__<server>__<tool>` that page once named). Releases before named them `<server>__<tool>`
# (`MCP_QUALIFIED_NAME_SEPARATOR = '__'`, packages/core/src/tools/mcp-tool.ts): `.+__.+`, a
# name none of its own tools has. A tool the
# project's `tools.discoveryCommand` declares is `discovered_tool_<name>` (packages/core/src/
# tools/tool-names.ts), run by its `tools.callCommand`: a program that may change any file.
# `invoke_agent` runs a subagent: its whole run is a window of the turn (what the subagent
# changes is the turn's), named so that BeforeModel, which the subagent's own model requests
# send too, closes nothing while it runs. A subagent is also a tool of its own name
# (`agents/subagent-tool-wrapper.ts`: the built-in ones below), and releases between called
# them through `delegate_to_agent`: the same. (One of yours, `.gemini/agents/`, has a name of
# yours: docs/agents.md.)
SUBAGENT_TOOLS: Final = (
    "invoke_agent",
    "delegate_to_agent",
    "codebase_investigator",
    "cli_help",
    "generalist",
    "browser_agent",
)
FILE_TOOLS: Final = patterns.keep(
    "write_file|replace|edit|run_shell_command|"
    + "|".join(SUBAGENT_TOOLS)
    + "|mcp_.*|.+__.+|discovered_tool_.*"
)
SUBAGENT: Final = "subagent:"  # the id of an `invoke_agent` call's place in its window
LAYOUT: Final = Layout(
    platform="gemini",
    path=".gemini/settings.json",
    events=(
        Event("BeforeAgent", 60),
        Event("BeforeTool", 60, FILE_TOOLS),
        Event("AfterTool", 60, FILE_TOOLS),
        # The model is asked again once every call of its last answer is over, those a policy or
        # another hook denied too (they send no AfterTool): their windows close here.
        Event("BeforeModel", 60),
        # A call that needs your confirmation sends this first (`ToolPermission`); one you
        # refuse there sends no AfterTool, and when every call of its step was refused no
        # BeforeModel either (the model is not asked again): its window would stay open, your
        # edits taken for the turn's, until the next prompt. It ends at this mark instead.
        Event("Notification", 60),
        Event("AfterAgent", 1800),
        Event("SessionEnd", 60),
    ),
    timeout_scale=1000,
    # Nothing is said when Gemini skips them: an untrusted folder, or a release from before
    # hooks were on by default (google-gemini/gemini-cli PR 17247).
    restart=(
        "restart Gemini CLI to load it; it runs a project's hooks only in a folder you trust,"
        ' and releases before hooks were on by default need `"hooksConfig": {"enabled": true}`'
        " in settings.json"
    ),
)


def handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> HookResult:
    try:
        return _handle(event, payload, environ)
    except Exception as exc:  # a safety net never breaks the agent: said, with exit 0
        return tell.reply({"systemMessage": f"git-atomic: {tell.failure(exc)}"})


def _handle(event: str, payload: Mapping[str, Any], environ: Mapping[str, str]) -> HookResult:
    named = _path(environ.get("GEMINI_PROJECT_DIR")) or tell.here()
    session = session_of(payload)  # (its transcript where no session id: two sessions apart)
    repo = turnplace.locate(_path(payload.get("cwd")), named, session)
    if repo is None:
        return QUIET
    project = named or repo.root
    try:
        if event in ("BeforeTool", "AfterTool"):
            tool = _text(payload.get("tool_name"))
            if tool and not re.fullmatch(FILE_TOOLS, tool):
                return QUIET
            fields = payload.get("tool_input")
            label = describe(tool or "tool", fields if isinstance(fields, Mapping) else {})
            inputs = fields if isinstance(fields, Mapping) else {}
            named_files = toolfiles.named("gemini", tool, inputs, payload.get("cwd"))
            folder = toolfiles.shell_folder("gemini", tool, payload.get("cwd"))
            call = turn.Call(
                session, _call_id(tool, fields), label, named=named_files, folder=folder
            )
            if event == "BeforeTool":
                note = turn.before(repo, LAYOUT.platform, call)
                return tell.reply({"systemMessage": f"git-atomic: {note}"}) if note else QUIET
            note = turn.after(repo, call)
            return _context(f"git-atomic: {note}", system=True) if note else QUIET
        if event == "Notification":
            if payload.get("notification_type") == "ToolPermission":
                turn.asking(repo, session, turn.Asked.CONFIRMATION)
            return QUIET
        if event == "BeforeModel":
            asker = _asker(payload)
            if turn.running(repo, session, SUBAGENT):
                # A subagent's own model request, or its parent's: the parent asks its model
                # again only once every call of its step is over, the `invoke_agent` too (one a
                # policy denied sends no AfterTool, and kept every window open to the turn's end).
                if asker and (remembers(repo.state_dir, session, asker) or _sessions_own(payload)):
                    turn.after_all(repo, session)
                return QUIET
            if asker:
                remember(repo.state_dir, session, asker)  # no subagent runs: the parent asks
            turn.after_all(repo, session, unless_running=SUBAGENT)
            return QUIET
        if event == "BeforeAgent":
            closed = turnend.close(repo, session, "it ended without AfterAgent", prompt=True)
            context = tell.opening(repo.state_dir, session, closed, project)
            stale = tell.stale_hooks(repo.state_dir, session, LAYOUT, project)
            if not stale:
                return _context(context) if context else QUIET
            output: dict[str, Any] = {"systemMessage": stale}  # (the person's to fix)
            if context:
                output["hookSpecificOutput"] = {"additionalContext": context}
            return tell.reply(output)
        if event == "AfterAgent":
            again = payload.get("stop_hook_active") is True
            verdicts = turnend.end(repo, session, history=turn.history(environ))
            end = tell.ending(repo.state_dir, session, verdicts, project, again=again)
            if not end.shown:
                return QUIET
            if not end.send_back:
                return tell.reply({"systemMessage": end.shown})
            return tell.reply(
                {"decision": "deny", "reason": end.send_back, "systemMessage": end.shown}
            )
        if event == "SessionEnd":  # (Gemini does not wait for it: sessionend.py)
            from git_atomic.agents import sessionend

            def closing() -> HookResult:
                closed = turnend.close(repo, session, "the session ended")
                return (
                    tell.reply({"systemMessage": tell.lines(closed, project)}) if closed else QUIET
                )

            return sessionend.detached(closing, wait=sessionend.budget(LAYOUT))
    except AtomicError as exc:
        return tell.reply({"systemMessage": f"git-atomic: {exc}"})
    return QUIET


# How the session's own chat begins: its environment context (gemini-cli
# `utils/environmentContext.ts`), made again whole when its history is compressed (the client
# starts a new chat with `getInitialChatHistory` before the summary), with the date and the
# folder listing of that moment: a first message no longer the one noted.
_SESSION_CONTEXT: Final = "This is the Gemini CLI. We are setting up the context for our chat."


def _sessions_own(payload: Mapping[str, Any]) -> bool:
    """Whether the request is the session's own, by its first message's opening (compressed
    since it was noted, or not): a subagent's chat begins with its task."""
    request = payload.get("llm_request")
    messages = request.get("messages") if isinstance(request, Mapping) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    content = first.get("content") if isinstance(first, Mapping) else None
    if not isinstance(content, str):
        return False
    opening = content.lstrip()
    return opening.removeprefix("<session_context>").lstrip().startswith(_SESSION_CONTEXT)


def _asker(payload: Mapping[str, Any]) -> str:
    """Who asks the model, by the first message of its request ('' where there is none): the
    session's own chat begins with its environment context (gemini-cli `getInitialChatHistory`)
    (made again when its history is compressed: `_sessions_own`), a subagent's with its task
    (`local-executor.ts`).
    Noted, as a fact of the session, while no subagent runs (`remember`)."""
    request = payload.get("llm_request")
    messages = request.get("messages") if isinstance(request, Mapping) else None
    if not isinstance(messages, list) or not messages:
        return ""
    first = json.dumps(messages[0], sort_keys=True, default=str, ensure_ascii=False)
    digest = hashlib.sha1(first.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return "gemini-model-" + digest.hexdigest()[:16]


def _call_id(tool: str, fields: object) -> str:
    """'' for a call (Gemini names none), but a subagent's: its tool and input name it, so
    that two subagents run at once are two calls in flight."""
    if tool not in SUBAGENT_TOOLS:
        return ""
    named = json.dumps(
        fields if tool == "invoke_agent" else [tool, fields],
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    digest = hashlib.sha1(named.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return SUBAGENT + digest.hexdigest()[:16]


def _context(text: str, *, system: bool = False) -> HookResult:
    output: dict[str, Any] = {"hookSpecificOutput": {"additionalContext": text}}
    if system:
        output["systemMessage"] = text
    return tell.reply(output)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _path(value: object) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None
