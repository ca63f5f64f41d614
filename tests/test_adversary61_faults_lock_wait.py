"""The hook's bounded wait for the worktree's lock running out (GIT_ATOMIC_HOOK_LOCK_WAIT):
another process (here one that holds the lock as a session's Stop running its gates would)
keeps it past the wait, at a PreToolUse and at the Stop. The hook answers in time, never
with a traceback; the call that ran meanwhile is named as not protected; the Stop that could
not wait leaves the turn for the next one, which judges it: nothing of the turn is lost or
kept unjudged."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, bash, edit, held_lock, repo, stop

__all__ = ["repo"]

START = b"def answer():\n    return 41\n"


def test_the_lock_wait_running_out(repo: GitRepo, tmp_path: Path) -> None:
    claude = ClaudeCode(repo)
    claude.env["GIT_ATOMIC_HOOK_LOCK_WAIT"] = "0.3"
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), act = bash(repo, 2, "echo n > N", lambda: repo.write("N", b"n\n"))
    holder = held_lock(repo, tmp_path / "go")
    try:
        [answer] = claude.send(pre)
    finally:
        (tmp_path / "go").touch()
        holder.wait(timeout=60)
    assert answer.exit_code == 0 and "Traceback" not in answer.stderr, answer
    assert "call is not protected: another git-atomic is working" in answer.stdout, answer
    act()
    claude.send(post)
    claude.turn([edit(repo, 3, "BUG")])
    holder = held_lock(repo, tmp_path / "go2")
    try:
        [answer] = claude.send(stop())
    finally:
        (tmp_path / "go2").touch()
        holder.wait(timeout=60)
    said = answer.json()["systemMessage"]
    assert "this turn is not judged: another git-atomic is working" in said, said
    # A hook has no --wait to pass: it is told what becomes of the turn.
    assert "--wait" not in said and "its next Stop judges it" in said, said
    [answer] = claude.send(stop())
    out = answer.json()
    assert out["decision"] == "block" and "not protected: Bash: echo n > N" in out["systemMessage"]
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.git("status", "--porcelain").splitlines() == ["?? N"]  # unprotected: left


def test_sigterm_while_a_call_waits_for_the_lock(repo: GitRepo, tmp_path: Path) -> None:
    """The platform's timeout (SIGTERM) ends a PreToolUse while it waits: exit 143, one
    line that names the call as not protected, nothing changed; the Stop names it too and
    leaves its file, taking back the rest."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), act = bash(repo, 2, "echo n > N", lambda: repo.write("N", b"n\n"))
    holder = held_lock(repo, tmp_path / "go")
    said = tmp_path / "err"
    try:
        with said.open("wb") as err:
            hook = subprocess.Popen(
                [sys.executable, "-m", "git_atomic", "hook", "claude-code", "PreToolUse"],
                cwd=repo.path,
                env={**claude.env, "GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_HOOK_LOCK_WAIT": "60"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        assert hook.stdin is not None
        hook.stdin.write(json.dumps(pre).replace('"{cwd}"', json.dumps(str(repo.path))).encode())
        hook.stdin.close()
        hook.stdin = None
        deadline = time.monotonic() + 60
        while b"waiting for pid" not in said.read_bytes():
            assert hook.poll() is None and time.monotonic() < deadline, said.read_bytes()
            time.sleep(0.01)
        hook.send_signal(signal.SIGTERM)
        out, _ = hook.communicate(timeout=60)
    finally:
        (tmp_path / "go").touch()
        holder.wait(timeout=60)
    assert hook.returncode == 143, (out, said.read_bytes())
    lines = said.read_bytes().decode().splitlines()
    assert len(lines) == 2 and "waiting for pid" in lines[0], lines  # the wait, then why
    assert "call is not protected: interrupted while waiting" in lines[1], lines
    act()
    claude.send(post)
    claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    out_json = answer.json()
    assert out_json["decision"] == "block", out_json
    assert "not protected: Bash: echo n > N" in out_json["systemMessage"], out_json
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.git("status", "--porcelain").splitlines() == ["?? N"]
