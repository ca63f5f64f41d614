"""`git atomic mcp`: a Model Context Protocol server on stdio over the git-atomic CLI.

Each tool runs one `git-atomic VERB ... --json` in the repository and returns the JSON object
it printed (the result schema of docs/reference.md) plus `exit_code`. The SDK is the optional extra
`git-atomic[mcp]`, imported only here, by name: mcp 1.x calls the server `FastMCP`,
mcp 2.x `MCPServer` (see docs/agents-research.md), and either works.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from git_atomic.agents import option, run_cli
from git_atomic.errors import UsageError

_MISSING: Final = "the MCP server needs the optional extra: pip install 'git-atomic[mcp]'"
_SDKS: Final = (  # (module, server class, module of its ToolError), newest first
    ("mcp.server.mcpserver", "MCPServer", "mcp.server.mcpserver.exceptions"),
    ("mcp.server.fastmcp", "FastMCP", "mcp.server.fastmcp.exceptions"),
)
INSTRUCTIONS: Final = (
    "git-atomic makes changes to this git working tree atomic. Call begin before changing "
    "files, checkpoint after each step, commit at the end (quality gates run; if one fails "
    "the tree returns to the state before begin). abort and rollback go back; undo reverses "
    "the last rollback. Every result is the CLI's JSON plus exit_code: 0 done, 1 rolled back, "
    "2 usage or configuration error, 3 refused (busy or unsafe repository state)."
)

History = Literal["commits", "shadow"]
Tool = Callable[..., dict[str, Any]]


def serve(*, repo: Path | None = None) -> int:
    """Serve on stdin/stdout until the client goes away."""
    server_class, tool_error = _load_sdk()
    root = repository(repo)
    server = server_class("git-atomic", instructions=INSTRUCTIONS)
    _add_tools(server, tool_error, root)
    server.run("stdio")
    return 0


def repository(repo: Path | None, environ: os._Environ[str] | dict[str, str] = os.environ) -> Path:
    """`--repo`, else `$GIT_ATOMIC_REPO`, else the current directory."""
    chosen = repo or (Path(environ["GIT_ATOMIC_REPO"]) if environ.get("GIT_ATOMIC_REPO") else None)
    root = (chosen or Path.cwd()).expanduser()
    if not root.is_dir():
        raise UsageError(f"{root}: no such directory for the MCP server's repository")
    return root.resolve()


def _load_sdk() -> tuple[Any, type[Exception]]:
    for module, name, errors in _SDKS:
        try:
            server_class = getattr(importlib.import_module(module), name)
            tool_error: type[Exception] = importlib.import_module(errors).ToolError
        except (ImportError, AttributeError):
            continue
        return server_class, tool_error
    raise UsageError(_MISSING)


def _add_tools(server: Any, tool_error: type[Exception], root: Path) -> None:
    register: Callable[[], Callable[[Tool], Tool]] = server.tool

    def cli(verb: str, args: Sequence[str] = (), paths: Sequence[str] = ()) -> dict[str, Any]:
        result = run_cli(verb, args, cwd=root, paths=paths)
        if result.data is None:
            raise tool_error(
                f"git-atomic {verb} exited {result.exit_code} without a JSON "
                f"result: {result.error_line}"
            )
        return {**result.data, "exit_code": result.exit_code}

    def positional(value: str, what: str) -> str:
        if not value or value.startswith("-"):
            raise tool_error(f"{what} must be non-empty and must not start with '-': {value!r}")
        return value

    @register()
    def begin(name: str, history: History | None = None) -> dict[str, Any]:
        """Open an atomic operation: PRE-OP checkpoint of HEAD, index and every file."""
        args = [positional(name, "name")]
        return cli("begin", args + (option("--history", history) if history else []))

    @register()
    def checkpoint(message: str | None = None) -> dict[str, Any]:
        """Record an OP-EXEC stage of the open operation."""
        return cli("checkpoint", option("-m", message) if message else [])

    @register()
    def commit(gates: list[str] | None = None, no_gates: bool = False) -> dict[str, Any]:
        """Run the quality gates (configured ones, or these shell command lines), then make the
        open operation final (POST-OP) or, if a gate fails, roll it back (exit_code 1)."""
        args = [arg for gate in gates or [] for arg in option("-g", gate)]
        return cli("commit", args + (["--no-gates"] if no_gates else []))

    @register()
    def abort() -> dict[str, Any]:
        """Roll the open operation back to its PRE-OP state."""
        return cli("abort")

    @register()
    def rollback(
        op: str | None = None,
        to: str | None = None,
        paths: list[str] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Roll back: the last phase (no arguments), a whole operation (op), or to a
        checkpoint (to), optionally only some paths. dry_run lists changes, changes nothing."""
        if paths and not to:
            raise tool_error("paths need `to`: the checkpoint to restore them from")
        args = option("--op", op) if op else []
        args += option("--to", to) if to else []
        return cli("rollback", args + (["--dry-run"] if dry_run else []), paths=paths or ())

    @register()
    def undo(dry_run: bool = False) -> dict[str, Any]:
        """Reverse the last rollback, emergency or recover, exactly."""
        return cli("undo", ["--dry-run"] if dry_run else [])

    @register()
    def status() -> dict[str, Any]:
        """The open or interrupted operation of this worktree, and who holds the lock."""
        return cli("status")

    @register()
    def log(n: int | None = None, status: str | None = None) -> dict[str, Any]:
        """The audit trail, newest first: the last n operations, optionally of one status."""
        args = option("-n", str(n)) if n is not None else []
        return cli("log", args + (option("--status", status) if status else []))

    @register()
    def show(id: str) -> dict[str, Any]:
        """One operation (or checkpoint) by id: its phases, checkpoints and gates."""
        return cli("show", [positional(id, "id")])
