"""A client's request ids as JSON-RPC's: the string `"7"` and the number `7` are two ids.

The SDK keys the calls in flight on an id with a string of digits read as its number (as the
TypeScript SDK does, so that a peer that echoes an id as text still finds it): a client whose
calls in flight had the ids `7` and `"7"` could not cancel one without the other, and the second
one's entry overwrote the first's, so a cancel naming the first stopped the second. Such a
string id (one `int()` reads) is handed to the SDK marked, which no number can be, and unmarked
again in the answer; a cancel that names it by the string is marked the same. A client's id
that already starts with the mark is marked too, so every string comes back as it was sent.

A request whose id is that of one still in flight (`InFlight`) is refused before the SDK reads
it: the SDK kept one call per id, so both ran, both were answered with the one id, and a cancel
naming it reached the later one only.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

_MARK: Final = "git-atomic-string-id:"
_STRING_ID: Final = re.compile(r'"(?:id|requestId)"\s*:\s*"')


def _marked(ident: object) -> str | None:
    """The id the SDK is given for a client's string id it would take for a number (or for
    one already marked); None: the id goes as it is."""
    if not isinstance(ident, str):
        return None
    if not ident.startswith(_MARK):
        try:
            int(ident)
        except ValueError:
            return None
    return _MARK + ident


def inbound(line: str) -> str:
    """The line the SDK reads: a request's string id, or the one a cancel names, marked where
    the SDK would confuse it with a number."""
    if not _STRING_ID.search(line) and "\\u" not in line:  # a key may be written escaped
        return line  # no string id (most clients number theirs): not parsed again
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return line
    if not isinstance(data, dict) or not isinstance(data.get("method"), str):
        return line  # a response to a request of the server's: its id is the server's own
    changed = False
    if (ident := _marked(data.get("id"))) is not None:
        data["id"], changed = ident, True
    params = data.get("params") if data["method"] == "notifications/cancelled" else None
    if isinstance(params, dict) and (named := _marked(params.get("requestId"))) is not None:
        params["requestId"], changed = named, True
    return json.dumps(data, ensure_ascii=False) + "\n" if changed else line


_RUNNING, _CANCELLED, _RETURNED = 0, 1, 2
NOT_RUN: Final = (
    "Invalid Request: a request with this id is still in flight (MCP: an id MUST NOT be reused"
    " in a session); this one was not run: the one in flight goes on, and its answer carries"
    " the id"
)
STILL_CANCELLING: Final = (
    "Invalid Request: the request with this id was cancelled and is still being rolled back"
    " (MCP: an id MUST NOT be reused in a session); this one was not run: send it with"
    " another id"
)


def _key(ident: object) -> tuple[bool, object]:
    """A client's id as JSON-RPC tells ids apart: the string "7" is not the number 7."""
    return isinstance(ident, str), ident


def _unmarked(ident: object) -> object:
    return ident.removeprefix(_MARK) if isinstance(ident, str) else ident


class InFlight:
    """The ids of the client's requests read and not settled: from the line that brought one
    until its answer was handed to stdout, or, cancelled, until its handler ended (a cancelled
    request is not answered). JSON-RPC and MCP forbid an id in flight to a second request; the
    SDK took it anyway, kept one call per id, and ran both: a changing tool twice, two answers
    the client could not tell apart, and a cancel that reached the later call only. Such a
    request is refused (`arriving`), never run. An id whose request was answered is free again:
    a client that numbers from 1 again (a script) names no call in flight."""

    def __init__(self) -> None:
        self._ids: dict[tuple[bool, object], int] = {}

    def arriving(self, line: str) -> tuple[object, str]:
        """(id, why) where `line` is a request whose id is one in flight: refuse it with that
        id and that line; else (None, ""), the request's id noted, or a cancel's request
        marked."""
        if '"id"' not in line and '"requestId"' not in line and "\\u" not in line:
            return None, ""  # a notification (a key may be written escaped)
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            return None, ""  # answered as the SDK reads it
        if not isinstance(data, dict) or not isinstance(data.get("method"), str):
            return None, ""  # a response to a request of the server's
        if "id" not in data:
            params = data.get("params")
            if data["method"] == "notifications/cancelled" and isinstance(params, dict):
                named = _key(params.get("requestId"))
                if self._ids.get(named) == _RUNNING:
                    self._ids[named] = _CANCELLED  # not answered: settled when its handler ends
            return None, ""
        key = _key(data["id"])
        if key in self._ids:
            return data["id"], STILL_CANCELLING if self._ids[key] == _CANCELLED else NOT_RUN
        self._ids[key] = _RUNNING
        return None, ""

    async def handled(self, ctx: Any, call_next: Any) -> Any:
        """The SDK's middleware: a request's handler ended. Cancelled, it is settled (no answer
        follows); else its answer settles it (`answered`)."""
        import anyio

        key = _key(_unmarked(ctx.request_id))
        interrupted = False
        try:
            return await call_next(ctx)
        except anyio.get_cancelled_exc_class():
            interrupted = True
            raise
        finally:
            if ctx.request_id is not None and key in self._ids:
                if interrupted or self._ids[key] == _CANCELLED:
                    del self._ids[key]
                else:
                    self._ids[key] = _RETURNED

    def answered(self, ident: object) -> None:
        self._ids.pop(_key(ident), None)


class Unmarking:
    """The SDK's write stream, each answer's id as the client sent it; the answer settles the
    request (`InFlight`)."""

    def __init__(self, inner: Any, in_flight: InFlight | None = None) -> None:
        self._inner = inner
        self._in_flight = in_flight

    async def send(self, item: Any, /) -> None:
        import mcp_types as types
        from mcp.shared.message import SessionMessage

        message = getattr(item, "message", None)
        answered: list[object] = []
        if isinstance(message, (types.JSONRPCResponse, types.JSONRPCError)):
            ident = message.id
            if isinstance(ident, str) and ident.startswith(_MARK):
                sent = message.model_copy(update={"id": ident.removeprefix(_MARK)})
                item = SessionMessage(message=sent, metadata=item.metadata)
            answered.append(_unmarked(ident))
        try:
            await self._inner.send(item)
        finally:
            if self._in_flight is not None and answered:
                self._in_flight.answered(answered[0])

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Unmarking:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        done: bool | None = await self._inner.__aexit__(*exc)
        return done
