"""An agent's call that makes `.git/packed-refs` no file of git's (a folder, a FIFO, a link to
a file outside): git cannot read the refs in it, and every later hook call said the agent's
calls were not checkpointed, `abort` and `recover` refusing too (no operation of theirs is
open). The turn's next hook call sets it aside now, unread, as a `run`'s rollback does
(agents/turnpacked.py): every branch it held written again from its reflog, the turn judged
as any, its verdict saying so. One you make between the turn's calls is yours: refused by
name as before. Real hook calls; the oracle is the disk (lstat, the ref's file, the file
outside's bytes) and the Stop's words."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo

KINDS = {
    "a folder": "rm .git/packed-refs && mkdir .git/packed-refs",
    "a FIFO": "rm .git/packed-refs && mkfifo .git/packed-refs",
    "a link to a file outside": (
        "mv .git/packed-refs ../outside && ln -s ../../outside .git/packed-refs"
    ),
}


def _setup(repo: GitRepo) -> str:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.git("pack-refs", "--all")
    assert not (repo.path / ".git" / "refs" / "heads" / "main").exists()
    return repo.git("rev-parse", "main").strip()


def _bash(repo: GitRepo, n: int, command: str) -> subprocess.CompletedProcess[str]:
    call: dict[str, Any] = {
        "tool_name": "Bash",
        "tool_input": {"command": command},
        "tool_use_id": f"b{n}",
    }
    claude_hook(repo, "s1", "PreToolUse", **call)
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    return claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"stdout": ""})


def _set_aside(repo: GitRepo, main: str, outside: bytes | None) -> None:
    packed = repo.path / ".git" / "packed-refs"
    assert not os.path.lexists(packed)
    loose = repo.path / ".git" / "refs" / "heads" / "main"
    assert stat.S_ISREG(os.lstat(loose).st_mode)
    assert loose.read_bytes() == main.encode() + b"\n"
    if outside is not None:  # never written through
        assert (repo.path.parent / "outside").read_bytes() == outside
    ran = subprocess.run(
        ["git", "atomic", "status"], cwd=repo.path, env=repo.env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "fails", [True, False], ids=["a failing turn", "a turn that changed no file"]
)
def test_packed_refs_a_turns_call_made_no_file_is_set_aside(
    repo: GitRepo, kind: str, fails: bool
) -> None:
    main = _setup(repo)
    outside = (repo.path / ".git" / "packed-refs").read_bytes()
    post = _bash(repo, 1, KINDS[kind] + ("; touch bad" if fails else ""))
    assert "not checkpointed" not in post.stdout + post.stderr, post.stdout

    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    said = answer.get("reason", "") + answer.get("systemMessage", "")
    assert "packed-refs no file of git's" in said and "set aside unread" in said, answer
    if fails:
        assert answer.get("decision") == "block", answer
        assert "were rolled back" in answer["reason"], answer
        assert not (repo.path / "bad").exists()
    else:
        assert "not judged: its calls changed no file" in said, answer
    _set_aside(repo, main, outside if "link" in kind else None)


def test_one_you_make_between_the_turns_calls_is_yours(repo: GitRepo) -> None:
    _setup(repo)
    _bash(repo, 1, "echo one > one.txt")
    subprocess.run(["sh", "-c", KINDS["a folder"]], cwd=repo.path, env=repo.env, check=True)
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert "not checkpointed" in answer.get("systemMessage", ""), answer
    assert "packed-refs is a folder" in answer["systemMessage"], answer
    assert stat.S_ISDIR(os.lstat(repo.path / ".git" / "packed-refs").st_mode)


def _call(n: int) -> dict[str, Any]:
    return {
        "tool_name": "Bash",
        "tool_input": {"command": KINDS["a folder"]},
        "tool_use_id": f"b{n}",
    }


def _post(
    repo: GitRepo, session: str, n: int, done: dict[str, Any], env: dict[str, str] | None = None
) -> threading.Thread:
    def post() -> None:
        done[session] = claude_hook(
            repo, session, "PostToolUse", env=env, **_call(n), tool_response={"stdout": ""}
        )

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def test_two_sessions_calls_set_it_aside_one_at_a_time(repo: GitRepo, tmp_path: Path) -> None:
    """Two sessions' calls in flight when packed-refs was made a folder, their PostToolUse at
    once (two processes): each held only its own session's slot, so both set the same file
    aside at once, and the one that found it gone said the agent's calls were not
    checkpointed. They hold the worktree's lock now, as every writer of the git dir: the
    second waits while the first sets it aside (the folder left where it is meanwhile), then
    goes on; neither says its calls were not checkpointed."""
    main = _setup(repo)
    claude_hook(repo, "s1", "PreToolUse", **_call(1))
    claude_hook(repo, "s2", "PreToolUse", **_call(2))
    _second_waits_for_the_first(repo, repo, tmp_path, wait=1.0)
    assert stat.S_ISDIR(os.lstat(repo.path / ".git" / "atomic-aside" / "packed-refs").st_mode)
    _set_aside(repo, main, None)


def test_the_hook_killed_as_it_sets_it_aside_then_recover(repo: GitRepo) -> None:
    """Killed holding the worktree's lock: the turn's next call sets packed-refs aside all the
    same (the lock's holder dead: no one else can take it), then says to run `recover`, which
    ends with the branches back from their reflogs."""
    main = _setup(repo)
    claude_hook(repo, "s1", "PreToolUse", **_call(1))
    subprocess.run(["sh", "-c", KINDS["a folder"]], cwd=repo.path, env=repo.env, check=True)
    env = {"GIT_ATOMIC_FAILPOINT": "turnpacked:aside"}
    claude_hook(repo, "s1", "PostToolUse", env=env, check=False, **_call(1), tool_response={})
    assert stat.S_ISDIR(os.lstat(repo.path / ".git" / "packed-refs").st_mode)
    stop = claude_hook(repo, "s1", "Stop", check=False)
    assert "recover" in stop.stdout + stop.stderr, stop
    assert not os.path.lexists(repo.path / ".git" / "packed-refs")
    res = repo.atomic("recover", timeout=60)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    _set_aside(repo, main, None)


def test_two_worktrees_calls_set_it_aside_one_at_a_time(repo: GitRepo, tmp_path: Path) -> None:
    """packed-refs is every worktree's, but the lock the set-aside held was its worktree's
    alone: two sessions' calls in two worktrees of the repository set the same file aside at
    once. The common git dir's lock is held too now (core/lock.common_held): the call in the
    other worktree waits while the first sets it aside, then goes on; the file is set aside
    once, into one worktree's aside folder, and neither says its calls were not checkpointed."""
    main = _setup(repo)
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    other = GitRepo(tmp_path / "wt", repo.env)
    other.write(".git-atomic.toml", (repo.path / ".git-atomic.toml").read_bytes())
    repo.git("pack-refs", "--all")
    claude_hook(repo, "s1", "PreToolUse", **_call(1))
    claude_hook(other, "s2", "PreToolUse", **_call(2))
    _second_waits_for_the_first(repo, other, tmp_path, wait=1.5)
    asides = [
        repo.path / ".git" / "atomic-aside" / "packed-refs",
        repo.path / ".git" / "worktrees" / "wt" / "atomic-aside" / "common" / "packed-refs",
    ]
    assert [os.path.lexists(a) for a in asides] == [True, False]
    assert stat.S_ISDIR(os.lstat(asides[0]).st_mode)
    assert not os.path.lexists(repo.path / ".git" / "atomic-common.lock")
    _set_aside(repo, main, None)
    loose = repo.path / ".git" / "refs" / "heads" / "other"
    assert loose.read_bytes() == main.encode() + b"\n"


def _second_waits_for_the_first(
    repo: GitRepo, second_in: GitRepo, tmp_path: Path, *, wait: float
) -> None:
    """packed-refs made a folder; s1's PostToolUse paused as it sets it aside, s2's (in
    `second_in`) started `wait` s later: it must still wait then, and neither says its calls
    were not checkpointed. (The tests' hooks wait 3 s for the lock.)"""
    subprocess.run(["sh", "-c", KINDS["a folder"]], cwd=repo.path, env=repo.env, check=True)
    pause, done = tmp_path / "pause", {}
    env = {
        "GIT_ATOMIC_FAILPOINT_PAUSE": "turnpacked:aside",
        "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
    }
    first = _post(repo, "s1", 1, done, env)
    try:
        deadline = time.monotonic() + 120
        while not (pause.exists() and pause.read_text().strip()):
            assert first.is_alive() and time.monotonic() < deadline, done
            time.sleep(0.02)
        second = _post(second_in, "s2", 2, done)
        time.sleep(wait)
        packed = repo.path / ".git" / "packed-refs"
        assert stat.S_ISDIR(os.lstat(packed).st_mode), "set aside under the paused call"
        assert second.is_alive(), done
    finally:
        pause.unlink(missing_ok=True)
        first.join(120)
    second.join(120)
    for session in ("s1", "s2"):
        said = done[session].stdout + done[session].stderr
        assert "not checkpointed" not in said and "Traceback" not in said, (session, said)
