"""What the Claude Code adapter reads of a hook's payload, from each platform that runs
`.claude/settings.json`: Claude Code (`session_id`, `cwd`, `transcript_path`) and VS Code's agent
(its page: `sessionId`, `hookEventName`, `cwd`, `timestamp`, `transcript_path`; its own tool
names, camelCase tool inputs, matchers ignored). A field missing or of another type: one clear
line at most, exit 0, never a traceback. Real hook calls, read from the disk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testing.agents import hook_answer
from testing.gitrepo import GitRepo


def _gate(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")


def _hook(
    repo: GitRepo, event: str, payload: object, platform: str = "claude-code"
) -> dict[str, Any]:
    """The installed command for `event`, `payload` on its stdin (no CLAUDE_PROJECT_DIR: VS
    Code sets none); its answer, checked: exit 0, no traceback, one JSON object or nothing."""
    return hook_answer(repo, platform, event, payload)


def _vscode(repo: GitRepo, session: str, event: str, **fields: Any) -> dict[str, Any]:
    """One hook call as VS Code sends it: its page's common fields, no `session_id`."""
    common = {
        "timestamp": "2026-02-09T10:30:00.000Z",
        "cwd": str(repo.path),
        "sessionId": session,
        "hookEventName": event,
        "transcript_path": None,
    }
    return _hook(repo, event, {**common, **fields})


def _vscode_call(repo: GitRepo, session: str, n: int, name: str) -> None:
    """VS Code's `create_file` of `name` (its input in camelCase)."""
    call = {
        "tool_name": "create_file",
        "tool_input": {"filePath": str(repo.path / name), "content": "x\n"},
        "tool_use_id": f"{session}-{n}",
    }
    assert _vscode(repo, session, "PreToolUse", **call) == {}
    repo.write(name, b"x\n")
    assert _vscode(repo, session, "PostToolUse", **call, tool_response="File created") == {}


def test_a_vscode_turn_is_checkpointed_and_taken_back(repo: GitRepo) -> None:
    """VS Code runs `.claude/settings.json`: its `create_file` matched none of Claude Code's
    tool names, so no call was checkpointed and its Stop judged nothing, the file left. Each
    of its calls is checkpointed; its Stop takes the turn back and says so in the fields its
    page names (`hookSpecificOutput.decision`), and in Claude Code's."""
    _gate(repo)
    _vscode(repo, "v1", "UserPromptSubmit", prompt="make it")
    _vscode_call(repo, "v1", 1, "made.txt")
    _vscode_call(repo, "v1", 2, "bad")
    answer = _vscode(repo, "v1", "Stop", stop_hook_active=False)
    assert answer.get("decision") == "block", answer
    assert answer["hookSpecificOutput"]["decision"] == "block", answer
    assert answer["hookSpecificOutput"]["reason"] == answer["reason"]
    assert not (repo.path / "made.txt").exists() and not (repo.path / "bad").exists()
    [op] = repo.atomic_json("log")["operations"]
    assert op["name"].startswith("vscode-turn-") and op["status"] == "rolled_back", op


def test_two_vscode_sessions_are_two_turns(repo: GitRepo) -> None:
    """Named by `sessionId`: one session's Stop judges its own calls, never the other's
    (read as Claude Code's, both were the one session "unknown")."""
    _gate(repo)
    _vscode_call(repo, "a", 1, "a.txt")
    _vscode_call(repo, "b", 1, "bad")
    # a's turn is kept: its gate fails as much without it (b's file), so it is not a's doing
    assert _vscode(repo, "a", "Stop").get("decision") is None
    assert (repo.path / "a.txt").exists() and (repo.path / "bad").exists()
    assert _vscode(repo, "b", "Stop")["decision"] == "block"
    assert not (repo.path / "bad").exists() and (repo.path / "a.txt").exists()


