"""A hook call in a repository git-atomic refuses to work in is answered, on every platform and
at every event, in the platform's own channel: one line that says the agent's calls are not
checkpointed and its turn not judged, and why. Before, such a call was taken for one outside
any repository: a turn whose call made `.git/config` a fifo ended with no word at all.

A folder in no repository, and a bare repository of yours, have nothing to protect: silent."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testing.agents import platform_hook
from testing.gitrepo import GitRepo

Payload = dict[str, Any]
SESSION = "5d1c0e7a-4b2f-4f51-9a77-0c3e2b1d9f80"


def _claude_like(event: str, cwd: Path, tool: bool) -> Payload:
    payload: Payload = {"session_id": SESSION, "cwd": str(cwd), "hook_event_name": event}
    if tool:
        payload |= {"tool_name": "Write", "tool_input": {"file_path": str(cwd / "a.txt")}}
        payload |= {"tool_use_id": "call_1", "tool_name": "Bash"}
    return payload


def _gemini(event: str, cwd: Path, tool: bool) -> Payload:
    payload = _claude_like(event, cwd, False) | {"timestamp": "2026-12-02T16:00:00.000Z"}
    if tool:
        payload |= {"tool_name": "write_file", "tool_input": {"file_path": str(cwd / "a")}}
    return payload


def _copilot(event: str, cwd: Path, tool: bool) -> Payload:
    payload: Payload = {"sessionId": SESSION, "timestamp": 1704614400000, "cwd": str(cwd)}
    if tool:
        payload |= {"toolName": "edit", "toolArgs": json.dumps({"path": str(cwd / "a")})}
    return payload


def _cursor(event: str, cwd: Path, tool: bool) -> Payload:
    payload: Payload = {"conversation_id": SESSION, "hook_event_name": event}
    payload |= {"workspace_roots": [str(cwd)], "status": "completed", "loop_count": 0}
    if tool:
        payload |= {"tool_name": "Write", "tool_input": {"file_path": str(cwd / "a")}}
        payload |= {"tool_use_id": "tool_1", "cwd": str(cwd)}
    return payload


# platform: how it builds a payload, and its events (a tool call's in TOOL_EVENTS)
_PLATFORMS: dict[str, tuple[Callable[[str, Path, bool], Payload], tuple[str, ...]]] = {
    "claude-code": (
        _claude_like,
        ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"),
    ),
    "codex": (
        _claude_like,
        ("UserPromptSubmit", "PreToolUse", "PostToolUse", "PermissionRequest", "Stop", "Interrupt"),
    ),
    "openhands": (
        _claude_like,
        ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"),
    ),
    "gemini": (_gemini, ("BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent", "SessionEnd")),
    "copilot": (
        _copilot,
        ("userPromptSubmitted", "preToolUse", "postToolUse", "agentStop", "sessionEnd"),
    ),
    "cursor": (
        _cursor,
        ("beforeSubmitPrompt", "preToolUse", "postToolUse", "stop", "sessionEnd"),
    ),
}
TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PermissionRequest", "BeforeTool", "AfterTool"}
TOOL_EVENTS |= {"preToolUse", "postToolUse"}
CASES = [(p, e, e in TOOL_EVENTS) for p, (_, events) in _PLATFORMS.items() for e in events]
# The platforms that read a JSON answer on stdout for every event (Copilot CLI and Cursor show
# what a hook writes on stderr; Cursor's answer stays the one that lets the call go on).
_SAYS_ON_STDOUT = {"claude-code", "codex", "openhands", "gemini"}


def _said(repo: GitRepo, platform: str, event: str, tool: bool) -> tuple[str, str]:
    build, _ = _PLATFORMS[platform]
    ran = platform_hook(repo, platform, event, build(event, repo.path, tool))
    return ran.stdout, ran.stderr


# What a call of the turn may leave that git-atomic cannot work with: a configuration file git
# would wait on for ever, one it cannot read as a file.
_REFUSALS: dict[str, Callable[[Path], None]] = {
    "config-a-fifo": lambda git_dir: os.mkfifo(git_dir / "config"),
    "config-a-folder": lambda git_dir: (git_dir / "config").mkdir(),
}


@pytest.mark.parametrize("refusal", list(_REFUSALS))
@pytest.mark.parametrize(("platform", "event", "tool"), CASES)
def test_an_event_in_a_repository_refused_says_so_in_the_platforms_answer(
    repo: GitRepo, platform: str, event: str, tool: bool, refusal: str
) -> None:
    git_dir = repo.path / ".git"
    (git_dir / "config").rename(git_dir / "config.kept")
    _REFUSALS[refusal](git_dir)
    stdout, stderr = _said(repo, platform, event, tool)
    if platform in _SAYS_ON_STDOUT:
        answer = json.loads(stdout)
        said = answer["systemMessage"]
    else:
        said = stderr
        if platform == "cursor":  # its answer still lets the call, the prompt, go on
            assert json.loads(stdout) in ({}, {"continue": True}), stdout
    assert "not checkpointed, and its turn is not judged" in said, (stdout, stderr)
    assert str(git_dir / "config") in said
    assert len(said.strip().splitlines()) == 1


@pytest.mark.parametrize(("platform", "event", "tool"), CASES)
def test_an_event_outside_any_repository_is_silent(
    tmp_path: Path, repo: GitRepo, platform: str, event: str, tool: bool
) -> None:
    """A folder in no repository (nothing to protect): no answer, as before. (The repository's
    own process runs from a folder outside it.)"""
    outside = tmp_path / "no-repo"
    outside.mkdir()
    build, _ = _PLATFORMS[platform]
    payload = build(event, outside, tool)
    import subprocess
    import sys

    env = {k: v for k, v in repo.env.items() if k != "CLAUDE_PROJECT_DIR"}
    env["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    ran = subprocess.run(
        [sys.executable, "-m", "git_atomic", "hook", platform, event],
        input=json.dumps(payload),
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0 and not ran.stderr, ran.stderr
    assert json.loads(ran.stdout or "{}") in ({}, {"continue": True})
