"""Claude Code: its hook events mapped onto the turn engine, answers in its JSON fields.

Installing the hooks is `claude_settings`; the payload and reply shapes, and the page they come
from, are in docs/agents.md. A safety net must never break the agent: whatever goes wrong inside
git-atomic is said with exit 0.

| event | what the engine does |
| --- | --- |
| UserPromptSubmit | a turn left open is closed, a note goes out (a Codex subagent's: nothing) |
| PreToolUse | before a file-changing call: the turn opens, a window opens |
| PostToolUse, PostToolUseFailure, PermissionDenied | after it (or its denial): its window closes |
| PostToolBatch | every call of the batch resolved: every window still open closes |
| Elicitation, ElicitationResult | an MCP call asks the person, and is answered: its window |
| | ends at the question and opens again at the answer |
| PermissionRequest (Codex) | a call waits for your approval: a checkpoint marks where; refused |
| | (nothing is sent), its window ends there, at the next call or the turn's end |
| Stop | the turn is judged; a failed one sends the model back with the reason |
| StopFailure, SessionEnd, Interrupt (Codex) | the turn is closed, not judged |
| SubagentStop | nothing: a subagent's calls are part of the turn that started it |

Copilot CLI runs this file too (it reads a project's `.claude/settings.json`), with payloads of
its own (`timestamp`, no `transcript_path` nor `tool_use_id`: `_copilot`). A subagent of its
runs as a child session: its calls carry the child's `session_id`, which sends no prompt and no
`Stop`, so a turn of its own would never be judged. A call of a session Copilot saw no prompt of
goes to the turn of the subagents of the one session that works now (from its prompt to a `Stop`
that lets it stop: copilotwork.py), which its `Stop` judges after its own turn: what a subagent
changed is judged, on its own effect, when the turn that started it ends, never by another
session's. Where no session or several work, to the worktree's turn of Copilot's subagents
(`copilotwork.SHARED`), which the next `Stop` of any session judges. Where Copilot's own hooks
file has our hooks too, Copilot runs both for each call: this one then does nothing for Copilot
(`_copilots_own_hooks`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from git_atomic.agents import tell, toolfiles, turn, turnend, turnplace
from git_atomic.agents.claude_settings import FILE_TOOL_PATTERN, LAYOUT, install, uninstall
from git_atomic.agents.hookfiles import Layout
from git_atomic.agents.tell import QUIET, HookResult
from git_atomic.agents.turnsession import remember, remembers
from git_atomic.core import patterns
from git_atomic.core.errors import AtomicError
from git_atomic.core.records import dataclass

if TYPE_CHECKING:
    from git_atomic.agents.judge import Verdict
    from git_atomic.engine.git import Repo

__all__ = [
    "LAYOUT",
    "Dialect",
    "HookResult",
    "changes_files",
    "describe",
    "handle",
    "install",
    "tool_call",
    "uninstall",
]


@dataclass(frozen=True)
class Dialect:
    """A platform whose hooks speak Claude Code's language (Codex, OpenHands), and its accent."""

    platform: str
    file_tools: str  # a regular expression on the tool name
    project_var: str | None  # where the platform names the project, if it does
    context_events: frozenset[str]  # events whose `hookSpecificOutput.additionalContext` it reads
    layout: Layout | None = None  # its hooks file, as this release installs it
    # The `Stop` answer's `decision` that sends the model back (OpenHands blocks on "deny" alone).
    send_back: str = "block"
    # Reads `additionalContext` at the answer's top level, not in `hookSpecificOutput`.
    flat_context: bool = False

    def __post_init__(self) -> None:
        patterns.keep(self.file_tools)


PROMPTED: Final = "claude-code-prompted"  # this session submitted a prompt here (Copilot's)

CLAUDE: Final = Dialect(
    "claude-code",
    FILE_TOOL_PATTERN,
    "CLAUDE_PROJECT_DIR",
    frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit"}),
    LAYOUT,
)


# VS Code's agent runs the hooks of `.claude/settings.json` too, with payloads of its own: the
# common fields `sessionId`, `hookEventName`, `cwd`, `timestamp`, `transcript_path` (no
# `session_id`), its own tool names (`create_file`, `replace_string_in_file`, ...: none of
# Claude Code's) and camelCase tool inputs (`filePath`), and it ignores the matchers (docs/
# agents.md cites its page). Read as Claude Code's, its calls all named one session and none
# a tool of ours: nothing was checkpointed, in silence. Each of its tools may change files;
# its `Stop` reads `hookSpecificOutput.decision`; `additionalContext` after a tool call only.
VSCODE: Final = Dialect("vscode", ".*", None, frozenset({"PreToolUse", "PostToolUse"}))

