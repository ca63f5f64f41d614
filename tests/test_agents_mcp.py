"""`git atomic mcp`: a real MCP client session over stdio (the SDK's client) calls every tool."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import TextContent

from git_atomic.agents import mcp_server
from git_atomic.errors import UsageError
from testing.gitrepo import GitRepo

TOOLS = {"begin", "checkpoint", "commit", "abort", "rollback", "undo", "status", "log", "show"}


def _field(obj: Any, snake: str, camel: str) -> Any:
    """mcp 2.x names result fields in snake_case, mcp 1.x in camelCase."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel)


def _text(result: Any) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent), result
    return first.text


class Session:
    def __init__(self, session: ClientSession) -> None:
        self.session = session

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """A tool's JSON result; fails the test if the call was an error."""
        result = await self.session.call_tool(tool, arguments)
        assert not _field(result, "is_error", "isError"), result
        data = _field(result, "structured_content", "structuredContent")
        if data is None:  # clients that only read text get the same object as JSON
            data = json.loads(_text(result))
        assert isinstance(data, dict) and isinstance(data["exit_code"], int), data
        return data

    async def error(self, tool: str, **arguments: Any) -> str:
        result = await self.session.call_tool(tool, arguments)
        assert _field(result, "is_error", "isError"), result
        return _text(result)


def serve(
    repo: GitRepo,
    script: Callable[[Session], Awaitable[None]],
    *,
    args: tuple[str, ...] = (),
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    argv: list[str] | None = None,
) -> None:
    """Start the server as Claude Code or any MCP client would, and run `script` against it."""
    params = StdioServerParameters(
        command=sys.executable,
        args=argv or ["-m", "git_atomic", "mcp", *args],
        env={**repo.env, **(env or {})},
        cwd=str(cwd or repo.path),
    )

    async def main() -> None:
        with anyio.fail_after(300):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                await script(Session(s))

    anyio.run(main)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def test_a_session_begins_checkpoints_commits_and_reads_the_trail(repo: GitRepo) -> None:
    async def script(s: Session) -> None:
        listed = await s.session.list_tools()
        assert {t.name for t in listed.tools} == TOOLS
        assert (await s.call("status"))["open"] is None

        begun = await s.call("begin", name="mcp-op")
        assert (begun["exit_code"], begun["status"], begun["name"]) == (0, "open", "mcp-op")
        repo.write("new.txt", b"new\n")
        stage = await s.call("checkpoint", message="stage 1")
        assert len(stage["checkpoints"]["op_exec"]) == 1
        assert (await s.call("status"))["open"]["op_id"] == begun["op_id"]

        done = await s.call("commit", gates=["true"])
        assert (done["exit_code"], done["status"]) == (0, "committed")
        assert [g["passed"] for g in done["gates"]] == [True]

        [latest] = (await s.call("log", n=1))["operations"]
        assert latest["op_id"] == begun["op_id"]
        committed = (await s.call("log", status="committed"))["operations"]
        assert [o["op_id"] for o in committed] == [begun["op_id"]]
        shown = await s.call("show", id=begun["op_id"])
        assert (shown["op_id"], shown["status"]) == (begun["op_id"], "committed")

        await s.call("begin", name="second", history="shadow")
        repo.write("two.txt", b"two\n")
        aborted = await s.call("abort")
        assert (aborted["exit_code"], aborted["status"]) == (0, "rolled_back")
        assert not repo.exists("two.txt") and repo.exists("new.txt")

        # Refusals and usage errors are results with their exit code, not failures.
        assert (await s.call("commit", no_gates=True))["exit_code"] == 2
        assert (await s.call("show", id="nosuchop"))["exit_code"] in (2, 3)

    serve(repo, script)


def test_a_failing_gate_rolls_back_through_mcp(repo: GitRepo) -> None:
    before = repo.fingerprint()

    async def script(s: Session) -> None:
        await s.call("begin", name="doomed")
        repo.write("README", b"changed\n")
        failed = await s.call("commit", gates=["false"])
        assert (failed["exit_code"], failed["status"]) == (1, "rolled_back")
        assert failed["failed_phase"] == "validate"

    serve(repo, script)
    assert repo.fingerprint().diff(before) == []


def test_rollback_and_undo_through_mcp(repo: GitRepo) -> None:
    async def script(s: Session) -> None:
        first = await s.call("begin", name="first")
        repo.write("new.txt", b"new\n")
        await s.call("commit", no_gates=True)
        state = repo.fingerprint()

        preview = await s.call("rollback", op=first["op_id"], dry_run=True)
        assert preview["exit_code"] == 0 and repo.fingerprint().diff(state) == []
        selective = await s.call(
            "rollback", to=first["checkpoints"]["pre_op"], paths=["new.txt"], dry_run=True
        )
        assert selective["exit_code"] == 0 and repo.exists("new.txt")

        rolled = await s.call("rollback", op=first["op_id"])
        assert rolled["exit_code"] == 0 and not repo.exists("new.txt")
        assert (await s.call("undo", dry_run=True))["exit_code"] == 0
        assert not repo.exists("new.txt")
        undone = await s.call("undo")
        assert (undone["exit_code"], undone["status"]) == (0, "undone")
        assert repo.fingerprint().diff(state) == []

        assert (await s.call("rollback"))["exit_code"] in (0, 2, 3)  # immediate: answered

    serve(repo, script)


def test_the_repository_comes_from_repo_or_the_environment(repo: GitRepo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    async def script(s: Session) -> None:
        assert (await s.call("begin", name="from-afar"))["exit_code"] == 0
        assert (await s.call("abort"))["exit_code"] == 0

    serve(repo, script, args=("--repo", str(repo.path)), cwd=elsewhere)
    serve(repo, script, env={"GIT_ATOMIC_REPO": str(repo.path)}, cwd=elsewhere)
    names = [o["name"] for o in repo.atomic_json("log")["operations"]]
    assert names == ["from-afar", "from-afar"]


def test_bad_arguments_and_a_cli_without_json_are_clear_errors(
    repo: GitRepo, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()

    async def script(s: Session) -> None:
        assert "must not start with '-'" in await s.error("begin", name="--help")
        assert "paths need `to`" in await s.error("rollback", paths=["README"])
        shutil.rmtree(gone)  # the CLI cannot even start there: no JSON comes back
        message = await s.error("status")
        assert "git-atomic status exited 3 without a JSON result" in message

    # Only this package's server code is involved: no CLI call succeeds here.
    serve(
        repo,
        script,
        cwd=tmp_path,
        argv=[
            "-c",
            "from git_atomic.agents.mcp_server import serve; from pathlib import Path; "
            f"raise SystemExit(serve(repo=Path({str(gone)!r})))",
        ],
    )


def test_without_the_sdk_serve_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (
        "mcp",
        "mcp.server",
        "mcp.server.mcpserver",
        "mcp.server.mcpserver.exceptions",
        "mcp.server.fastmcp",
        "mcp.server.fastmcp.exceptions",
    ):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(UsageError, match=r"pip install 'git-atomic\[mcp\]'"):
        mcp_server.serve()


def test_a_repository_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such directory"):
        mcp_server.repository(tmp_path / "nope")
    assert mcp_server.repository(None, {"GIT_ATOMIC_REPO": str(tmp_path)}) == tmp_path.resolve()
