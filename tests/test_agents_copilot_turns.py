"""Copilot CLI running the hooks of `.claude/settings.json`: its subagents' calls (child
sessions that send no prompt and no Stop) are one turn of the worktree's, judged by a session's
Stop, and closed by its next prompt when no Stop came. Real hook calls, read from the disk."""

from __future__ import annotations

import json
from typing import Any

from testing.agents import hook_answer
from testing.gitrepo import GitRepo


def _copilot(repo: GitRepo, event: str, session: str, **fields: Any) -> dict[str, Any]:
    """A hook call as Copilot CLI makes it to a Claude Code hook: snake_case, an ISO
    `timestamp`, no `tool_use_id`; its answer (exit 0, one JSON object or nothing)."""
    payload = {
        "hook_event_name": event,
        "session_id": session,
        "cwd": str(repo.path),
        "timestamp": "2026-12-05T20:00:00.000Z",
        **fields,
    }
    return hook_answer(repo, "claude-code", event, payload)


def test_the_subagents_turn_closed_at_the_next_prompt_is_said(repo: GitRepo) -> None:
    """A subagent's calls, their session's Stop never come (Copilot cancelled, a crash): the
    next prompt closed the subagents' turn, kept, and said nothing, where the session's own
    turn closed there is said to the model and the person. Said the same way now."""
    parent, child = "c0p1l0t-parent-0001", "c0p1l0t-child-0002"
    _copilot(repo, "UserPromptSubmit", parent, prompt="make it")
    args = {"command": "touch made"}
    _copilot(repo, "PreToolUse", child, tool_name="Bash", tool_input=args)
    repo.write("made", b"the subagent's\n")
    _copilot(repo, "PostToolUse", child, tool_name="Bash", tool_input=args)
    answer = _copilot(repo, "UserPromptSubmit", parent, prompt="next")
    [op] = repo.atomic_json("log")["operations"]
    said = json.dumps(answer)
    assert f"recorded as operation {op['op_id']}" in said, answer
    assert "subagent" in said, answer


def _gate(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")


def _subagent_writes(repo: GitRepo, child: str, name: str) -> None:
    args = {"command": f"touch {name}"}
    _copilot(repo, "PreToolUse", child, tool_name="Bash", tool_input=args)
    repo.write(name, b"a subagent's\n")
    _copilot(repo, "PostToolUse", child, tool_name="Bash", tool_input=args)


def test_two_copilot_sessions_each_stop_judges_only_its_own_subagents(repo: GitRepo) -> None:
    """Two Copilot sessions in one worktree: a subagent's calls name only the child session,
    so every subagent's calls were one turn of the worktree's, and the first session's Stop
    judged (and took back) what the other session's subagent did. A subagent runs while its
    parent works (between its prompt and a Stop that lets it stop): where one session works,
    its subagents' calls are its own subagents' turn, judged by its own Stop."""
    _gate(repo)
    a, b = "c0p1l0t-session-aaaa", "c0p1l0t-session-bbbb"
    _copilot(repo, "UserPromptSubmit", a, prompt="one")
    _subagent_writes(repo, "c0p1l0t-child-a1", "a.txt")
    answer = _copilot(repo, "Stop", a, stop_hook_active=False)  # a's subagent passes: a idle
    assert "decision" not in answer, answer
    _copilot(repo, "UserPromptSubmit", b, prompt="two")
    _subagent_writes(repo, "c0p1l0t-child-b1", "bad")
    _copilot(repo, "UserPromptSubmit", a, prompt="three")  # a works again, b not stopped yet
    answer = _copilot(repo, "Stop", a, stop_hook_active=False)
    assert "decision" not in answer and (repo.path / "bad").exists(), answer  # b's, not a's
    answer = _copilot(repo, "Stop", b, stop_hook_active=False)
    assert answer.get("decision") == "block", answer
    assert not (repo.path / "bad").exists() and (repo.path / "a.txt").exists()
