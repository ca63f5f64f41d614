"""Every tool's failure, as MCP's clients read it: a tool result with `isError` (never a
JSON-RPC error, which is the protocol's, not the tool's), whose first text item is one line
that says why, and whose `structuredContent`, where it has one, fits the tool's
`outputSchema` and carries that line as `failure`. The successes of every tool are validated
in tests/test_agents_mcp.py (the SDK's client, and `Session.raw`, check each one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_atomic.agents.mcp_tools import TOOLS
from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    config = b'[[gates]]\nname = "never"\nrun = "exit 4"\n[tdd]\ntest = "true"\n'
    repo.write(".git-atomic.toml", config)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "gates")
    return repo


# Each tool's failure: its arguments, and whether it ran and failed (exit 1, rolled back or
# judged: the result is structured) rather than being refused (nothing done: one line).
FAILURES: list[tuple[str, dict[str, Any], bool]] = [
    ("undo", {}, False),  # nothing to undo yet
    ("abort", {}, False),  # no operation open
    ("checkpoint", {"message": "m"}, False),
    ("commit", {}, False),
    ("recover", {"accept": "maybe"}, False),  # nothing interrupted is no failure
    ("rollback", {"op": "ffffffff"}, False),
    ("show", {"id": "ffffffff"}, False),
    ("log", {"status": "finished"}, False),  # no such status: the schema's enum
    ("status", {"repo": "/no/such/folder"}, False),
    ("begin", {"name": ""}, False),
    ("run", {"command": ["sh", "-c", "exit 3"]}, True),
    ("gates", {"run": True}, True),
    ("tdd", {"phase": "red"}, True),  # the tests pass: RED needs them to fail
]


def test_every_tools_failure_is_a_tool_error_that_fits_its_schema(repo: GitRepo) -> None:
    assert {tool for tool, _, _ in FAILURES} == set(TOOLS)
    lines = Lines(repo)
    try:
        lines.hello()
        for ident, (tool, arguments, ran) in enumerate(FAILURES, 1):
            lines.call(ident, tool, **arguments)
            answer = lines.receive(60)  # its structuredContent checked against the schema
            assert answer is not None and answer["id"] == ident, (tool, answer)
            assert "error" not in answer, (tool, answer)
            result = answer["result"]
            assert result["isError"] is True, (tool, result)
            line = result["content"][0]["text"]
            assert line and "\n" not in line and "Traceback" not in line, (tool, line)
            structured = result.get("structuredContent")
            assert (structured is not None) == ran, (tool, result)
            if structured is not None:
                assert structured["failure"] == line and structured["exit_code"] == 1, tool
                assert json.loads(result["content"][1]["text"]) == structured, tool
    finally:
        assert "Traceback" not in lines.close()
    assert repo.atomic_json("status")["open"] is None


def test_a_commands_output_reaches_the_agent(repo: GitRepo) -> None:
    """What `run`'s and `tdd`'s command printed (the CLI passes it on to its stderr, as its
    stdout is the JSON) was dropped: an agent that ran its build or its tests through the
    server saw an exit code and never the error. It is `output`, stdout and stderr as they
    came, in the result that ran, failed or not; a long one is its end, cut at a line, and
    `output_truncated` says how much of how much."""
    lines = Lines(repo)
    printed = "echo to-out; echo to-err >&2"
    many = "i=0; while [ $i -lt 4000 ]; do echo line-$i-of-the-tests-output; i=$((i+1)); done"
    calls: list[tuple[str, dict[str, Any]]] = [
        ("run", {"command": ["sh", "-c", printed]}),
        ("run", {"command": ["sh", "-c", f"{printed}; exit 5"]}),
        ("tdd", {"phase": "green", "command": ["sh", "-c", printed]}),
        ("run", {"command": ["sh", "-c", many]}),
    ]
    got: list[dict[str, Any]] = []
    try:
        lines.hello()
        for ident, (tool, arguments) in enumerate(calls, 1):
            lines.call(ident, tool, **arguments)
            answer = lines.receive(60)
            assert answer is not None and answer["id"] == ident, answer
            got.append(answer["result"]["structuredContent"])
    finally:
        assert "Traceback" not in lines.close()
    for result in got[:3]:
        assert result["output"] == "to-out\nto-err\n", result
        assert "output_truncated" not in result
    assert got[1]["exit_code"] == 1 and got[1]["command"]["exit_code"] == 5
    long = got[3]
    assert long["output"].endswith("line-3999-of-the-tests-output\n")
    assert long["output"].startswith("line-") and len(long["output"]) <= 20_000
    total = sum(len(f"line-{i}-of-the-tests-output\n") for i in range(4000))
    cut = {"shown_chars": len(long["output"]), "total_chars": total}
    assert long["output_truncated"] == cut, long["output_truncated"]


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_a_chatty_commands_output_is_not_held_whole(repo: GitRepo) -> None:
    """The server kept all a command printed in memory (and then a copy or two while it made
    a string of it), though a result shows only its end: a command that prints without end
    grew the server until the system killed it. It keeps the end, and counts the rest."""
    lines = Lines(repo, forked=False)
    size = 12_000_000
    try:
        lines.hello()
        lines.call(1, "status")
        assert lines.receive(60) is not None
        before = _peak_kib(lines.server.pid)
        chatty = f"head -c {size} /dev/zero | tr '\\0' 'x'; echo; echo the-end"
        lines.call(2, "run", command=["sh", "-c", chatty])
        answer = lines.receive(120)
        grew = _peak_kib(lines.server.pid) - before
    finally:
        assert "Traceback" not in lines.close()
    assert answer is not None, "no answer"
    result = answer["result"]["structuredContent"]
    assert result["output"] == "the-end\n", result["output"][:100]
    cut = {"shown_chars": len("the-end\n"), "total_chars": size + len("\nthe-end\n")}
    assert result["output_truncated"] == cut
    assert grew < 16_000, f"the server grew by {grew} KiB for {size // 1000} KB of output"


def test_arguments_sent_as_the_json_text_of_an_object_are_taken_as_meant(repo: GitRepo) -> None:
    """Some clients send a call's whole `arguments` as its JSON text (python-sdk issue 820),
    which the SDK refused as a protocol error (-32602), an answer clients do not pass on to
    the model, so it could not even correct itself. The text of an object, or a blank one (no
    arguments), is that object; anything else is still refused, saying why."""
    lines = Lines(repo)
    sent: list[object] = ['{"n": 1, "status": "committed"}', "", "  {} ", "[1]", "{nope"]
    try:
        lines.hello()
        for ident, arguments in enumerate(sent, 1):
            params = {"name": "log", "arguments": arguments}
            lines.send({"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})
        answers = [lines.receive(60) for _ in sent]
    finally:
        assert "Traceback" not in lines.close()
    by_id = {a["id"]: a for a in answers if a is not None}
    for ident in (1, 2, 3):
        result = by_id[ident]["result"]
        assert result["isError"] is False and result["structuredContent"]["operations"] == []
    for ident in (4, 5):
        error = by_id[ident]["error"]
        assert error["code"] == -32602 and "params.arguments" in error["message"], error


def test_an_error_is_one_line_whatever_its_arguments_hold(repo: GitRepo, tmp_path: Path) -> None:
    """A `repo` with a newline (no such folder, or a real one outside the worktree's bounds),
    and a run named with one that fails, answered with an error of two lines: a client that
    shows the first line showed half of it. Each control character is now written `\\x0a`, in
    the line and in `failure`, which stay the same."""
    odd = tmp_path / "a\nb"
    odd.mkdir()
    calls: list[tuple[str, dict[str, Any]]] = [
        ("status", {"repo": "no\nsuch"}),
        ("log", {"repo": str(odd)}),  # a folder, not a repository: the CLI's own line
        ("run", {"command": ["false"], "name": "two\nlines"}),
        ("run", {"command": ["sh", "-c", "exit 9"], "name": "x" * 300 + "\n"}),
    ]
    got = []
    lines = Lines(repo)
    try:
        lines.hello()
        for ident, (tool, arguments) in enumerate(calls, 1):
            lines.call(ident, tool, **arguments)
            answer = lines.receive(60)
            assert answer is not None and "result" in answer, answer
            got.append(answer["result"])
    finally:
        assert "Traceback" not in lines.close()
    for result, (tool, arguments) in zip(got, calls, strict=True):
        line = result["content"][0]["text"]
        assert result["isError"] is True and line.isprintable(), (tool, arguments, line)
        if "structuredContent" in result:
            assert result["structuredContent"]["failure"] == line
            assert json.loads(result["content"][1]["text"]) == result["structuredContent"]
    assert "no\\x0asuch" in got[0]["content"][0]["text"]
    assert "two\\x0alines [" in got[2]["content"][0]["text"]
    assert "(301 characters)" in got[3]["content"][0]["text"]


def test_progress_says_what_the_command_printed_last(repo: GitRepo) -> None:
    """A long run's progress said only for how long it had run; it names the last line its
    command printed (one line, its end where long), so a client shows a test run moving."""
    lines = Lines(repo)
    line = "echo step-one; printf 'x\\033[2Kpartial'; sleep 1.6; echo step-two"
    params = {
        "name": "run",
        "arguments": {"command": ["sh", "-c", line], "no_gates": True},
        "_meta": {"progressToken": "tok"},
    }
    said: list[str] = []
    try:
        lines.hello()
        lines.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
        while (message := lines.receive(60)) is not None and "id" not in message:
            assert message["method"] == "notifications/progress", message
            said.append(message["params"]["message"])
        assert message is not None and message["result"]["isError"] is False, message
    finally:
        assert "Traceback" not in lines.close()
    assert said, "no progress"
    # A tick comes in each second; the line stands for 1.6 s (the first may come before it).
    assert any(m.endswith("; last printed: x\\x1b[2Kpartial") for m in said), said
