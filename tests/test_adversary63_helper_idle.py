"""GIT_ATOMIC_HELPER_IDLE, the seconds a worktree's warm helper waits for the next command
before it leaves, read on its own where e705602c made every other GIT_ATOMIC_* number go
through core/envnumbers.py: `inf` (or `1e999`) was taken as it is, and the helper it started
waited for ever, one process per worktree left for good. A value that is no finite number
is the default (60 s), as for the other waits. The oracle: the helper process's own argv."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from testing import gitrepo
from testing.gitrepo import GitRepo, _cmdline, helper_pids, stop_helpers


@pytest.fixture(autouse=True)
def _new_interpreters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command a new interpreter, as a user's (the suite's fork server starts no
    helper: tests/test_helper.py)."""
    monkeypatch.setattr(gitrepo, "FORK", False)


@pytest.mark.parametrize("value", ["inf", "1e999", "-inf", "nan", "0", "abc"])
def test_a_helper_idle_that_is_no_finite_number_is_the_default(
    repo: GitRepo, tmp_path: Path, value: str
) -> None:
    env = {"GIT_ATOMIC_HELPER": "1", "GIT_ATOMIC_HELPER_IDLE": value}
    try:
        # A routed command that writes starts it (tests/test_helper.py's `started`).
        repo.atomic("checkpoint", env=env)
        deadline = time.monotonic() + 30
        while not helper_pids(repo.path.parent) and time.monotonic() < deadline:
            time.sleep(0.05)
        [pid] = helper_pids(repo.path.parent)
        idle = _cmdline(str(pid)).split(b"\0")[-2]  # (its argv ends with the idle seconds)
        assert float(idle) == 60.0, idle
    finally:
        stop_helpers(repo.path)
