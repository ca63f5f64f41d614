"""A command, a hook call above all, started with a standard stream closed.

A platform that does not read its hook's answer may start it with stdout closed (`1>&-`), as a
supervisor or a wrapper script may start any command, and one whose hooks take no payload
with stdin closed. Python then has no `sys.stdout` (None): every command that printed anything
ended in a traceback (`AttributeError: 'NoneType' object has no attribute 'write'`) and exit 1,
where the hook must answer 0 and every failure is one line. Each closed stream is now the null
device, as git itself does at its start (`sanitize_stdfds`): what would be printed there goes
nowhere, and a file a child opens can never take the stream's number.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from testing.gitrepo import GitRepo, stop_helpers

COMMANDS = [
    ("hook", "claude-code", "Stop"),
    ("hook", "cursor", "preToolUse"),
    ("hook", "copilot", "agentStop"),
    ("status",),
    ("status", "--json"),
    ("log",),
    ("checkpoint",),  # refused: no operation is open (exit 3)
    ("nosuchverb",),  # a usage error (exit 2)
]


def _run(repo: GitRepo, args: tuple[str, ...], closed: str, helper: str) -> tuple[int, str]:
    payload = {"session_id": "s1", "cwd": str(repo.path), "hook_event_name": args[-1]}
    ran = subprocess.run(
        ["sh", "-c", f'exec "$0" -m git_atomic "$@" {closed}', sys.executable, *args],
        cwd=repo.path,
        env={**repo.env, "GIT_ATOMIC_HELPER": helper},
        input=json.dumps(payload).encode() if args[0] == "hook" else b"",
        stdout=subprocess.DEVNULL if "1>" not in closed else None,
        stderr=subprocess.PIPE,
        timeout=120,
    )
    return ran.returncode, ran.stderr.decode(errors="replace")


@pytest.mark.parametrize("helper", ["0", "1"], ids=["cold", "warm"])
@pytest.mark.parametrize("closed", ["1>&-", "0<&- 1>&-", "0<&-"])
def test_a_closed_standard_stream_is_the_null_device(
    repo: GitRepo, closed: str, helper: str
) -> None:
    try:
        for args in COMMANDS:
            expected, _ = _run(repo, args, "", helper)
            code, err = _run(repo, args, closed, helper)
            assert "Traceback" not in err and "internal error" not in err, (args, err)
            assert code == expected, (args, code, expected, err)
            assert len(err.strip().splitlines()) <= 1, (args, err)
    finally:
        stop_helpers(repo.path)


def test_stderr_closed_too_exits_as_it_would(repo: GitRepo) -> None:
    """With all three closed nothing can be said: the exit code is the command's own."""
    for args in COMMANDS:
        expected, _ = _run(repo, args, "", "0")
        ran = subprocess.run(
            ["sh", "-c", 'exec "$0" -m git_atomic "$@" 0<&- 1>&- 2>&-', sys.executable, *args],
            cwd=repo.path,
            env={**repo.env, "GIT_ATOMIC_HELPER": "0"},
            timeout=120,
        )
        assert ran.returncode == expected, (args, ran.returncode, expected)
