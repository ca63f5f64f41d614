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
command or gate stops and the operation is rolled back before the queue moves on. The stdio
side (what the SDK leaves unanswered, and the ends of a session) is `mcp_stdio.py`; a call's
answer, `mcp_results.py`; the client's roots, which bound the worktrees a call may work on,
`mcp_roots.py`; whose operation it is, when two clients' servers share a worktree,
`mcp_owners.py`.
"""

from __future__ import annotations

import collections
import functools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from git_atomic import __version__
from git_atomic.agents import (
    CliResult,
    cli_argv,
    mcp_coerce,
    mcp_owners,
    mcp_results,
    mcp_roots,
)
from git_atomic.agents.mcp_tools import SPECS, TOOLS, ToolSpec
from git_atomic.core.errors import UsageError
from git_atomic.core.vocab import OpStatus

INVALID_PARAMS: Final = -32602  # JSON-RPC's code, as the SDK's mcp_types names it

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


def serve(*, repo: Path | None = None) -> int:
    """Serve on stdin/stdout until the client goes away."""
    try:
        import mcp.server.stdio  # noqa: F401  (the optional extra, with anyio)
    except ImportError:
        raise UsageError(_MISSING) from None
    from git_atomic.agents import mcp_stdio

    # A bad --repo is not fatal here: each call that uses it answers with the reason, after
    # the handshake, where the client can show it (a server that exits is only "closed").
    tools = Tools(repo)
    # The commands it runs are its own: an operation it marked is theirs to finish or take
    # back (commands/theirs.py refuses a live server's operations to any other caller).
    os.environ["GIT_ATOMIC_MCP_SERVER"] = str(os.getpid())
    try:
        return mcp_stdio.run(build(tools))
    finally:
        tools.forget()  # its operations are anyone's once it is gone


def build(tools: Tools) -> Server[Any]:
    """The SDK's low-level server with our two handlers."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    listed = [_tool(spec) for spec in SPECS]
    handshake = mcp_roots.Handshake()

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
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            known = params.name in TOOLS
            roots = await mcp_roots.client_roots(ctx, params, handshake) if known else None
        except mcp_roots.RootsNeeded as needed:
            return needed.result()
        except UsageError as exc:
            return mcp_results.error(str(exc))
        return await tools.call(ctx, params.name, dict(params.arguments or {}), roots)

    server = Server(
        "git-atomic",
        version=__version__,
        title="git-atomic",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    server.add_notification_handler(
        "notifications/initialized", types.NotificationParams, handshake.said
    )
    server.middleware.append(saying_why)
    return server


async def saying_why(ctx: ServerRequestContext[Any], call_next: Any) -> Any:
    """A request the SDK refuses as `Invalid request parameters`, with empty data and nothing
    else (its params do not fit the method's schema, or it came before `initialize`), is
    refused the same (-32602) with a line that says which, and what is wrong."""
    from mcp.shared.exceptions import MCPError
    from pydantic import ValidationError

    from git_atomic.core.printable import bounding

    try:
        return await call_next(ctx)
    except ValidationError as exc:
        if ctx.request_id is None:
            raise
        problems = [
            f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()[:5]
        ]
        raise MCPError(
            INVALID_PARAMS, bounding(f"{ctx.method}: {'; '.join(problems)}", [])
        ) from None
    except MCPError as exc:
        if ctx.request_id is None or exc.error.message != "Invalid request parameters":
            raise
        if ctx.session.client_params is None:
            why = "no initialize came before it: send initialize, then notifications/initialized"
            raise MCPError(INVALID_PARAMS, f"{ctx.method}: {why}") from None
        raise


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
        self._made: list[tuple[Path, str]] = []  # (our folder, op id) of each operation made here

    async def call(
        self,
        ctx: ServerRequestContext[Any],
        name: str,
        arguments: dict[str, Any],
        roots: list[Path] | None = None,
    ) -> mcp_types.CallToolResult:
        """The call's result, its error's line one line (mcp_results.one_line)."""
        import mcp_types as types

        from git_atomic.core.printable import bounding

        spec = TOOLS.get(name)
        if spec is None:
            # A protocol error, as the MCP specification lists it (Tools, Error Handling).
            from mcp.shared.exceptions import MCPError

            unknown = bounding(repr(name), [name])
            raise MCPError(
                types.INVALID_PARAMS, f"unknown tool {unknown}; tools: {', '.join(TOOLS)}"
            )
        result = await self._call(ctx, spec, arguments, roots)
        return mcp_results.one_line(result, arguments, name)

    async def _call(
        self,
        ctx: ServerRequestContext[Any],
        spec: ToolSpec,
        arguments: dict[str, Any],
        roots: list[Path] | None,
    ) -> mcp_types.CallToolResult:
        from git_atomic.agents.mcp_child import run_child, waiting_in_line

        arrived = time.monotonic()
        name = spec.name
        # A number, boolean or list its client wrote as a string, a null for "not given".
        arguments = mcp_coerce.lenient(spec.input_schema, arguments)
        problem = mcp_results.invalid(spec, arguments)
        if problem:
            return mcp_results.error(f"{name}: {problem}")
        try:
            root = self._root(arguments.get("repo"), roots)
        except UsageError as exc:
            return mcp_results.error(str(exc))
        call = spec.call(arguments)
        argv = cli_argv(call.verb, call.args, paths=call.rest)
        if spec.read_only:
            worktree, state = await _worktree(root)
            if outside := mcp_roots.outside(worktree, roots):
                return mcp_results.error(outside)
            logs = _logs(state)
            result = await run_child(ctx, call.verb, argv, root, logs=logs, arrived=arrived)
            return mcp_results.outcome(spec, result)
        # Calls join their worktree's queue in the order they arrived: finding the worktree
        # takes a git call in a thread, and those come back in any order.
        async with self._arrived():
            worktree, state = await _worktree(root)
            if outside := mcp_roots.outside(worktree, roots):
                return mcp_results.error(outside)
            logs = _logs(state)
            queue = self._queues.setdefault(worktree, _Queue())
            ticket = queue.join()
        try:
            await waiting_in_line(ctx, call.verb, ticket, arrived)
            if arguments.get("wait"):
                mine = await self._own_session(ctx, worktree, root, logs, arrived)
                if mine is not None:
                    # It would wait for this server's next call, which queues behind it.
                    return mcp_results.error(
                        f"{name}: the operation you opened with begin [{mine}] is still open"
                        " in this worktree; commit or abort it first (wait would wait for it)"
                    )
            guarded = call.verb in mcp_owners.GUARDED and not arguments.get("dry_run")
            if state is not None and guarded:  # a dry run changes nothing: anyone may look
                theirs = await mcp_owners.anothers(
                    ctx, call.verb, arguments, state, root, logs, arrived
                )
                if theirs is not None:
                    return mcp_results.error(f"{name}: {theirs}")
            folder = worktree if call.at_top else root
            # Noted even when the call is cancelled: what its child made is this server's.
            noted = functools.partial(self._note_session, call.verb, worktree, state)
            result = await run_child(
                ctx, call.verb, argv, folder, logs=logs, arrived=arrived, noted=noted
            )
            return mcp_results.outcome(spec, result)
        finally:
            queue.leave(ticket)

    async def _own_session(
        self,
        ctx: ServerRequestContext[Any],
        worktree: Path,
        root: Path,
        logs: Path | None,
        arrived: float,
    ) -> str | None:
        """The op id of the operation a `begin` through this server opened, while it is open."""
        from git_atomic.agents.mcp_child import run_child

        mine = self._opened.get(worktree)
        if mine is None:
            return None
        now = await run_child(ctx, "status", cli_argv("status"), root, logs=logs, arrived=arrived)
        open_op = (now.data or {}).get("open")
        if isinstance(open_op, dict) and open_op.get("op_id") == mine:
            return mine
        del self._opened[worktree]  # committed or aborted some other way
        return None

    def _note_session(
        self, verb: str, worktree: Path, state: Path | None, result: CliResult
    ) -> None:
        data = result.data or {}
        op_id = str(data.get("op_id") or "")
        if verb in mcp_owners.MAKING and op_id and state is not None:
            mcp_owners.mark(state, op_id)
            self._made.append((state, op_id))
        if verb == "begin" and data.get("status") == OpStatus.OPEN and op_id:
            self._opened[worktree] = op_id
        elif verb in ("commit", "abort") and "error" not in data:
            self._opened.pop(worktree, None)

    def forget(self) -> None:
        """The server ends: the operations it made are no longer another session's."""
        for state, op_id in self._made:
            mcp_owners.unmark(state, op_id)

    def _root(self, repo: object, roots: list[Path] | None) -> Path:
        # Started outside the client's only root (a client's own folder, or home), nothing
        # named: the server works in that root, and a relative `repo` is inside it.
        named = self._default is not None or os.environ.get("GIT_ATOMIC_REPO")
        base = None if named else mcp_roots.default_folder(roots)
        if isinstance(repo, str) and repo:
            inside = base is not None and not repo.startswith("~")  # ~user/x: that home's
            return repository(base / repo if inside and base is not None else Path(repo))
        return repository(base or self._default)

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


def _logs(state: Path | None) -> Path | None:
    return state / "logs" if state is not None else None


async def _worktree(folder: Path) -> tuple[Path, Path | None]:
    """The worktree's top folder (the queue's key: one per worktree, as the CLI's lock) and
    our folder in its git dir; the folder itself, and None, where it is not a worktree (the CLI
    then says why)."""
    import anyio

    from git_atomic.core.errors import AtomicError
    from git_atomic.engine import discovery

    try:
        repo = await anyio.to_thread.run_sync(discovery.discover, str(folder))
    except AtomicError:
        return folder, None
    return repo.root, repo.state_dir
