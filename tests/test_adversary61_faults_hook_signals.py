"""SIGTERM (a platform's hook timeout: Node's kill) and SIGINT to a hook call in the middle of
its work, on the paths added last stops: a shell call's PreToolUse in its capture, a file tool's
PostToolUse noting its files, a call settling the pending steps, the Stop writing them. The
hook ends with one line at most (never a traceback), leaves no lock, and the turn ends as if
the hook had run whole or not at all: its failing Stop takes back exactly the turn's changes.

A Stop signalled before its gates ran (here while it wrote the pending steps) ran none, and
kept the turn as a passing one, the bad edit in place and nothing told; it is taken back now,
as a Stop whose gate the signal interrupted is, and the next prompt tells the model why."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import TEXT, ClaudeCode, bash, edit, prompt, repo, stop, write_call

__all__ = ["repo"]

START = b"def answer():\n    return 41\n"
OURS = TEXT.replace(b"line 2\n", b"line 2 by the agent\n")


def _signalled(
    claude: ClaudeCode, repo: GitRepo, payload: dict[str, Any], point: str, sig: int, tmp: Path
) -> subprocess.CompletedProcess[bytes]:
    """`payload`'s hook paused at `point`, sent `sig`, then let go."""
    pause = tmp / "pause"
    data = json.dumps(payload).replace('"{cwd}"', json.dumps(str(repo.path))).encode()
    event = payload["hook_event_name"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", event],
        cwd=repo.path,
        env={
            **claude.env,
            "GIT_ATOMIC_HELPER": "0",
            "GIT_ATOMIC_FAILPOINT_PAUSE": point,
            "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.close()
    proc.stdin = None  # (communicate would flush it)
    deadline = time.monotonic() + 60
    while not (pause.exists() and pause.read_text().strip()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never paused"
        time.sleep(0.01)
    proc.send_signal(sig)
    time.sleep(0.05)
    pause.unlink()
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


CASES = {
    # where: (the call signalled, its fail point)
    "shell-pre-capture": ("shell-pre", "capture:walk"),
    "file-post-notes": ("file-post", "turnfiles:notes-kept"),
    "shell-pre-settle": ("shell-pre", "turnfiles:settled"),
    "stop-settle": ("stop", "turnfiles:settled"),
}


# (SIGINT and SIGTERM take one path, INTERRUPTS: both only where what is said names it.)
@pytest.mark.parametrize(
    ("where", "sig"),
    [
        *((where, signal.SIGTERM) for where in CASES),
        ("stop-settle", signal.SIGINT),
    ],
)
def test_a_signal_mid_hook(repo: GitRepo, tmp_path: Path, where: str, sig: int) -> None:
    call, point = CASES[where]
    repo.write("doc.txt", TEXT)
    repo.git("add", "doc.txt")
    repo.git("commit", "-q", "-m", "doc")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), act = write_call(repo, 2, "doc.txt", OURS)
    claude.send(pre)
    act()
    said = []
    if call == "file-post":
        said.append(_signalled(claude, repo, post, point, sig, tmp_path))
    else:
        claude.send(post)
    repo.write("mine.txt", b"the user's\n")
    (pre, post), act = bash(repo, 3, "echo n > N", lambda: repo.write("N", b"n\n"))
    if call == "shell-pre":
        said.append(_signalled(claude, repo, pre, point, sig, tmp_path))
    else:
        claude.send(pre)
    act()
    claude.send(post)
    claude.turn([edit(repo, 4, "BUG")])
    if call == "stop":
        said.append(_signalled(claude, repo, stop(), point, sig, tmp_path))
        assert said[0].returncode == 128 + sig, said
        # The platform reads no answer from a hook it ended: the next prompt tells the model.
        [answer] = claude.send(prompt("next"))
        told = answer.json()["hookSpecificOutput"]["additionalContext"]
        assert "about your previous turn" in told and "before its gates ran" in told, told
        [row] = repo.atomic_json("log")["operations"]
        assert row["status"] == "rolled_back", row
    else:
        [answer] = claude.send(stop())
        out = answer.json()
        assert out["decision"] == "block" and "rolled back" in out["reason"], out
    for res in said:
        assert b"Traceback" not in res.stderr and b"internal error" not in res.stderr, res
        assert len(res.stderr.splitlines()) <= 1, res
    status = repo.atomic_json("status")
    assert (status["lock"], status["open"], status["interrupted"]) == (None, None, None), status
    assert repo.read("doc.txt") == TEXT
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.read("mine.txt") == b"the user's\n"
