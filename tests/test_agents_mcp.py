"""`git atomic mcp`: a real MCP client session over stdio (the official SDK's client).

Every structuredContent the server returns, success or error, is checked against the tool's
declared outputSchema (the SDK's client also checks successes itself).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from jsonschema import Draft202012Validator
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent

import git_atomic
from git_atomic.agents import CliResult, mcp_results, mcp_server
from git_atomic.agents.mcp_tools import TOOLS as TOOLS_BY_NAME
from git_atomic.cli.parser import MAX_LOG_COUNT
from git_atomic.core.errors import UsageError
from testing import agents, mcpfork
from testing.gitrepo import GitRepo
from testing.oracle import walk_exact

TOOLS = {
    "run",
    "begin",
    "checkpoint",
    "commit",
    "abort",
    "rollback",
    "undo",
    "status",
    "log",
    "show",
    "gates",
    "tdd",
    "recover",
}


def _text(result: Any) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent), result
    return first.text


class Session:
    def __init__(self, session: ClientSession, tools: dict[str, Any]) -> None:
        self.session = session
        self.tools = tools
        self.progress: list[tuple[float, str | None]] = []

    async def raw(self, tool: str, **arguments: Any) -> Any:
        async def progress(done: float, total: float | None, message: str | None) -> None:
            self.progress.append((done, message))

        result = await self.session.call_tool(tool, arguments, progress_callback=progress)
        if result.structured_content is not None:
            schema = self.tools[tool].output_schema
            errors = list(Draft202012Validator(schema).iter_errors(result.structured_content))
            assert not errors, (tool, [e.message for e in errors[:3]])
        return result

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """A tool's structured result; fails the test if the call was an error."""
        result = await self.raw(tool, **arguments)
        assert not result.is_error, _text(result)
        data = result.structured_content
        assert isinstance(data, dict) and data["exit_code"] == 0, data
        return data

    async def error(self, tool: str, **arguments: Any) -> str:
        """A failed call's one-line message."""
        result = await self.raw(tool, **arguments)
        assert result.is_error, result
        line = _text(result)
        assert "\n" not in line, line
        return line

    async def failed(self, tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        """A call that ran and failed (exit 1): its line and its structured result."""
        result = await self.raw(tool, **arguments)
        assert result.is_error, result
        assert isinstance(result.structured_content, dict), result
        assert result.structured_content["exit_code"] == 1
        # The line is in the structured result too: Claude Code and VS Code give the model
        # only structuredContent where there is one, and the text's line was lost to it.
        assert result.structured_content["failure"] == _text(result)
        return _text(result), result.structured_content


def serve(
    repo: GitRepo,
    script: Callable[[Session], Awaitable[None]],
    *,
    args: tuple[str, ...] = (),
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    argv: list[str] | None = None,
) -> Any:
    """Start the server as Claude Code or any MCP client would, and run `script` against it
    (a fork of the suite's MCP fork server, testing/mcpfork.py, unless `argv` says how)."""
    full_env = {**repo.env, **(env or {})}
    command, forked = mcpfork.server_command(full_env, args)
    params = StdioServerParameters(
        command=sys.executable if argv else command,
        args=argv or forked,
        env=full_env,
        cwd=str(cwd or repo.path),
    )
    info: list[Any] = []

    async def main() -> None:
        with anyio.fail_after(120):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                info.append(await s.initialize())
                tools = {t.name: t for t in (await s.list_tools()).tools}
                await script(Session(s, tools))

    anyio.run(main)
    return info[0]


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def test_every_tool_is_described_and_a_bad_repo_is_an_error_result(
    repo: GitRepo, tmp_path: Path
) -> None:
    listed: dict[str, Any] = {}

    async def script(s: Session) -> None:
        listed.update(s.tools)
        # The handshake and the listing worked; the bad --repo is each call's error.
        assert "no such directory" in await s.error("status")
        assert (await s.call("status", repo=str(repo.path)))["open"] is None
        # Arguments are checked against the input schema, each problem in one line.
        assert "additional properties" in (await s.error("begin", nmae="x")).lower()
        assert "'name' is a required property" in await s.error("begin")
        bad_history = await s.error("begin", name="x", history="linear")
        assert "history: 'linear' is not one of" in bad_history
        assert "n: 0 is less than the minimum" in await s.error("log", n=0)
        # An unknown tool is a protocol error (JSON-RPC -32602), as the specification lists it.
        with pytest.raises(MCPError) as unknown:
            await s.session.call_tool("push", {})
        assert unknown.value.code == -32602 and "unknown tool 'push'" in unknown.value.message

    init = serve(repo, script, args=("--repo", str(tmp_path / "nope")), cwd=tmp_path)
    assert (init.server_info.name, init.server_info.version) == (
        "git-atomic",
        git_atomic.__version__,
    )
    assert init.instructions and "begin" in init.instructions
    assert set(listed) == TOOLS
    for tool in listed.values():
        assert tool.title and len(tool.description) > 60, tool.name
        hints = tool.annotations
        assert hints.title == tool.title
        assert isinstance(hints.read_only_hint, bool) and isinstance(hints.destructive_hint, bool)
        assert isinstance(hints.idempotent_hint, bool) and isinstance(hints.open_world_hint, bool)
        Draft202012Validator.check_schema(tool.input_schema)
        Draft202012Validator.check_schema(tool.output_schema)
        assert (
            tool.output_schema["type"] == "object" and "exit_code" in tool.output_schema["required"]
        )
        properties = tool.input_schema["properties"]
        assert "repo" in properties and tool.input_schema["additionalProperties"] is False
        for name, prop in properties.items():
            assert prop.get("description"), (tool.name, name)
    read_only = {n for n, t in listed.items() if t.annotations.read_only_hint}
    assert read_only == {"status", "log", "show"}
    assert not any(listed[n].annotations.destructive_hint for n in ("begin", "checkpoint"))
    assert all(listed[n].annotations.destructive_hint for n in ("rollback", "abort", "undo"))
    # A tool that runs a command or shell line the agent names (run's and tdd's command, a
    # gates argument) may reach anything: open world, as run was and tdd and commit were not.
    runs_named = {
        n for n, t in listed.items() if {"command", "gates"} & set(t.input_schema["properties"])
    }
    assert runs_named == {"run", "commit", "tdd"}
    assert all(listed[n].annotations.open_world_hint for n in runs_named)
    enums = {
        (tool, name): tuple(prop["enum"])
        for tool, t in listed.items()
        for name, prop in t.input_schema["properties"].items()
        if "enum" in prop
    }
    assert enums == {
        ("run", "history"): ("commits", "shadow"),
        ("begin", "history"): ("commits", "shadow"),
        ("log", "status"): ("open", "committed", "rolled_back", "recovered"),
        ("tdd", "phase"): ("red", "green", "refactor"),
    }


def test_each_tools_annotations_say_what_it_does(repo: GitRepo, tmp_path: Path) -> None:
    """The `gates` tool said it destroyed nothing, did nothing more when called again and
    reached nothing outside, though with `run` it runs the configured gates: shell lines that
    may do anything, each time. Each tool is called here as an agent would, the gates and the
    TDD test command configured as a line that appends to a file outside the worktree: a tool
    that ran it says so (open world, not read-only, destructive, not idempotent); one that did
    not is closed world; one that says read-only leaves every entry of the worktree and the git
    dir as it was (bytes, mode, mtime)."""
    outside = tmp_path / "outside.log"
    line = json.dumps(f"echo ran >> '{outside}'")
    repo.write(
        ".git-atomic.toml",
        f'[[gates]]\nname = "mark"\nrun = {line}\n[tdd]\ntest = {line}\n'.encode(),
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "gates")
    ran: dict[str, bool] = {}
    changed: dict[str, bool] = {}
    listed: dict[str, Any] = {}

    async def script(s: Session) -> None:
        listed.update(s.tools)

        async def call(tool: str, **arguments: Any) -> Any:
            size = outside.stat().st_size if outside.exists() else 0
            before = walk_exact(repo.path)
            result = await s.raw(tool, **arguments)
            grew = (outside.stat().st_size if outside.exists() else 0) > size
            ran[tool] = ran.get(tool, False) or grew
            changed[tool] = changed.get(tool, False) or walk_exact(repo.path) != before
            return result.structured_content

        await call("status")
        await call("gates")
        await call("gates", run=True)
        op = (await call("begin", name="edit"))["op_id"]
        repo.write("a.txt", b"a\n")
        await call("checkpoint", message="step")
        await call("commit")
        await call("log")
        await call("show", id=op, diff=True)
        await call("run", command=[sys.executable, "-c", "open('b.txt', 'w').write('b')"])
        await call("rollback")
        await call("undo")
        await call("begin", name="given up")
        await call("abort")
        await call("tdd", phase="green")
        await call("recover")  # nothing interrupted: refused, nothing done

    serve(repo, script)
    assert set(ran) == TOOLS == set(listed)
    for name, tool in listed.items():
        hints = tool.annotations
        said = (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        )
        if ran[name]:
            assert said == (False, True, False, True), (name, said)
        else:
            assert hints.open_world_hint is False, name
        if hints.read_only_hint:
            assert not changed[name], name
    # Each tool that runs a configured line was seen to run it.
    assert {n for n, r in ran.items() if r} == {"gates", "commit", "run", "tdd"}


def test_a_session_begins_checkpoints_commits_and_reads_the_trail(repo: GitRepo) -> None:
    async def script(s: Session) -> None:
        assert (await s.call("status"))["open"] is None
        begun = await s.call("begin", name="-dash-named")
        assert (begun["status"], begun["name"]) == ("open", "-dash-named")
        repo.write("new.txt", b"new\n")
        stage = await s.call("checkpoint", message="stage 1")
        assert len(stage["checkpoints"]["op_exec"]) == 1
        assert (await s.call("status"))["open"]["op_id"] == begun["op_id"]

        done = await s.call("commit", gates=["true"])
        assert done["status"] == "committed"
        assert [g["passed"] for g in done["gates"]] == [True]

        [latest] = (await s.call("log", n=1))["operations"]
        assert latest["op_id"] == begun["op_id"]
        committed = (await s.call("log", status="committed", name="-dash*"))["operations"]
        assert [o["op_id"] for o in committed] == [begun["op_id"]]
        shown = await s.call("show", id=begun["op_id"], diff=True)
        assert "+new" in shown["diff"] and "diff --git" in shown["diff"]
        stat = await s.call("show", id=begun["op_id"][:6], stat=True)
        assert "new.txt" in stat["diff"] and "+new" not in stat["diff"]
        assert [c["kind"] for c in shown["checkpoint_list"]] == ["pre_op", "op_exec", "post_op"]

        await s.call("begin", name="second", history="shadow")
        repo.write("two.txt", b"two\n")
        aborted = await s.call("abort")
        assert aborted["status"] == "rolled_back"
        assert not repo.exists("two.txt") and repo.exists("new.txt")

        # Usage errors and refusals are errors with the CLI's one line, nothing else.
        assert "no operation is open" in await s.error("commit", no_gates=True)
        assert "unknown operation id" in await s.error("show", id="nosuchop")
        # Was: "internal error: datatype mismatch" (the journal's LIMIT holds 64 bits).
        too_many = await s.error("log", n=10**30)
        assert "n: 1000000000000000000000000000000 is greater than the maximum" in too_many
        assert s.tools["log"].input_schema["properties"]["n"]["maximum"] == MAX_LOG_COUNT

    serve(repo, script)


def test_a_wait_while_the_agents_own_begin_is_open_is_refused_at_once(repo: GitRepo) -> None:
    """`wait` waits for an operation opened with `begin`: for one this server opened, it
    waited for the agent's own next call, queued behind it, for 10 minutes. Refused at once;
    once that operation is closed (here or by someone else), `wait` waits as before."""

    async def script(s: Session) -> None:
        begun = await s.call("begin", name="mine")
        started = time.monotonic()
        refused = await s.error("run", command=["true"], wait=True)
        assert time.monotonic() - started < 30
        assert f"[{begun['op_id']}] is still open" in refused and "commit or abort" in refused
        assert "is still open" in await s.error("begin", name="again", wait=True)
        assert (await s.call("status"))["open"]["op_id"] == begun["op_id"]
        await s.call("abort")
        assert (await s.call("run", command=["true"], wait=True))["status"] == "committed"
        await s.call("begin", name="closed-elsewhere", history="shadow")
        repo.atomic("abort")  # the person closes it from a terminal
        assert (await s.call("run", command=["true"], wait=True))["status"] == "committed"

    serve(repo, script)


def test_a_failing_gate_rollback_at_every_level_and_undo(repo: GitRepo) -> None:
    before = repo.fingerprint()

    async def script(s: Session) -> None:
        await s.call("begin", name="doomed")
        repo.write("README", b"changed\n")
        line, failed = await s.failed("commit", gates=["true", "echo broken >&2; false"])
        assert (failed["status"], failed["failed_phase"]) == ("rolled_back", "validate")
        assert line.startswith(f"doomed [{failed['op_id']}] rolled back (gate ")
        assert "exited with status 1" in line and "undo" in line
        assert "broken" in failed["gates"][1]["output_tail"]
        assert repo.fingerprint().diff(before) == []

        first = await s.call("begin", name="first")
        at_pre_op = await s.call("rollback")  # immediate, at PRE-OP: nothing further
        assert (at_pre_op["target"], at_pre_op["changes"]) == (None, [])
        repo.write("new.txt", b"new\n")
        await s.call("checkpoint", message="one")
        repo.write("new.txt", b"newer\n")
        step = await s.call("rollback")  # immediate: inside the operation, to its last stage
        assert (step["event"], step["status"]) == ("rollback", "open")
        assert repo.read("new.txt") == b"new\n"
        await s.call("commit", no_gates=True)
        state = repo.fingerprint()

        preview = await s.call("rollback", op=first["op_id"], dry_run=True)
        assert preview["dry_run"] and {"path": "new.txt", "action": "delete"} in preview["changes"]
        assert repo.fingerprint().diff(state) == []
        selective = await s.call("rollback", to=first["checkpoints"]["pre_op"], paths=["new.txt"])
        assert selective["paths"] == ["new.txt"] and not repo.exists("new.txt")
        await s.call("undo")
        assert repo.fingerprint().diff(state) == []

        rolled = await s.call("rollback", op=first["op_id"])
        assert rolled["status"] == "rolled_back" and not repo.exists("new.txt")
        assert (await s.call("undo", dry_run=True))["dry_run"] is True
        assert not repo.exists("new.txt")
        assert (await s.call("undo"))["status"] == "undone"
        assert repo.fingerprint().diff(state) == []

        # Someone changed the operation's file since: taking its effect back would overlap, so
        # nothing changes; the error's line comes first, then the JSON naming the conflicts.
        repo.write("new.txt", b"mine\n")
        refused = await s.raw("rollback", op=first["op_id"])
        assert refused.is_error and refused.structured_content is None
        details = json.loads(refused.content[1].text)
        assert [c["path"] for c in details["conflicts"]] == ["new.txt"]
        assert details["error"] in _text(refused) and repo.read("new.txt") == b"mine\n"
        repo.write("new.txt", b"new\n")

        # A commit made after the operation: its effect is taken back, the commit stays; the
        # whole earlier state, which drops that commit, only when asked for.
        repo.write("later.txt", b"later\n")
        repo.git("add", "later.txt")
        repo.git("commit", "-qm", "later work")
        pre_op = first["checkpoints"]["pre_op"]
        assert "whole: true" in await s.error("rollback", to=pre_op)  # the tool's parameter
        dropping = await s.call("rollback", op=first["op_id"], whole=True, dry_run=True)
        assert "later work" in [c["subject"] for c in dropping["dropped_commits"]]
        effect = await s.call("rollback", op=first["op_id"])
        assert not repo.exists("new.txt") and repo.read("later.txt") == b"later\n"
        assert effect["dropped_commits"] == []
        await s.call("rollback", to=pre_op, whole=True)
        assert not repo.exists("later.txt")

    serve(repo, script)


def test_a_rollback_over_a_pushed_commit_tells_the_agent_the_remote_keeps_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The note that a rollback took off the branch a commit origin has reached the server's
    stderr only: the agent's result says it now (`notes`), for `rollback` and for a `run`
    rolled back after its command pushed."""
    up = tmp_path / "up.git"
    subprocess.run(["git", "init", "-q", "--bare", str(up)], check=True, env=repo.env)
    repo.git("remote", "add", "origin", str(up))
    repo.git("push", "-q", "-u", "origin", "main")
    push = "echo {0} > {0} && git add {0} && git commit -qm {0} && git push -q origin main"

    async def script(s: Session) -> None:
        kept = await s.call("run", command=["sh", "-c", push.format("a")], no_gates=True)
        made = repo.head()
        back = await s.call("rollback", op=kept["op_id"])
        assert [n for n in back["notes"] if f"commit {made[:12]} (taken off main)" in n], back
        repo.git("reset", "-q", "--hard", "origin/main")  # (you pull it back)
        command = ["sh", "-c", push.format("b") + "; exit 1"]
        _, failed = await s.failed("run", command=command, no_gates=True)
        pushed = repo.git("rev-parse", "origin/main").strip()
        assert [n for n in failed["notes"] if f"commit {pushed[:12]}" in n], failed

    serve(repo, script)


def test_run_isolate_tdd_gates_and_recover(repo: GitRepo) -> None:
    repo.write("t.sh", b"test -f feature.txt\n")
    config = b'[tdd]\ntest = "sh t.sh"\n[[gates]]\nname = "feature"\nrun = "sh t.sh"\n'
    repo.write(".git-atomic.toml", config)
    repo.git("add", ".")
    repo.git("commit", "-qm", "config")

    async def script(s: Session) -> None:
        listed = await s.call("gates")
        assert [(g["name"], g["run"]) for g in listed["gates"]] == [("feature", "sh t.sh")]
        line, failing = await s.failed("gates", run=True)
        assert line == "gates: gate feature failed: exited with status 1", line
        assert failing["passed"] is False and failing["gates"][0]["result"]["exit_code"] == 1
        ran = await s.call(
            "run", command=["sh", "-c", "echo a > a.txt"], name="make-a", no_gates=True
        )
        assert (ran["name"], ran["command"]["argv"][0]) == ("make-a", "sh")
        line, kept_out = await s.failed(
            "run", command=["sh", "-c", "echo b > b.txt"], isolate=True, gates=["false"]
        )
        assert kept_out["isolated"]["applied"] is False and not repo.exists("b.txt")
        line, failed = await s.failed("run", command=["false"])
        assert "(the command failed)" in line and failed["failed_phase"] == "exec"

        red = await s.call("tdd", phase="red", message="feature")
        assert red["tdd"]["kept"] is True
        line, _broken = await s.failed("tdd", phase="green", message="not yet")
        assert line.endswith("but GREEN needs them to pass; nothing was changed"), line
        green = await s.call("tdd", phase="green", command=["touch", "feature.txt"])
        assert green["tdd"]["phase"] == "green" and repo.exists("feature.txt")
        passed = await s.call("gates", run=True)
        assert passed["passed"] is True

    serve(repo, script)
    crashed = repo.atomic("begin", "b", env={"GIT_ATOMIC_FAILPOINT": "begin:after-journal"})
    assert crashed.returncode != 0

    async def recover(s: Session) -> None:
        assert (await s.call("status"))["interrupted"] is not None
        assert "recover" in await s.error("begin", name="refused")
        done = await s.call("recover")
        assert done["recovery"]["action"]
        assert (await s.call("status"))["interrupted"] is None

    serve(repo, recover)


def test_gates_lists_a_gate_given_as_an_argv_list(repo: GitRepo) -> None:
    # The configuration takes `run` as a command line or an argv list; the declared output
    # schema must take both, or a validating client refuses the listing.
    config = b'[[gates]]\nname = "line"\nrun = "true"\n[[gates]]\nname = "argv"\nrun = ["true"]\n'
    repo.write(".git-atomic.toml", config)

    async def script(s: Session) -> None:
        listed = await s.call("gates")
        assert [g["run"] for g in listed["gates"]] == ["true", ["true"]]
        ran = await s.call("gates", run=True)
        assert ran["passed"] is True

    serve(repo, script)


def test_a_cancelled_gate_is_interrupted_and_rolled_back_with_progress(
    repo: GitRepo, tmp_path: Path
) -> None:
    before = repo.fingerprint()
    started = tmp_path / "gate-started"

    async def script(s: Session) -> None:
        begun = await s.call("begin", name="slow")
        repo.write("README", b"changed\n")
        s.progress.clear()
        with anyio.move_on_after(60):
            async with anyio.create_task_group() as group:
                commit = partial(s.raw, "commit", gates=[f"touch {started}; sleep 120"])
                group.start_soon(commit)
                while not any("gate touch running" in (m or "") for _, m in s.progress):
                    await anyio.sleep(0.1)
                group.cancel_scope.cancel()  # the SDK sends notifications/cancelled
                cancelled_at = time.monotonic()
        # Cancelled while the gate ran, after progress that named it.
        assert started.exists() and any("gate touch running" in (m or "") for _, m in s.progress)
        assert all(
            re.fullmatch(r"git-atomic commit: (gate touch )?running for \d+ s", m or "")
            for _, m in s.progress
        )
        # The next call queues behind the interrupted one: it sees the tree rolled back.
        [latest] = (await s.call("log", n=1))["operations"]
        assert latest["op_id"] == begun["op_id"]
        after = await s.call("begin", name="after")
        assert after["op_id"] != begun["op_id"]
        assert time.monotonic() - cancelled_at < 60  # the gate was stopped, not waited for
        [interrupted] = (await s.call("log", name="slow"))["operations"]
        assert (interrupted["status"], interrupted["failed_phase"]) == ("rolled_back", "interrupt")
        await s.call("abort")

    serve(repo, script)
    assert repo.fingerprint().diff(before) == []


def test_the_sdks_default_client_speaks_the_2026_era_and_gets_the_same_answers(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The official SDK's `Client` (mcp 2.x, mode "auto") first sends `server/discover` and,
    answered, speaks the 2026-07-28 era: no `initialize`, each request carrying its protocol
    version and capabilities in `_meta`. Everything else here runs the `initialize` era: this
    is the one a client with the SDK's defaults takes. Tools with their annotations and output
    schemas, structured results, progress, and a cancelled call rolled back."""
    from mcp.client.client import Client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "git_atomic", "mcp"],
        env=dict(repo.env),
        cwd=str(repo.path),
    )
    before = repo.fingerprint()
    started = tmp_path / "started"
    progress: list[tuple[float, str | None]] = []

    async def noted(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    async def main() -> None:
        with anyio.fail_after(120):
            async with Client(params) as client:
                assert client.session.discover_result is not None  # the 2026 era, not initialize
                assert client.protocol_version == "2026-07-28"
                tools = {t.name: t for t in (await client.list_tools()).tools}
                assert set(tools) == TOOLS
                assert tools["status"].annotations.read_only_hint is True
                assert tools["rollback"].annotations.destructive_hint is True
                status = await client.call_tool("status", {})
                assert not status.is_error and status.structured_content is not None
                schema = tools["status"].output_schema
                assert not list(Draft202012Validator(schema).iter_errors(status.structured_content))
                command = ["sh", "-c", f"echo made > made.txt; touch {started}; sleep 120"]
                with anyio.move_on_after(60):
                    async with anyio.create_task_group() as group:
                        group.start_soon(
                            partial(
                                client.call_tool,
                                "run",
                                {"command": command, "no_gates": True},
                                progress_callback=noted,
                            )
                        )
                        while not (started.exists() and progress):
                            await anyio.sleep(0.1)
                        group.cancel_scope.cancel()
                assert all(b[0] > a[0] for a, b in itertools.pairwise(progress))
                assert re.fullmatch(r"git-atomic run: running for \d+ s", progress[0][1] or "")
                # A call that may change the tree queues behind the cancelled one (reads do
                # not): once it is answered, the rollback is done.
                await client.call_tool("gates", {})
                log = await client.call_tool("log", {"n": 1})
                [latest] = (log.structured_content or {})["operations"]
                assert (latest["status"], latest["failed_phase"]) == ("rolled_back", "interrupt")

    anyio.run(main)
    assert not repo.exists("made.txt")
    assert repo.fingerprint().diff(before) == []


def test_a_call_queued_behind_a_long_one_sends_progress_while_it_waits(repo: GitRepo) -> None:
    """A `run` queued behind a commit whose gate runs on sent no progress until its own turn:
    a client that resets its timeout on progress (the TypeScript SDK's resetTimeoutOnProgress)
    gave up on it, and cancelled it, while the call before it was alive. Now it says it is
    queued, once a second, and its progress goes on increasing once it runs."""

    async def script(s: Session) -> None:
        await s.call("begin", name="slow")
        repo.write("README", b"changed\n")
        heard: dict[str, list[tuple[float, str | None]]] = {"commit": [], "run": []}

        def noting(call: str) -> Any:
            async def progress(done: float, total: float | None, message: str | None) -> None:
                heard[call].append((done, message))

            return progress

        async with anyio.create_task_group() as group:
            commit = partial(
                s.session.call_tool,
                "commit",
                {"gates": ["sleep 4"]},
                progress_callback=noting("commit"),
            )
            group.start_soon(commit)
            while not heard["commit"]:  # the commit holds the queue
                await anyio.sleep(0.05)
            command = ["sh", "-c", "sleep 1.5; echo ran > ran.txt"]
            ran = await s.session.call_tool(
                "run", {"command": command, "no_gates": True}, progress_callback=noting("run")
            )
        assert not ran.is_error and repo.read("ran.txt") == b"ran\n"
        messages = [m or "" for _, m in heard["run"]]
        assert any(
            re.fullmatch(r"git-atomic run: queued behind another call for \d+ s", m)
            for m in messages
        ), messages
        assert messages[-1].startswith("git-atomic run: running for"), messages
        values = [done for done, _ in heard["run"]]
        assert values == sorted(set(values)), values  # increasing, as the protocol requires

    serve(repo, script)


def lines_server(repo: GitRepo) -> subprocess.Popen[str]:
    """The server on pipes, for a test that writes JSON-RPC lines itself."""
    return agents.mcp_on_pipes(repo, text=True)


def test_a_client_that_goes_away_mid_gate_leaves_the_operation_rolled_back(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Plain JSON-RPC lines on stdio, as any client sends them; then stdin closes mid-gate."""
    started = tmp_path / "gate-started"
    server = lines_server(repo)
    assert server.stdin is not None and server.stdout is not None

    def send(message: dict[str, Any]) -> None:
        assert server.stdin is not None
        server.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        server.stdin.flush()

    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}}
        hello["clientInfo"] = {"name": "lines", "version": "1"}
        send({"id": 1, "method": "initialize", "params": hello})
        assert json.loads(server.stdout.readline())["result"]["serverInfo"]["name"] == "git-atomic"
        send({"method": "notifications/initialized"})
        send(
            {
                "id": 2,
                "method": "tools/call",
                "params": {"name": "begin", "arguments": {"name": "x"}},
            }
        )
        assert json.loads(server.stdout.readline())["result"]["isError"] is False
        repo.write("README", b"changed\n")
        gate = f"touch {started}; sleep 120"
        send(
            {
                "id": 3,
                "method": "tools/call",
                "params": {"name": "commit", "arguments": {"gates": [gate]}},
            }
        )
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        # The client is gone: its gate is interrupted, the operation rolled back.
        server.stdin.close()
        assert server.wait(60) == 0
    finally:
        server.kill()
        server.wait()
    [op] = repo.atomic_json("log")["operations"]
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "interrupt")
    assert repo.read("README") == b"hello\n"


def test_every_request_is_answered_even_a_hostile_one(repo: GitRepo) -> None:
    """JSON-RPC's rule: a request gets a response with its id (a batch, which this revision
    has not, one error with id null), a line
    that is no JSON a parse error (-32700, id null).
    A NUL in an argument (no command line can hold one) and a lone
    surrogate (valid JSON the SDK's parser refused) were answered with nothing, or a traceback."""
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}}
    hello["clientInfo"] = {"name": "lines", "version": "1"}
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "begin", "arguments": {"name": "a\0b"}},
            }
        ),
        '{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "status", '
        '"arguments": {"repo": "/tmp/\\ud800"}}}',
        '{"jsonrpc": "2.0", "id": 4, "method": "ping"',  # cut short
        # A batch of one: 2025-06-18 has no batches, so it is refused whole, id null.
        json.dumps([{"jsonrpc": "2.0", "id": 6, "method": "ping"}]),
        json.dumps({"jsonrpc": "2.0", "id": 5, "method": "ping"}),
    ]
    server = lines_server(repo)
    assert server.stdin is not None and server.stdout is not None
    watchdog = threading.Timer(90, server.kill)  # an answer that never comes fails, not hangs
    watchdog.start()
    try:
        server.stdin.write("".join(line + "\n" for line in lines))
        server.stdin.flush()
        # Each answer as it comes (the calls run at once); stdin stays open until the last.
        answers = [json.loads(server.stdout.readline()) for _ in range(6)]
        server.stdin.close()
        assert server.wait(60) == 0
        stderr = server.stderr.read() if server.stderr else ""
    finally:
        watchdog.cancel()
        server.kill()
        server.wait()
    answers.sort(key=lambda a: (a.get("id") is None, a.get("id") or 0))
    assert [a.get("id") for a in answers] == [1, 2, 3, 5, None, None], answers
    assert answers[1]["result"]["isError"] is True
    assert "null byte" in answers[1]["result"]["content"][0]["text"]
    assert answers[2]["result"]["isError"] is True
    errors = sorted(a["error"]["code"] for a in answers[4:])
    assert answers[3]["result"] == {} and errors == [-32700, -32600]  # parse error, batch
    assert "Traceback" not in stderr, stderr
    assert repo.atomic_json("status")["open"] is None


