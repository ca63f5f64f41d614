"""A hook call served by the warm helper whose client the platform killed (SIGKILL, its hook
timeout) and whose pipes it closed, while the helper's child runs the call: the child ends
the call (its checkpoint taken, no lock left), its answer goes nowhere without an error
report, and the turn goes on whole."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, bash, edit, repo, stop
from tests.test_helper import _new_interpreters, gone, started

__all__ = ["_new_interpreters", "repo"]


def test_a_served_hook_whose_client_was_killed(repo: GitRepo, tmp_path: Path) -> None:
    claude = ClaudeCode(repo)
    started(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), act = bash(repo, 2, "echo n > N", lambda: repo.write("N", b"n\n"))
    pause = tmp_path / "pause"
    logs = Path(repo.env["GIT_ATOMIC_LOG_DIR"])
    before = set(logs.iterdir()) if logs.exists() else set()
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", "PreToolUse"],
        cwd=repo.path,
        env={
            **claude.env,
            "GIT_ATOMIC_FAILPOINT_PAUSE": "capture:walk",
            "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(pre).replace('"{cwd}"', json.dumps(str(repo.path))).encode())
    proc.stdin.close()
    deadline = time.monotonic() + 60
    while not (pause.exists() and pause.read_text().strip()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child = int(pause.read_text())
    assert child != proc.pid  # served
    proc.kill()
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()  # the platform reads nothing more: its pipes are gone
    pause.unlink()
    assert gone(child)
    assert (set(logs.iterdir()) if logs.exists() else set()) == before  # no error report
    status = repo.atomic_json("status")
    assert status["lock"] is None and status["interrupted"] is None, status
    act()
    claude.send(post)
    claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    out = answer.json()
    assert out["decision"] == "block" and "not protected" not in out["systemMessage"], out
    # The call the killed client asked for was protected all the same: taken back with the rest.
    assert repo.git("status", "--porcelain") == ""
    assert repo.read("lib.py") == b"VALUE = 1\n"
