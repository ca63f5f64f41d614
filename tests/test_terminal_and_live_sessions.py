"""A command typed in a terminal and another live session's work (commands/theirs.py).

The MCP servers refused each other's operations, but `git atomic abort` (commit, checkpoint)
typed in a terminal took back an operation an MCP session still had open, a bare `rollback`
took back the newest operation, another live server's or a kept agent turn whose session
was working on top of it, and `undo` brought back what such a session had rolled back: each
without a word. Now each is refused (exit 3, nothing changed, the line names whose it is and
how to name it); naming it (`rollback --op ID`) does it, a dry run looks, the server's own
commands (GIT_ATOMIC_MCP_SERVER) and an agent's own shell call go on, and once that server
is gone its operations are anyone's again. Oracles: the bytes on disk."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo


@pytest.fixture
def server() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that plays an MCP server which marked an operation."""
    proc = subprocess.Popen(["sleep", "120"])
    yield proc
    proc.kill()
    proc.wait()


def _mark(repo: GitRepo, op_id: str, pid: int) -> None:
    """What a server's `mcp_owners.mark` writes: its pid and its start."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        start = stat.read().rpartition(b")")[2].split()[19].decode()
    folder = repo.path / ".git" / "atomic" / "mcp-sessions"
    folder.mkdir(exist_ok=True)
    (folder / op_id).write_text(f"{pid} {start}\n")


def _begin(repo: GitRepo, name: str) -> str:
    op_id: str = repo.atomic_json("begin", name)["op_id"]
    return op_id


AGENTS_SHELL = {"CLAUDECODE": "1"}  # another agent's shell call (Claude Code's variable)


@pytest.mark.parametrize("verb", ["abort", "commit", "checkpoint", "rollback"])
def test_the_open_operation_of_a_live_mcp_session_is_refused_to_an_agent(
    repo: GitRepo, server: subprocess.Popen[bytes], verb: str
) -> None:
    op_id = _begin(repo, "their-work")
    _mark(repo, op_id, server.pid)
    repo.write("README", b"their edit\n")
    done = repo.atomic(verb, check=3, env=AGENTS_SHELL)
    assert f"[{op_id}]" in done.stderr and f"server pid {server.pid}" in done.stderr
    assert "nothing was changed" in done.stderr and "Traceback" not in done.stderr
    assert repo.read("README") == b"their edit\n"
    assert repo.atomic_json("status")["open"]["op_id"] == op_id
    # The server's own command goes on.
    repo.atomic(verb, check=0, env={"GIT_ATOMIC_MCP_SERVER": str(server.pid)})


@pytest.mark.parametrize("verb", ["abort", "commit", "checkpoint"])
def test_the_open_operation_finished_in_a_terminal_is_said(
    repo: GitRepo, server: subprocess.Popen[bytes], verb: str
) -> None:
    """Typed by you, they name the one open operation there is: done, and said whose it was."""
    op_id = _begin(repo, "their-work")
    _mark(repo, op_id, server.pid)
    repo.write("README", b"their edit\n")
    done = repo.atomic(verb, check=0)
    assert f"[{op_id}] was opened by an MCP session (server pid {server.pid})" in done.stderr
    assert (repo.read("README") == b"their edit\n") == (verb != "abort")


def test_a_bare_rollback_of_a_live_mcp_sessions_open_operation_is_refused(
    repo: GitRepo, server: subprocess.Popen[bytes]
) -> None:
    op_id = _begin(repo, "their-work")
    _mark(repo, op_id, server.pid)
    repo.write("README", b"their edit\n")
    done = repo.atomic("rollback", check=3)
    assert f"git atomic rollback --op {op_id}" in done.stderr
    assert repo.read("README") == b"their edit\n"


def test_the_open_operation_is_anyones_once_its_server_is_gone(
    repo: GitRepo, server: subprocess.Popen[bytes]
) -> None:
    op_id = _begin(repo, "their-work")
    _mark(repo, op_id, server.pid)
    repo.write("README", b"their edit\n")
    repo.atomic("abort", check=3, env=AGENTS_SHELL)
    server.kill()
    server.wait()
    done = repo.atomic("abort", check=0, env=AGENTS_SHELL)
    assert "MCP session" not in done.stderr
    assert repo.read("README") != b"their edit\n"


def test_a_bare_rollback_of_a_live_mcp_sessions_operation_asks_for_its_name(
    repo: GitRepo, server: subprocess.Popen[bytes]
) -> None:
    op_id = _begin(repo, "their-work")
    repo.write("made.txt", b"theirs\n")
    repo.atomic("commit", "--no-gates", check=0)
    _mark(repo, op_id, server.pid)
    done = repo.atomic("rollback", check=3)
    assert f"git atomic rollback --op {op_id}" in done.stderr
    assert repo.read("made.txt") == b"theirs\n"
    assert repo.atomic_json("rollback", "--dry-run")["op_id"] == op_id  # looking is anyone's
    repo.atomic("rollback", "--op", op_id, check=0)  # named: asked for
    assert not repo.exists("made.txt")
    repo.atomic("undo", check=0)  # the named rollback's undo is the namer's
    assert repo.read("made.txt") == b"theirs\n"


def test_undo_of_a_live_mcp_sessions_abort_is_refused(
    repo: GitRepo, server: subprocess.Popen[bytes]
) -> None:
    op_id = _begin(repo, "their-work")
    _mark(repo, op_id, server.pid)
    repo.write("README", b"their edit\n")
    repo.atomic("abort", check=0, env={"GIT_ATOMIC_MCP_SERVER": str(server.pid)})
    undone = repo.atomic("undo", check=3)
    assert f"[{op_id}]" in undone.stderr and "nothing was changed" in undone.stderr
    assert repo.read("README") != b"their edit\n"
    server.kill()
    server.wait()
    repo.atomic("undo", check=0)
    assert repo.read("README") == b"their edit\n"


def _kept_turn(repo: GitRepo, session: str, path: str, data: bytes, n: int) -> None:
    call = {"tool_name": "Write", "tool_input": {"file_path": str(repo.path / path)}}
    call["tool_use_id"] = f"t{n}"
    claude_hook(repo, session, "PreToolUse", **call)
    repo.write(path, data)
    claude_hook(repo, session, "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, session, "Stop").stdout or "{}")
    assert "decision" not in answer, answer


def test_a_bare_rollback_of_a_kept_turn_whose_session_works_on_asks_for_its_name(
    repo: GitRepo,
) -> None:
    _kept_turn(repo, "s1", "turn1.txt", b"first turn\n", 1)
    [op] = repo.atomic_json("log")["operations"]
    # The session's next turn is open: it works on top of the one kept.
    call = {"tool_name": "Write", "tool_input": {"file_path": str(repo.path / "turn2.txt")}}
    claude_hook(repo, "s1", "PreToolUse", **call, tool_use_id="t2")
    done = repo.atomic("rollback", check=3)
    assert "agent session s1" in done.stderr and f"--op {op['op_id']}" in done.stderr
    assert repo.read("turn1.txt") == b"first turn\n"
    # The agent's own shell call may take back its own session's turn.
    own = {"CLAUDECODE": "1"}
    shell = {"tool_name": "Bash", "tool_input": {"command": "git atomic rollback"}}
    claude_hook(repo, "s1", "PostToolUse", **call, tool_use_id="t2")
    claude_hook(repo, "s1", "PreToolUse", **shell, tool_use_id="t3")
    repo.atomic("rollback", check=0, env=own)
    assert not repo.exists("turn1.txt")


def test_a_bare_rollback_of_a_kept_turn_whose_session_has_ended_goes_on(repo: GitRepo) -> None:
    """The usual case: you take back what the agent's last turn did, nothing of it open."""
    _kept_turn(repo, "s1", "turn1.txt", b"first turn\n", 1)
    repo.atomic("rollback", check=0)
    assert not repo.exists("turn1.txt")
