"""A call that waits for the person (a permission prompt, an MCP server's question): its window
ends where the call began to wait, so what the person writes meanwhile, and after a refusal, is
not the turn's. Real hook calls (`git-atomic hook PLATFORM EVENT`) with the platforms' payloads,
in a real repository, read back from the disk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testing.agents import hook_answer
from testing.gitrepo import GitRepo

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def _gate(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")


def _hook(repo: GitRepo, platform: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One hook call as the platform makes it: exit 0, no traceback, one JSON object or
    nothing (returned as {})."""
    fields = {"cwd": str(repo.path), "hook_event_name": event, **payload}
    return hook_answer(repo, platform, event, fields)


def _codex(session: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session,
        "turn_id": "t1",
        "transcript_path": f"/home/dev/.codex/sessions/{session}.jsonl",
        "model": "gpt-5",
        "permission_mode": "default",
        **fields,
    }


def _shell(n: int, command: str) -> dict[str, Any]:
    return {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"call_{n}"}


@pytest.mark.parametrize("then", ["Stop", "another call", "UserPromptSubmit"])
def test_codex_a_call_refused_at_the_permission_prompt_ends_its_window_there(
    repo: GitRepo, then: str
) -> None:
    """Codex sends `PermissionRequest` before it asks you to approve a call, and nothing for a
    call you refuse (no PostToolUse): its window stayed open to the turn's end, and what you
    wrote after the refusal, between the agent's calls or after its last, was taken back with a
    failing turn. The request marks where the call began to wait; the window ends there at the
    turn's end, and at the next call the agent announces."""
    _gate(repo)
    s = "019a-codex"
    _hook(repo, "codex", "UserPromptSubmit", _codex(s, prompt="clean up"))
    _hook(repo, "codex", "PreToolUse", _codex(s, **_shell(1, "touch made && rm -rf build")))
    repo.write("made", b"the agent's\n")  # (as if its command ran partly before it asked)
    if then == "Stop":
        repo.write("bad", b"the agent's\n")
    asked = _codex(s, tool_name="Bash", tool_input={"command": "touch made && rm -rf build"})
    assert _hook(repo, "codex", "PermissionRequest", asked) == {}  # no decision: you are asked
    repo.write("notes.txt", b"yours, written after you said no\n")
    if then == "another call":
        _hook(repo, "codex", "PreToolUse", _codex(s, **_shell(2, "touch bad")))
        repo.write("bad", b"x\n")
        _hook(repo, "codex", "PostToolUse", _codex(s, **_shell(2, "touch bad"), tool_response=""))
        repo.write("later.txt", b"yours, after its last call\n")
        answer = _hook(repo, "codex", "Stop", _codex(s, stop_hook_active=False))
        assert answer["decision"] == "block", answer
        assert not (repo.path / "bad").exists()
        assert repo.read("later.txt") == b"yours, after its last call\n"
    elif then == "Stop":
        answer = _hook(repo, "codex", "Stop", _codex(s, stop_hook_active=False))
        assert answer["decision"] == "block", answer
    else:  # the turn closed, kept; taken back by name: the agent's call's effect only
        _hook(repo, "codex", "UserPromptSubmit", _codex(s, prompt="leave it"))
        [op] = repo.atomic_json("log")["operations"]
        repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert repo.read("notes.txt") == b"yours, written after you said no\n"
    assert not (repo.path / "made").exists()  # the agent's, before it asked: taken back


def test_codex_hooks_file_asks_for_the_permission_request(repo: GitRepo) -> None:
    repo.atomic("hooks", "install", "codex", check=0)
    hooks = json.loads((repo.path / ".codex" / "hooks.json").read_text())["hooks"]
    [group] = hooks["PermissionRequest"]
    assert group["matcher"] == hooks["PreToolUse"][0]["matcher"]


