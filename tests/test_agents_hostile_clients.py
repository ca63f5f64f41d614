"""Adversarial conformance of the MCP server and the hook adapters.

Each test is a defect found by driving the real server or the real hook commands as a hostile
or unlucky client would; plain JSON-RPC lines on pipes, real git, real processes.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testing.agents import HELLO, Lines, claude_hook
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


# --- MCP: every request is answered ------------------------------------------------------------


def test_a_request_with_an_id_mcp_forbids_is_answered_not_dropped(repo: GitRepo) -> None:
    """An object with an `id` is a request, not a notification (JSON-RPC 2.0, section 4.1): one
    whose id MCP forbids (null, a fraction, a boolean, an object) was read as a notification and
    dropped, so its client waited for ever; and a malformed request whose id was plain
    (`jsonrpc` "1.0", params a string, no method) was answered with id null, which no client
    can match to the call it waits on."""
    lines = Lines(repo)
    try:
        lines.hello()
        for ident in (None, 1.5, True, {"a": 1}):
            lines.send({"jsonrpc": "2.0", "id": ident, "method": "ping"})
            answer = lines.receive(10)
            assert answer is not None, f"no answer to a request with id {ident!r}"
            assert (answer["id"], answer["error"]["code"]) == (None, -32600), answer
        for ident, request in (
            (7, {"jsonrpc": "1.0", "id": 7, "method": "ping"}),
            (8, {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": "status"}),
            ("nine", {"jsonrpc": "2.0", "id": "nine"}),
            (10, {"id": 10, "method": "ping"}),
        ):
            lines.send(request)
            answer = lines.receive(10)
            assert answer is not None and answer["id"] == ident, (request, answer)
            assert answer["error"]["code"] == -32600, answer
        # What the SDK reads itself is answered as before.
        lines.send({"jsonrpc": "2.0", "id": 11, "method": "ping"})
        assert lines.receive(10) == {"jsonrpc": "2.0", "id": 11, "result": {}}
        lines.send("{not json")
        assert (lines.receive(10) or {}).get("error", {}).get("code") == -32700
        lines.send({"jsonrpc": "2.0", "id": 12, "result": {}})  # a response to nothing: no answer
        lines.send({"jsonrpc": "2.0", "method": "notifications/whatever"})  # a notification
        lines.send({"jsonrpc": "2.0", "id": 13, "method": "ping"})
        assert (lines.receive(10) or {}).get("id") == 13
    finally:
        stderr = lines.close()
    assert "Traceback" not in stderr, stderr


def test_a_request_refused_for_its_params_or_before_initialize_says_why(repo: GitRepo) -> None:
    """The SDK refused both with `Invalid request parameters` and empty data: a client that
    forgot `initialize`, or sent `arguments` as a list, was not told which. Still -32602, now
    with a line that says what is wrong."""
    lines = Lines(repo)
    try:
        lines.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        early = lines.receive()
        lines.hello()
        params = {"name": "status", "arguments": []}
        lines.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params})
        bad = lines.receive()
        stderr = lines.close()
    finally:
        lines.server.kill()
    assert early and early["id"] == 1 and early["error"]["code"] == -32602, early
    assert "no initialize came before it" in early["error"]["message"], early
    assert bad and bad["id"] == 2 and bad["error"]["code"] == -32602, bad
    assert bad["error"]["message"] == (
        "tools/call: params.arguments: Input should be a valid dictionary"
    ), bad
    assert "Traceback" not in stderr, stderr


def test_a_batch_is_served_each_request_answered_with_its_id(repo: GitRepo) -> None:
    """The server negotiates 2025-03-26, whose receivers MUST take JSON-RPC batches; a batch was
    answered with one invalid-request error, id null, and its requests never: the client waited
    for ever for each of its ids. Now each message of a batch is served as if on its own line;
    an element that is no message, and an empty batch, get -32600 with id null."""
    lines = Lines(repo)
    try:
        hello = {**HELLO, "protocolVersion": "2025-03-26"}
        lines.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        assert (lines.receive() or {})["result"]["protocolVersion"] == "2025-03-26"
        lines.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        status = {"name": "status", "arguments": {}}
        batch = [
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            {"jsonrpc": "2.0", "id": "two", "method": "tools/call", "params": status},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},  # no answer
            7,
        ]
        lines.send(json.dumps(batch))
        lines.send("[]")
        answers = [lines.receive() for _ in range(4)]
        stderr = lines.close()
    finally:
        lines.server.kill()
    by_id = {str(a.get("id")): a for a in answers if a and a.get("id") is not None}
    assert by_id["1"]["result"] == {}, answers
    assert by_id["two"]["result"]["structuredContent"]["open"] is None, answers
    refused = [a for a in answers if a and a.get("id") is None]
    assert [a["error"]["code"] for a in refused] == [-32600, -32600], answers
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("depth", [300, 100_000])
def test_a_request_nested_deeper_than_the_sdk_reads_is_answered_with_its_id(
    repo: GitRepo, depth: int
) -> None:
    """Valid JSON nested 300 deep (Python reads it; the SDK's parser stops at its depth limit)
    was answered as a parse error with id null: the client waiting on its id never heard.
    100,000 deep (past Python's stack too, its id after the nesting): the same, and now its id
    is found without parsing the nesting. The server goes on answering."""
    lines = Lines(repo)
    try:
        lines.hello()
        deep = "[" * depth + "]" * depth
        lines.send(
            '{"jsonrpc": "2.0", "method": "tools/call", '
            f'"params": {{"name": "log", "arguments": {{"name": {deep}, "x": "}}"}}}}, "id": 5}}'
        )
        answer = lines.receive(10)
        lines.send({"jsonrpc": "2.0", "id": 6, "method": "ping"})
        pong = lines.receive(10)
    finally:
        stderr = lines.close()
    assert answer is not None and answer["id"] == 5, answer
    assert answer["error"]["code"] == -32600, answer
    assert pong == {"jsonrpc": "2.0", "id": 6, "result": {}}, pong
    assert "Traceback" not in stderr, stderr


def test_a_client_that_stops_reading_mid_gate_is_gone_not_a_crash(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A client that closes its end of our stdout (it crashed, or only half closed) while a
    gate runs: the next answer meets a broken pipe. The server reported that as an internal
    error (exit 3, a bug report in /tmp) and then waited for ever on stdin the client kept
    open. The client is gone: its call is interrupted and rolled back, as when stdin closes,
    and the server exits 0."""
    started = tmp_path / "gate-started"
    lines = Lines(repo)
    try:
        lines.commit_with_a_slow_gate(repo, started)
        assert lines.server.stdout is not None
        lines.server.stdout.close()
        lines.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})  # its answer breaks the pipe
        code = lines.server.wait(30)  # stdin is still open
    finally:
        stderr = lines.close()
    assert code == 0, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr
    [op] = repo.atomic_json("log")["operations"]
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "interrupt")
    assert repo.read("README") == b"hello\n"


