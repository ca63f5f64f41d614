"""A client that stops reading the server's stdout: the answers fill the pipe and the server's
write of the next one blocks. It then closed stdin, or sent SIGTERM, as MCP's stdio shutdown
says, and the server, its write blocked in a thread nothing could cancel, never exited (the
call in flight rolled back, but the process left behind until SIGKILL)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from test_adversary58_mcp_cancel import _started

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _unread(lines: Lines, n: int = 8) -> None:
    """`n` tools/list, their answers (about 30 kB each) more than a pipe holds, none read."""
    assert lines.server.stdin is not None
    ask = b'{"jsonrpc":"2.0","id":%d,"method":"tools/list"}\n'
    lines.server.stdin.write(b"".join(ask % (1000 + i) for i in range(n)))
    lines.server.stdin.flush()


def _exits(lines: Lines) -> int:
    try:
        return lines.server.wait(20)
    except subprocess.TimeoutExpired:
        lines.server.kill()
        lines.server.wait()
        raise AssertionError("the server did not exit with its stdout full") from None


def test_a_client_that_stopped_reading_ends_the_server_by_stdin_or_sigterm(
    repo: GitRepo, tmp_path: Path
) -> None:
    """stdin closed while a `run` runs and the pipe is full: the run is rolled back and the
    server exits 0; SIGTERM with stdin still open: it exits too."""
    lines = Lines(repo)
    lines.hello()
    flag = tmp_path / "started"
    lines.call(1, "run", command=["sh", "-c", f"echo x > x.txt; touch {flag}; sleep 30"])
    _started(flag)
    _unread(lines)
    time.sleep(0.2)  # the answers written: the pipe full
    assert lines.server.stdin is not None
    lines.server.stdin.close()
    assert _exits(lines) == 0
    ops = [(op["status"], op["failed_phase"]) for op in repo.atomic_json("log")["operations"]]
    assert ops == [("rolled_back", "interrupt")], ops
    assert not (repo.path / "x.txt").exists()

    lines = Lines(repo)
    lines.hello()
    _unread(lines)
    time.sleep(0.2)
    lines.server.terminate()
    assert _exits(lines) == 0
    assert lines.server.stdin is not None
    lines.server.stdin.close()
