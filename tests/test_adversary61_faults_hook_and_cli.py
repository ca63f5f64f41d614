"""Two processes at once on one worktree: an agent's hook call (paused in its capture, the
worktree's lock held) and your `git atomic begin` in a terminal; then the reverse, your `begin`
paused holding the lock while the agent's call comes. Each waits or is refused in one line
with the SPEC's exit code; nothing is lost: the turn's change and your operation are each
where their own commands leave them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, bash, repo, stop

__all__ = ["repo"]


def _paused(
    argv: list[str], repo: GitRepo, env: dict[str, str], point: str, stdin: bytes, pause: Path
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *argv],
        cwd=repo.path,
        env={
            **env,
            "GIT_ATOMIC_HELPER": "0",
            "GIT_ATOMIC_FAILPOINT_PAUSE": point,
            "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    proc.stdin = None
    deadline = time.monotonic() + 60
    while not (pause.exists() and pause.read_text().strip()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc


def _payload(repo: GitRepo, payload: dict[str, object]) -> bytes:
    return json.dumps(payload).replace('"{cwd}"', json.dumps(str(repo.path))).encode()


def _clean(res: subprocess.CompletedProcess[str]) -> None:
    said = res.stdout + res.stderr
    assert "Traceback" not in said and "internal error" not in said, res


def test_a_begin_while_a_hook_call_captures(repo: GitRepo, tmp_path: Path) -> None:
    claude = ClaudeCode(repo)
    (pre, post), act = bash(repo, 1, "echo n > N", lambda: repo.write("N", b"n\n"))
    pause = tmp_path / "pause"
    argv = ["hook", "claude-code", "PreToolUse"]
    hook = _paused(argv, repo, claude.env, "capture:walk", _payload(repo, pre), pause)
    res = repo.atomic("begin", "mine", check=None)
    assert res.returncode == 3 and len(res.stderr.splitlines()) == 1, res
    assert "another git-atomic is working" in res.stderr and "hook" in res.stderr, res
    pause.unlink()
    out, err = hook.communicate(timeout=60)
    assert (hook.returncode, out, err) == (0, b"", b"")
    act()
    claude.send(post)
    res = repo.atomic("begin", "mine", check=0)  # the hook call let go: yours opens now
    repo.write("mine.txt", b"mine\n")
    [answer] = claude.send(stop())
    assert "not judged" in answer.json()["systemMessage"], answer
    res = repo.atomic("abort", check=0)
    _clean(res)
    # Yours taken back (what came after your PRE-OP); the turn's, from before it, kept.
    assert repo.git("status", "--porcelain").splitlines() == ["?? N"]
    assert repo.read("N") == b"n\n"


def test_a_hook_call_while_a_begin_holds_the_lock(repo: GitRepo, tmp_path: Path) -> None:
    """The hook waits for the lock (bounded), then takes its checkpoint: protected."""
    claude = ClaudeCode(repo)
    pause = tmp_path / "pause"
    begin = _paused(["begin", "mine"], repo, repo.env, "begin:after-journal", b"", pause)
    (pre, post), act = bash(repo, 1, "echo n > N", lambda: repo.write("N", b"n\n"))
    hook = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", "PreToolUse"],
        cwd=repo.path,
        env={**claude.env, "GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_HOOK_LOCK_WAIT": "60"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert hook.stdin is not None
    hook.stdin.write(_payload(repo, pre))
    hook.stdin.close()
    hook.stdin = None
    time.sleep(0.3)
    assert hook.poll() is None  # it waits
    pause.unlink()
    _out, err = begin.communicate(timeout=60)
    assert begin.returncode == 0, err
    out, err = hook.communicate(timeout=60)
    assert hook.returncode == 0 and b"not protected" not in out + err, (out, err)
    assert b"Traceback" not in out + err, (out, err)
    act()
    claude.send(post)
    [answer] = claude.send(stop())
    assert "not judged" in answer.json()["systemMessage"], answer
    status = repo.atomic_json("status")
    assert status["open"]["name"] == "mine" and status["lock"] is None, status