def test_a_whole_number_written_with_a_fraction_is_an_integer(repo: GitRepo) -> None:
    """JSON Schema counts 2.0 as an integer, and so did the check of log's `n`, but the CLI
    was handed `--max-count=2.0` and refused it: a client that writes numbers as floats (a
    Python client's json.dumps(2.0)) could not page the log."""
    repo.atomic("run", "--", "true", check=0)
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "log", n=1.0)
        answer = lines.receive() or {}
    finally:
        lines.close()
    result = answer["result"]
    assert not result.get("isError"), result["content"][0]["text"]
    assert len(result["structuredContent"]["operations"]) == 1


def test_a_cursor_the_server_never_gave_is_an_invalid_params_error(repo: GitRepo) -> None:
    """MCP's pagination: an invalid cursor should be -32602. The tools fit one page, so no
    cursor was ever handed out; one sent anyway listed every tool again, as if it were a
    next page, and a client paging on would never notice it had gone wrong."""
    lines = Lines(repo)
    try:
        lines.hello()
        lines.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
        first = lines.receive() or {}
        lines.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"cursor": "x"}})
        paged = lines.receive() or {}
    finally:
        lines.close()
    assert "nextCursor" not in first["result"] and len(first["result"]["tools"]) == 13
    assert paged.get("error", {}).get("code") == -32602, paged


def test_changing_calls_run_in_the_order_they_arrived(repo: GitRepo) -> None:
    """docs/mcp.md: calls that can change a repository run one at a time per worktree, in the
    order they arrive. Each call first looked up its worktree in a thread, and entered the
    queue when that lookup came back: pipelined calls ran as 0 1 2 4 5 3 7 6, so a client that
    sends begin and then checkpoint without waiting could see checkpoint refused."""
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(100, "begin", name="first")
        lines.call(101, "checkpoint", message="right after begin")
        for n in range(6):
            lines.call(n, "gates")  # queued like any call that may change the tree, and quick
        answers = [lines.receive(60) or {} for _ in range(8)]
    finally:
        lines.close()
    assert [a.get("id") for a in answers] == [100, 101, *range(6)], answers
    assert not answers[1]["result"].get("isError"), answers[1]


