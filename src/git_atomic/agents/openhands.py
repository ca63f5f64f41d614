"""OpenHands: Claude Code-compatible hooks in `.openhands/hooks.json`.

OpenHands sends `PreToolUse`, `PostToolUse`, `UserPromptSubmit`, `Stop` (which may keep the
agent working) and `SessionEnd`, each a `HookEvent` of its own shape: `event_type`,
`tool_name`, `tool_input`, `tool_response`, `message`, `session_id`, `working_dir` (no `cwd`:
the hook runs in that folder), no `stop_hook_active`. It reads only `decision` ("deny" blocks;
Claude Code's "block" it ignores: the model was never sent back), `reason` and a top-level
`additionalContext` (the model reads it after a prompt, and in place of `reason` when a `Stop`
is blocked; `hookSpecificOutput` it ignores). The person sees our answer as the hook's output in
the conversation's log. Its tool names (`terminal`, `file_editor`, ...) differ from Claude
Code's and change between releases, so every tool call is checkpointed: a call that changed
nothing adds nothing to the turn. The page and the SDK files are cited in docs/agents.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from git_atomic.agents.claude_code import Dialect
from git_atomic.agents.claude_code import handle as claude_handle
from git_atomic.agents.hookfiles import Event, Layout
from git_atomic.agents.tell import HookResult

FILE_TOOLS: Final = ".*"
LAYOUT: Final = Layout(
    platform="openhands",
    path=".openhands/hooks.json",
    events=(
        Event("UserPromptSubmit", 60),
        Event("PreToolUse", 60, "*"),
        Event("PostToolUse", 60, "*"),
        Event("Stop", 1800),
        Event("SessionEnd", 60),
    ),
    restart="start a new conversation to load it",
)
DIALECT: Final = Dialect(
    "openhands",
    FILE_TOOLS,
    None,
    frozenset({"UserPromptSubmit"}),
    LAYOUT,
    send_back="deny",
    flat_context=True,
)


def handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> HookResult:
    return claude_handle(event, payload, environ, dialect=DIALECT)
