"""`git atomic mcp`: a Model Context Protocol server on stdio over the git-atomic CLI.

Each tool call runs one `git-atomic VERB ... --json` in the repository (`mcp_tools.py` says
which) and answers with the JSON object it printed plus `exit_code` as `structuredContent`,
matching the tool's declared `outputSchema` (`mcp_schemas.py`). A call that did not succeed
(exit 1: rolled back; 2: usage; 3: refused) is a result with `isError` and the CLI's one-line
explanation. Built on the low-level server of the official SDK (`git-atomic[mcp]`, mcp 2.x),
imported only when the server starts: the tools' annotations, output schemas, progress and
cancellation are all the protocol's own, not a framework's guess from type hints.

Calls that change a repository queue behind each other, one at a time per repository, so two
concurrent calls are never refused for a lock this same server holds. A call the client cancels
(`notifications/cancelled`) interrupts its CLI child with SIGINT, exactly as Ctrl-C would: the
command or gate stops and the operation is rolled back before the queue moves on.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from git_atomic import __version__
from git_atomic.agents import CliResult, cli_argv
from git_atomic.agents.mcp_tools import SPECS, TOOLS, ToolSpec
from git_atomic.core.errors import UsageError
from git_atomic.core.vocab import FailedPhase, OpStatus

if TYPE_CHECKING:
    import mcp_types
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server

_MISSING: Final = (
    "the MCP server needs the optional extra: python3 -m pip install '/path/to/clone[mcp]' "
    "(from your clone of git-atomic: no release is on an index yet)"
)
INSTRUCTIONS: Final = (
    "git-atomic makes changes to this git working tree atomic. Call begin before changing "
    "files, checkpoint after each step, commit at the end (quality gates run; if one fails "
    "the tree returns to the state before begin and the result is an error naming the gate). "
    "run does all of that for one command. abort and rollback go back; undo reverses the last "
    "rollback. Results are the CLI's JSON plus exit_code; a failed call has isError set and a "
    "one-line reason. Every tool takes an optional repo (a folder) to work on another repository."
)
FAILED_PHASE: Final[dict[str, str]] = {
    FailedPhase.EXEC: "the command failed",
    FailedPhase.VALIDATE: "a gate failed",
    FailedPhase.TIMEOUT: "the command timed out",
    FailedPhase.INTERRUPT: "interrupted",
}


def serve(*, repo: Path | None = None) -> int:
    """Serve on stdin/stdout until the client goes away."""
    try:
        import anyio
        from mcp.server.stdio import stdio_server
    except ImportError:
        raise UsageError(_MISSING) from None
    # A bad --repo is not fatal here: each call that uses it answers with the reason, after
    # the handshake, where the client can show it (a server that exits is only "closed").
    server = build(Tools(repo))

    async def main() -> None:
        lines = _Lines(sys.stdin.fileno())
        async with anyio.create_task_group() as everything:
            everything.start_soon(_until_terminated, everything.cancel_scope)
            async with stdio_server(stdin=lines) as (read, write):  # type: ignore[arg-type]
                checked, relay = _answering_parse_errors(read, write, lines.refused)
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(relay)
                    await server.run(checked, write, server.create_initialization_options())
                    tasks.cancel_scope.cancel()
            everything.cancel_scope.cancel()

    try:
        anyio.run(main)
    except* BrokenPipeError:
        # The client closed its end of our stdout: it is gone, as when it closes stdin. The
        # SDK's writer failing cancelled every call, so each one in flight was interrupted
        # and rolled back (mcp_child.py) before we got here.
        print(
            "git-atomic mcp: the client stopped reading; calls in flight were interrupted",
            file=sys.stderr,
        )
    return 0


async def _until_terminated(scope: Any) -> None:
    """SIGTERM (MCP's stdio shutdown sends it after closing stdin; a process manager may send
    it first) is the client leaving: cancelled, each call in flight interrupts its CLI child
    and waits for its rollback (mcp_child.py), where dying at once left the child running on
    alone, to commit after the client had stopped the server."""
    import anyio

    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async for _ in signals:
            print("git-atomic mcp: terminated; calls in flight were interrupted", file=sys.stderr)
            scope.cancel()
            return


class _Lines:
    """stdin's lines for the SDK, less the requests it would not answer (`refused`).

    A line with an `id` is a request (a notification has none), but the SDK reads one whose id
    MCP forbids (null, a fraction, a boolean) as a notification and drops it, and answers one
    it cannot read with id null: either way its client waits for ever. Those are answered here
    (-32600, with their id where it is a string or an integer). Lone surrogates (`"\\ud800"`,
    valid JSON that Python reads and the SDK's parser refuses, dropping the request unanswered)
    are made U+FFFD."""

    def __init__(self, fd: int) -> None:
        import anyio

        self._refuse, self.refused = anyio.create_memory_object_stream[Any](64)
        # Read by a daemon thread, not one of anyio's workers: a read of stdin cannot be
        # cancelled, and a client that stopped reading our stdout but keeps stdin open would
        # keep the server (its interpreter's exit, which waits for every other thread) for ever.
        # With os.read: a daemon thread inside a buffered reader's lock at exit is fatal.
        self._read: queue.Queue[bytes] = queue.Queue(16)
        threading.Thread(target=self._reader, args=(fd,), daemon=True).start()

    def _reader(self, fd: int) -> None:
        buffer = bytearray()
        try:
            while chunk := os.read(fd, 1 << 16):
                searched = len(buffer)  # no newline before: a long line is scanned once
                buffer += chunk
                start = 0
                while (end := buffer.find(b"\n", max(start, searched))) >= 0:
                    self._read.put(bytes(buffer[start : end + 1]))
                    start = end + 1
                del buffer[:start]
            if buffer:
                self._read.put(bytes(buffer))
        except OSError:  # stdin closed under us: the end, as at EOF
            pass
        finally:
            self._read.put(b"")

    async def _next(self) -> bytes:
        import anyio

        try:
            return await anyio.to_thread.run_sync(self._read.get, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            # The abandoned worker thread waits in get(): give it something, so that it ends.
            with contextlib.suppress(queue.Full):
                self._read.put_nowait(b"")
            raise

    def __aiter__(self) -> Any:
        return self._lines()

    async def _lines(self) -> Any:
        async with self._refuse:
            while raw := await self._next():
                line = raw.decode("utf-8", "replace")
                refused = _refusal(line)
                if refused is _NONE:
                    yield _without_lone_surrogates(line)
                else:
                    await self._refuse.send(refused)


_NONE: Final = object()


def _refusal(line: str) -> object:
    """The id to answer an invalid request with (None: its id is not one an answer can carry),
    or `_NONE` when the SDK reads the line itself: a good message, a notification, a response,
    or a line that is no JSON object (answered as a parse error)."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return _NONE
    if not isinstance(data, dict) or "id" not in data or "result" in data or "error" in data:
        return _NONE
    ident = data["id"]
    plain = isinstance(ident, (str, int)) and not isinstance(ident, bool)
    params = data.get("params")
    if (
        plain
        and data.get("jsonrpc") == "2.0"
        and isinstance(data.get("method"), str)
        and (params is None or isinstance(params, dict))
    ):
        return _NONE
    return ident if plain else None


def _without_lone_surrogates(line: str) -> str:
    if "\\ud" not in line.lower():
        return line
    try:
        data = json.loads(line)
    except ValueError:
        return line  # answered as a parse error
    return json.dumps(_replaced(data), ensure_ascii=False) + "\n"


def _replaced(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_replaced(v) for v in value]
    if isinstance(value, dict):
        return {_replaced(k): _replaced(v) for k, v in value.items()}
    return value


def _answering_parse_errors(read: Any, write: Any, refused: Any) -> tuple[Any, Any]:
    """The messages the SDK read, and a relay that answers a line that is no JSON-RPC message
    with JSON-RPC's parse error (id null), and a request `_Lines` refused with an invalid
    request error, instead of nothing: a client must not wait for ever."""
    import anyio
    import mcp_types as types
    from mcp.shared.message import SessionMessage

    send, receive = anyio.create_memory_object_stream[Any](0)

    async def answer(ident: Any, error: Any) -> None:
        await write.send(SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=ident, error=error)))

    async def refuse() -> None:
        async with refused:
            async for ident in refused:
                await answer(ident, types.ErrorData(code=types.INVALID_REQUEST, message=_INVALID))

    async def relay() -> None:
        async with send, anyio.create_task_group() as refusals:
            refusals.start_soon(refuse)
            async for item in read:
                if isinstance(item, Exception):
                    await answer(None, _parse_error(item))
                else:
                    await send.send(item)
            # The refusals end with stdin (`_Lines` closes them): the last is answered too.

    return receive, relay


