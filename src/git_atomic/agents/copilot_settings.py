"""Copilot CLI's `.github/hooks/git-atomic.json`: which hooks we install (the merging is
`hookfiles`; the adapter is copilot.py). Apart so that the Claude Code adapter can ask whether
these are installed without importing Copilot's adapter."""

from __future__ import annotations

from typing import Final

from git_atomic.agents.hookfiles import Event, Layout

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
    # Its command `preToolUse` hooks are fail-closed: a non-zero exit denies the call. The
    # hooks always answer 0, but a shell that cannot find `git-atomic` (not on the PATH Copilot
    # was started with, a removed venv) says 127: every tool call would be refused.
    guard=" || true",
)
