"""The suite's fork server (testing/forkserver.py) answers as a new interpreter would: the same
exit codes, output and errors, a kill at a failpoint, standard input, and a call whose start-up
environment differs runs as a new interpreter; an MCP server forked for the SDK's clients
(testing/mcpfork.py) answers as one started anew and ends with the process its client started."""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import sys
from pathlib import Path
from subprocess import PIPE

import pytest

from testing import agents, gitrepo, mcpfork
from testing.gitrepo import GitRepo

pytestmark = pytest.mark.skipif(
    not gitrepo.forks_on(), reason="calls are not forked (GIT_ATOMIC_TEST_FORK=0, coverage)"
)

CALLS: list[tuple[tuple[str, ...], bytes | None, dict[str, str]]] = [
    (("status",), None, {}),
    (("begin", "work", "--json"), None, {}),
    (("checkpoint", "-m", "one"), None, {}),
    (("status", "--json"), None, {}),
    (("rollback", "--to", "refs/atomic/nope"), None, {}),
    (("abort",), None, {}),
    (("log",), None, {}),
    (("undo", "--json"), None, {}),
    (("no-such-command",), None, {}),
    (("hook", "claude-code", "UserPromptSubmit"), b'{"session_id": "s", "cwd": "."}', {}),
    (("begin", "killed"), None, {"GIT_ATOMIC_FAILPOINT": "begin:after-journal@1"}),
    (("recover",), None, {}),
]


def _plain(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{7,64}\b", "<id>", text)
    text = re.sub(r"/tmp/\S+", "<path>", text)
    text = re.sub(r"\d+(\.\d+)?", "<n>", text)
    return re.sub(r"<n> (second|minute|hour|day)s?\b", r"<n> \1", text)


def _session(repo: GitRepo) -> list[tuple[int, str, str]]:
    (repo.path / "file.txt").write_bytes(b"changed\n")
    said = []
    for args, stdin, env in CALLS:
        res = repo.atomic(*args, input=stdin, env=env)
        said.append((res.returncode, _plain(res.stdout), _plain(res.stderr)))
    return said


def test_a_forked_call_says_what_a_new_interpreter_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked = GitRepo.create(tmp_path / "a" / "repo", tmp_path / "a" / "home")
    assert gitrepo.forked(["--version"], forked.path, forked.env, None, 60) is not None
    by_fork = _session(forked)
    monkeypatch.setattr(gitrepo, "FORK", False)
    fresh = GitRepo.create(tmp_path / "b" / "repo", tmp_path / "b" / "home")
    assert _session(fresh) == by_fork
    codes = [code for code, _, _ in by_fork]
    assert codes[-2] == -9 and codes[0] == 0 and 0 not in (codes[4], codes[8])


def test_a_call_killed_past_its_timeout_leaves_the_server_serving(repo: GitRepo) -> None:
    """A call past its timeout is killed and its client leaves before the server reports the
    end: the server wrote to a closed socket, died, and every later call of that pytest process
    was a new interpreter (a payload in UTF-16, a warm helper started by `begin`: failures the
    forked calls never met)."""
    hook = repo.path / "slow.py"
    hook.write_text("import time\ntime.sleep(30)\n")
    assert gitrepo.forked(["--version"], repo.path, repo.env, None, 60) is not None
    with pytest.raises(subprocess.TimeoutExpired):
        repo.atomic("run", "--no-gates", "--", sys.executable, str(hook), timeout=2)
    for _ in range(3):  # its report of the killed child went nowhere; the next calls are its
        assert gitrepo.forked(["--version"], repo.path, repo.env, None, 60) is not None
    server = gitrepo.fork_server()
    assert server is not None and server[0].poll() is None


def test_a_call_started_otherwise_is_a_new_interpreter(repo: GitRepo) -> None:
    assert gitrepo.forked(["--version"], repo.path, repo.env, None, 60) is not None
    other = {**repo.env, "PYTHONIOENCODING": "latin-1"}
    assert gitrepo.forked(["--version"], repo.path, other, None, 60) is None


def _mcp_hello(command: str, args: list[str], repo: GitRepo) -> tuple[dict[str, object], int]:
    """The answer to `initialize` and `tools/list` of a server started as `command args`, and
    the exit status once a SIGTERM is sent to the process started (stdin still open)."""
    server = subprocess.Popen(
        [command, *args], cwd=repo.path, env=repo.env, stdin=PIPE, stdout=PIPE, stderr=PIPE
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        for line in (
            {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": agents.HELLO},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        ):
            server.stdin.write(json.dumps(line).encode() + b"\n")
            server.stdin.flush()
        answers = {}
        for _ in range(2):
            answer = json.loads(server.stdout.readline())
            answers[str(answer["id"])] = answer["result"]
        server.send_signal(signal.SIGTERM)
        # The end of its output, its stdin still open: whoever wrote it is gone.
        assert select.select([server.stdout], [], [], 60)[0], "the server outlived SIGTERM"
        assert server.stdout.read() == b""
        return answers, server.wait(60)
    finally:
        server.stdin.close()  # a forked server left behind goes with it
        server.kill()
        server.wait()


def test_a_forked_mcp_server_answers_as_a_new_interpreter_and_ends_with_its_client(
    repo: GitRepo,
) -> None:
    command, args = mcpfork.server_command(repo.env)
    assert args[:3] == ["-S", "-m", "testing.forkclient"]  # the fork server is up
    forked, ended = _mcp_hello(command, args, repo)
    fresh, fresh_ended = _mcp_hello(sys.executable, ["-m", "git_atomic", "mcp"], repo)
    assert forked == fresh
    assert ended == fresh_ended  # the server ends as it does on SIGTERM (its own answer)
