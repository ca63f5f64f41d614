"""`git atomic hooks install|uninstall AGENT`, `git atomic hook AGENT EVENT`, `git atomic mcp`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from git_atomic.errors import UsageError

TARGETS: Final = ("claude-code",)


def hooks_install(*, target: str, root: Path) -> int:
    from git_atomic.agents import claude_code

    _check(target)
    for line in claude_code.install(root):
        print(line)
    return 0


def hooks_uninstall(*, target: str, root: Path) -> int:
    from git_atomic.agents import claude_code

    _check(target)
    for line in claude_code.uninstall(root):
        print(line)
    return 0


def hook_event(*, target: str, event: str) -> int:
    """Answer one hook call: the payload is JSON on stdin, the answer goes to stdout/stderr.

    Runs on every tool call of the agent, so it imports only what it needs.
    """
    from git_atomic.agents import claude_code

    _check(target)
    payload = _payload(sys.stdin.read())
    result = claude_code.handle(event, payload)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_code


def mcp_serve(*, repo: Path | None) -> int:
    from git_atomic.agents import mcp_server

    return mcp_server.serve(repo=repo)


def _check(target: str) -> None:
    if target not in TARGETS:
        raise UsageError(f"unknown agent {target!r}; known: {', '.join(TARGETS)}")


def _payload(text: str) -> dict[str, Any]:
    # A payload we cannot read still gets an answer: the hook must never break the agent.
    try:
        payload = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
