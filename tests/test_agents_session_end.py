"""A session's end that its platform kills at its budget (Claude Code: 1.5 s for every
SessionEnd hook together unless a hook's timeout raises it, 1.5 s whatever it says before
2.1.74, nothing at all when it exits at once; Codex: 3 s; Gemini CLI: no wait) still records
the turn left open: its work runs in a process of its own session (agents/sessionend.py).

The kill is played as the platform does it, on the hook's process and its group, while the
end is paused where its turn has left its slot and is no operation yet (the failpoint
`turnend:closed`): the turn was lost there. The oracle is the log and the disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo

SESSION = "5e55e11d-0000-4c55-9e0a-eeeeeeeeeee1"


def _open_turn(repo: GitRepo) -> None:
    """A turn whose shell call made a file and never came back (Esc: no PostToolUse, no Stop)."""
    claude_hook(repo, SESSION, "UserPromptSubmit", prompt="make it")
    command = {"command": "echo m > made.txt"}
    call = {"tool_name": "Bash", "tool_input": command, "tool_use_id": "c1"}
    claude_hook(repo, SESSION, "PreToolUse", **call)
    repo.write("made.txt", b"m\n")


def _ops(repo: GitRepo) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = repo.atomic_json("log")["operations"]
    return found


@pytest.mark.parametrize("platform", ["claude-code", "gemini"])
def test_a_session_end_killed_at_its_budget_still_records_the_turn(
    repo: GitRepo, tmp_path: Path, platform: str
) -> None:
    if platform == "gemini":
        gemini = {"session_id": SESSION, "cwd": str(repo.path), "hook_event_name": "BeforeAgent"}
        _hook_now(repo, "gemini", "BeforeAgent", {**gemini, "prompt": "make it"})
        tool = {"tool_name": "run_shell_command", "tool_input": {"command": "echo m > made.txt"}}
        _hook_now(repo, "gemini", "BeforeTool", {**gemini, "hook_event_name": "BeforeTool", **tool})
        repo.write("made.txt", b"m\n")
    else:
        _open_turn(repo)
    before = len(_ops(repo))
    pause = tmp_path / "pause"
    env = {
        **repo.env,
        "CLAUDE_PROJECT_DIR": str(repo.path),
        "GIT_ATOMIC_HELPER": "0",  # the hook's own process does the work, as cold
        "GIT_ATOMIC_FAILPOINT_PAUSE": "turnend:closed",
        "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
    }
    payload = {"session_id": SESSION, "cwd": str(repo.path), "hook_event_name": "SessionEnd"}
    hook = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "hook", platform, "SessionEnd"],
        cwd=repo.path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, which the platform's kill takes whole
    )
    try:
        assert hook.stdin is not None
        hook.stdin.write(json.dumps({**payload, "reason": "prompt_input_exit"}).encode())
        hook.stdin.close()
        deadline = time.monotonic() + 120
        while not pause.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pause.exists(), "the end never reached its last step"
        os.killpg(hook.pid, signal.SIGKILL)  # the platform's budget is spent
        hook.wait(60)
    finally:
        hook.kill()
        hook.wait()
    pause.unlink()
    deadline = time.monotonic() + 120
    while len(_ops(repo)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    ops = _ops(repo)
    assert len(ops) == before + 1, ops  # the turn, recorded: closed, not judged
    shown = repo.atomic("show", ops[0]["op_id"], "--stat", check=0).stdout
    assert "made.txt" in shown, shown
    assert repo.read("made.txt") == b"m\n"  # a closed turn is never taken back


def _hook_now(repo: GitRepo, platform: str, event: str, payload: dict[str, Any]) -> None:
    from testing.agents import platform_hook

    platform_hook(repo, platform, event, payload)


def test_a_quick_session_end_still_answers(repo: GitRepo) -> None:
    """Where the end is done within the platform's budget, its answer is the hook's, as
    before: the turn left open, recorded."""
    _open_turn(repo)
    ended = claude_hook(repo, SESSION, "SessionEnd", reason="clear")
    said = json.loads(ended.stdout)["systemMessage"]
    assert "the session ended" in said and "recorded as operation" in said, said