# A payload that names no session: every such call in the worktree is one session's.
NO_SESSION: Final = "unknown"


def handle(
    event: str,
    payload: Mapping[str, Any],
    environ: Mapping[str, str] = os.environ,
    *,
    dialect: Dialect = CLAUDE,
) -> HookResult:
    """Answer one hook call; `payload` is the JSON object the platform sent on stdin."""
    try:
        return _handle(event, payload, environ, dialect)
    except Exception as exc:  # a safety net never breaks the agent: said, with exit 0
        return _warn(tell.failure(exc), event, dialect)


def _handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str], dialect: Dialect
) -> HookResult:
    if dialect is CLAUDE and _from_vscode(payload):
        dialect = VSCODE
    named = _path(environ.get(dialect.project_var or "")) or tell.here()
    session = session_of(payload)
    repo = turnplace.locate(_path(payload.get("cwd")), named, session)
    if repo is None:
        return QUIET  # not in a git repository: nothing to protect
    project = named or repo.root
    copilot = dialect is CLAUDE and _copilot(payload)
    if copilot and _copilots_own_hooks(Path(repo.root)):
        return QUIET  # its own hooks file judges its turns: judged twice, a turn kept twice
    if copilot:  # (imported for Copilot's calls only: a Claude Code call imports no more)
        from git_atomic.agents import copilotwork
    try:
        if event in ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionDenied"):
            if copilot and not remembers(repo.state_dir, session, PROMPTED):
                # a subagent's call (a child session's): its working parent's subagents' turn
                session = copilotwork.subagents_turn(repo.state_dir)
            return _tool_event(event, repo, session, payload, dialect)
        if event == "PostToolBatch":
            # Every call of the batch has resolved, those listed (`tool_calls` in the SDK's
            # types, `tool_results` in some descriptions of it) and those not: one the user
            # refused at the permission prompt never sends PostToolUse, and a window it left
            # open would take what you change until the turn's end for the turn's. A
            # subagent's batch (`agent_id`) ends its own calls only: the main agent's may run on.
            if _text(payload.get("agent_id")):
                batch = _dicts(payload.get("tool_calls")) or _dicts(payload.get("tool_results"))
                for item in batch:
                    if changes_files(item, dialect):
                        turn.after(repo, tool_call(session, item, dialect))
            else:
                turn.after_all(repo, session)
            return QUIET
        if event == "Elicitation":
            # (no answer: the person is asked, as without us)
            turn.asking(repo, session, turn.Asked.QUESTION)
            return QUIET
        if event == "PermissionRequest":
            # Codex's, before it asks you to approve a call: one you refuse sends nothing, and
            # the model goes on. No answer: you are asked, as without us.
            if changes_files(payload, dialect):
                turn.asking(repo, session, turn.Asked.PERMISSION)
            return QUIET
        if event == "ElicitationResult":
            turn.answered(repo, session)
            return QUIET
        if event == "Stop":
            verdicts = turnend.end(repo, session, history=turn.history(environ))
            if copilot:  # its subagents' calls, and those no parent could be told of, judged too
                for theirs in copilotwork.subagents_turns(session):
                    verdicts += turnend.end(repo, theirs, history=turn.history(environ))
            again = _flag(payload.get("stop_hook_active"))
            running = tell.running_shells(payload) if verdicts else ""
            result = _stop(
                repo, session, verdicts, project, again=again, running=running, dialect=dialect
            )
            if copilot and '"decision"' not in result.stdout:  # (not sent back: it stops)
                copilotwork.idle(repo.state_dir, session)
            return result
        if event == "UserPromptSubmit" and not _text(payload.get("agent_id")):
            subagents: list[Verdict] = []
            if copilot:
                remember(repo.state_dir, session, PROMPTED)
                copilotwork.working(repo.state_dir, session)
                for theirs in copilotwork.subagents_turns(session):
                    subagents += turnend.close(repo, theirs, "it ended without Stop")
            unnamed = _no_session(payload, session)
            return _prompt(repo, session, project, dialect, unnamed, subagents, copilot=copilot)
        if event in _CLOSING:

            def closing() -> HookResult:
                why = _CLOSING[event]
                closed = turnend.close(repo, session, why)
                if copilot:
                    copilotwork.idle(repo.state_dir, session)
                    for theirs in copilotwork.subagents_turns(session):
                        closed += turnend.close(repo, theirs, why)
                return (
                    tell.reply({"systemMessage": tell.lines(closed, project)}) if closed else QUIET
                )

            if event != "SessionEnd":
                return closing()
            from git_atomic.agents import sessionend  # (its platform's seconds: sessionend.py)

            return sessionend.detached(closing, wait=sessionend.budget(dialect.layout))
    except AtomicError as exc:
        return _warn(str(exc), event, dialect)
    return QUIET  # SubagentStop, a subagent's prompt, anything newer: the turn goes on


