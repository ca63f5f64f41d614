"""A client's request ids as JSON-RPC's: the string `"7"` and the number `7` are two ids.

The SDK keys the calls in flight on an id with a string of digits read as its number (as the
TypeScript SDK does, so that a peer that echoes an id as text still finds it): a client whose
calls in flight had the ids `7` and `"7"` could not cancel one without the other, and the second
one's entry overwrote the first's, so a cancel naming the first stopped the second. Such a
string id (one `int()` reads) is handed to the SDK marked, which no number can be, and unmarked
again in the answer; a cancel that names it by the string is marked the same. A client's id
that already starts with the mark is marked too, so every string comes back as it was sent.
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


class Unmarking:
    """The SDK's write stream, each answer's id as the client sent it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def send(self, item: Any, /) -> None:
        import mcp_types as types
        from mcp.shared.message import SessionMessage

        message = getattr(item, "message", None)
        if isinstance(message, (types.JSONRPCResponse, types.JSONRPCError)):
            ident = message.id
            if isinstance(ident, str) and ident.startswith(_MARK):
                sent = message.model_copy(update={"id": ident.removeprefix(_MARK)})
                item = SessionMessage(message=sent, metadata=item.metadata)
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Unmarking:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        done: bool | None = await self._inner.__aexit__(*exc)
        return done
