"""`git atomic tdd` in commits mode with no git identity (user.name unset) was refused with
"... or use --history shadow": an option `tdd` does not take (`git atomic tdd red --history
shadow` is a usage error), nor does the MCP `tdd` tool. A TDD phase takes its history from the
configuration: the line now says `history = "shadow"` in the file that holds the `[tdd]`
test. The oracle: exit code, the one line, the branch; and the advice, followed, works."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.agents import Lines
from testing.gitrepo import GitRepo

IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
CONFIG = "[tdd]\ntest = \"sh -c 'exit 1'\"\n"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository with a `[tdd]` test that fails, and no git identity anywhere."""
    made = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for name in IDENTITY:
        made.env.pop(name, None)
    made.write(".git-atomic.toml", CONFIG.encode())
    made.git("-c", "user.name=x", "-c", "user.email=x@y", "add", ".git-atomic.toml")
    made.git("-c", "user.name=x", "-c", "user.email=x@y", "commit", "-q", "-m", "config")
    return made


def test_tdd_says_the_configurations_history(repo: GitRepo) -> None:
    head = repo.head()
    res = repo.atomic("tdd", "red")
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    assert 'history = "shadow" in .git-atomic.toml' in res.stderr, res.stderr
    assert "--history" not in res.stderr, res.stderr
    assert repo.head() == head
    repo.write(".git-atomic.toml", ('history = "shadow"\n' + CONFIG).encode())
    repo.atomic("tdd", "red", check=0)  # as the line said: the phase runs
    assert repo.head() == head


def test_pyproject_is_named_with_its_table(repo: GitRepo) -> None:
    repo.git("rm", "-q", "--cached", ".git-atomic.toml")
    (repo.path / ".git-atomic.toml").unlink()
    repo.write("pyproject.toml", (b"[tool.git-atomic.tdd]\ntest = \"sh -c 'exit 1'\"\n"))
    res = repo.atomic("tdd", "red")
    assert res.returncode == 2, res.stderr
    assert 'history = "shadow" under [tool.git-atomic] in pyproject.toml' in res.stderr, res.stderr
    assert "--history" not in res.stderr, res.stderr


def test_the_tdd_tool_says_it_too(repo: GitRepo) -> None:
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "tdd", phase="red")
        answer = lines.receive(60)
        assert answer is not None and answer["result"]["isError"] is True, answer
        text = answer["result"]["content"][0]["text"]
        assert 'history = "shadow" in .git-atomic.toml' in text and "--history" not in text, text
    finally:
        assert "Traceback" not in lines.close()
