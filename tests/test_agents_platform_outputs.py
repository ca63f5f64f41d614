"""What each platform reads of our answers, and which of its tool names reach us, as its
current hooks reference says (the pages are cited in docs/agents.md). Real hook calls in a
real repository, the tree read from the disk.

- Codex reads `hookSpecificOutput.additionalContext` of a `PreToolUse` answer (openai/codex
  `codex-rs/hooks/src/events/pre_tool_use.rs`, PR #20692): a call we cannot protect is said to
  the model there, as on Claude Code, not only to the person.
- Gemini CLI names an MCP server's tool `mcp_<server>_<tool>` now; releases before named it
  `<server>__<tool>` (`MCP_QUALIFIED_NAME_SEPARATOR = '__'` in `packages/core/src/tools/
  mcp-tool.ts`), and its reference once said `mcp__<server>__<tool>`: a write through any of
  them is the turn's, never taken for the person's.
- OpenHands reads a top-level `additionalContext`, never `hookSpecificOutput` (OpenHands/
  software-agent-sdk `openhands-sdk/openhands/sdk/hooks/executor.py`): what the model should
  know as a prompt starts is put there."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from testing.agents import hook_answer
from testing.gitrepo import GitRepo


def _codex(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    payload = {
        "session_id": "019a0000-0000-7000-8000-00000000c0de",
        "turn_id": "t1",
        "transcript_path": None,
        "cwd": str(repo.path),
        "hook_event_name": event,
        "model": "gpt-5-codex",
        **fields,
    }
    return hook_answer(repo, "codex", event, payload)


def test_codex_pre_tool_use_tells_the_model_of_a_call_not_protected(repo: GitRepo) -> None:
    """A FIFO at `.git/index`: the call's checkpoint is refused (git would wait on it). Codex
    was told in `systemMessage` alone, which it shows the person as a warning; the model, which
    reads `additionalContext` of a PreToolUse answer, went on as if the call were protected."""
    index = repo.path / ".git" / "index"
    index.unlink()
    os.mkfifo(index)
    call = {"tool_name": "Bash", "tool_input": {"command": "touch n.txt"}, "tool_use_id": "c1"}
    answer = _codex(repo, "PreToolUse", **call)
    assert "not protected" in answer.get("systemMessage", ""), answer
    specific = answer.get("hookSpecificOutput")
    assert isinstance(specific, dict), answer
    assert specific["hookEventName"] == "PreToolUse"
    assert "not protected" in specific["additionalContext"], specific
    assert index.is_fifo()  # never read, never replaced


def _gemini(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    payload = {
        "session_id": "gemini-session-1",
        "transcript_path": str(repo.path.parent / "gemini-session-1.json"),
        "cwd": str(repo.path),
        "hook_event_name": event,
        "timestamp": "2026-03-01T10:00:00.000Z",
        **fields,
    }
    return hook_answer(repo, "gemini", event, payload)


# (the tool's name as the release sends it, the `mcp_context` newer releases add)
GEMINI_MCP_NAMES = {
    "current": ("mcp_files_write", {"server_name": "files", "tool_name": "write"}),
    "dashed server": ("mcp_my-files_write_text", {"server_name": "my-files"}),
    "documented once": ("mcp__files__write", None),
    "older release": ("files__write", None),
    "older, dotted server": ("my.files__write_text", None),
}


@pytest.mark.parametrize("naming", sorted(GEMINI_MCP_NAMES))
def test_gemini_mcp_writes_are_the_turns_in_every_naming(repo: GitRepo, naming: str) -> None:
    """An MCP tool's write, then AfterAgent: the turn takes it back (its gate fails). Under
    a name the matcher missed, no window opened: the file was taken for the person's, left."""
    tool, context = GEMINI_MCP_NAMES[naming]
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e made.txt"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    assert _gemini(repo, "BeforeAgent", prompt="write it") == {}
    fields: dict[str, Any] = {"tool_name": tool, "tool_input": {"path": "made.txt"}}
    if context is not None:
        fields["mcp_context"] = context
    _gemini(repo, "BeforeTool", **fields)
    repo.write("made.txt", b"made by the server\n")
    _gemini(repo, "AfterTool", **fields, tool_response={"llmContent": "ok"})
    end = _gemini(repo, "AfterAgent", prompt="write it", prompt_response="done")
    assert end.get("decision") == "deny", end
    assert not os.path.lexists(repo.path / "made.txt")


