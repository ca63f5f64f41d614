"""Codex's thread-spawned subagents: their hooks name the parent's session.

openai/codex `codex-rs/core/src/hook_runtime.rs`: every hook input carries
`session_id: sess.session_id()`, the id the agent control shares with every thread it spawns,
and, inside a thread-spawned subagent, `agent_id` (the child thread's id) and `agent_type`
(PR #22882, "add subagent identity to normal hook inputs", `UserPromptSubmit` among them: the
subagent's task reaches it as its input). Its end is `SubagentStop`, never `Stop`. The
subagent's prompt was taken for a new prompt of the session: the parent's turn, still
working, was closed there, recorded and never judged, and its `Stop` judged only what came
after. A subagent's prompt now leaves the session's turn open: judged whole at its `Stop`."""

from __future__ import annotations

from typing import Any

from testing.agents import hook_answer
from testing.gitrepo import GitRepo

SESSION = "019a0000-0000-7000-8000-00000000c0de"  # the root thread's, shared with its children
CHILD = "019a0000-0000-7000-8000-0000000c41d0"


def _codex(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    payload = {
        "session_id": SESSION,
        "turn_id": "turn-7",
        "transcript_path": f"/home/dev/.codex/sessions/{SESSION}.jsonl",
        "cwd": str(repo.path),
        "hook_event_name": event,
        "model": "gpt-5-codex",
        "permission_mode": "default",
        **fields,
    }
    return hook_answer(repo, "codex", event, payload)


def _patch(repo: GitRepo, n: int, name: str, **subagent: str) -> None:
    call = {"tool_name": "apply_patch", "tool_input": {"command": f"*** Add File: {name}"}}
    _codex(repo, "PreToolUse", tool_use_id=f"call_{n}", **call, **subagent)
    repo.write(name, b"made by the call\n")
    _codex(repo, "PostToolUse", tool_use_id=f"call_{n}", tool_response="ok", **call, **subagent)


def test_a_subagents_prompt_leaves_its_parents_turn_open(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    _codex(repo, "UserPromptSubmit", prompt="make it, with a helper")
    _patch(repo, 1, "bad")  # the parent's own call breaks the gate
    child = {"agent_id": CHILD, "agent_type": "worker"}
    answer = _codex(repo, "UserPromptSubmit", prompt="write good", **child)
    assert "recorded as operation" not in str(answer), answer  # nothing closed
    _patch(repo, 2, "good", **child)
    answer = _codex(repo, "Stop", stop_hook_active=False, last_assistant_message="done")
    assert answer.get("decision") == "block", answer
    assert not (repo.path / "bad").exists() and not (repo.path / "good").exists()
    [op] = repo.atomic_json("log")["operations"]  # one turn: the parent's and its subagent's
    assert op["status"] == "rolled_back", op
