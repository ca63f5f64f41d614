"""The MCP client's roots: the folders it lets the server work in.

A client that declares the `roots` capability (VS Code's workspace folders, for one) answers
`roots/list` with file URIs, and MCP says a server should stay inside them. A tool call is
therefore refused when the worktree it would work on is not inside one of them; with no
`repo` argument, no `--repo` and no `$GIT_ATOMIC_REPO`, a server started outside the only root
works on that root. The roots are asked for on each call (one round trip, no git process): a
client's workspace changes, and a cached list would need `notifications/roots/list_changed`,
which a client may not send. A client without the capability, or whose list is empty (no
folder open), sets no bound, as the reference filesystem server keeps its own folders then.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

from git_atomic.core.errors import UsageError

if TYPE_CHECKING:
    import mcp_types
    from mcp.server.context import ServerRequestContext

ANSWER_WITHIN_S: Final = 30.0  # a client that declared roots but never answers roots/list
INITIALIZED_WITHIN_S: Final = 10.0  # a client that never says notifications/initialized


class Handshake:
    """Whether the client has said `notifications/initialized`: before it, MCP says a server
    should send no request but ping (and logging), and a call that came at once after the
    `initialize` answer was sent `roots/list` first. A client that never says it is asked
    anyway, after INITIALIZED_WITHIN_S once: the call is not left waiting for ever."""

    def __init__(self) -> None:
        self._said: Any = None  # an anyio.Event, made in the server's event loop
        self._given_up = False

    def _event(self) -> Any:
        import anyio

        if self._said is None:
            self._said = anyio.Event()
        return self._said

    async def said(self, ctx: Any, params: Any) -> None:
        """The `notifications/initialized` handler."""
        self._event().set()

    async def awaited(self) -> None:
        import anyio

        if self._given_up:
            return
        with anyio.move_on_after(INITIALIZED_WITHIN_S):
            await self._event().wait()
            return
        self._given_up = True


class RootsNeeded(Exception):  # not an error: a question for the client
    """The 2026-07-28 era has no server-to-client request: the call is answered with an
    `InputRequiredResult` asking for the roots, and the client sends it again with them."""

    def result(self) -> mcp_types.InputRequiredResult:
        import mcp_types as types

        return types.InputRequiredResult(input_requests={ROOTS_KEY: types.ListRootsRequest()})


ROOTS_KEY: Final = "roots"


async def client_roots(
    ctx: ServerRequestContext[Any],
    params: mcp_types.CallToolRequestParams,
    handshake: Handshake | None = None,
) -> list[Path] | None:
    """The client's roots as real folders; None when it sets no bound."""
    import mcp_types as types
    from mcp.shared.exceptions import MCPError, NoBackChannelError
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS as HANDSHAKE_VERSIONS
    from pydantic import ValidationError

    if not ctx.session.check_client_capability(
        types.ClientCapabilities(roots=types.RootsCapability())
    ):
        return None
    given = (params.input_responses or {}).get(ROOTS_KEY)
    try:
        if isinstance(given, types.ListRootsResult):  # the 2026 era's retry, with the answer
            listed = given
        else:
            if handshake is not None and ctx.session.protocol_version in HANDSHAKE_VERSIONS:
                await handshake.awaited()
            listed = await ctx.session.send_request(
                types.ListRootsRequest(),
                types.ListRootsResult,
                request_read_timeout_seconds=ANSWER_WITHIN_S,
            )
    except NoBackChannelError:
        raise RootsNeeded from None
    except (MCPError, ValidationError) as exc:
        # Declared but not answered: its bounds are unknown, so nothing is done (never outside).
        why = exc.error.message if isinstance(exc, MCPError) else "an answer that is no root list"
        raise UsageError(
            f"the client declares roots but roots/list failed ({why}): "
            "nothing was done, as the folders it allows are unknown"
        ) from None
    folders = [folder(str(root.uri)) for root in listed.roots]
    return [f for f in folders if f is not None] if listed.roots else None


def folder(uri: str) -> Path | None:
    """The real folder a `file://` root names; None for another scheme or host."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(os.path.realpath(unquote(parts.path)))


def default_folder(roots: list[Path] | None) -> Path | None:
    """The only root, when the server's own folder (its working directory, nothing named) is
    outside every root; else None (the server's folder)."""
    if not roots or len(roots) != 1:
        return None
    here = Path(os.path.realpath(Path.cwd()))
    return None if inside(here, roots) else roots[0]


def inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def outside(worktree: Path, roots: list[Path] | None) -> str | None:
    """Why the worktree is not the server's to work on (not inside one of the client's
    roots); None when it is."""
    real = Path(os.path.realpath(worktree))
    if roots is None or inside(real, roots):
        return None
    named = ", ".join(str(r) for r in roots) or "none with a file:// URI"
    within = [r for r in roots if r.is_relative_to(real)]
    if within:  # the client shares a folder of the worktree, not the whole of it
        return (
            f"the worktree {worktree} is more than the client shares (its roots: {named}), "
            "and an operation reaches every file of it; nothing was done: share the "
            "worktree's top folder to work on it"
        )
    return (
        f"{worktree} is outside the folders this client lets the server work in "
        f"(its roots: {named}); nothing was done: name a repo inside one of them"
    )