def test_concurrent_calls_queue_and_a_call_may_name_its_repository(
    repo: GitRepo, tmp_path: Path
) -> None:
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo.write("sub/keep", b"")
    repo.git("add", ".")
    repo.git("commit", "-qm", "sub")

    async def script(s: Session) -> None:
        results: list[dict[str, Any]] = []

        async def run(name: str, where: Path | None = None) -> None:
            extra = {"repo": str(where)} if where else {}
            command = ["sh", "-c", f"sleep 0.5; echo {name} > {name}.txt"]
            results.append(await s.call("run", command=command, name=name, **extra))

        async with anyio.create_task_group() as group:
            for name in ("one", "two"):
                group.start_soon(run, name)
            group.start_soon(run, "three", repo.path / "sub")  # the same worktree: same queue
            group.start_soon(run, "elsewhere", other.path)
        assert sorted(r["name"] for r in results) == ["elsewhere", "one", "three", "two"]
        assert all(r["status"] == "committed" for r in results)

    # The default repository from the environment, the server started somewhere else.
    serve(repo, script, env={"GIT_ATOMIC_REPO": str(repo.path)}, cwd=elsewhere)
    assert all(repo.exists(f"{name}.txt") for name in ("one", "two", "sub/three"))
    assert other.exists("elsewhere.txt") and not repo.exists("elsewhere.txt")