# Events that end a turn without judging it, and why (Codex sends `Interrupt`: its replies may
# hold `systemMessage` and nothing else).
_CLOSING: Final = {
    "StopFailure": "ended by an error",
    "SessionEnd": "the session ended",
    "Interrupt": "it was interrupted",
}


def _tool_event(
    event: str, repo: Repo, session: str, payload: Mapping[str, Any], dialect: Dialect
) -> HookResult:
    if not changes_files(payload, dialect):
        return QUIET
    call = tool_call(session, payload, dialect)
    if event == "PreToolUse":
        note = turn.before(repo, dialect.platform, call)
    else:
        note = turn.after(repo, call)
    return _warn(note, event, dialect) if note else QUIET


def _stop(
    repo: Repo,
    session: str,
    verdicts: list[Verdict],
    project: Path,
    *,
    again: bool,
    running: str,
    dialect: Dialect,
) -> HookResult:
    end = tell.ending(repo.state_dir, session, verdicts, project, again=again)
    if not end.shown:
        return QUIET  # the turn changed nothing: not judged
    shown = end.shown + (f"\n{running}" if running else "")
    if not end.send_back:
        return tell.reply({"systemMessage": shown})
    output: dict[str, Any] = {
        "decision": dialect.send_back,
        "reason": end.send_back,
        "systemMessage": shown,
    }
    if dialect is VSCODE:  # (its page puts them in `hookSpecificOutput`)
        specific = {"hookEventName": "Stop", "decision": "block", "reason": end.send_back}
        output["hookSpecificOutput"] = specific
    return tell.reply(output)


def _copilot(payload: Mapping[str, Any]) -> bool:
    """Whether Copilot CLI sent it: its payloads in Claude Code's shape carry a `timestamp`
    (an ISO 8601 string), which Claude Code's never do (GitHub, *Copilot hooks reference*,
    "VS Code compatible input")."""
    return isinstance(payload.get("timestamp"), str)


def _copilots_own_hooks(root: Path) -> bool:
    """Whether `hooks install copilot` put our hooks in Copilot CLI's own file too: Copilot
    runs every hooks file it finds, that one and this one, for each of its calls."""
    from git_atomic.agents import copilot_settings, hookfiles  # (Copilot's calls only)

    return "agentStop" in hookfiles.installed(copilot_settings.LAYOUT, root)


def _prompt(
    repo: Repo,
    session: str,
    project: Path,
    dialect: Dialect,
    unnamed: str,
    subagents: list[Verdict],
    *,
    copilot: bool,
) -> HookResult:
    """`subagents`: the turn of Copilot's subagents this prompt closed (said as the session's
    own turn closed here is: it was kept, in silence)."""
    closed = turnend.close(repo, session, "it ended without Stop", prompt=True)
    context = tell.opening(repo.state_dir, session, closed, project)
    layout = None if copilot else dialect.layout  # (Copilot's own file is its adapter's)
    stale = tell.stale_hooks(repo.state_dir, session, layout, project) if layout else ""
    theirs = ""
    if subagents:
        lead = "git-atomic: the calls of Copilot's subagents, closed without a Stop:"
        theirs = f"{lead}\n{tell.lines(subagents, project)}"
    context = "\n".join(line for line in (unnamed, theirs, context) if line)
    if not context and not stale:
        return QUIET
    if "UserPromptSubmit" not in dialect.context_events:
        return tell.reply({"systemMessage": "\n".join(t for t in (stale, context) if t)})
    # (what the hooks file lacks is the person's to fix: said to them, not to the model)
    output: dict[str, Any] = {"systemMessage": stale} if stale else {}
    if context:
        output |= _context(dialect, "UserPromptSubmit", context)
    return tell.reply(output)


