"""MCP's cancellation and a client that goes away, held to the journal and the disk: a call
the client cancels, or leaves, is rolled back or never starts, never left half done; a
cancelled request gets no answer, and the server goes on serving."""

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


def _started(flag: Path) -> None:
    deadline = time.monotonic() + 30
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert flag.exists()


def _cancel(lines: Lines, ident: int | str) -> None:
    params = {"requestId": ident, "reason": "the user stopped it"}
    lines.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})


def _ops(repo: GitRepo) -> list[tuple[Any, Any]]:
    return [(op["status"], op["failed_phase"]) for op in repo.atomic_json("log")["operations"]]


def test_a_cancelled_run_and_the_call_queued_behind_it(repo: GitRepo, tmp_path: Path) -> None:
    """The running call is interrupted and rolled back (its new file gone, its edit undone),
    the call queued behind it and cancelled never runs, and neither is answered; a ping after
    them is, and a cancel for a call already answered or never made changes nothing."""
    flag = tmp_path / "started"
    lines = Lines(repo)
    try:
        lines.hello()
        line = f"echo new > new.txt; echo more >> README; touch {flag}; sleep 30"
        lines.call(1, "run", command=["sh", "-c", line])
        _started(flag)
        lines.call(2, "run", command=["sh", "-c", "echo queued > queued.txt"])
        _cancel(lines, 2)
        _cancel(lines, 1)
        _cancel(lines, 99)
        lines.send({"jsonrpc": "2.0", "id": "after", "method": "ping"})
        answer = lines.receive(30)
        assert answer == {"jsonrpc": "2.0", "id": "after", "result": {}}, answer
        assert lines.receive(0.5) is None  # nothing for 1 or 2
    finally:
        assert "Traceback" not in lines.close()
    assert _ops(repo) == [("rolled_back", "interrupt")]
    assert repo.read("README") == b"hello\n"
    assert not (repo.path / "new.txt").exists() and not (repo.path / "queued.txt").exists()
    status = repo.atomic_json("status")
    assert (status["open"], status["interrupted"], status["lock"]) == (None, None, None)


def test_stdin_closed_with_a_call_running_and_one_queued(repo: GitRepo, tmp_path: Path) -> None:
    """The client goes away: the running call is rolled back, the queued ones never start (a
    `begin` that ran after the client had gone would leave an operation open that no one will
    close), and the server exits 0."""
    flag = tmp_path / "started"
    lines = Lines(repo)
    lines.hello()
    lines.call(1, "run", command=["sh", "-c", f"echo a > a.txt; touch {flag}; sleep 30"])
    _started(flag)
    lines.call(2, "run", command=["sh", "-c", "echo b > b.txt"])
    lines.call(3, "begin", name="after-the-client")
    time.sleep(0.2)
    assert lines.server.stdin is not None
    lines.server.stdin.close()
    assert lines.server.wait(30) == 0
    assert "Traceback" not in lines.close()
    assert _ops(repo) == [("rolled_back", "interrupt")]
    assert sorted(p.name for p in repo.path.iterdir()) == [".git", "README"]
    assert repo.atomic_json("status")["open"] is None
