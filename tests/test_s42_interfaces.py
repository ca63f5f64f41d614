"""The interfaces as their callers drive them (stop 42): the MCP server's lines, what an error
echoes of its input, and the agent platforms' hook commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def test_a_blank_line_is_skipped_unanswered_as_the_official_sdks_do(repo: GitRepo) -> None:
    """A blank line (`\\n`, `\\r\\n`, spaces) was answered with a parse error (-32700, id
    null) that no client asked for; the SDKs' own transports skip it."""
    lines = Lines(repo)
    try:
        lines.hello()
        for blank in ("", "\r", "  \t "):
            lines.send(blank)
        lines.send({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert lines.receive(10) == {"jsonrpc": "2.0", "id": 1, "result": {}}
        assert lines.receive(2) is None  # nothing else was answered
    finally:
        stderr = lines.close()
    assert "Traceback" not in stderr, stderr
