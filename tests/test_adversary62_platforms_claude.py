"""Claude Code's `Monitor` tool, against its current tools reference.

Anthropic, *Tools reference*, https://code.claude.com/docs/en/tools-reference#monitor-tool:
`Monitor` "runs a command in the background and feeds each output line back to Claude"
(since Claude Code 2.1.98), with the same permission rules as `Bash`; its input is `command`
(and `description`). Its command is a shell command like any (`npm run build -- --watch`
writes `dist/`, a dev server writes its caches, a watch script anything), but our matcher
named only `Bash` and `PowerShell` of the shells: a `Monitor` call opened no window, so what
its command wrote was taken for yours, neither judged nor taken back, and nothing said so.
Now it is a shell call started in the background (as `Bash` with `run_in_background`): its
window holds what changed while it was announced, and the turn's end says that what it
changes afterwards is not the turn's. The oracle: the disk, and the installed matcher."""

from __future__ import annotations

import json
import re

from testing.agents import claude_hook
from testing.gitrepo import GitRepo


def test_a_monitor_calls_command_is_the_turns_and_taken_back(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e dist/bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    call = {
        "tool_name": "Monitor",
        "tool_input": {"command": "npm run build -- --watch", "description": "build watcher"},
        "tool_use_id": "toolu_m1",
    }
    assert claude_hook(repo, "s1", "PreToolUse", **call).stdout == ""
    repo.write("dist/bad", b"built\n")  # what the watcher's first build wrote
    response = {"taskId": "bm1", "timeoutMs": 300000}
    assert claude_hook(repo, "s1", "PostToolUse", **call, tool_response=response).stdout == ""
    repo.write("notes.txt", b"yours\n")  # you, after the call returned: not the turn's
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("dist/bad"), answer  # the turn's own change, taken back
    assert repo.read("notes.txt") == b"yours\n"
    assert "background task" in answer["systemMessage"], answer  # may go on writing


def test_the_installed_matcher_names_monitor(repo: GitRepo) -> None:
    repo.atomic("hooks", "install", "claude-code")
    settings = json.loads(repo.read(".claude/settings.json"))
    for event in ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionDenied"):
        [group] = settings["hooks"][event]
        assert re.fullmatch(group["matcher"], "Monitor"), (event, group)
