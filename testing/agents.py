"""The agents' side, for tests: Claude Code's hook calls (its payload handed to the installed
command, `git-atomic hook claude-code EVENT`, as a real process) and an MCP client's server
(`git-atomic mcp` on pipes)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from testing.gitrepo import GitRepo


def run_claude_hook(repo: GitRepo, payload: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """The hook command for `payload`'s event, run in the repository (exit 0 checked)."""
    return subprocess.run(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", payload["hook_event_name"]],
        input=json.dumps(payload),
        cwd=repo.path,
        env={**repo.env, "CLAUDE_PROJECT_DIR": str(repo.path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def claude_hook(
    repo: GitRepo, session: str, event: str, **fields: object
) -> subprocess.CompletedProcess[str]:
    """One call of `session`'s, its payload's common fields as Claude Code sends them."""
    payload = {
        "session_id": session,
        "transcript_path": f"/home/dev/.claude/projects/x/{session}.jsonl",
        "cwd": str(repo.path),
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }
    return run_claude_hook(repo, payload)


def mcp_on_pipes(repo: GitRepo, *, text: bool) -> subprocess.Popen[Any]:
    """The MCP server on pipes, for a test that writes JSON-RPC lines itself."""
    pipe, argv = subprocess.PIPE, [sys.executable, "-m", "git_atomic", "mcp"]
    return subprocess.Popen(
        argv, cwd=repo.path, env=repo.env, stdin=pipe, stdout=pipe, stderr=pipe, text=text
    )
