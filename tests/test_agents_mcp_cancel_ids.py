"""`notifications/cancelled` names its request by id, and JSON-RPC's ids keep their type: the
string `"7"` and the number `7` are two ids. The SDK under the server takes a string of digits
for that number (its one table of calls in flight, and a second call of the same key overwrote
the first's entry there), so a cancel of one stopped the other. A cancel that lands once the
CLI child has finished, before the answer goes, still leaves the operation marked as this
server's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_adversary58_mcp_cancel import _cancel, _started

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _pinged(lines: Lines, ident: str) -> None:
    """Back once every line sent before is read: notifications are applied in order."""
    lines.send({"jsonrpc": "2.0", "id": ident, "method": "ping"})
    answer = lines.receive(30)
    assert answer == {"jsonrpc": "2.0", "id": ident, "result": {}}, answer


def _held(lines: Lines, ident: int | str, name: str, flag: Path, go: Path) -> None:
    """A `run` that creates `name` and holds its worktree until `go` exists."""
    line = f"echo {name} > {name}; touch {flag}; while [ ! -e {go} ]; do sleep 0.02; done"
    lines.call(ident, "run", command=["sh", "-c", line])  # type: ignore[arg-type]
    _started(flag)


def test_a_cancel_stops_the_call_of_its_id_only_string_or_number(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Cancel the number 7 while the string "7" waits behind it: 7 is rolled back, "7" runs and
    is answered with its own (string) id. Then the other way: cancel "08" (a string int() reads
    as 8) while 8 runs: "08" never runs, 8 is answered with the number 8."""
    go = tmp_path / "go"
    lines = Lines(repo)
    try:
        lines.hello()
        for ident in ("007", "-3", " 4", "git-atomic-string-id:5", "x"):
            _pinged(lines, ident)  # each answered with its id as sent
        lines.call("9", "no-such-tool")  # type: ignore[arg-type]
        refused = lines.receive(30)
        assert refused is not None and refused["id"] == "9", refused
        assert refused["error"]["code"] == -32602, refused
        _held(lines, 7, "number.txt", tmp_path / "n-started", go)
        lines.call("7", "run", command=["sh", "-c", "echo s > string.txt"])  # type: ignore[arg-type]
        _pinged(lines, "p1")
        _cancel(lines, 7)
        answer = lines.receive(30)
        assert answer is not None and answer["id"] == "7", answer
        assert answer["result"]["isError"] is False, answer
        assert lines.receive(0.3) is None  # nothing for the number 7
        assert (repo.path / "string.txt").exists() and not (repo.path / "number.txt").exists()

        _held(lines, 8, "eight.txt", tmp_path / "e-started", go := tmp_path / "go8")
        lines.call("08", "run", command=["sh", "-c", "echo s > oh-eight.txt"])  # type: ignore[arg-type]
        _pinged(lines, "p2")
        _cancel(lines, "08")
        _pinged(lines, "p3")
        go.touch()
        answer = lines.receive(30)
        assert answer is not None and answer["id"] == 8, answer
        assert answer["result"]["isError"] is False, answer
        assert lines.receive(0.3) is None  # nothing for "08"
    finally:
        assert "Traceback" not in lines.close()
    assert (repo.path / "eight.txt").exists() and not (repo.path / "oh-eight.txt").exists()
    ops: list[Any] = [op["status"] for op in repo.atomic_json("log")["operations"]]
    assert ops == ["committed", "committed", "rolled_back"], ops


def test_a_cancelled_call_still_marks_what_it_made(repo: GitRepo, tmp_path: Path) -> None:
    """The CLI child's answer is read even when the call is cancelled: a cancel that came while
    the child was finishing (or once it had finished, before the answer went) left the
    operation it made unmarked, so another MCP server could commit, abort or take it back as
    its own. Here a `run` cancelled while its command runs: rolled back, and this server's."""
    lines = Lines(repo)
    try:
        lines.hello()
        flag = tmp_path / "started"
        lines.call(1, "run", command=["sh", "-c", f"echo x > x.txt; touch {flag}; sleep 30"])
        _started(flag)
        _cancel(lines, 1)
        lines.call(2, "gates")  # queued behind the cancelled call: runs once it is done
        answer = lines.receive(30)
        assert answer is not None and answer["id"] == 2, answer
        ops = repo.atomic_json("log")["operations"]
        assert [op["status"] for op in ops] == ["rolled_back"], ops
        marks = repo.path / ".git" / "atomic" / "mcp-sessions"
        assert (marks / ops[0]["op_id"]).is_file(), sorted(p.name for p in marks.glob("*"))
    finally:
        assert "Traceback" not in lines.close()
    assert not (repo.path / "x.txt").exists()