def test_what_you_write_while_an_mcp_tool_asks_you_is_not_the_turns_when_another_call_ends(
    repo: GitRepo,
) -> None:
    """Claude Code: an MCP call asks you (`Elicitation`) while another call of the same window
    runs; that call's end took the mark for the asking call's own (as if it had gone on), so
    the answer (`ElicitationResult`) found no mark and the window stayed whole: what you wrote
    while asked was taken back with a failing turn. The question's mark stays until it is
    answered, whatever other call ends meanwhile."""
    _gate(repo)
    s = "claude-elicit"

    def send(event: str, **fields: Any) -> dict[str, Any]:
        return _hook(repo, "claude-code", event, {"session_id": s, **fields})

    mcp = {"tool_name": "mcp__deploy__release", "tool_input": {"target": "x"}}
    shell = {"tool_name": "Bash", "tool_input": {"command": "make"}, "tool_use_id": "toolu_2"}
    send("PreToolUse", **mcp, tool_use_id="toolu_1")
    send("PreToolUse", **shell)
    repo.write("bad", b"the MCP tool's, before it asks\n")
    send("Elicitation", mcp_server_name="deploy", message="Which version?", mode="form")
    send("PostToolUse", **shell, tool_response={})  # the other call ends while you are asked
    repo.write("notes.txt", b"yours, written while asked\n")
    send("ElicitationResult", mcp_server_name="deploy", action="accept", content={"v": "1"})
    repo.write("VERSION", b"1\n")  # the MCP tool's, after your answer
    send("PostToolUse", **mcp, tool_use_id="toolu_1", tool_response={})
    answer = send("Stop", stop_hook_active=False)
    assert answer["decision"] == "block", answer
    assert not (repo.path / "bad").exists() and not (repo.path / "VERSION").exists()
    assert repo.read("notes.txt") == b"yours, written while asked\n"


def test_codex_a_call_you_approve_is_the_turns_whole(repo: GitRepo) -> None:
    """The mark counts only for a refusal: an approved call's end (PostToolUse) ends it, and
    what the call did after you approved it is the turn's, taken back with it."""
    _gate(repo)
    s = "019a-codex"
    _hook(repo, "codex", "PreToolUse", _codex(s, **_shell(1, "touch bad")))
    _hook(repo, "codex", "PermissionRequest", _codex(s, tool_name="Bash", tool_input={}))
    repo.write("bad", b"the agent's, once approved\n")
    _hook(repo, "codex", "PostToolUse", _codex(s, **_shell(1, "touch bad"), tool_response=""))
    answer = _hook(repo, "codex", "Stop", _codex(s, stop_hook_active=False))
    assert answer["decision"] == "block", answer
    assert not (repo.path / "bad").exists()


def test_cursor_what_you_write_while_its_ask_tool_waits_for_you_is_not_the_turns(
    repo: GitRepo,
) -> None:
    """Cursor's tool that asks you a question (`AskQuestion`, its client tool ASK_QUESTION)
    was read as one that may change files: its window was open while you answered, and what
    you wrote meanwhile was taken back with a failing turn. It only asks: no window."""
    _gate(repo)
    common = {"conversation_id": "conv-ask", "workspace_roots": [str(repo.path)]}

    def call(n: int, tool: str, fields: dict[str, Any], act: Any) -> None:
        payload = {**common, "tool_name": tool, "tool_input": fields, "tool_use_id": f"t{n}"}
        _hook(repo, "cursor", "preToolUse", payload)
        act()
        _hook(repo, "cursor", "postToolUse", {**payload, "tool_output": "{}"})

    call(1, "Write", {"file_path": str(repo.path / "bad")}, lambda: repo.write("bad", b"x\n"))
    question = {"questions": [{"id": "q1", "prompt": "Which one?", "options": []}]}
    call(2, "AskQuestion", question, lambda: repo.write("notes.txt", b"yours, while asked\n"))
    answer = _hook(repo, "cursor", "stop", {**common, "status": "completed", "loop_count": 0})
    assert "followup_message" in answer, answer
    assert not (repo.path / "bad").exists()
    assert repo.read("notes.txt") == b"yours, while asked\n"
