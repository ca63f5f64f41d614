"""Cursor: hooks in `.cursor/hooks.json`, mapped onto the turn engine.

Cursor gives no event *before* a file edit (only `afterFileEdit`), so the turn's one window
opens when the prompt is submitted and closes at `stop`: what happens during the turn,
including the user's own edits meanwhile, is the turn's. A turn that changed nothing is still
not judged.

| event | what the engine does |
| --- | --- |
| beforeSubmitPrompt | a turn left open is closed; the new turn opens (one checkpoint) |
| stop, `status: completed` | judged; a failure goes back as `followup_message` (Cursor |
| | submits it as the next user message) |
| stop, `aborted` or `error` | closed, not judged |

Cursor reads JSON from every hook, so quiet answers are `{}`. What the model cannot be told
(Cursor has no field for it outside `stop`) goes to stderr, which Cursor shows in its Hooks
output panel. The page the shapes come from is in docs/agents.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from git_atomic.agents import tell, turn
from git_atomic.agents.hookfiles import Event, Layout
from git_atomic.agents.tell import HookResult
from git_atomic.core.errors import AtomicError

LAYOUT: Final = Layout(
    platform="cursor",
    path=".cursor/hooks.json",
    events=(Event("beforeSubmitPrompt", 60), Event("stop", 1800)),
    grouped=False,
    top={"version": 1},
    restart="Cursor reloads it by itself",
)
EMPTY: Final = HookResult(0, "{}\n", "")


def handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> HookResult:
    try:
        return _handle(event, payload, environ)
    except Exception as exc:  # a safety net never breaks the agent: Cursor still gets `{}`
        return _stderr(EMPTY, f"git-atomic: {tell.failure(exc)}")


def _handle(event: str, payload: Mapping[str, Any], environ: Mapping[str, str]) -> HookResult:
    # A workspace of several folders: the first one in a git repository is the project (the
    # others may be no repository at all), else the hook's own folder.
    roots = payload.get("workspace_roots")
    listed = [_path(r) for r in roots] if isinstance(roots, list) else []
    repo = project = None
    for candidate in [*listed, tell.here()]:
        if candidate is not None:
            repo = turn.locate(_path(payload.get("cwd")), candidate)
            if repo is not None:
                project = candidate
                break
    if repo is None or project is None:
        return EMPTY
    session = _text(payload.get("conversation_id")) or "unknown"
    try:
        if event == "beforeSubmitPrompt":
            closed = turn.close(repo, session, "it ended without stop")
            note = turn.before(repo, LAYOUT.platform, turn.Call(session, "turn", "Cursor turn"))
            said = [tell.opening(repo.state_dir, session, closed, project), note]
            return _stderr(EMPTY, "\n".join(s for s in said if s))
        if event == "stop":
            if payload.get("status") not in (None, "completed"):
                closed = turn.close(repo, session, f"it ended as {payload.get('status')}")
                return _stderr(EMPTY, tell.lines(closed, project))
            verdicts = turn.end(repo, session, history=turn.history(environ))
            again = isinstance(payload.get("loop_count"), int) and payload["loop_count"] > 0
            end = tell.ending(repo.state_dir, session, verdicts, project, again=again)
            if not end.send_back:
                return _stderr(EMPTY, end.shown)
            return _stderr(tell.reply({"followup_message": end.send_back}), end.shown)
    except AtomicError as exc:
        return _stderr(EMPTY, f"git-atomic: {exc}")
    return EMPTY


def _stderr(result: HookResult, text: str) -> HookResult:
    return HookResult(result.exit_code, result.stdout, text + "\n" if text else "")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _path(value: object) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None
