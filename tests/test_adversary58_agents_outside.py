"""A file tool's call that writes outside the worktree is told so at once.

Claude Code's `Write`, `Edit`, `MultiEdit` and `NotebookEdit` name the file they write, and the
model may name one anywhere: another project, the home folder, or a file in this worktree
through a link that leads out of it. No checkpoint holds such a file, and nothing outside the
worktree is ever written, so taking the turn back leaves what the call wrote there. The turn's
end said its "changes were rolled back" and no word said that one was not: now the call's own
`PostToolUse` says it, to the person and to the model, as it says of a file too large to hold.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