# Strings int() reads as 7 (an Arabic-Indic seven among them), other numbers and strings.
IDS: list[int | str] = [7, "7", "07", "+7", " 7", "7_0", 70, "-7", -7, "x", "", "\u0667"]
IDS += ["git-atomic-string-id:7", "git-atomic-string-id:git-atomic-string-id:7"]


def test_distinct_ids_stay_distinct_for_the_sdk_and_come_back_as_sent() -> None:
    """Each id a client may send (numbers, strings `int()` reads, however written, strings
    that look like our mark) reaches the SDK as a key no other id shares once it reads digits
    as numbers, a cancel naming it reaches the same key, and its answer carries it as sent."""
    import json

    import anyio
    import mcp_types as types
    from mcp.shared.dispatcher import coerce_request_id
    from mcp.shared.message import SessionMessage

    from git_atomic.agents import mcp_ids

    def inbound(message: dict[str, Any]) -> dict[str, Any]:
        read: dict[str, Any] = json.loads(mcp_ids.inbound(json.dumps(message) + "\n"))
        return read

    keys: dict[object, int | str] = {}
    for ident in IDS:
        asked = inbound({"jsonrpc": "2.0", "id": ident, "method": "ping"})["id"]
        cancel = {"requestId": ident}
        named = inbound({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel})
        assert named["params"]["requestId"] == asked, ident
        keys[coerce_request_id(asked)] = ident
        response = inbound({"jsonrpc": "2.0", "id": ident, "result": {}})
        assert response["id"] == ident  # a response's id is the server's own: as it is
    assert len(keys) == len(IDS), keys
    escaped = '{"jsonrpc": "2.0", "\\u0069d": "7", "method": "ping"}'  # the key "id", escaped
    assert json.loads(mcp_ids.inbound(escaped))["id"] == "git-atomic-string-id:7"

    async def answered() -> list[object]:
        send, receive = anyio.create_memory_object_stream[Any](len(IDS) * 2)
        async with mcp_ids.Unmarking(send) as answers:
            for ident in IDS:
                marked = inbound({"jsonrpc": "2.0", "id": ident, "method": "ping"})["id"]
                result = types.JSONRPCResponse(jsonrpc="2.0", id=marked, result={})
                error = types.ErrorData(code=-32602, message="no")
                failed = types.JSONRPCError(jsonrpc="2.0", id=marked, error=error)
                await answers.send(SessionMessage(message=result))
                await answers.send(SessionMessage(message=failed))
        return [item.message.id async for item in receive]

    assert anyio.run(answered) == [i for ident in IDS for i in (ident, ident)]


def test_an_initialize_written_with_escapes_agrees_as_the_plain_one(repo: GitRepo) -> None:
    """JSON lets a string be written with escapes (`"\\u0069nitialize"`): the SDK reads that
    `initialize`, but the server, looking for the plain word, did not note the revision it
    agreed (2025-06-18, which has no batches), and a batch after it was served."""
    lines = Lines(repo)
    try:
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "lines", "version": "1"},
        }
        text = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        lines.send(text.replace('"initialize"', '"\\u0069nitialize"'))
        agreed = lines.receive(30)
        assert agreed is not None and agreed["result"]["protocolVersion"] == "2025-06-18"
        lines.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        lines.send(json.dumps([{"jsonrpc": "2.0", "id": 9, "method": "ping"}]))
        refused = lines.receive(30)
        assert refused is not None and refused["id"] is None, refused
        assert refused["error"]["code"] == -32600 and "batch" in refused["error"]["message"]
    finally:
        assert "Traceback" not in lines.close()
