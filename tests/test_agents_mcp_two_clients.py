"""Two MCP clients on one worktree, each with its own server process (two agents, or an agent
and an editor): neither finishes or steps back the operation the other opened.

Real server processes on pipes, raw JSON-RPC; oracles read the files on disk and the journal
through the CLI.
"""

from __future__ import annotations

import subprocess
from itertools import count
from typing import Any

import pytest

from testing.agents import Lines
from testing.gitrepo import GitRepo

_ids = count(1)


def call(lines: Lines, tool: str, **arguments: Any) -> dict[str, Any]:
    ident = next(_ids)
    lines.call(ident, tool, **arguments)
    answer = lines.receive(60) or {}
    assert answer.get("id") == ident, answer
    result: dict[str, Any] = answer["result"]
    return result


def text(result: dict[str, Any]) -> str:
    return str(result["content"][0]["text"])


@pytest.fixture
def repo(tmp_path: Any) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("abort", {}),
        ("commit", {"no_gates": True}),
        ("checkpoint", {"message": "not mine"}),
        ("rollback", {}),
        ("undo", {}),
    ],
)
def test_another_sessions_open_operation_is_not_finished_or_stepped_back(
    repo: GitRepo, tool: str, arguments: dict[str, Any]
) -> None:
    """Agent A opened an operation with begin and wrote a file; agent B, another client with
    its own server on the same worktree, called abort and A's work was taken back (or commit,
    and it was made final half done, or checkpoint, a stage of A's in B's words). Now each is
    refused while A's server runs, and nothing changes: A's file is there, its operation
    open, and A finishes it itself."""
    first, second = Lines(repo), Lines(repo)
    try:
        first.hello()
        second.hello()
        opened = call(first, "begin", name="a-work")
        assert not opened.get("isError"), text(opened)
        op_id = opened["structuredContent"]["op_id"]
        repo.write("a.txt", b"agent A's work\n")
        refused = call(second, tool, **arguments)
        assert refused.get("isError") is True, refused
        line = text(refused)
        assert f"a-work [{op_id}] was opened by another MCP session" in line, line
        assert "nothing was changed" in line and "\n" not in line
        assert repo.read("a.txt") == b"agent A's work\n"
        still = call(second, "status")["structuredContent"]["open"]
        assert still is not None and still["op_id"] == op_id
        assert still["checkpoints"]["op_exec"] == []
        done = call(first, "commit", no_gates=True)
        assert not done.get("isError"), text(done)
    finally:
        first.close()
        second.close()
    assert repo.read("a.txt") == b"agent A's work\n"
    [latest] = repo.atomic_json("log", "-n", "1")["operations"]
    assert (latest["op_id"], latest["status"]) == (op_id, "committed")


def test_an_operation_whose_session_is_gone_is_anyones_again(repo: GitRepo) -> None:
    """A client that closed with its operation open (its server gone) leaves it to the next
    session, as one opened on the command line is: B aborts it, and A's file goes."""
    first = Lines(repo)
    try:
        first.hello()
        assert not call(first, "begin", name="left-open").get("isError")
        repo.write("a.txt", b"left behind\n")
    finally:
        first.close()
    second = Lines(repo)
    try:
        second.hello()
        aborted = call(second, "abort")
    finally:
        second.close()
    assert not aborted.get("isError"), text(aborted)
    assert not repo.exists("a.txt")


def test_a_pid_another_process_took_since_is_not_the_session(repo: GitRepo) -> None:
    """A marker names its server by pid: once that server was gone and another process had
    the pid (pids are reused), the operation stayed another session's for as long as that
    process ran. The marker holds when the server started too: another process with the pid
    did not start then."""
    first = Lines(repo, forked=False)  # killed, its pid compared
    try:
        first.hello()
        assert not call(first, "begin", name="left-open").get("isError")
        repo.write("a.txt", b"left behind\n")
    finally:
        first.server.kill()  # gone without a word: its marker stays
        first.close()
    [marker] = (repo.path / ".git" / "atomic" / "mcp-sessions").iterdir()
    pid, *started = marker.read_text().split()
    assert pid == str(first.server.pid)
    reused = subprocess.Popen(["sleep", "60"])  # alive, with a pid the server's is not
    try:
        marker.write_text(" ".join([str(reused.pid), *started]) + "\n")
        second = Lines(repo)
        try:
            second.hello()
            aborted = call(second, "abort")
        finally:
            second.close()
    finally:
        reused.kill()
        reused.wait()
    assert not aborted.get("isError"), text(aborted)
    assert not repo.exists("a.txt")


def test_the_session_that_opened_it_steps_back_in_it(repo: GitRepo) -> None:
    """The marker keeps others out, not the session itself: its checkpoint and rollback
    inside its operation work while another server runs beside it."""
    first, second = Lines(repo), Lines(repo)
    try:
        first.hello()
        second.hello()
        assert not call(first, "begin", name="mine").get("isError")
        assert not call(second, "status").get("isError")
        repo.write("a.txt", b"step 1\n")
        assert not call(first, "checkpoint", message="one").get("isError")
        repo.write("a.txt", b"step 2\n")
        back = call(first, "rollback")
        assert not back.get("isError"), text(back)
        assert repo.read("a.txt") == b"step 1\n"
        assert not call(first, "abort").get("isError")
    finally:
        first.close()
        second.close()
    assert not repo.exists("a.txt")


def test_another_sessions_operation_is_not_taken_back_unless_named(repo: GitRepo) -> None:
    """`rollback` with no arguments takes back the newest operation, and `undo` brings back
    what the last rollback took: in a worktree two agents share, those were the other one's
    (its `run` taken back, its abort's work brought back). Each is refused while that session
    runs; an operation named with `op` is taken back, as asked."""
    first, second = Lines(repo), Lines(repo)
    try:
        first.hello()
        second.hello()
        command = ["sh", "-c", "echo A > a.txt"]
        made = call(first, "run", command=command, no_gates=True)
        assert not made.get("isError"), text(made)
        op_id = made["structuredContent"]["op_id"]
        newest = call(second, "rollback")
        assert newest.get("isError") is True
        assert f"the newest operation, sh [{op_id}], was made by another MCP session" in (
            text(newest)
        )
        assert repo.read("a.txt") == b"A\n"
        looked = call(second, "rollback", dry_run=True)  # changes nothing: anyone may look
        assert not looked.get("isError"), text(looked)
        assert looked["structuredContent"]["changes"] == [{"path": "a.txt", "action": "delete"}]
        named = call(second, "rollback", op=op_id)
        assert not named.get("isError"), text(named)
        assert not repo.exists("a.txt")
        assert not call(second, "undo").get("isError")  # its own rollback: brought back
        assert repo.read("a.txt") == b"A\n"

        assert not call(first, "begin", name="a-work").get("isError")
        repo.write("b.txt", b"A's work\n")
        assert not call(first, "abort").get("isError")
        assert not repo.exists("b.txt")
        back = call(second, "undo")
        assert back.get("isError") is True
        assert "the last rollback took back a-work [" in text(back), text(back)
        assert not repo.exists("b.txt")
        assert not call(first, "undo").get("isError")
    finally:
        first.close()
        second.close()
    assert repo.read("b.txt") == b"A's work\n"
