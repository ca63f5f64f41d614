"""The MCP server held to the specification's lifecycle (2025-06-18, 2025-11-25), driven as raw
JSON-RPC lines: what may come before `initialize` and `notifications/initialized`, version
negotiation, the capabilities it declares against the methods it answers, and ids."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _hello(version: str, **capabilities: Any) -> dict[str, Any]:
    params = {
        "protocolVersion": version,
        "capabilities": capabilities,
        "clientInfo": {"name": "lines", "version": "1"},
    }
    return {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}


def _next(lines: Lines, timeout: float = 30) -> dict[str, Any]:
    answer = lines.receive(timeout)
    assert answer is not None, "no answer"
    return answer


def test_no_request_to_the_client_before_it_says_initialized(repo: GitRepo) -> None:
    """The server SHOULD NOT send requests other than pings and logging before it receives
    `notifications/initialized`: a client that declares roots and calls a tool at once (after
    the server answered `initialize`, which MCP allows) was sent `roots/list` first."""
    lines = Lines(repo)
    try:
        lines.send(_hello("2025-06-18", roots={"listChanged": True}))
        assert _next(lines)["id"] == 0
        lines.call(1, "status")
        early = lines.receive(1.0)
        assert early is None, early  # neither roots/list nor an answer yet
        lines.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        ask = _next(lines)
        assert ask.get("method") == "roots/list", ask
        lines.send({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": []}})
        answer = _next(lines)
        assert answer["id"] == 1 and answer["result"]["isError"] is False, answer
    finally:
        assert "Traceback" not in lines.close()


def test_the_lifecycle_and_ids_as_the_specification_says(repo: GitRepo) -> None:
    """Ping before initialize is answered; other requests before it are refused; a version the
    server does not know is answered with the latest it speaks, and a known one as asked; the
    capabilities declared are the methods served (tools, no logging, resources or prompts);
    string and number ids, a notification's method sent with an id (a request, unknown), a
    response to no request of ours, and a line that is no JSON, each as JSON-RPC says."""
    lines = Lines(repo)
    try:
        lines.send({"jsonrpc": "2.0", "id": "early", "method": "ping"})
        assert _next(lines) == {"jsonrpc": "2.0", "id": "early", "result": {}}
        lines.send({"jsonrpc": "2.0", "id": "list", "method": "tools/list"})
        refused = _next(lines)
        assert refused["id"] == "list" and refused["error"]["code"] == -32602, refused
        lines.send(_hello("1999-01-01"))
        hello = _next(lines)["result"]
        assert hello["protocolVersion"] == "2025-11-25", hello
        assert set(hello["capabilities"]) == {"tools"}, hello["capabilities"]
        lines.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        asks = {"logging/setLevel": {"level": "debug"}, "resources/list": {}, "prompts/list": {}}
        for method, params in asks.items():
            lines.send({"jsonrpc": "2.0", "id": method, "method": method, "params": params})
            answer = _next(lines)
            assert answer["id"] == method and answer["error"]["code"] == -32601, answer
        lines.send({"jsonrpc": "2.0", "id": 5, "method": "notifications/cancelled"})
        assert _next(lines)["error"]["code"] == -32601
        lines.send({"jsonrpc": "2.0", "id": 999, "result": {}})  # answers nothing we asked
        lines.send({"jsonrpc": "2.0", "id": 998, "error": {"code": 1, "message": "x"}})
        lines.send("{not json")
        parse = _next(lines)
        assert parse["id"] is None and parse["error"]["code"] == -32700, parse
        for ident in ("s", "", -7, 2**40):
            lines.send({"jsonrpc": "2.0", "id": ident, "method": "ping"})
            assert _next(lines) == {"jsonrpc": "2.0", "id": ident, "result": {}}
        lines.send({"jsonrpc": "2.0", "id": 1.5, "method": "ping"})
        assert _next(lines)["error"]["code"] == -32600
        lines.send(_hello("2025-06-18") | {"id": "again"})  # answered, never a crash
        assert _next(lines)["id"] == "again"
        lines.send({"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": {"cursor": "x"}})
        assert _next(lines)["error"]["code"] == -32602
        lines.call(7, "no-such-tool")
        unknown = _next(lines)
        assert unknown["error"]["code"] == -32602 and "status" in unknown["error"]["message"]
        lines.call(8, "status", bogus=1)
        tool_error = _next(lines)["result"]
        assert tool_error["isError"] is True and "bogus" in tool_error["content"][0]["text"]
    finally:
        assert "Traceback" not in lines.close()


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_a_version_the_server_speaks_is_the_one_agreed(repo: GitRepo, version: str) -> None:
    lines = Lines(repo)
    try:
        lines.send(_hello(version))
        assert _next(lines)["result"]["protocolVersion"] == version
    finally:
        lines.close()


def test_stdin_closed_inside_a_line_still_answers_it(repo: GitRepo) -> None:
    """The last message without its newline, then EOF: answered, and the server exits 0."""
    lines = Lines(repo)
    lines.hello()
    assert lines.server.stdin is not None
    lines.server.stdin.write(json.dumps({"jsonrpc": "2.0", "id": "end", "method": "ping"}).encode())
    lines.server.stdin.close()
    started = time.monotonic()
    assert _next(lines)["id"] == "end"
    assert lines.server.wait(20) == 0 and time.monotonic() - started < 20
    lines.close()


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25", "2099-01-01"])
def test_a_batch_at_a_revision_without_batches_is_refused_whole(
    repo: GitRepo, version: str
) -> None:
    """2025-06-18 removed JSON-RPC batching: a batch sent at that revision or a later one was
    run message by message (a `begin` in it opened an operation). It is refused whole, one
    `-32600` with id null, nothing in it done, and the server goes on serving."""
    lines = Lines(repo)
    try:
        lines.send(_hello(version))
        agreed = _next(lines)["result"]["protocolVersion"]
        lines.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        begin = {"name": "begin", "arguments": {"name": "batched"}}
        batch = [
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": begin},
            {"jsonrpc": "2.0", "id": 2, "method": "ping"},
        ]
        lines.send(json.dumps(batch))
        refused = _next(lines)
        assert refused["id"] is None and refused["error"]["code"] == -32600, refused
        assert "2025-06-18" in refused["error"]["message"] and agreed in refused["error"]["message"]
        lines.send("[not json")
        assert _next(lines)["error"]["code"] == -32700
        lines.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
        assert _next(lines) == {"jsonrpc": "2.0", "id": 3, "result": {}}
    finally:
        assert "Traceback" not in lines.close()
    assert repo.atomic_json("status")["open"] is None
    assert repo.atomic_json("log")["operations"] == []


def test_a_request_that_also_carries_a_result_or_an_error_is_answered(repo: GitRepo) -> None:
    """An object with a `method` and an `id` is a request, whatever else it carries: one with
    an `error` member too was taken for a response and never answered (one with a `result`
    was served), so its client waited for ever. A response with both is no request: no answer,
    and the server goes on."""
    lines = Lines(repo)
    try:
        lines.hello()
        lines.send('{"jsonrpc": "2.0", "id": 5, "method": "ping", "result": {}}')
        assert _next(lines, 5) == {"jsonrpc": "2.0", "id": 5, "result": {}}
        error = {"code": 1, "message": "x"}
        lines.send({"jsonrpc": "2.0", "id": 6, "method": "ping", "error": error})
        refused = _next(lines, 5)
        assert refused["id"] == 6 and refused["error"]["code"] == -32600, refused
        lines.send({"jsonrpc": "2.0", "id": 7, "result": {}, "error": error})
        lines.send({"jsonrpc": "2.0", "id": 8, "method": "ping"})
        assert _next(lines, 5) == {"jsonrpc": "2.0", "id": 8, "result": {}}
    finally:
        assert "Traceback" not in lines.close()


def test_an_initialize_refused_agrees_on_nothing(repo: GitRepo) -> None:
    """A session at 2025-03-26 takes batches; a second `initialize` the server refuses (its
    version no string) agrees on no revision, so batches are still taken after it (they were
    refused, as if a later revision had been agreed)."""
    lines = Lines(repo)
    try:
        lines.send(_hello("2025-03-26"))
        assert _next(lines)["result"]["protocolVersion"] == "2025-03-26"
        lines.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        bad = _hello("2025-11-25") | {"id": "bad"}
        bad["params"]["protocolVersion"] = 20251125
        lines.send(bad)
        assert _next(lines)["error"]["code"] == -32602
        lines.send(json.dumps([{"jsonrpc": "2.0", "id": 9, "method": "ping"}]))
        assert _next(lines) == {"jsonrpc": "2.0", "id": 9, "result": {}}
    finally:
        assert "Traceback" not in lines.close()
