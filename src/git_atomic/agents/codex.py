"""OpenAI Codex CLI: its hooks speak Claude Code's language (`.codex/hooks.json`).

Codex sends `PreToolUse`/`PostToolUse` for its shell (`Bash`), `apply_patch`, MCP and its
client's (`dynamic__*`) tools, `UserPromptSubmit` and `Stop` (whose `decision: "block"` sends
the model back with `reason`).
A call that waits for your approval sends `PermissionRequest` first, and one you refuse sends
nothing: its window ends where it began to wait, at the next call or the turn's end.
A turn you interrupt sends `Interrupt` (a call it cut short sends no `PostToolUse`), one that
ends in an error of the model's service (a rate limit, an outage) `StopFailure` instead of
`Stop`, a session that ends `SessionEnd`: each closes the turn there, so what you change
afterwards is not the turn's; a turn that ends otherwise is closed by the next prompt. The
payloads and replies are Claude Code's (session_id, cwd, tool_name, tool_input, tool_use_id,
stop_hook_active); the page they come from is in docs/agents.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from git_atomic.agents.claude_code import Dialect
from git_atomic.agents.claude_code import handle as claude_handle
from git_atomic.agents.hookfiles import Event, Layout
from git_atomic.agents.tell import HookResult

# Its shell tools are all `Bash`, its edits `apply_patch`; an MCP server's tool is
# `mcp__<server>__<tool>`, and a namespaced tool the client runs (an IDE, through the app server)
# `dynamic__<namespace>__<tool>` (openai/codex codex-rs/core/src/tools/hook_names.rs): a
# program of someone else's, which may change any file, as an MCP server's may.
FILE_TOOLS: Final = "Bash|shell|apply_patch|mcp__.*|dynamic__.*"
LAYOUT: Final = Layout(
    platform="codex",
    path=".codex/hooks.json",
    events=(
        Event("UserPromptSubmit", 60),
        Event("PreToolUse", 60, FILE_TOOLS),
        Event("PostToolUse", 60, FILE_TOOLS),
        # Before Codex asks you to approve a call (a refused one sends no PostToolUse).
        Event("PermissionRequest", 60, FILE_TOOLS),
        Event("Stop", 1800),
        # A turn that ended in an API error (openai/codex codex-rs/hooks/src/events/
        # stop_failure.rs) sends no `Stop`: it stayed open until the next prompt.
        Event("StopFailure", 60),
        # Codex clamps these two to 3 s (and warns at every start when asked for more); a call
        # it kills leaves its work to the warm helper, or to the next prompt.
        Event("Interrupt", 3),
        Event("SessionEnd", 3),
    ),
    # Codex runs a non-managed hook only once its exact definition was trusted, and a project's
    # `.codex/` only in a trusted project: nothing says so when a hook is skipped.
    restart=(
        "restart Codex, then trust the hooks in `/hooks`: Codex skips a new or changed hook"
        " until you do, and a project's hooks unless you trust the project; releases before"
        " hooks were on by default need `[features] hooks = true`"
    ),
)
# Codex reads `hookSpecificOutput.additionalContext` of PreToolUse too (openai/codex
# `codex-rs/hooks/src/events/pre_tool_use.rs`, PR #20692; https://developers.openai.com/codex/
# hooks): a call we cannot protect is said to the model there, not to the person alone.
DIALECT: Final = Dialect(
    "codex",
    FILE_TOOLS,
    None,
    frozenset({"PreToolUse", "PostToolUse", "UserPromptSubmit"}),
    LAYOUT,
)


def handle(
    event: str, payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> HookResult:
    return claude_handle(event, payload, environ, dialect=DIALECT)