def test_a_cli_that_printed_no_json_is_an_error_with_its_last_line() -> None:
    crashed = CliResult(("git-atomic",), 1, None, "", "Traceback...\nKeyError: 'x'\n")
    result = mcp_results.outcome(TOOLS_BY_NAME["status"], crashed)
    assert result.is_error and result.structured_content is None
    assert _text(result) == "git-atomic status exited 1 without a JSON result: KeyError: 'x'"


def test_without_the_sdk_serve_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("mcp", "mcp.server", "mcp.server.stdio"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(UsageError, match=r"pip install '/path/to/clone\[mcp\]' \(from your clone"):
        mcp_server.serve()


def test_a_repository_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such directory"):
        mcp_server.repository(tmp_path / "nope")
    assert mcp_server.repository(None, {"GIT_ATOMIC_REPO": str(tmp_path)}) == tmp_path.resolve()


def test_names_that_are_not_utf8_are_answered_and_the_server_lives(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A file `\\xff\\xfe.txt` in a rollback's listing, a `--repo` folder whose name is not
    UTF-8: the answer held lone surrogates, which the SDK's writer cannot encode, and the server
    died (exit 3, an internal error) with the call unanswered. Now the names are U+FFFD and the
    CLI's `not_utf8` gives their bytes."""
    name = b"\xff\xfe.txt"
    made = f"open({name!r}, 'wb').write(b'x')"
    repo.atomic("run", "--", sys.executable, "-c", made, check=0)

    async def script(s: Session) -> None:
        data = (await s.raw("rollback", dry_run=True)).structured_content
        assert data["changes"] == [{"path": "\ufffd\ufffd.txt", "action": "delete"}], data
        assert data["not_utf8"]["/changes/0/path"] == "//4udHh0"  # base64 of the name
        assert (await s.call("status"))["open"] is None  # still serving

    serve(repo, script)
    assert os.path.lexists(os.path.join(os.fsencode(repo.path), name))  # a dry run

    async def elsewhere(s: Session) -> None:
        line = await s.error("status")
        assert line.endswith("x\ufffd: no such directory for the MCP server's repository"), line
        assert (await s.session.send_ping()) is not None  # still serving

    missing = os.fsdecode(os.fsencode(str(tmp_path)) + b"/x\xff")
    serve(repo, elsewhere, args=("--repo", missing))


@pytest.mark.parametrize("word", ["naïve", "日本語", "مرحبا", "emoji-😀"])
def test_a_result_text_holds_names_as_they_are(repo: GitRepo, word: str) -> None:
    """The text content the model reads is the structured result serialised as JSON; every
    character past ASCII was written as an escape (`"na\\u00efve"`, an emoji as two surrogate
    escapes): a name in another script, a file `日本語.txt`, reached the model unreadable. Now
    the text holds them as they are, still the same JSON, in a server whose locale is C."""

    async def script(s: Session) -> None:
        command = ["sh", "-c", f"echo x > '{word}.txt'"]
        for result in (
            await s.raw("run", command=command, name=word, no_gates=True),
            await s.raw("rollback", dry_run=True),
            await s.raw("undo"),  # refused (nothing to undo): a line, then the JSON
        ):
            texts = [c.text for c in result.content if isinstance(c, TextContent)]
            assert "\\u" not in "".join(texts), texts
            if result.structured_content is not None:
                assert json.loads(texts[-1]) == result.structured_content
        data = (await s.raw("rollback", dry_run=True)).structured_content
        assert data["changes"] == [{"path": f"{word}.txt", "action": "delete"}], data
        [text] = (await s.raw("log", n=1)).content
        assert f'"name": "{word}"' in text.text

    serve(repo, script, env={"LC_ALL": "C", "LANG": "C"})
    assert repo.read(f"{word}.txt") == b"x\n"


def test_a_request_after_a_byte_order_mark_is_answered(repo: GitRepo) -> None:
    """A client whose stream starts with a UTF-8 byte order mark (Windows PowerShell 5.1 puts
    one before what it pipes to a program) had its `initialize` answered as a parse error, id
    null, and waited for ever. RFC 8259 lets a parser ignore the mark; each line is a JSON
    text here, so a mark at the start of any line is read past."""
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}}
    hello["clientInfo"] = {"name": "bom", "version": "1"}
    lines = [
        "\ufeff" + json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        "\ufeff" + json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        "\ufeff" + json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        "\ufeff",  # a blank line, as any other: no message, no answer
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
    ]
    server = lines_server(repo)
    assert server.stdin is not None and server.stdout is not None
    watchdog = threading.Timer(90, server.kill)
    watchdog.start()
    try:
        server.stdin.write("".join(line + "\n" for line in lines))
        server.stdin.flush()
        answers = [json.loads(server.stdout.readline()) for _ in range(3)]
        server.stdin.close()
        assert server.wait(60) == 0
    finally:
        watchdog.cancel()
        server.kill()
        server.wait()
    assert [a.get("id") for a in answers] == [1, 2, 3], answers
    assert answers[0]["result"]["serverInfo"]["name"] == "git-atomic"


