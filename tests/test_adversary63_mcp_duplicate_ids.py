"""A request whose id is that of a request still in flight (JSON-RPC and MCP forbid it: an id
MUST NOT be reused within a session) is refused, -32600 with that id, and never run: the SDK
under the server kept one call per id, so both ran (a changing tool twice), both were answered
with the one id, and a cancel naming it reached the later call only, leaving the earlier one
uncancellable. An id reused once its request was answered names no call in flight, and is
served. A real server over stdio; the disk (the files each command makes) says what ran."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from test_adversary58_mcp_cancel import _cancel, _started

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _held(lines: Lines, ident: int | str, name: str, flag: Path, go: Path) -> None:
    """A `run` that creates `name` and holds its worktree until `go` exists."""
    line = f"echo {name} > {name}; touch {flag}; while [ ! -e {go} ]; do sleep 0.02; done"
    lines.call(ident, "run", command=["sh", "-c", line])  # type: ignore[arg-type]
    _started(flag)


def _refused(lines: Lines, ident: int | str, said: str = "still in flight") -> dict[str, Any]:
    answer = lines.receive(30)
    assert answer is not None and answer["id"] == ident and ident is not None, answer
    assert answer["error"]["code"] == -32600, answer
    assert said in answer["error"]["message"], answer
    assert "not run" in answer["error"]["message"], answer
    assert "\n" not in answer["error"]["message"], answer
    return answer


def _pinged(lines: Lines, ident: int | str) -> None:
    lines.send({"jsonrpc": "2.0", "id": ident, "method": "ping"})
    answer = lines.receive(30)
    assert answer == {"jsonrpc": "2.0", "id": ident, "result": {}}, answer


@pytest.mark.parametrize("ident", [7, "7", "job-1"])
def test_a_second_call_with_the_id_of_one_in_flight_is_refused_not_run(
    repo: GitRepo, tmp_path: Path, ident: int | str
) -> None:
    """`run` A holds its worktree; `run` B and a `begin` come with A's id: each is refused at
    once (its id as sent), B's file is never made, no operation is begun, and A, released, is
    answered once, with its own result."""
    go = tmp_path / "go"
    lines = Lines(repo)
    try:
        lines.hello()
        _held(lines, ident, "first.txt", tmp_path / "started", go)
        lines.call(ident, "run", command=["sh", "-c", "echo b > second.txt"])  # type: ignore[arg-type]
        _refused(lines, ident)
        lines.call(ident, "begin", name="twice")  # type: ignore[arg-type]
        _refused(lines, ident)
        lines.send({"jsonrpc": "2.0", "id": ident, "method": "ping"})  # any method
        _refused(lines, ident)
        _pinged(lines, {7: "7", "7": 7}.get(ident, "job-2"))  # another id: served
        go.touch()
        answer = lines.receive(60)
        assert answer is not None and answer["id"] == ident, answer
        assert answer["result"]["isError"] is False, answer
        assert answer["result"]["structuredContent"]["status"] == "committed", answer
        assert lines.receive(0.5) is None  # one answer for A, nothing more
    finally:
        assert "Traceback" not in lines.close()
    assert (repo.path / "first.txt").read_bytes() == b"first.txt\n"
    assert not (repo.path / "second.txt").exists()
    ops: list[Any] = [op["status"] for op in repo.atomic_json("log")["operations"]]
    assert ops == ["committed"], ops


def test_a_cancel_naming_an_id_sent_twice_stops_the_call_that_runs(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The duplicate is refused, so the cancel names one call: the one running, which is
    interrupted and rolled back (its file gone) and not answered; the server goes on."""
    go = tmp_path / "go"
    lines = Lines(repo)
    try:
        lines.hello()
        _held(lines, 5, "held.txt", tmp_path / "started", go)
        lines.call(5, "run", command=["sh", "-c", "echo d > dup.txt"])
        _refused(lines, 5)
        _cancel(lines, 5)
        _pinged(lines, "after-cancel")
        lines.call(6, "status")
        answer = lines.receive(60)  # status waits for nothing: answered once the rollback is
        assert answer is not None and answer["id"] == 6, answer
        assert lines.receive(0.5) is None  # nothing for 5
    finally:
        go.touch()
        assert "Traceback" not in lines.close()
    assert not (repo.path / "held.txt").exists() and not (repo.path / "dup.txt").exists()
    ops: list[Any] = [op["status"] for op in repo.atomic_json("log")["operations"]]
    assert ops == ["rolled_back"], ops


