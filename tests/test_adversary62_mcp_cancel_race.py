"""A cancel's SIGINT that reaches a shell between two of its commands: the shell (dash, bash)
takes it then and waits for its next command before it obeys, and that command, started after
the signal went to the group, never got it. A `run` of `sh -c '...; touch started; sleep 30'`
cancelled as soon as `started` appeared ran on for its 30 s about once in ten (the flaky
test_a_cancelled_call_still_marks_what_it_made: the call queued behind it waited, the
client gave up). Here the timing is made certain: a shell that traps the signal, then starts
its next command, which never got it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_adversary58_mcp_cancel import _cancel, _started

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _late(name: str, started: Path, got: Path) -> str:
    """A shell line that makes `name`, then takes the interrupt (a trap, as dash does by itself
    between two commands) and only then starts a command of 30 s."""
    wait = f"while [ ! -e {got} ]; do sleep 0.01; done"
    return f"trap 'touch {got}' INT; echo x > {name}; touch {started}; {wait}; sleep 30"


def test_a_command_started_after_the_interrupt_is_stopped_too(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A `run` whose shell starts its next command after the cancel's SIGINT, and a `commit`
    whose gate does (in another worktree: the two run side by side): each rolled back within
    seconds (its new file gone), and the call queued behind it answered, where each waited for
    the 30 s command."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home2")
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "begin", name="gated", repo=str(other.path))
        assert (lines.receive(20) or {}).get("id") == 1
        other.write("README", b"changed\n")
        started, got = tmp_path / "gate-started", tmp_path / "gate-got"
        lines.call(2, "commit", gates=[_late("y.txt", started, got)], repo=str(other.path))
        _started(started)
        started, got = tmp_path / "run-started", tmp_path / "run-got"
        lines.call(3, "run", command=["sh", "-c", _late("x.txt", started, got)])
        _started(started)
        _cancel(lines, 2)
        _cancel(lines, 3)
        begun = time.monotonic()
        lines.call(4, "gates")  # each queued behind a cancelled call
        lines.call(5, "gates", repo=str(other.path))
        answers = {(lines.receive(20) or {}).get("id") for _ in range(2)}
        assert answers == {4, 5}, answers
        assert time.monotonic() - begun < 15
    finally:
        assert "Traceback" not in lines.close()
    for each, made in ((repo, "x.txt"), (other, "y.txt")):
        ops = [(op["status"], op["failed_phase"]) for op in each.atomic_json("log")["operations"]]
        assert ops == [("rolled_back", "interrupt")], ops
        assert not each.exists(made)
    assert other.read("README") != b"changed\n"