def test_a_payload_without_a_session_is_named_by_its_transcript(repo: GitRepo) -> None:
    """Without `session_id` (nor `sessionId`), the session's transcript tells two sessions
    apart; with none of them, the prompt's answer says so in one line."""
    _gate(repo)
    for transcript, name in (("/t/one.jsonl", "bad"), ("/t/two.jsonl", "two.txt")):
        call = {"tool_name": "Write", "tool_input": {"file_path": str(repo.path / name)}}
        payload = {"transcript_path": transcript, "cwd": str(repo.path), **call}
        _hook(repo, "PreToolUse", {**payload, "tool_use_id": name})
        repo.write(name, b"x\n")
        _hook(repo, "PostToolUse", {**payload, "tool_use_id": name, "tool_response": {}})
    answer = _hook(repo, "Stop", {"transcript_path": "/t/one.jsonl", "cwd": str(repo.path)})
    assert answer["decision"] == "block" and not (repo.path / "bad").exists(), answer
    assert (repo.path / "two.txt").exists()  # the other session's
    said = _hook(repo, "UserPromptSubmit", {"cwd": str(repo.path), "prompt": "hi"})
    text = said["hookSpecificOutput"]["additionalContext"]
    assert "this hook's payload names no session" in text, said
    assert "names no session" not in json.dumps(
        _hook(repo, "UserPromptSubmit", {"session_id": "s9", "prompt": "hi"})
    )


@pytest.mark.parametrize(
    "payload",
    [
        "[1, 2]",
        "not json",
        {"session_id": ["x"], "cwd": 7, "tool_name": 3, "tool_input": "rm -rf /"},
        {"sessionId": 12, "hookEventName": None, "cwd": "/nonexistent\x00", "tool_input": []},
        {"session_id": "s1", "transcript_path": 5, "cwd": "x" * 5000, "tool_use_id": {}},
    ],
)
@pytest.mark.parametrize("event", ["UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"])
def test_odd_payload_fields_never_break_the_hook(
    repo: GitRepo, payload: object, event: str
) -> None:
    answer = _hook(repo, event, payload)
    assert set(answer) <= {"systemMessage", "hookSpecificOutput", "decision", "reason"}, answer


@pytest.mark.parametrize(
    ("platform", "pre", "post", "stop", "stopped"),
    [
        ("gemini", "BeforeTool", "AfterTool", "AfterAgent", "deny"),
        ("cursor", "preToolUse", "postToolUse", "stop", "followup_message"),
    ],
)
def test_gemini_and_cursor_payloads_without_a_session_are_named_by_their_transcript(
    repo: GitRepo, platform: str, pre: str, post: str, stop: str, stopped: str
) -> None:
    """As Claude Code's: a payload without its session's id (Gemini CLI's `session_id`,
    Cursor's `conversation_id`) named the session "unknown", so two sessions' calls were one
    turn's, and one session's failing end took back the other's file. Their transcript
    (`transcript_path`, one file a session) tells them apart."""
    _gate(repo)
    tool = "write_file" if platform == "gemini" else "Write"

    def send(event: str, payload: dict[str, Any]) -> dict[str, Any]:
        fields = {"cwd": str(repo.path), "hook_event_name": event, **payload}
        return _hook(repo, event, fields, platform)

    for transcript, name in (("/t/one.json", "bad"), ("/t/two.json", "two.txt")):
        call = {"tool_name": tool, "tool_input": {"file_path": str(repo.path / name)}}
        payload = {"transcript_path": transcript, "tool_use_id": name, **call}
        if platform == "cursor":
            payload["workspace_roots"] = [str(repo.path)]
        send(pre, payload)
        repo.write(name, b"x\n")
        send(post, payload)
    ended = {"transcript_path": "/t/one.json", "stop_hook_active": False, "status": "completed"}
    if platform == "cursor":
        ended["workspace_roots"] = [str(repo.path)]
    answer = send(stop, ended)
    assert stopped in json.dumps(answer) and not (repo.path / "bad").exists(), answer
    assert (repo.path / "two.txt").exists()  # the other session's
