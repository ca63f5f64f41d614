"""Bad values in the environment's numeric settings: an empty or misspelt
GIT_ATOMIC_HOOK_LOCK_WAIT made every hook call an internal error (a traceback in the log, the
call unprotected), `inf` made a call wait past every platform's timeout; the split-index knob
GIT_ATOMIC_SPLIT_SCAN_AT likewise failed every capture. Each is now its default (none below 0),
as GIT_ATOMIC_INDEX_LOCK_WAIT already was."""

from __future__ import annotations

import json

import pytest

from git_atomic.agents.turnstate import lock_wait
from git_atomic.engine.scanindex import _SPLIT_AT, split_at
from testing.gitrepo import GitRepo

WAITS = {"": 45.0, "abc": 45.0, "nan": 45.0, "inf": 45.0, "-inf": 45.0, "-3": 0.0, "2.5": 2.5}


def test_the_hook_lock_wait_of_each_value(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, wait in WAITS.items():
        monkeypatch.setenv("GIT_ATOMIC_HOOK_LOCK_WAIT", value)
        assert lock_wait() == wait, value
    monkeypatch.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "abc")
    assert split_at() == _SPLIT_AT


def test_hook_calls_and_a_capture_with_bad_values_work(repo: GitRepo) -> None:
    repo.write("a.txt", b"a\n")
    pre = {
        "session_id": "s61-bad-input",
        "cwd": str(repo.path),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "echo b > a.txt"},
        "tool_use_id": "t1",
    }
    bad = {"GIT_ATOMIC_HOOK_LOCK_WAIT": "", "GIT_ATOMIC_SPLIT_SCAN_AT": "abc"}
    res = repo.atomic("hook", "claude-code", "PreToolUse", input=json.dumps(pre).encode(), env=bad)
    assert res.returncode == 0 and "internal error" not in res.stdout + res.stderr, res
    repo.write("a.txt", b"b\n")
    post = {**pre, "hook_event_name": "PostToolUse", "tool_response": {}}
    res = repo.atomic(
        "hook", "claude-code", "PostToolUse", input=json.dumps(post).encode(), env=bad
    )
    assert res.returncode == 0 and "internal error" not in res.stdout + res.stderr, res
    stop = {**pre, "hook_event_name": "Stop", "stop_hook_active": False}
    del stop["tool_name"], stop["tool_input"], stop["tool_use_id"]
    res = repo.atomic("hook", "claude-code", "Stop", input=json.dumps(stop).encode(), env=bad)
    assert res.returncode == 0 and "internal error" not in res.stdout + res.stderr, res
    [op] = repo.atomic_json("log")["operations"]
    assert op["status"] == "committed", op  # the turn was protected and kept (no gates)
    res = repo.atomic("begin", "x", env={"GIT_ATOMIC_SPLIT_SCAN_AT": "abc"})
    assert res.returncode == 0, res.stderr
