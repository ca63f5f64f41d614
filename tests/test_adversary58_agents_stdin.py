"""A hook's stdin as platforms really hand it: the payload written and the input left open.

Copilot CLI leaves its tool hooks' stdin open after the payload (github/copilot-cli issue 4034),
and Claude Code on Windows at times did (anthropics/claude-code issue 78756). A hook that read
to the end of its input waited there until the platform's timeout killed it: each tool call
stalled for the whole timeout (60 s as installed), and its checkpoint was never taken, so a
turn that broke a gate was not taken back. A hook whose stdin is a terminal (a platform that
lets its hooks inherit one) waited for a person's typing the same way.

Each call here is a real `python -m git_atomic hook ...` process, with the warm helper and
without it (the helper's client reads the payload itself, core/helper.py), whose stdin stays
open until it has answered.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from testing.gitrepo import GitRepo, stop_helpers

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'
ANSWERED_WITHIN = 20.0  # seconds; the stdin stays open far longer (until the test closes it)


def _gated(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")


def _env(repo: GitRepo, helper: str) -> dict[str, str]:
    return {**repo.env, "GIT_ATOMIC_HELPER": helper, "CLAUDE_PROJECT_DIR": str(repo.path)}


def _open_call(
    repo: GitRepo, platform: str, event: str, parts: list[bytes], helper: str, pause: float = 0.0
) -> tuple[int, str, str]:
    """The hook for `event`, its payload written in `parts` (`pause` seconds apart), its
    stdin left open until it has exited; its exit code, stdout and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "hook", platform, event],
        cwd=repo.path,
        env=_env(repo, helper),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        for n, part in enumerate(parts):
            if n:
                time.sleep(pause)
            proc.stdin.write(part)
            proc.stdin.flush()
        try:
            proc.wait(timeout=ANSWERED_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{platform} {event}: no answer while its stdin stays open")
    finally:
        proc.stdin.close()
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    # (its answer is a few lines: it fits the pipes, read once it has exited)
    return proc.returncode, proc.stdout.read().decode(), proc.stderr.read().decode()


def _copilot(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    return {"timestamp": 1704614600000, "cwd": str(repo.path), "sessionId": "s1", **fields}


def _claude(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": "s1",
        "transcript_path": "/dev/null",
        "cwd": str(repo.path),
        "hook_event_name": event,
        **fields,
    }


# (platform, prompt, before, after, end, payload maker, a shell call's fields)
TURNS = {
    "copilot": (
        "userPromptSubmitted",
        "preToolUse",
        "postToolUse",
        "agentStop",
        _copilot,
        {"toolName": "bash", "toolArgs": json.dumps({"command": "echo x > bad"})},
    ),
    "claude-code": (
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
        _claude,
        {"tool_name": "Bash", "tool_input": {"command": "echo x > bad"}, "tool_use_id": "t1"},
    ),
}


@pytest.mark.parametrize("helper", ["0", "1"], ids=["cold", "warm"])
@pytest.mark.parametrize("platform", sorted(TURNS))
def test_a_turn_whose_hooks_stdin_stays_open_is_judged(
    repo: GitRepo, platform: str, helper: str
) -> None:
    _gated(repo)
    prompt, before, after, end, payload, call = TURNS[platform]

    def hook(event: str, **fields: Any) -> tuple[int, str, str]:
        data = json.dumps(payload(repo, event, **fields)).encode() + b"\n"
        return _open_call(repo, platform, event, [data], helper)

    try:
        assert hook(prompt, prompt="go")[0] == 0
        code, _, err = hook(before, **call)
        assert code == 0 and "Traceback" not in err, err
        repo.write("bad", b"x\n")  # the call's own change, which breaks the gate
        code, _, err = hook(after, **call, tool_response={"success": True})
        assert code == 0 and "Traceback" not in err, err
        code, out, err = hook(end, stop_hook_active=False)
    finally:
        stop_helpers(repo.path)
    assert code == 0, err
    # The turn was judged on its call's checkpoints: its change taken back, the agent told.
    assert not repo.exists("bad"), (out, err)
    assert "gate 'g' failed" in out + err, (out, err)


@pytest.mark.parametrize("helper", ["0", "1"], ids=["cold", "warm"])
def test_a_payload_paused_inside_is_read_whole(repo: GitRepo, helper: str) -> None:
    """A pause right after an inner object's `}` is not the payload's end: the call still
    reads the rest (the file its `Write` names is the one noted), then answers with the input
    open."""
    _gated(repo)
    call = {
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / "bad"), "content": "x"},
        "tool_use_id": "w1",
    }
    try:
        for event in ("PreToolUse", "PostToolUse"):
            if event == "PostToolUse":
                repo.write("bad", b"x\n")
            text = json.dumps({**_claude(repo, event), **call})
            cut = text.index("}") + 1  # the end of tool_input, inside the payload
            parts = [text[:cut].encode(), text[cut:].encode()]
            code, _, err = _open_call(repo, "claude-code", event, parts, helper, pause=0.5)
            assert code == 0 and "Traceback" not in err, err
        code, out, err = _open_call(
            repo, "claude-code", "Stop", [json.dumps(_claude(repo, "Stop")).encode()], helper
        )
    finally:
        stop_helpers(repo.path)
    assert code == 0, err
    assert json.loads(out)["decision"] == "block", out
    assert not repo.exists("bad"), out


@pytest.mark.parametrize("helper", ["0", "1"], ids=["cold", "warm"])
@pytest.mark.parametrize("platform", ["claude-code", "copilot", "cursor", "gemini"])
def test_a_terminal_for_stdin_is_no_payload(repo: GitRepo, platform: str, helper: str) -> None:
    """Nothing waits for a person's typing: the call is answered as one with an empty
    payload, exit 0."""
    event = {"claude-code": "Stop", "copilot": "agentStop", "cursor": "stop"}
    event["gemini"] = "AfterAgent"
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "git_atomic", "hook", platform, event[platform]],
            cwd=repo.path,
            env=_env(repo, helper),
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(timeout=ANSWERED_WITHIN)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"{platform}: waited on the terminal")
    finally:
        os.close(follower)
        os.close(leader)
        stop_helpers(repo.path)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err, err
    assert not out.strip() or isinstance(json.loads(out), dict), out


def test_a_payload_read_in_place_is_all_of_it() -> None:
    """The reader itself: a payload cut anywhere, its second piece written a moment after the
    first and the input left open, is read whole; bytes that are no object are read to the end
    of input."""
    from git_atomic.core import hookstdin

    payload = json.dumps({"a": {"b": [1, {"c": "}"}]}, "d": "日本"}, ensure_ascii=False).encode()
    for cut in range(1, len(payload)):
        r, w = os.pipe()
        try:
            os.write(w, payload[:cut])
            rest = threading.Timer(2 * hookstdin.PAUSE, os.write, (w, payload[cut:]))
            rest.start()
            assert hookstdin.read(r) == payload, cut
            rest.join()
        finally:
            os.close(r)
            os.close(w)
    r, w = os.pipe()
    os.write(w, b"[1, 2]")
    os.close(w)
    assert hookstdin.read(r) == b"[1, 2]"
    os.close(r)
    assert hookstdin.whole(b"\xef\xbb\xbf{}") and not hookstdin.whole(b'{"a": {}')