_INVALID: Final = "Invalid Request"


def _parse_error(exc: Exception) -> Any:
    """JSON-RPC's word for a line the SDK could not read: no JSON at all (-32700), or JSON that
    is no request, notification or response (-32600: a batch array, which MCP has no more)."""
    import mcp_types as types

    kinds = {e.get("type") for e in getattr(exc, "errors", lambda: [])()}
    if kinds and "json_invalid" not in kinds:
        return types.ErrorData(code=types.INVALID_REQUEST, message=_INVALID)
    return types.ErrorData(code=types.PARSE_ERROR, message="Parse error")


def build(tools: Tools) -> Server[Any]:
    """The SDK's low-level server with our two handlers."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    listed = [_tool(spec) for spec in SPECS]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        if params is not None and params.cursor is not None:
            # Every tool is on the first page, so no cursor was ever handed out.
            from mcp.shared.exceptions import MCPError

            raise MCPError(types.INVALID_PARAMS, f"unknown cursor {params.cursor!r}: no next page")
        return types.ListToolsResult(tools=listed)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await tools.call(ctx, params.name, dict(params.arguments or {}))

    return Server(
        "git-atomic",
        version=__version__,
        title="git-atomic",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _tool(spec: ToolSpec) -> mcp_types.Tool:
    import mcp_types as types

    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema,
        output_schema=spec.output_schema,
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
    )


def repository(repo: Path | None, environ: os._Environ[str] | dict[str, str] = os.environ) -> Path:
    """`--repo`, else `$GIT_ATOMIC_REPO`, else the current directory."""
    chosen = repo or (Path(environ["GIT_ATOMIC_REPO"]) if environ.get("GIT_ATOMIC_REPO") else None)
    named = chosen or "the server's working directory"
    try:
        root = (chosen or Path.cwd()).expanduser()
        if root.is_dir():
            return root.resolve()
    except RuntimeError:  # `~user/...` for no such user
        raise UsageError(f"{named}: no such user's home folder for the repository") from None
    except OSError as exc:  # a name too long for a path; the server's own folder removed
        why = exc.strerror or exc
        raise UsageError(f"{named}: {why}, for the MCP server's repository") from None
    raise UsageError(f"{root}: no such directory for the MCP server's repository")


class Tools:
    """Runs the calls: arguments checked, one worktree's changing calls queued, results shaped."""

    def __init__(self, repo: Path | None) -> None:
        self._default = repo
        self._queues: dict[Path, _Queue] = {}
        self._arrival: Any = None  # an anyio.Lock, made in the server's event loop
        self._opened: dict[Path, str] = {}  # worktree -> the op id of a `begin` made here

    async def call(
        self, ctx: ServerRequestContext[Any], name: str, arguments: dict[str, Any]
    ) -> mcp_types.CallToolResult:
        from git_atomic.agents.mcp_child import run_child

        spec = TOOLS.get(name)
        if spec is None:
            # A protocol error, as the MCP specification lists it (Tools, Error Handling).
            import mcp_types as types
            from mcp.shared.exceptions import MCPError

            raise MCPError(
                types.INVALID_PARAMS, f"unknown tool {name!r}; tools: {', '.join(TOOLS)}"
            )
        problem = invalid(spec, arguments)
        if problem:
            return error(f"{name}: {problem}")
        try:
            root = self._root(arguments.get("repo"))
        except UsageError as exc:
            return error(str(exc))
        call = spec.call(arguments)
        argv = cli_argv(call.verb, call.args, paths=call.rest)
        if spec.read_only:
            worktree, logs = await _worktree(root)
            return outcome(spec, await run_child(ctx, call.verb, argv, root, logs=logs))
        # Calls join their worktree's queue in the order they arrived: finding the worktree
        # takes a git call in a thread, and those come back in any order.
        async with self._arrived():
            worktree, logs = await _worktree(root)
            queue = self._queues.setdefault(worktree, _Queue())
            ticket = queue.join()
        try:
            await ticket.wait()
            if arguments.get("wait"):
                mine = await self._own_session(ctx, worktree, root, logs)
                if mine is not None:
                    # It would wait for this server's next call, which queues behind it.
                    return error(
                        f"{name}: the operation you opened with begin [{mine}] is still open"
                        " in this worktree; commit or abort it first (wait would wait for it)"
                    )
            result = await run_child(ctx, call.verb, argv, root, logs=logs)
            self._note_session(call.verb, worktree, result)
            return outcome(spec, result)
        finally:
            queue.leave(ticket)

    async def _own_session(
        self, ctx: ServerRequestContext[Any], worktree: Path, root: Path, logs: Path | None
    ) -> str | None:
        """The op id of the operation a `begin` through this server opened, while it is open."""
        from git_atomic.agents.mcp_child import run_child

        mine = self._opened.get(worktree)
        if mine is None:
            return None
        now = await run_child(ctx, "status", cli_argv("status"), root, logs=logs)
        open_op = (now.data or {}).get("open")
        if isinstance(open_op, dict) and open_op.get("op_id") == mine:
            return mine
        del self._opened[worktree]  # committed or aborted some other way
        return None

    def _note_session(self, verb: str, worktree: Path, result: CliResult) -> None:
        data = result.data or {}
        if verb == "begin" and data.get("status") == OpStatus.OPEN and data.get("op_id"):
            self._opened[worktree] = str(data["op_id"])
        elif verb in ("commit", "abort") and "error" not in data:
            self._opened.pop(worktree, None)

    def _root(self, repo: object) -> Path:
        if isinstance(repo, str) and repo:
            return repository(Path(repo))
        return repository(self._default)

    def _arrived(self) -> Any:
        import anyio

        if self._arrival is None:
            self._arrival = anyio.Lock()  # first come, first served
        return self._arrival


