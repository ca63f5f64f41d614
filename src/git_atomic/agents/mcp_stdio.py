"""The MCP server's stdio: JSON-RPC lines in and out, and the ends of a session.

The SDK's stdio transport does the framing; around it, this module answers what the SDK would
leave unanswered (a line that is no message, a request whose id MCP forbids), reads stdin so
that it never holds the server's exit, and ends the server when the client goes away: stdin
closed, stdout a broken pipe, or SIGTERM. Each ending cancels the calls in flight, and each of
those interrupts its CLI child and waits for its rollback (mcp_child.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
from typing import Any, Final

from git_atomic.agents import mcp_coerce, mcp_ids, mcp_stdout


def run(server: Any) -> int:
    """Serve `server` (the SDK's low-level server) on stdin/stdout until the client goes away;
    130 when Ctrl-C (SIGINT) stopped it, else 0."""
    import anyio
    from mcp.server.stdio import stdio_server

    if sys.stdin is None:  # started with stdin closed: the client is gone already
        return 0
    stopped_by: list[int] = []

    async def main() -> None:
        out = mcp_stdout.Output.opened()  # a write to a client that stopped reading can end
        try:
            await serving(out)
        finally:
            if out is not None:
                out.close()

    in_flight = mcp_ids.InFlight()  # each request's id, until it is answered
    server.middleware.append(in_flight.handled)

    async def serving(out: mcp_stdout.Output | None) -> None:
        lines = Lines(sys.stdin.fileno(), in_flight)
        # Held until every call has finished its rollback: a second Ctrl-C meanwhile is not a
        # KeyboardInterrupt that leaves a child's rollback unwaited for.
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with anyio.create_task_group() as everything:
                everything.start_soon(until_stopped, signals, everything.cancel_scope, stopped_by)
                wire = stdio_server(stdin=lines, stdout=out)  # type: ignore[arg-type]
                async with wire as (read, write):
                    checked, relay = answering_parse_errors(read, write, lines.refused)
                    async with anyio.create_task_group() as tasks:
                        tasks.start_soon(relay)
                        # Each id as its client sent it; an answered one is free again.
                        answers = mcp_ids.Unmarking(write, in_flight)
                        await server.run(checked, answers, server.create_initialization_options())
                        tasks.cancel_scope.cancel()
                        if out is not None:  # answers still to write: not for a client gone quiet
                            everything.start_soon(out.given_up, everything.cancel_scope)
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
    return 130 if stopped_by == [signal.SIGINT] else 0


async def until_stopped(signals: Any, scope: Any, stopped_by: list[int]) -> None:
    """SIGTERM (MCP's stdio shutdown sends it after closing stdin; a process manager may send
    it first) is the client leaving, and SIGINT (Ctrl-C where the server runs in a terminal)
    a person stopping it: cancelled, each call in flight interrupts its CLI child and waits for
    its rollback (mcp_child.py), where dying at once left the child running on alone, to commit
    after the client had stopped the server. Ctrl-C was Python's KeyboardInterrupt, which,
    arriving as a message did, ended the server as an internal error (exit 3)."""
    async for signum in signals:
        stopped_by.append(signum)
        word = "interrupted" if signum == signal.SIGINT else "terminated"
        print(f"git-atomic mcp: {word}; calls in flight were interrupted", file=sys.stderr)
        scope.cancel()
        return


class Lines:
    """stdin's lines for the SDK, less the requests it would not answer (`refused`).

    A line with an `id` is a request (a notification has none), but the SDK reads one whose id
    MCP forbids (null, a fraction, a boolean) as a notification and drops it, and answers one
    it cannot read with id null: either way its client waits for ever. Those are answered here
    (-32600, with their id where it is a string or an integer). Lone surrogates (`"\\ud800"`,
    valid JSON that Python reads and the SDK's parser refuses, dropping the request unanswered)
    are made U+FFFD. A blank line (only whitespace) is skipped: no official SDK's transport
    answers it (the Kotlin SDK skips it), and a client that sends one waits for no answer. A
    byte order mark at a line's start is read past. A request with the id of one still in flight
    is refused, -32600 with that id (mcp_ids.InFlight). A JSON-RPC batch is served as its messages
    at a revision that has batches; from 2025-06-18, which removed them, it is refused whole
    (-32600, id null), as MCP's peers do, where each of its requests was run."""

    def __init__(self, fd: int, in_flight: mcp_ids.InFlight | None = None) -> None:
        import anyio

        self._in_flight = in_flight or mcp_ids.InFlight()
        self._refuse, self.refused = anyio.create_memory_object_stream[Any](64)
        # JSON-RPC batches: taken until a revision without them (2025-06-18 on) is agreed.
        self._batches, self._revision = True, ""
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
                # A byte order mark before a line's JSON (Windows PowerShell 5.1 starts what it
                # pipes with one), which RFC 8259 lets a parser ignore, was a parse error, id
                # null: the request it began waited for ever.
                text = raw.decode("utf-8", "replace").removeprefix("\ufeff")
                if text.isspace():  # no message, and no answer awaited
                    continue
                line = _without_lone_surrogates(text)
                if not self._batches and _is_batch(line):
                    await self._refuse.send((None, _NO_BATCHES.format(self._revision)))
                    continue
                for message in _unbatched(line):
                    refused = _NONE if message is None else _refusal(message)
                    if message is None or refused is not _NONE:
                        await self._refuse.send((None if message is None else refused, _INVALID))
                        continue
                    ident, why = self._in_flight.arriving(message)
                    if why:  # its id is that of a request in flight: never run
                        await self._refuse.send((ident, why))
                        continue
                    self._agreeing(message)
                    yield mcp_ids.inbound(mcp_coerce.call_line(message))

    def _agreeing(self, message: str) -> None:
        """Notes the revision an `initialize` (or `server/discover`) agrees on: the SDK's answer
        is the one asked for where it speaks it, else its latest."""
        words = ('"initialize"', '"server/discover"', "\\u")  # a method written escaped too
        if not any(word in message for word in words):
            return
        from mcp_types import InitializeRequestParams
        from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

        with contextlib.suppress(ValueError):
            data = json.loads(message)
            if not isinstance(data, dict) or "id" not in data:
                return
            if data.get("method") == "server/discover":
                self._revision, self._batches = "2026-07-28", False
            elif data.get("method") == "initialize":
                # One the SDK refuses agrees on nothing: the revision stays as it was.
                asked = InitializeRequestParams.model_validate(
                    data.get("params"), by_name=False
                ).protocol_version
                known = asked in HANDSHAKE_PROTOCOL_VERSIONS
                self._revision = str(asked) if known else LATEST_HANDSHAKE_VERSION
                self._batches = self._revision in _BATCHING


_NONE: Final = object()
_BATCHING: Final = frozenset({"2024-11-05", "2025-03-26"})  # the revisions with batches
_NO_BATCHES: Final = (
    "Invalid Request: a JSON-RPC batch, which MCP removed in its 2025-06-18 revision "
    "(this session speaks {}); nothing in it was done: send each message on its own line"
)


def _is_batch(line: str) -> bool:
    """A JSON array (a line that starts with `[` but is no JSON is a parse error)."""
    if not line.lstrip().startswith("["):
        return False
    try:
        return isinstance(json.loads(line), list)
    except (ValueError, RecursionError):
        return False


def _unbatched(line: str) -> list[str | None]:
    """A JSON-RPC batch's messages, each a line of its own (None: an element that is no
    message, answered -32600 with id null, as an empty batch is once): the 2025-03-26 revision,
    which the server still negotiates, says a receiver MUST take batches, and one sent at a later
    revision, which has none, was answered with one error, id null, its requests' ids never, so
    its client waited for ever. Any other line is itself."""
    if not line.lstrip().startswith("["):
        return [line]
    try:
        batch = json.loads(line)
    except (ValueError, RecursionError):
        return [line]  # answered as the SDK reads it: a parse error
    if not isinstance(batch, list) or not batch:
        return [None]
    return [
        json.dumps(item, ensure_ascii=False) + "\n" if isinstance(item, dict) else None
        for item in batch
    ]


def _refusal(line: str) -> object:
    """The id to answer a request the SDK would not answer with (None: its id is not one an
    answer can carry), or `_NONE` when the SDK answers the line itself: a good message, a
    notification, a response, or a line that is no JSON object (a parse error, id null)."""
    import mcp_types as types

    try:
        data = json.loads(line)
    except ValueError:
        return _NONE
    except RecursionError:
        # Nested past Python's stack (`{"id": 7, "params": [[[[...`): valid JSON that no parser
        # here reads, which the SDK answered as a parse error with id null, and its client
        # waited for ever for an answer to its request. Its id is found without recursion.
        return _deep_id(line)
    if not isinstance(data, dict) or "id" not in data:
        return _NONE
    if "method" not in data and ("result" in data or "error" in data):  # a response
        return _NONE
    ident = data["id"]
    if not isinstance(ident, (str, int)) or isinstance(ident, bool):
        return None  # the SDK takes it for a notification
    try:  # what the SDK's reader does with the line: JSON it cannot read has no id for it
        read = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValueError:  # its ValidationError: a malformed request, JSON nested past its limit
        return ident
    if "method" in data and not isinstance(read, types.JSONRPCRequest):
        # A request with an `error` member too, which the SDK reads as a response to no
        # request of its own and drops: its client waited for ever.
        return ident
    return _NONE


_DECODE: Final = json.JSONDecoder().raw_decode  # one value from a position: a string here


def _deep_id(line: str) -> object:
    """The `id` of a request too deeply nested to parse, to answer it with (-32600), read from
    its top level without recursion; `_NONE` (a parse error, id null) where it has none."""
    text, at = line.strip(), 1
    try:
        if not text.startswith("{"):
            return _NONE
        while True:
            at = _blank(text, at)
            if text[at : at + 1] != '"':
                return _NONE
            key, at = _DECODE(text, at)
            at = _blank(text, at)
            if text[at : at + 1] != ":":
                return _NONE
            start = _blank(text, at + 1)
            at = _value_end(text, start)
            if key == "id":
                ident = json.loads(text[start:at])
                if isinstance(ident, (str, int)) and not isinstance(ident, bool):
                    return ident
                return None  # an id MCP forbids: answered with id null
            at = _blank(text, at)
            if text[at : at + 1] != ",":
                return _NONE
            at += 1
    except (ValueError, RecursionError):
        return _NONE


def _blank(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _value_end(text: str, at: int) -> int:
    """Where the JSON value that starts at `at` ends: strings read, brackets counted."""
    if text[at : at + 1] not in ('"', "[", "{"):  # a number, true, false, null
        end = at
        while end < len(text) and text[end] not in ",}] \t\r\n":
            end += 1
        return end
    depth = 0
    while at < len(text):
        char = text[at]
        if char == '"':
            at = _DECODE(text, at)[1]
            if depth == 0:
                return at
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    raise ValueError("unterminated")


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


def answering_parse_errors(read: Any, write: Any, refused: Any) -> tuple[Any, Any]:
    """The messages the SDK read, and a relay that answers a line that is no JSON-RPC message
    with JSON-RPC's parse error (id null), and a request `Lines` refused with an invalid
    request error, instead of nothing: a client must not wait for ever."""
    import anyio
    import mcp_types as types
    from mcp.shared.message import SessionMessage

    send, receive = anyio.create_memory_object_stream[Any](0)

    async def answer(ident: Any, error: Any) -> None:
        await write.send(SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=ident, error=error)))

    async def refuse() -> None:
        async with refused:
            async for ident, why in refused:
                await answer(ident, types.ErrorData(code=types.INVALID_REQUEST, message=why))

    async def relay() -> None:
        async with send, anyio.create_task_group() as refusals:
            refusals.start_soon(refuse)
            async for item in read:
                if isinstance(item, Exception):
                    await answer(None, _parse_error(item))
                else:
                    await send.send(item)
            # The refusals end with stdin (`Lines` closes them): the last is answered too.

    return receive, relay


_INVALID: Final = "Invalid Request"


def _parse_error(exc: Exception) -> Any:
    """JSON-RPC's word for a line the SDK could not read: no JSON at all (-32700), or JSON that
    is no request, notification or response (-32600)."""
    import mcp_types as types

    kinds = {e.get("type") for e in getattr(exc, "errors", lambda: [])()}
    if kinds and "json_invalid" not in kinds:
        return types.ErrorData(code=types.INVALID_REQUEST, message=_INVALID)
    return types.ErrorData(code=types.PARSE_ERROR, message="Parse error")
