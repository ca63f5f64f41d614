"""Cursor: hooks in `.cursor/hooks.json`, mapped onto the turn engine.

Cursor announces every tool call (`preToolUse`, for all tools) and its end (`postToolUse`;
`postToolUseFailure` when it failed, timed out or was denied), with one `tool_use_id` in both:
around each call that may change files the turn takes its checkpoints, as on Claude Code, so
what the user changes between the agent's calls is not the turn's. Its docs do not name the
fields of a file tool's input, so every window claims all that changed while it was open.

| event | what the engine does |
| --- | --- |
| beforeSubmitPrompt | a turn left open is closed; until Cursor has sent a tool event in the |
| | conversation, the new turn opens one window at the prompt (one checkpoint) |
| preToolUse | a window opened at the prompt is given up; before a tool that may change |
| | files (all but `Read`, `Grep` and `AskQuestion`): the turn opens, a window opens |
| postToolUse, postToolUseFailure | after it (or its failure or denial): its window closes |
| stop, `status: completed` | judged; a failure goes back as `followup_message` (Cursor |
| | submits it as the next user message) |
| stop, `aborted` or `error` | closed, not judged |
| sessionEnd | the turn is closed, not judged (a conversation closed without its `stop`) |

The window at the prompt is how a `.cursor/hooks.json` written before the tool events were
installed (prompt and stop only), or a Cursor that sends no `preToolUse`, still protects the
turn: from the prompt to `stop`, the user's edits meanwhile included. Cursor's first tool event
in a turn shows that it announces every call: nothing the agent did came before, and the window
is given up. Once the conversation has sent one and our `preToolUse` hook is in the project's
hooks file, later prompts open none: a turn that calls no tool changes nothing of its own.

Cursor reads JSON from every hook. `preToolUse` is answered `{}`, no permission at all: an
`allow` from a hook is read as approval (a call runs without the prompt your settings ask
for), and a tool that only takes checkpoints must never approve what you would be asked
about (our entries in `.cursor/hooks.json` are not `failClosed`, so no answer is no denial).
`beforeSubmitPrompt` is answered `{"continue": true}`; the other events' quiet answer is `{}`.
What the model cannot be told goes to stderr, which Cursor shows in its Hooks output panel;
`postToolUse` has a field the model reads (`additional_context`). The page the shapes come
from is in docs/agents.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from git_atomic.agents import hookfiles, tell, turn, turnend, turnplace
from git_atomic.agents.claude_code import Dialect, changes_files, session_of, tool_call
from git_atomic.agents.hookfiles import Event, Layout
from git_atomic.agents.tell import HookResult
from git_atomic.agents.turnsession import remember, remembers
from git_atomic.core.errors import AtomicError

TOOL_TIMEOUT: Final = 60
LAYOUT: Final = Layout(
    platform="cursor",
    path=".cursor/hooks.json",
    events=(
        Event("beforeSubmitPrompt", TOOL_TIMEOUT),
        # No matcher: every tool, filtered here (a matcher names the tools it takes, and
        # Cursor's docs list no more than a few of its tools' names).
        Event("preToolUse", TOOL_TIMEOUT),
        Event("postToolUse", TOOL_TIMEOUT),
        Event("postToolUseFailure", TOOL_TIMEOUT),
        Event("stop", 1800),  # long enough for the gates
        # Fire and forget (its answer is not read): a conversation closed, or its window,
        # without `stop` leaves no turn open, whose window at the prompt would take in what
        # you change afterwards.
        Event("sessionEnd", TOOL_TIMEOUT),
    ),
    grouped=False,
    top={"version": 1},
    restart="Cursor reloads it by itself",
)
# The tools Cursor's docs name that only look, and the one that asks you a question
# (`AskQuestion`: a window around it took what you wrote while answering for the turn's); any
# other may change files (a `Shell`, `Write`, `Delete`, an MCP tool, a `Task`'s subagent, a
# tool not named there).
DIALECT: Final = Dialect("cursor", r"(?!(?:Read|Grep|AskQuestion)$).*", None, frozenset())
# The window a turn opens at its prompt (the id an open turn of the last version has too).
PROMPT: Final = ("turn", "Cursor turn")
TOOL_EVENTS: Final = "cursor-tool-events"  # this conversation has sent us a `preToolUse`
EMPTY: Final = HookResult(0, "{}\n", "")
# The answers that let the call or the prompt go on: a call's decides nothing (never an
# `allow`, which would spare the call your approval), a prompt's says to go on.
ALLOW: Final = EMPTY
CONTINUE: Final = HookResult(0, '{"continue": true}\n', "")
QUIET: Final = {"preToolUse": ALLOW, "beforeSubmitPrompt": CONTINUE}


def handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> HookResult:
    try:
        return _handle(event, payload, environ)
    except Exception as exc:  # a safety net never breaks the agent: the call still goes on
        return _stderr(QUIET.get(event, EMPTY), f"git-atomic: {tell.failure(exc)}")


def _handle(event: str, payload: Mapping[str, Any], environ: Mapping[str, str]) -> HookResult:
    quiet = QUIET.get(event, EMPTY)
    # A workspace of several folders: the first one in a git repository is the project (the
    # others may be no repository at all), else the hook's own folder.
    roots = payload.get("workspace_roots")
    listed = [_path(r) for r in roots] if isinstance(roots, list) else []
    # `sessionEnd` names it `session_id` too (the same id, Cursor's page says).
    session = _text(payload.get("conversation_id")) or session_of(payload)
    repo = project = None
    for candidate in [*listed, tell.here()]:
        if candidate is not None:
            repo = turnplace.locate(_path(payload.get("cwd")), candidate, session)
            if repo is not None:
                project = candidate
                break
    if repo is None or project is None:
        return quiet
    prompt = turn.Call(session, *PROMPT)
    try:
        if event == "beforeSubmitPrompt":
            closed = turnend.close(repo, session, "it ended without stop", prompt=True)
            announced = remembers(repo.state_dir, session, TOOL_EVENTS)
            if announced and "preToolUse" in hookfiles.installed(LAYOUT, project):
                note = ""
            else:
                note = turn.before(repo, LAYOUT.platform, prompt)
            said = [
                tell.opening(repo.state_dir, session, closed, project),
                note,
                tell.stale_hooks(repo.state_dir, session, LAYOUT, project),
            ]
            return _stderr(CONTINUE, "\n".join(s for s in said if s))
        if event == "preToolUse":
            remember(repo.state_dir, session, TOOL_EVENTS)
            given_up = turn.give_up(repo, prompt)
            note = (
                turn.before(repo, LAYOUT.platform, _call(session, payload))
                if _ours(payload)
                else ""
            )
            return _stderr(ALLOW, "\n".join(f"git-atomic: {s}" for s in (given_up, note) if s))
        if event in ("postToolUse", "postToolUseFailure"):
            note = turn.after(repo, _call(session, payload)) if _ours(payload) else ""
            if not note:
                return EMPTY
            text = f"git-atomic: {note}"
            if event == "postToolUseFailure":  # it reads no output
                return _stderr(EMPTY, text)
            return tell.reply({"additional_context": text}, stderr=text + "\n")
        if event == "sessionEnd":  # (in a process its kill does not reach: sessionend.py)
            from git_atomic.agents import sessionend

            why = f"the session ended ({payload.get('reason') or 'no reason given'})"
            return sessionend.detached(
                lambda: _stderr(EMPTY, tell.lines(turnend.close(repo, session, why), project)),
                wait=sessionend.budget(LAYOUT),
            )
        if event == "stop":
            if payload.get("status") not in (None, "completed"):
                closed = turnend.close(repo, session, f"it ended as {payload.get('status')}")
                return _stderr(EMPTY, tell.lines(closed, project))
            verdicts = turnend.end(repo, session, history=turn.history(environ))
            again = isinstance(payload.get("loop_count"), int) and payload["loop_count"] > 0
            end = tell.ending(repo.state_dir, session, verdicts, project, again=again)
            if not end.send_back:
                return _stderr(EMPTY, end.shown)
            return _stderr(tell.reply({"followup_message": end.send_back}), end.shown)
    except AtomicError as exc:
        return _stderr(quiet, f"git-atomic: {exc}")
    return quiet


def _ours(payload: Mapping[str, Any]) -> bool:
    return changes_files(payload, DIALECT)


def _call(session: str, payload: Mapping[str, Any]) -> turn.Call:
    return tool_call(session, payload, DIALECT)


def _stderr(result: HookResult, text: str) -> HookResult:
    return HookResult(result.exit_code, result.stdout, text + "\n" if text else "")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _path(value: object) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None