@pytest.mark.parametrize("started", ["sub", "sub/deeper"])
def test_rollback_paths_are_relative_to_the_repository_wherever_the_server_runs(
    repo: GitRepo, started: str
) -> None:
    """`rollback`'s `paths` are "relative to the repository", as its schema says; a server
    started in a subfolder (a client opened there, `--repo` naming it) read them from that
    folder: `sub/a.txt` matched nothing, a top-level file could not be named, and `a.txt`, meant
    as the top-level file, restored `sub/a.txt` instead, taking back a file not asked for."""
    for name in ("a.txt", "sub/a.txt", "sub/deeper/keep"):
        repo.write(name, b"one\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "files at two levels")

    async def script(s: Session) -> None:
        command = ["sh", "-c", f"cd '{repo.path}' && echo two > a.txt && echo two > sub/a.txt"]
        ran = await s.call("run", command=command, no_gates=True)
        pre = ran["checkpoints"]["pre_op"]
        await s.call("rollback", to=pre, paths=["a.txt"])
        assert repo.read("a.txt") == b"one\n"
        assert repo.read("sub/a.txt") == b"two\n"  # not asked for: left as it is
        await s.call("rollback", to=pre, paths=["sub/a.txt"])
        assert repo.read("sub/a.txt") == b"one\n"

    serve(repo, script, cwd=repo.path / started)
