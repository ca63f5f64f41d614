"""Ctrl-C (SIGINT) reaching `recover` while it finishes a turn whose Stop was killed: right
after it removed the dead hook's lock (before anything else: one line, exit 130, and the next
`recover` does the rest), and in the middle of its take-back (it finishes the state change it
is in, says what it did, exits 130). Either way the turn ends taken back exactly, your file
stays, and nothing is left to recover."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, edit, ops, repo, stop

__all__ = ["repo"]

START = b"def answer():\n    return 41\n"


@pytest.mark.parametrize("point", ["recover:after-break-lock", "restore:after-files"])
def test_recover_interrupted(repo: GitRepo, tmp_path: Path, point: str) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py"), edit(repo, 2, "BUG")])
    claude.env["GIT_ATOMIC_FAILPOINT"] = "turnend:closed"
    [answer] = claude.send(stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    assert answer.exit_code == -9
    repo.write("mine.txt", b"mine\n")
    pause = tmp_path / "pause"
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "recover"],
        cwd=repo.path,
        env={
            **repo.env,
            "GIT_ATOMIC_FAILPOINT_PAUSE": point,
            "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (pause.exists() and pause.read_text().strip()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    pause.unlink()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"Traceback" not in err, err
    again = repo.atomic("recover", check=0).stderr
    if point == "recover:after-break-lock":
        assert err.decode().splitlines()[-1] == "git-atomic: interrupted", err
        assert "recovered: the turn's own changes are taken back" in again, again
    else:
        assert b"recovered: the turn's own changes are taken back" in err, err
        assert "nothing to recover" in again, again
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.git("status", "--porcelain").splitlines() == ["?? mine.txt"]
    assert [o["status"] for o in ops(repo)] == ["recovered"]
