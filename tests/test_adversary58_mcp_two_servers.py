"""Two MCP server processes on one repository at once (two clients, each its own server):
a `run` while the other's `run` holds the worktree is refused as the SPEC says (exit 3,
nothing changed) in words an MCP client can act on, or waits with `wait`; nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _result(lines: Lines, ident: int) -> dict[str, Any]:
    answer = lines.receive(60)
    assert answer is not None and answer.get("id") == ident, answer
    result: dict[str, Any] = answer["result"]
    return result


def _slow_run(lines: Lines, ident: int, name: str, started: Path) -> None:
    """A run that holds the worktree until `started`'s sibling `release` exists (a fixed
    sleep let it finish first on a loaded machine, and the other server's run then ran)."""
    release = started.parent / "release"
    wait = f"while [ ! -e {release} ]; do sleep 0.02; done"
    line = f"echo {name} > {name}.txt; touch {started}; {wait}; rm -f {release}"
    lines.call(ident, "run", command=["sh", "-c", line])
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists()


def test_a_run_while_another_servers_run_holds_the_worktree(repo: GitRepo, tmp_path: Path) -> None:
    """The refusal said `pass --wait`, a command-line flag no MCP client can send: it names the
    tool's `wait` parameter. With it the second run waits, and both runs' files are kept."""
    first, second = Lines(repo), Lines(repo)
    try:
        first.hello()
        second.hello()
        _slow_run(first, 1, "a", tmp_path / "a-started")
        second.call(1, "run", command=["sh", "-c", "echo b > b.txt"])
        refused = _result(second, 1)
        line = refused["content"][0]["text"]
        assert refused["isError"] is True and "another git-atomic is working" in line, line
        assert "--wait" not in line and "wait: true" in line, line
        assert not (repo.path / "b.txt").exists()
        (tmp_path / "release").touch()
        assert _result(first, 1)["isError"] is False
        _slow_run(first, 2, "c", tmp_path / "c-started")
        second.call(2, "run", command=["sh", "-c", "echo d > d.txt"], wait=True)
        time.sleep(0.3)  # the second server's run is waiting (on a loaded machine, maybe not)
        (tmp_path / "release").touch()
        assert _result(first, 2)["isError"] is False
        assert _result(second, 2)["isError"] is False
    finally:
        assert "Traceback" not in first.close() + second.close()
    for name in ("a", "c", "d"):
        assert repo.read(f"{name}.txt") == f"{name}\n".encode()
    ops = repo.atomic_json("log")["operations"]
    assert [op["status"] for op in ops] == ["committed"] * 3, ops
    assert repo.atomic_json("status")["open"] is None