def test_an_id_reused_after_its_answer_is_served(repo: GitRepo) -> None:
    """Once its answer went, an id names no call in flight: a client that numbers again from 1
    (a script) is served, each call answered once; a call still in flight, refused its
    duplicate, frees its id with its answer."""
    lines = Lines(repo)
    try:
        lines.hello()
        for n in range(3):
            lines.call(1, "run", command=["sh", "-c", f"echo {n} > r{n}.txt"])
            answer = lines.receive(60)
            assert answer is not None and answer["id"] == 1, answer
            assert answer["result"]["isError"] is False, answer
        assert lines.receive(0.3) is None
    finally:
        assert "Traceback" not in lines.close()
    assert [(repo.path / f"r{n}.txt").read_bytes() for n in range(3)] == [b"0\n", b"1\n", b"2\n"]


def test_every_way_a_call_ends_frees_its_id(repo: GitRepo, tmp_path: Path) -> None:
    """An id stays in flight until its call is settled, and no longer: refused by the protocol
    (an unknown tool), failed (isError), cancelled (never answered: free once its rollback has
    finished, refused while it runs). None of them leaves its id taken for good."""
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(9, "no-such-tool")
        assert (lines.receive(30) or {})["error"]["code"] == -32602
        lines.call(10, "log", n="many")
        assert (lines.receive(30) or {})["result"]["isError"] is True
        for ident in (9, 10):
            _pinged(lines, ident)  # each answered: free again
        flag, done = tmp_path / "started", tmp_path / "trapped"
        # A command whose SIGINT takes a while: the rollback waits for it.
        line = f"trap 'sleep 1; touch {done}; exit 1' INT; echo x > x.txt; touch {flag}; "
        line += "while :; do sleep 0.02; done"
        lines.call(11, "run", command=["sh", "-c", line])
        _started(flag)
        _cancel(lines, 11)
        lines.send({"jsonrpc": "2.0", "id": 11, "method": "ping"})
        _refused(lines, 11, "still being rolled back")  # its id is still in flight
        _started(done)
        for _ in range(200):  # free once the call has ended (its rollback done)
            lines.send({"jsonrpc": "2.0", "id": 11, "method": "ping"})
            answer = lines.receive(30)
            assert answer is not None and answer["id"] == 11, answer
            if "result" in answer:
                break
            assert answer["error"]["code"] == -32600, answer
            time.sleep(0.05)
        assert answer == {"jsonrpc": "2.0", "id": 11, "result": {}}, answer
    finally:
        assert "Traceback" not in lines.close()
    assert not (repo.path / "x.txt").exists()
    ops: list[Any] = [op["status"] for op in repo.atomic_json("log")["operations"]]
    assert ops == ["rolled_back"], ops


META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
}


def test_the_2026_era_refuses_a_duplicate_id_the_same(repo: GitRepo, tmp_path: Path) -> None:
    """No `initialize`: `server/discover`, each request with its envelope in `_meta`. A
    second `run` with the id of one running is refused, never run, as in the handshake era."""
    go = tmp_path / "go"
    lines = Lines(repo)

    def run(ident: int, line: str) -> None:
        params = {"name": "run", "arguments": {"command": ["sh", "-c", line]}, "_meta": META}
        lines.send({"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})

    try:
        lines.send(
            {"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": META}}
        )
        assert "result" in (lines.receive(30) or {})
        flag = tmp_path / "started"
        run(3, f"echo a > first.txt; touch {flag}; while [ ! -e {go} ]; do sleep 0.02; done")
        _started(flag)
        run(3, "echo b > second.txt")
        _refused(lines, 3)
        go.touch()
        answer = lines.receive(60)
        assert answer is not None and answer["id"] == 3, answer
        assert answer["result"]["isError"] is False, answer
        assert lines.receive(0.5) is None
    finally:
        go.touch()
        assert "Traceback" not in lines.close()
    assert repo.exists("first.txt") and not repo.exists("second.txt")