def _context(dialect: Dialect, event: str, text: str) -> dict[str, Any]:
    """`text` where the platform gives it to the model."""
    if dialect.flat_context:
        return {"additionalContext": text}
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


def _warn(message: str, event: str, dialect: Dialect) -> HookResult:
    """Tell both: the person (systemMessage) and, where it reads one, the model
    (additionalContext)."""
    text = f"git-atomic: {message}"
    output: dict[str, Any] = {"systemMessage": text}
    if event in dialect.context_events:
        output |= _context(dialect, event, text)
    return tell.reply(output, stderr=text + "\n")


# --- payload helpers: every field may be missing or of the wrong type -------------------------


def session_of(payload: Mapping[str, Any]) -> str:
    """The session the call is of: Claude Code's `session_id`, VS Code's `sessionId` (a
    number as its digits), else the session's transcript (`transcript_path`: one file per
    session), else NO_SESSION."""
    for key in ("session_id", "sessionId"):
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value
    transcript = _text(payload.get("transcript_path"))
    return f"transcript {transcript}" if transcript.strip() else NO_SESSION


def _no_session(payload: Mapping[str, Any], session: str) -> str:
    """The line that says a payload named no session ('' where it did)."""
    if session != NO_SESSION or payload.get("session_id") == NO_SESSION:
        return ""
    return (
        "git-atomic: this hook's payload names no session (no session_id, sessionId or "
        "transcript_path): the calls of every session whose payloads name none are counted as "
        "one session's turns in this worktree"
    )


def _from_vscode(payload: Mapping[str, Any]) -> bool:
    """Whether the payload is VS Code's (its camelCase common fields, none of Claude Code's)."""
    if "session_id" in payload or "hook_event_name" in payload:
        return False
    return "sessionId" in payload or "hookEventName" in payload


def tool_call(session: str, payload: Mapping[str, Any], dialect: Dialect) -> turn.Call:
    fields = payload.get("tool_input")
    tool_input: Mapping[str, Any] = fields if isinstance(fields, Mapping) else {}
    tool = _text(payload.get("tool_name"))
    return turn.Call(
        session=session,
        call_id=_text(payload.get("tool_use_id")),
        label=describe(tool or "tool", tool_input),
        background=tool_input.get("run_in_background") is True or tool in _BACKGROUND_TOOLS,
        paths=_file_tool_paths(tool, tool_input) if dialect is CLAUDE else None,
        named=toolfiles.named(dialect.platform, tool, tool_input, _cwd(payload)),
        folder=toolfiles.shell_folder(dialect.platform, tool, _cwd(payload)),
    )


def _cwd(payload: Mapping[str, Any]) -> object:
    """The call's folder: `cwd`, OpenHands's `working_dir`."""
    return payload.get("cwd", payload.get("working_dir"))


# Claude Code's tools whose command always goes on after the call returns: `Monitor` feeds its
# command's output lines back to the model while the turn goes on (code.claude.com/docs/en/
# tools-reference#monitor-tool), as a `Bash` call with `run_in_background` does.
_BACKGROUND_TOOLS: Final = frozenset({"Monitor"})

# Claude Code's tools that write the one file their input names, and nothing else.
_ONE_FILE_TOOLS: Final = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}


def _file_tool_paths(tool: str, tool_input: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The file a file tool writes (None for any other tool: it may change anything)."""
    key = _ONE_FILE_TOOLS.get(tool)
    path = _text(tool_input.get(key)) if key else ""
    return (path,) if path else None


def describe(tool: str, tool_input: Mapping[str, Any]) -> str:
    """`<tool>: <what>`, one short line."""
    what = ""
    for key in ("file_path", "notebook_path", "filePath", "path", "description", "command"):
        if _text(tool_input.get(key)):
            what = _text(tool_input[key])
            break
    what = " ".join(what.split())
    what = what if len(what) <= 60 else what[:59] + "…"
    return f"{tool}: {what}" if what else tool


def changes_files(payload: Mapping[str, Any], dialect: Dialect) -> bool:
    """Whether the event's tool may change files (one that names no tool may)."""
    tool = payload.get("tool_name")
    return not isinstance(tool, str) or re.fullmatch(dialect.file_tools, tool) is not None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _path(value: object) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None


def _flag(value: object) -> bool:
    return value not in (None, False, "", "false")


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
