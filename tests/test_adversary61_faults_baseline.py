"""SIGTERM (a platform's hook timeout) or SIGINT reaching a Stop while its baseline runs: a
failing gate is run again, in a private worktree, on the tree without the turn's changes, to
tell whether the turn broke it. The gate the signal stopped there counted as failing without
the turn: the turn that broke it was kept ("fails without its changes too"), the bad edit in
place, and that answer was kept in the baseline's cache for every later turn from the same
start. An interrupted baseline now answers nothing: the turn is judged strictly (taken
back), and nothing is cached."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_baseline_interrupted_is_not_kept(repo: GitRepo, tmp_path: Path, sig: int) -> None:
    started = tmp_path / "baseline-started"
    repo.write(
        "gate.sh",
        f'case "$PWD" in *baseline-*) [ -e {started}.done ] || {{ touch {started}; sleep 30; }};;'
        " esac\n"
        f"exec {sys.executable} -S check_app.py\n".encode(),
    )
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "check"\nrun = "sh gate.sh"\n')
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "a gate that waits in the baseline's worktree")
    Path(f"{started}.done").touch()  # (the baseline's gate waits only once told to)
    claude = ClaudeCode(repo)
    # Your work in progress has BUG in app.py; a turn changes lib.py: the gate fails with and
    # without the turn (it passes at HEAD, so a private worktree can run it): kept.
    repo.write("app.py", b"def answer():\n    BUG\n")
    claude.turn([edit(repo, 1, "VALUE = 2", file="lib.py")])
    [answer] = claude.send(stop())
    assert "decision" not in answer.json(), answer
    repo.write("app.py", START)  # you fix it; the next turn puts BUG back
    claude.turn([edit(repo, 2, "BUG")])
    Path(f"{started}.done").unlink()
    payload = json.dumps({**stop(), "cwd": str(repo.path)}).encode()
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", "Stop"],
        cwd=repo.path,
        env={**claude.env, "GIT_ATOMIC_HELPER": "0"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(payload)
    proc.stdin.close()
    proc.stdin = None
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig and b"Traceback" not in err, (out, err)
    # The gate passes without the turn's changes: the turn broke it, and is taken back.
    assert repo.read("app.py") == START, out
    assert ops(repo)[0]["status"] == "rolled_back", ops(repo)[0]
    assert len(repo.git("worktree", "list").splitlines()) == 1  # its private worktree gone
    # And no answer of the interrupted baseline was kept: the same again is taken back.
    Path(f"{started}.done").touch()
    claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block", answer
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 2\n"
