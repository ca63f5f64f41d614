"""`status` between a killed Stop and `recover`: the turn is interrupted, the lock's holder gone.

A Stop killed before its turn became an operation (a platform's hook timeout) left `status`
showing a lock whose holder looked at work, and no interrupted operation: a person waited for
a process that no longer ran. Now the turn is named as interrupted, with `recover` as the next
step (the JSON's `interrupted` too), and the lock's holder says why it is gone: its pid runs no
process, or a process started after the lock was written (a pid used again). Real kills.
"""

from __future__ import annotations

import os
import subprocess
import sys

from git_atomic.core.lock import Holder, why_gone
from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ops, repo
from tests.test_turn_stop_killed import START, _killed_stop

__all__ = ["repo"]


def test_status_names_a_turn_whose_stop_was_killed_and_its_gone_lock(repo: GitRepo) -> None:
    _killed_stop(repo, "bash,edit", "turnend:closed@1")
    text = repo.atomic("status", check=0).stderr + repo.atomic("status", check=0).stdout
    assert "interrupted:" in text and "Stop" in text, text
    assert "git atomic recover" in text, text
    [lock] = [line for line in text.splitlines() if line.strip().startswith("lock")]
    assert "is not running" in lock and "`git atomic recover` clears it" in lock, lock
    status = repo.atomic_json("status")
    assert status["lock"]["alive"] is False, status
    assert status["interrupted"] is not None, status
    assert status["interrupted"]["next"] == "git atomic recover", status
    assert status["interrupted"]["phase"] == "stop_killed", status
    repo.atomic("recover", check=0)
    assert (repo.path / "app.py").read_bytes() == START
    status = repo.atomic_json("status")
    assert (status["interrupted"], status["lock"]) == (None, None), status
    assert [o["status"] for o in ops(repo)] == ["recovered"]


def test_a_lock_whose_pid_runs_another_process_is_gone() -> None:
    """The pid is running, but it started after the lock was written: not the holder."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        other = Holder(proc.pid, "2026-01-01T00:00:00+00:00", "run", "1")
        assert not other.alive
        assert f"pid {proc.pid} is another process now" in (why_gone(other) or "")
    finally:
        proc.kill()
        proc.wait()
    assert why_gone(other) == f"pid {proc.pid} is not running"
    me = Holder(os.getpid(), "now", "run", None)
    assert me.alive and why_gone(me) is None
    assert "cannot be read" in (why_gone(Holder(0, "unknown", "", None)) or "")