def test_the_gemini_matcher_installed_takes_every_naming(repo: GitRepo) -> None:
    """The matcher written in `.gemini/settings.json` is what Gemini tests the name with: each
    naming above, and none of its read-only tools."""
    import json
    import re

    repo.atomic("hooks", "install", "gemini")
    settings = json.loads(Path(repo.path / ".gemini" / "settings.json").read_text())
    [group] = settings["hooks"]["BeforeTool"]
    for tool, _ in GEMINI_MCP_NAMES.values():
        assert re.fullmatch(group["matcher"], tool), (tool, group["matcher"])
    for tool in ("read_file", "glob", "google_web_search", "list_directory"):
        assert not re.fullmatch(group["matcher"], tool), tool


def _openhands(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    """OpenHands' `HookEvent` (`openhands-sdk/openhands/sdk/hooks/types.py`), every field."""
    payload = {
        "event_type": event,
        "tool_name": None,
        "tool_input": None,
        "tool_response": None,
        "message": None,
        "session_id": "oh-conversation-1",
        "working_dir": str(repo.path),
        "metadata": {},
        **fields,
    }
    return hook_answer(repo, "openhands", event, payload)


def test_openhands_prompt_tells_the_model_in_the_context_it_reads(repo: GitRepo) -> None:
    """A turn left open (no Stop came) is closed by the next prompt, and the model is told so.
    It was told in `hookSpecificOutput.additionalContext`, which OpenHands never reads: the
    model went on unaware that its last turn was recorded and not judged."""
    repo.write("app.py", b"ANSWER = 41\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "app")
    _openhands(repo, "UserPromptSubmit", message="make it 42")
    call = {"tool_name": "file_editor", "tool_input": {"command": "create", "path": "app.py"}}
    _openhands(repo, "PreToolUse", **call)
    repo.write("app.py", b"ANSWER = 42\n")
    response = {"content": [{"type": "text", "text": "ok"}], "is_error": False}
    _openhands(repo, "PostToolUse", **call, tool_response=response)
    answer = _openhands(repo, "UserPromptSubmit", message="now the docs")
    assert "hookSpecificOutput" not in answer, answer
    context = answer.get("additionalContext")
    assert isinstance(context, str) and "left open" in context, answer
    assert repo.read("app.py") == b"ANSWER = 42\n"  # closed, not judged: kept


def test_copilot_tool_args_as_an_object_are_read(repo: GitRepo) -> None:
    """The current Copilot hooks reference types `toolArgs` as `unknown` (older releases sent
    a JSON string, newer ones may send the object): a write named either way is the turn's,
    taken back when its gate fails, and the agent is sent back."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e made.txt"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    base = {"sessionId": "cp-1", "timestamp": 1704614400000, "cwd": str(repo.path)}
    hook_answer(repo, "copilot", "userPromptSubmitted", {**base, "prompt": "make it"})
    call = {**base, "toolName": "create", "toolArgs": {"path": str(repo.path / "made.txt")}}
    hook_answer(repo, "copilot", "preToolUse", call)
    repo.write("made.txt", b"made\n")
    result = {"resultType": "success", "textResultForLlm": "ok"}
    hook_answer(repo, "copilot", "postToolUse", {**call, "toolResult": result})
    stop = {**base, "transcriptPath": "/t.jsonl", "stopReason": "end_turn"}
    end = hook_answer(repo, "copilot", "agentStop", {**stop, "stop_hook_active": False})
    assert end.get("decision") == "block" and "g" in end.get("reason", ""), end
    assert not os.path.lexists(repo.path / "made.txt")
