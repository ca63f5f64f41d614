"""A refusal that says "use --history shadow" in answer to a tool that has no `history`
parameter: `checkpoint` or `commit` after `begin`, once the repository has no git identity
(user.name unset meanwhile), is refused for commits mode, and a client with only tools was
told a command-line flag of another command. It is now said as the `begin` tool's `history`
parameter; a tool that takes it (`begin`, `run`) is told its own parameter, as before, and the
command line keeps its flag. The oracle: the tool's text, the command line's, the branch."""

from __future__ import annotations

from pathlib import Path

import pytest

from git_atomic.agents.mcp_words import in_tool_words
from testing.agents import Lines
from testing.gitrepo import GitRepo

IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
SAID = 'use the `begin` tool\'s history: "shadow"'


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository whose identity is its configuration's, none in the environment."""
    made = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for name in IDENTITY:
        made.env.pop(name, None)
    made.git("config", "user.name", "Dev Eloper")
    made.git("config", "user.email", "dev@example.com")
    return made


def _refused(lines: Lines, ident: int) -> str:
    answer = lines.receive(60)
    assert answer is not None and answer["id"] == ident, answer
    assert answer["result"]["isError"] is True, answer
    text: str = answer["result"]["content"][0]["text"]
    return text


@pytest.mark.parametrize("tool", ["checkpoint", "commit"])
def test_a_begun_operations_refusal_names_begins_history(repo: GitRepo, tool: str) -> None:
    head = repo.head()
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "begin", name="work")
        answer = lines.receive(60)
        assert answer is not None and answer["result"]["isError"] is False, answer
        repo.git("config", "--unset", "user.name")
        repo.write("README", b"changed\n")
        lines.call(2, tool)
        text = _refused(lines, 2)
        assert "commits mode needs your git identity" in text, text
        assert SAID in text and "--history" not in text, text
        lines.call(3, "abort")
        answer = lines.receive(60)
        assert answer is not None and answer["result"]["isError"] is False, answer
    finally:
        assert "Traceback" not in lines.close()
    assert repo.head() == head


def test_the_command_line_keeps_its_flag(repo: GitRepo) -> None:
    repo.atomic("begin", "work", check=0)
    repo.git("config", "--unset", "user.name")
    repo.write("README", b"changed\n")
    res = repo.atomic("commit")
    assert res.returncode == 2, res.stderr
    assert "or use --history shadow" in res.stderr and "tool" not in res.stderr, res.stderr
    repo.atomic("abort", check=0)


def test_the_words_per_tool() -> None:
    line = "commits mode needs your git identity: set user.name, or use --history shadow"
    told = "commits mode needs your git identity: set user.name, or " + SAID
    assert in_tool_words(line, "commit") == told
    assert in_tool_words(line, "checkpoint") == told
    assert in_tool_words(line, "begin") == line.replace("--history shadow", 'history: "shadow"')
    assert in_tool_words(line, "run") == line.replace("--history shadow", 'history: "shadow"')
    assert in_tool_words(line, "rollback") == line  # no operation of begin's to name
    assert in_tool_words(line) == line
    quoted = "no operation named '--history shadow'"  # a value the call gave
    assert in_tool_words(quoted, "commit") == quoted