@pytest.mark.parametrize(
    ("repo_argument", "said"),
    [
        ("~nosuch-s39-user/work", "no such user"),  # expanduser: RuntimeError
        ("x" * 5000, "File name too long"),  # is_dir: OSError (ENAMETOOLONG)
    ],
    ids=["no-such-user", "name-too-long"],
)
def test_a_repository_argument_that_names_no_folder_is_an_error_result(
    repo: GitRepo, repo_argument: str, said: str
) -> None:
    """docs/mcp.md: a repository folder that does not exist is an error result the agent
    reads. `~user` for no such user, or a name longer than a path may be, escaped as an
    exception: JSON-RPC error code 0 (no code JSON-RPC has) and a traceback on stderr."""
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "status", repo=repo_argument)
        answer = lines.receive() or {}
    finally:
        stderr = lines.close()
    assert "result" in answer, answer
    assert answer["result"]["isError"] is True
    [text] = [item["text"] for item in answer["result"]["content"]]
    assert said in text and "\n" not in text, text
    assert "Traceback" not in stderr, stderr


def test_a_server_terminated_mid_gate_interrupts_its_call_as_when_the_client_leaves(
    repo: GitRepo, tmp_path: Path
) -> None:
    """MCP's stdio shutdown: the client closes stdin, then sends SIGTERM (a process manager may
    send it first). On SIGTERM the server died at once and its CLI child went on alone: the
    gate ran to its end and the operation was committed after the client had stopped the
    server, holding the worktree's lock meanwhile. Now SIGTERM is the client leaving: the call
    is interrupted and rolled back, and the server exits."""
    started = tmp_path / "gate-started"
    lines = Lines(repo)
    try:
        lines.commit_with_a_slow_gate(repo, started)
        lines.server.send_signal(signal.SIGTERM)
        code = lines.server.wait(60)
    finally:
        stderr = lines.close()
    assert code == 0, stderr
    assert "Traceback" not in stderr, stderr
    status = repo.atomic_json("status")
    assert status["open"] is None and status["lock"] is None, status
    [op] = repo.atomic_json("log")["operations"]
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "interrupt")
    assert repo.read("README") == b"hello\n"


