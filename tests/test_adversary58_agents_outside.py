"""A file tool's call that writes outside the worktree is told so at once.

Claude Code's `Write`, `Edit`, `MultiEdit` and `NotebookEdit` name the file they write, and the
model may name one anywhere: another project, the home folder, or a file in this worktree
through a link that leads out of it. No checkpoint holds such a file, and nothing outside the
worktree is ever written, so taking the turn back leaves what the call wrote there. The turn's
end said its "changes were rolled back" and no word said that one was not: now the call's own
`PostToolUse` says it, to the person and to the model, as it says of a file too large to hold.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testing.agents import platform_hook
from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, repo, stop, tool_call

__all__ = ["repo"]

NOTE = "not protected (outside the worktree)"


def _write(claude: ClaudeCode, n: int, path: Path, act: bytes) -> dict[str, object]:
    """One `Write` of `path`, made between its hooks; its PostToolUse's answer ({} if none)."""
    pre, post = tool_call("Write", {"file_path": str(path), "content": act.decode()}, n)
    claude.send(pre)
    path.write_bytes(act)
    answers = claude.send(post)
    return answers[0].json() if answers and answers[0].stdout.strip() else {}


@pytest.mark.parametrize("how", ["elsewhere", "dotdot", "link", "linked folder"])
def test_a_write_outside_the_worktree_is_told_unprotected(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / "notes.txt"
    target.write_bytes(b"before\n")
    named = {
        "elsewhere": target,
        "dotdot": repo.path / ".." / "elsewhere" / "notes.txt",
        "link": repo.path / "notes-link.txt",
        "linked folder": repo.path / "out" / "notes.txt",
    }[how]
    if how == "link":
        os.symlink(target, repo.path / "notes-link.txt")
    if how == "linked folder":
        os.symlink(outside, repo.path / "out")
    claude = ClaudeCode(repo)
    said = _write(claude, 1, named, b"after\n")
    text = str(said.get("systemMessage", ""))
    assert NOTE in text and str(named) in text, said
    assert NOTE in said["hookSpecificOutput"]["additionalContext"], said  # type: ignore[index]
    # A write inside the worktree, as usual, says nothing of it.
    assert _write(claude, 2, repo.path / "inside.txt", b"x\n") == {}
    claude.send(stop())
    assert target.read_bytes() == b"after\n"  # left as said: never written from here


def test_a_write_inside_through_a_link_to_inside_is_not_told(repo: GitRepo) -> None:
    """A link that stays in the worktree leads to a file a checkpoint holds: nothing to say."""
    os.symlink("app.py", repo.path / "app-link.py")
    claude = ClaudeCode(repo)
    said = _write(claude, 1, repo.path / "app-link.py", b"def answer():\n    return 42\n")
    assert NOTE not in str(said), said


def _other_call(platform: str, repo: GitRepo, target: Path, event: str) -> dict[str, object]:
    """A file tool's call of `platform` that writes `target`, as its reference shapes it."""
    if platform == "gemini":
        return {
            "session_id": "s1",
            "transcript_path": "/dev/null",
            "cwd": str(repo.path),
            "hook_event_name": event,
            "tool_name": "write_file",
            "tool_input": {"file_path": str(target), "content": "after\n"},
        }
    if platform == "copilot":
        return {
            "timestamp": 1704614600000,
            "cwd": str(repo.path),
            "sessionId": "s1",
            "toolName": "create",
            "toolArgs": json.dumps({"path": str(target), "file_text": "after\n"}),
        }
    if platform == "openhands":
        return {
            "event_type": event,
            "session_id": "s1",
            "working_dir": str(repo.path),
            "tool_name": "file_editor",
            "tool_input": {"command": "create", "path": str(target), "file_text": "after\n"},
        }
    relative = os.path.relpath(target, repo.path)  # Codex's patch names files from its folder
    patch = f"*** Begin Patch\n*** Add File: {relative}\n+after\n*** End Patch\n"
    return {
        "session_id": "s1",
        "transcript_path": "/dev/null",
        "cwd": str(repo.path),
        "hook_event_name": event,
        "tool_name": "apply_patch",
        "tool_input": {"command": patch},
        "tool_use_id": "c1",
    }


OTHER_EVENTS = {
    "gemini": ("BeforeTool", "AfterTool"),
    "copilot": ("preToolUse", "postToolUse"),
    "openhands": ("PreToolUse", "PostToolUse"),
    "codex": ("PreToolUse", "PostToolUse"),
}


@pytest.mark.parametrize("platform", sorted(OTHER_EVENTS))
def test_other_platforms_file_tools_writing_outside_are_told(
    repo: GitRepo, tmp_path: Path, platform: str
) -> None:
    """The class: Gemini CLI's `write_file`, Copilot CLI's `create`, OpenHands's `file_editor`
    and Codex's `apply_patch` name their files too. A write inside is not told."""
    target = tmp_path / "elsewhere" / "notes.txt"
    target.parent.mkdir()
    before, after = OTHER_EVENTS[platform]
    for n, (where, told) in enumerate(((target, True), (repo.path / "inside.txt", False))):
        platform_hook(repo, platform, before, _other_call(platform, repo, where, before))
        where.write_bytes(b"after %d\n" % n)
        ran = platform_hook(repo, platform, after, _other_call(platform, repo, where, after))
        said = ran.stdout + ran.stderr
        assert (NOTE in said and str(where) in said) == told, (where, said)


def test_openhands_viewing_a_file_outside_is_not_told(repo: GitRepo, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_bytes(b"x\n")
    for event in OTHER_EVENTS["openhands"]:
        call = _other_call("openhands", repo, target, event)
        call["tool_input"] = {"command": "view", "path": str(target)}
        ran = platform_hook(repo, "openhands", event, call)
        assert NOTE not in ran.stdout + ran.stderr, ran
