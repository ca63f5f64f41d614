"""Copilot CLI against its hooks reference: which of its tools the matcher of
`.claude/settings.json` lets through, and what its own hooks file tells the model.

Its hooks reference (docs.github.com/en/copilot/reference/hooks-reference, "Claude-format
matchers"): a PascalCase `PreToolUse` entry's matcher, when it is a regular expression, is
tested as `^(?:PATTERN)$` against the Claude name of the tool (`bash` -> `Bash`, `edit` ->
`Edit`, `create` -> `Write`) or, for a tool with no Claude equivalent, its own name: the shell
tools that type into a running shell (`write_bash`, `write_powershell`) and every MCP tool,
named `<server>-<tool>` in Copilot. Those were never matched: their calls were no window of
the turn, what they wrote was taken for the person's, never judged nor taken back."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from testing.agents import hook_answer, platform_hook
from testing.gitrepo import GitRepo

# Copilot's tools with no Claude name that may change files, and an input of each.
UNNAMED_WRITERS: list[tuple[str, dict[str, Any]]] = [
    ("write_bash", {"shellId": "1", "input": "touch bad\n"}),
    ("write_powershell", {"shellId": "1", "input": "New-Item bad\r\n"}),
    ("files-write_file", {"path": "bad", "content": "x"}),  # an MCP server `files`'s tool
]


def _matchers(repo: GitRepo, event: str) -> list[str]:
    settings = json.loads((repo.path / ".claude" / "settings.json").read_bytes())
    return [group["matcher"] for group in settings["hooks"][event] if "matcher" in group]


@pytest.mark.parametrize("event", ["PreToolUse", "PostToolUse", "PostToolUseFailure"])
def test_the_installed_matcher_takes_copilots_writers_by_their_own_names(
    repo: GitRepo, event: str
) -> None:
    repo.atomic("hooks", "install", "claude-code", check=0)
    [matcher] = _matchers(repo, event)
    for tool, _ in UNNAMED_WRITERS:
        assert re.fullmatch(matcher, tool), (tool, matcher)  # Copilot's reading of it
    for tool in ("Bash", "Edit", "Write", "mcp__files__write_file"):  # as before
        assert re.fullmatch(matcher, tool), (tool, matcher)
    for tool in ("Read", "Grep", "Glob", "WebFetch", "TodoWrite", "read_bash", "list_bash"):
        assert not re.fullmatch(matcher, tool), (tool, matcher)


def _copilot(repo: GitRepo, event: str, session: str, **fields: Any) -> dict[str, Any]:
    """A hook call as Copilot CLI makes it to a Claude Code hook (VS Code-compatible format:
    snake_case, an ISO `timestamp`, no `tool_use_id`)."""
    payload = {
        "hook_event_name": event,
        "session_id": session,
        "cwd": str(repo.path),
        "timestamp": "2026-12-07T01:00:00.000Z",
        **fields,
    }
    return hook_answer(repo, "claude-code", event, payload)


@pytest.mark.parametrize(("tool", "args"), UNNAMED_WRITERS)
def test_what_such_a_call_wrote_is_the_turns_judged_and_taken_back(
    repo: GitRepo, tool: str, args: dict[str, Any]
) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    session = "c0p1l0t-session-0e01"
    _copilot(repo, "UserPromptSubmit", session, prompt="make it")
    _copilot(repo, "PreToolUse", session, tool_name=tool, tool_input=args)
    repo.write("bad", b"written through the tool\n")
    _copilot(repo, "PostToolUse", session, tool_name=tool, tool_input=args)
    answer = _copilot(repo, "Stop", session, stop_hook_active=False)
    assert answer.get("decision") == "block", answer
    assert not (repo.path / "bad").exists()  # taken back, on disk


def test_copilots_own_hooks_tell_the_model_what_a_call_left_unprotected(repo: GitRepo) -> None:
    """`.github/hooks/git-atomic.json`: Copilot appends a `postToolUse` hook's
    `additionalContext` to the call's result the model reads (the same reference, "postToolUse
    output"). A checkpoint after a call that could not be taken (unmerged paths of yours) was
    said on stderr only, Copilot's log: the model went on unaware. Said to both now."""

    def copilot(event: str, **fields: Any) -> subprocess.CompletedProcess[str]:
        payload = {"sessionId": "s-0e02", "timestamp": 1, "cwd": str(repo.path), **fields}
        return platform_hook(repo, "copilot", event, payload)

    args = json.dumps({"command": "make"})
    copilot("userPromptSubmitted", prompt="make it")
    copilot("preToolUse", toolName="bash", toolArgs=args)
    blob = repo.git("hash-object", "-w", "--stdin", input=b"a\n").strip()
    staged = "".join(f"100644 {blob} {n}\tconflicted\n" for n in (1, 2, 3))
    repo.git("update-index", "--index-info", input=staged.encode())
    repo.write("made", b"by the call\n")
    after = copilot("postToolUse", toolName="bash", toolArgs=args)
    told = json.loads(after.stdout)["additionalContext"]
    assert told.startswith("git-atomic: ") and "deferred" in told and "unmerged" in told, told
    assert told in after.stderr, after.stderr  # the person's log still has it
    assert (repo.path / "made").read_bytes() == b"by the call\n"  # a note, nothing undone
