"""A shell call that runs in a folder outside the worktree is told so at once.

The agent may `cd` into another repository or any folder (Claude Code's `Bash` keeps the
folder it went to, and each hook's `cwd` says where the call runs). The call is counted in the
project's worktree, whose checkpoints hold nothing of that folder: what the command changes
there was neither judged nor taken back, and nothing said so. The call's own `PostToolUse` now
says it runs outside the worktree, for every platform's shell tool; one in a subfolder, or in
the worktree itself, says nothing. For Claude Code and Gemini CLI, which name the project apart
(CLAUDE_PROJECT_DIR, GEMINI_PROJECT_DIR); the others run the hook in the folder their payload
names (Codex's session folder, OpenHands's `working_dir`, Copilot CLI's `cwd`), which is the
project the call is judged in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo, command_line

NOTE = "outside the worktree: what it changes there is not protected"


def _call(platform: str, event: str, folder: Path) -> dict[str, Any]:
    tool = "run_shell_command" if platform == "gemini" else "Bash"
    return {
        "session_id": "s1",
        "transcript_path": "/dev/null",
        "cwd": str(folder),
        "hook_event_name": event,
        "tool_name": tool,
        "tool_input": {"command": "echo x > x.txt"},
        "tool_use_id": "t1",
    }


EVENTS = {
    "claude-code": ("PreToolUse", "PostToolUse"),
    "gemini": ("BeforeTool", "AfterTool"),
}


@pytest.mark.parametrize("platform", sorted(EVENTS))
def test_a_shell_call_run_elsewhere_is_told(repo: GitRepo, tmp_path: Path, platform: str) -> None:
    other = GitRepo.create(tmp_path / "other", tmp_path / "home-other")
    plain = tmp_path / "plain"
    plain.mkdir()
    repo.write("sub/keep.txt", b"k\n")
    env = {**repo.env, "CLAUDE_PROJECT_DIR": str(repo.path)}
    for folder, told in ((other.path, True), (plain, True), (repo.path / "sub", False)):
        said = ""
        for event in EVENTS[platform]:
            data = json.dumps(_call(platform, event, folder)).encode()
            ran = command_line(
                ["hook", platform, event], repo.path, env, data, 120, errors="strict"
            )
            assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
            said += ran.stdout + ran.stderr
        assert (NOTE in said and str(folder) in said) == told, (folder, said)
