"""Two sessions' shell calls open at once in one worktree (agents/turnothers.py): what changed
while both ran is neither turn's, and neither turn's Stop takes it back (effect, not state: no
platform says which shell wrote a file, so when in doubt the file is kept, and the verdict
says so). What changed while one ran alone is that one's.

Before, it went to the call that closed first: its turn's Stop took back a file the other
session's shell made while both ran."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo


def _setup(repo: GitRepo) -> None:
    repo.write("f.txt", b"f\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.git("add", "f.txt")
    repo.git("commit", "-qm", "files")
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")


def _sh(repo: GitRepo, command: str) -> None:
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)


def _bash(session: str, command: str) -> dict[str, Any]:
    return {"tool_use_id": f"{session}-1", "tool_name": "Bash", "tool_input": {"command": command}}


def _post(repo: GitRepo, session: str, call: dict[str, Any]) -> None:
    claude_hook(repo, session, "PostToolUse", **call, tool_response={"success": True})


def _stop(repo: GitRepo, session: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(claude_hook(repo, session, "Stop").stdout or "{}")
    return answer


def test_what_changed_while_two_shell_calls_ran_is_neither_turns(repo: GitRepo) -> None:
    """s1's call begins, then s2's; s1's ends first. s1 made one.txt and `bad` alone, s2
    made two.txt and `bad` again alone: each turn's Stop takes back those; both.txt, made
    while both ran, stays through both."""
    _setup(repo)
    mine, theirs = _bash("s1", "job one"), _bash("s2", "job two")
    claude_hook(repo, "s1", "PreToolUse", **mine)
    _sh(repo, "echo one > one.txt; touch bad")
    claude_hook(repo, "s2", "PreToolUse", **theirs)
    _sh(repo, "echo both > both.txt")
    _post(repo, "s1", mine)
    answer = _stop(repo, "s1")
    assert answer.get("decision") == "block", answer
    assert "neither turn's" in answer["systemMessage"], answer
    assert not repo.exists("one.txt") and not repo.exists("bad")
    assert repo.read("both.txt") == b"both\n"
    _sh(repo, "echo two > two.txt; touch bad")
    _post(repo, "s2", theirs)
    answer = _stop(repo, "s2")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("two.txt") and not repo.exists("bad")
    assert repo.read("both.txt") == b"both\n"


def test_a_shell_call_wholly_inside_another_sessions_owns_nothing_of_it(repo: GitRepo) -> None:
    """s2's call runs across the whole of s1's: nothing ran while s1's call ran alone, so
    s1's turn changed nothing of its own (not judged, and said), and s2's Stop takes back
    what it made alone, never both.txt."""
    _setup(repo)
    mine, theirs = _bash("s1", "job one"), _bash("s2", "long job")
    claude_hook(repo, "s2", "PreToolUse", **theirs)
    _sh(repo, "echo early > early.txt")
    claude_hook(repo, "s1", "PreToolUse", **mine)
    _sh(repo, "echo both > both.txt")
    _post(repo, "s1", mine)
    said = _stop(repo, "s1")["systemMessage"]  # (before: kept, both.txt its own)
    assert "not judged" in said and "neither turn's" in said, said
    assert repo.read("both.txt") == b"both\n"
    _sh(repo, "echo late > late.txt; touch bad")
    _post(repo, "s2", theirs)
    answer = _stop(repo, "s2")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("early.txt") and not repo.exists("late.txt") and not repo.exists("bad")
    assert repo.read("both.txt") == b"both\n"


def test_another_sessions_file_tool_open_across_a_shell_call_keeps_its_file(
    repo: GitRepo,
) -> None:
    """s2's Write began before s1's shell call and ends after it: the file it names is its
    own (before, s1's window took it, and s1's Stop removed s2's new file)."""
    _setup(repo)
    path = str(repo.path / "two.txt")
    theirs = {"tool_use_id": "s2-1", "tool_name": "Write", "tool_input": {"file_path": path}}
    mine = _bash("s1", "job one")
    claude_hook(repo, "s2", "PreToolUse", **theirs)
    claude_hook(repo, "s1", "PreToolUse", **mine)
    _sh(repo, "echo two > two.txt; touch bad")
    _post(repo, "s1", mine)
    answer = _stop(repo, "s1")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("bad") and repo.read("two.txt") == b"two\n"
    _post(repo, "s2", theirs)
    assert "kept" in _stop(repo, "s2")["systemMessage"]
    assert repo.read("two.txt") == b"two\n"


def test_every_platforms_shell_variable_marks_a_command_as_an_agents() -> None:
    """The variables that tell a command runs in an agent's shell call: each platform's
    (agents/turncaller.py) are those the window log goes by (ops/windowlog.py, a layer below),
    and none reaches the suite's own commands (testing/gitrepo.py's hermetic environment)."""
    from git_atomic.agents.turncaller import SHELL_VARIABLES
    from git_atomic.ops.windowlog import SHELL_MARKS
    from testing.gitrepo import hermetic_env

    assert sorted(SHELL_MARKS) == sorted(SHELL_VARIABLES)
    with pytest.MonkeyPatch.context() as patch:
        for mark in SHELL_MARKS:
            patch.setenv(mark, "1")
        assert not set(SHELL_MARKS) & set(hermetic_env(Path(tempfile.mkdtemp())))
