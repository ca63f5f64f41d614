"""Kills around the warm helper (cli/helperd.py, helperloop.py, helperchild.py) while its child
runs a command: the client killed once it said `go` (a platform's hook timeout kills the
process it started, which cannot pass a SIGKILL on), and the helper itself killed. Either way
the child's command ends as it would have (it is the command: nothing is left half done, no
lock is left), the worktree is as that command leaves it, and the next command works."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_helper import (
    _installation,
    _new_interpreters,
    _paused,
    gone,
    helper_of,
    parent_of,
    probe,
    started,
)

__all__ = ["_new_interpreters"]


def _ends_open(repo: GitRepo, child: int) -> None:
    assert gone(child), "the child never finished its command"
    status = repo.atomic_json("status")
    assert status["open"]["name"] == "work" and status["lock"] is None, status
    assert (repo.path / ".git" / "atomic").is_dir()
    res = repo.atomic("abort", check=None)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr


def test_a_client_killed_after_go_leaves_its_command_to_finish(
    repo: GitRepo, tmp_path: Path
) -> None:
    started(repo)
    before = repo.fingerprint()
    proc, pause, child = _paused(repo, tmp_path, "begin", "work")
    assert child != proc.pid
    proc.kill()  # SIGKILL: nothing passed on
    proc.wait(timeout=60)
    assert not gone(child, timeout=0.2)  # the command goes on
    pause.unlink()
    _ends_open(repo, child)
    assert repo.fingerprint() == before


def test_the_helper_killed_while_its_child_runs(repo: GitRepo, tmp_path: Path) -> None:
    helper = started(repo)
    before = repo.fingerprint()
    proc, pause, child = _paused(repo, tmp_path, "begin", "work")
    assert parent_of(child) == helper
    os.kill(helper, signal.SIGKILL)
    assert gone(helper)
    pause.unlink()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err, err  # the child answered
    _ends_open(repo, child)
    assert repo.fingerprint() == before


def test_the_helper_replaced_while_its_child_runs(repo: GitRepo, tmp_path: Path) -> None:
    """An upgrade in place while a child runs `begin`: the next client is refused, the old
    helper leaves and a new one comes; the child still ends its command and answers its own
    client, and the new helper serves the next command."""
    env = _installation(tmp_path, "inst")
    old = started(repo, env)
    proc, pause, child = _paused(repo, tmp_path, "begin", "work", env=env)
    assert parent_of(child) == old
    scan = tmp_path / "inst" / "git_atomic" / "engine" / "scan.py"
    later = scan.stat().st_mtime + 10
    os.utime(scan, (later, later))
    call = probe(repo, tmp_path, "status", env=env)
    assert not call.served and call.code == 0 and "work" in call.stdout, call.said
    assert gone(old)
    new = helper_of(repo)
    assert new != old and not gone(child, timeout=0.2)
    pause.unlink()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err, err
    _ends_open(repo, child)
    assert probe(repo, tmp_path, "status", env=env).served