class _Queue:
    """One worktree's changing calls, one at a time, in the order they joined."""

    def __init__(self) -> None:
        self._waiting: collections.deque[Any] = collections.deque()  # anyio.Event, first: running

    def join(self) -> Any:
        import anyio

        ticket = anyio.Event()
        self._waiting.append(ticket)
        if self._waiting[0] is ticket:
            ticket.set()
        return ticket

    def leave(self, ticket: Any) -> None:
        """Done, or cancelled while waiting: the next call in line goes."""
        first = self._waiting[0] is ticket
        self._waiting.remove(ticket)
        if first and self._waiting:
            self._waiting[0].set()


async def _worktree(folder: Path) -> tuple[Path, Path | None]:
    """The worktree's top folder (the queue's key: one per worktree, as the CLI's lock) and
    its gate logs folder; the folder itself, and no logs, where it is not a worktree (the CLI
    then says why)."""
    import anyio

    from git_atomic.core.errors import AtomicError
    from git_atomic.engine import discovery

    try:
        repo = await anyio.to_thread.run_sync(discovery.discover, str(folder))
    except AtomicError:
        return folder, None
    return repo.root, repo.state_dir / "logs"


def invalid(spec: ToolSpec, arguments: dict[str, Any]) -> str | None:
    """What is wrong with the arguments, all of it in one line; None when they fit the schema."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    problems = [
        (".".join(str(part) for part in found.absolute_path), found.message)
        for found in Draft202012Validator(spec.input_schema).iter_errors(arguments)
    ]
    return (
        "; ".join(f"{where}: {what}" if where else what for where, what in sorted(problems)) or None
    )


def outcome(spec: ToolSpec, result: CliResult) -> mcp_types.CallToolResult:
    """The CLI's answer as a tool result: its JSON, or an error with one line."""
    import mcp_types as types

    data = result.data
    if data is None:
        return error(
            f"git-atomic {spec.name} exited {result.exit_code} without a JSON result: "
            f"{result.error_line}"
        )
    if "error" in data:  # exit 2 or 3: nothing changed
        hint = data.get("hint")
        line = f"{data['error']}" + (f" ({hint})" if hint else "")
        if set(data) <= {"error", "hint", "exit_code"}:
            return error(line)
        # A refusal with details (a rollback's overlapping paths): the JSON follows the line.
        return error(line, json.dumps(data, indent=1))
    structured = {**data, "exit_code": result.exit_code}
    text = json.dumps(structured, indent=1)
    if result.exit_code == 0:
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=structured
        )
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text=failure_line(spec.name, data)),
            types.TextContent(type="text", text=text),
        ],
        structured_content=structured,
        is_error=True,
    )