def test_ctrl_c_stops_the_server_as_sigterm_does_never_an_internal_error(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`git atomic mcp` run in a terminal and stopped with Ctrl-C: SIGINT right after the
    handshake was Python's KeyboardInterrupt, which met a message on its way in and ended the
    server as an internal error (exit 3, a report in /tmp). Now SIGINT is handled as SIGTERM
    is (every call in flight interrupted and rolled back), and the server exits 130."""
    for _ in range(4):  # the moment after the handshake, when a message is still in the SDK
        lines = Lines(repo)
        try:
            lines.hello()
            lines.server.send_signal(signal.SIGINT)
            code = lines.server.wait(60)
        finally:
            stderr = lines.close()
        assert (code, stderr) == (
            130,
            "git-atomic mcp: interrupted; calls in flight were interrupted\n",
        )
    started = tmp_path / "gate-started"
    lines = Lines(repo)
    try:
        lines.commit_with_a_slow_gate(repo, started)
        lines.server.send_signal(signal.SIGINT)
        code = lines.server.wait(60)
    finally:
        stderr = lines.close()
    assert code == 130 and "internal error" not in stderr, stderr
    status = repo.atomic_json("status")
    assert status["open"] is None and status["lock"] is None, status
    [op] = repo.atomic_json("log")["operations"]
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "interrupt")
    assert repo.read("README") == b"hello\n"


# --- hooks ------------------------------------------------------------------------------------


def test_a_hook_payload_with_bytes_that_are_no_utf_8_is_read_whatever_the_locale(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A payload is read as the locale's text: under a strict UTF-8 stdin (PYTHONIOENCODING,
    or a UTF-8 locale where Python reads stdin strictly) a byte that is no UTF-8 (a file name
    a platform passed on as its raw bytes) was an internal error, exit 3: a hook error for the
    agent, and the call went unprotected. Read as bytes, the name is the file's own."""
    name = b"caf\xe9.txt"  # Latin-1, as an old file name on disk may be
    (repo.path / ".git-atomic.toml").write_bytes(
        b'[[gates]]\nname = "nobug"\nrun = "! grep -rq BUG --exclude-dir=.git ."\n'
    )
    repo.git("add", "-A")
    repo.git("commit", "-qm", "gate")
    env = {**repo.env, "PYTHONIOENCODING": "utf-8:strict", "GIT_ATOMIC_LOG_DIR": str(tmp_path)}

    def hook(event: str, **fields: Any) -> subprocess.CompletedProcess[bytes]:
        payload = {"session_id": "s39", "cwd": "CWD", "hook_event_name": event, **fields}
        data = json.dumps(payload).encode().replace(b"CWD", bytes(repo.path))
        data = data.replace(b"NAME", name)  # raw bytes inside the JSON string
        return subprocess.run(
            [sys.executable, "-m", "git_atomic", "hook", "claude-code", event],
            cwd=repo.path,
            env=env,
            input=data,
            capture_output=True,
            check=False,
        )

    call = {"tool_name": "Write", "tool_input": {"file_path": "NAME"}, "tool_use_id": "t1"}
    before = hook("PreToolUse", **call)
    (repo.path / os.fsdecode(name)).write_bytes(b"BUG\n")
    after = hook("PostToolUse", **call)
    end = hook("Stop")
    for answer in (before, after, end):
        assert answer.returncode == 0 and b"internal error" not in answer.stderr, answer
    assert json.loads(end.stdout)["decision"] == "block"
    assert not (repo.path / os.fsdecode(name)).exists()  # the turn's file, taken back


def test_a_turn_end_its_platform_gave_up_on_is_told_with_the_next_prompt(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A platform ends a hook that outlives its timeout (Claude Code, Gemini CLI, Copilot CLI
    and Cursor run on Node, whose kill is SIGTERM) and reads no answer from it: a `Stop` ended
    while its gate ran took the turn's changes back, and the model was never told, not even
    with the next prompt. Now the next prompt carries the verdict."""
    started = tmp_path / "gate-started"
    (repo.path / ".git-atomic.toml").write_text(
        f'[[gates]]\nname = "slow"\nrun = "touch {started}; sleep 120"\n'
    )
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a slow gate")
    session = "s43-timeout"
    claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    call = {"tool_name": "Bash", "tool_input": {"command": "touch BAD"}, "tool_use_id": "t1"}
    claude_hook(repo, session, "PreToolUse", **call)
    repo.write("BAD", b"the turn's\n")
    claude_hook(repo, session, "PostToolUse", **call, tool_response={})
    payload = {"session_id": session, "cwd": str(repo.path), "hook_event_name": "Stop"}
    stop = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", "Stop"],
        cwd=repo.path,
        env={**repo.env, "CLAUDE_PROJECT_DIR": str(repo.path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,  # the platform reads no answer once it gave up
        stderr=subprocess.DEVNULL,
    )
    try:
        assert stop.stdin is not None
        stop.stdin.write(json.dumps({**payload, "stop_hook_active": False}).encode())
        stop.stdin.close()
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.send_signal(signal.SIGTERM)  # the platform's timeout
        stop.wait(60)
    finally:
        stop.kill()
        stop.wait()
    assert not os.path.lexists(repo.path / "BAD")  # taken back, as an interrupted gate is
    answer = claude_hook(repo, session, "UserPromptSubmit", prompt="next")
    assert answer.stdout.strip(), "the next prompt told the model nothing"
    told = json.loads(answer.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "about your previous turn" in told and "gate 'slow' failed" in told, told
    assert repo.atomic_json("status")["lock"] is None


def test_a_hook_started_without_stdin_answers_exit_0(repo: GitRepo) -> None:
    """A hook whose stdin is closed (no payload at all) read `sys.stdin`, which Python leaves
    None then: an internal error, exit 3, where a payload it cannot read gets an answer."""
    command = f"exec 0<&-; exec {shlex.quote(sys.executable)} -m git_atomic hook claude-code Stop"
    done = subprocess.run(
        ["sh", "-c", command], cwd=repo.path, env=repo.env, capture_output=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b""), done


def test_a_server_started_without_stdin_exits_0(repo: GitRepo) -> None:
    """No stdin at all is a client already gone, as stdin closed at once: exit 0 (was: an
    internal error, exit 3, reading `sys.stdin`, which Python leaves None then)."""
    command = f"exec 0<&-; exec {shlex.quote(sys.executable)} -m git_atomic mcp"
    done = subprocess.run(
        ["sh", "-c", command], cwd=repo.path, env=repo.env, capture_output=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, b""), done
    assert b"internal error" not in done.stderr, done