def failure_line(verb: str, data: dict[str, Any]) -> str:
    """One line saying what failed and where the tree is, for an exit-1 result."""
    why = _why(data)
    op = f"{data.get('name')} [{data.get('op_id')}]" if data.get("op_id") else verb
    tdd = data.get("tdd")
    if isinstance(tdd, dict) and tdd.get("untouched"):  # a phase that judged the tree as it was
        return f"{op}: {why}; nothing was changed"
    if data.get("status") == OpStatus.ROLLED_BACK:
        return f"{op} rolled back ({why}); the tree is as before; undo brings the changes back"
    return f"{op}: {why}"


def _why(data: dict[str, Any]) -> str:
    tdd = data.get("tdd")
    if isinstance(tdd, dict) and tdd.get("why"):
        return str(tdd["why"])
    for gate in data.get("gates") or ():
        verdict = gate.get("result", gate) if isinstance(gate, dict) else {}
        if isinstance(verdict, dict) and verdict.get("passed") is False:
            return f"gate {gate.get('name')} failed: {verdict.get('message') or 'no message'}"
    isolated = data.get("isolated")
    if isinstance(isolated, dict) and isolated.get("why"):
        return str(isolated["why"])
    return FAILED_PHASE.get(str(data.get("failed_phase")), "failed")


def error(message: str, *more: str) -> mcp_types.CallToolResult:
    import mcp_types as types

    texts = [types.TextContent(type="text", text=text) for text in (message, *more)]
    return types.CallToolResult(content=list(texts), is_error=True)
