"""An agent hook's payload read from its standard input, without waiting for an end of input
that may never come.

A platform writes the payload (one JSON object) to the hook's stdin and is meant to close it.
Copilot CLI leaves the stdin of its tool hooks (`preToolUse`, `postToolUse`) open after the
payload (github/copilot-cli issue 4034), and Claude Code on Windows at times did the same
(anthropics/claude-code issue 78756): a hook that reads to the end of its input waits until the
platform's timeout kills it, every tool call of the agent stalled that long, and its checkpoint
never taken. So the payload is read up to its end or until it is whole: the bytes read end a
JSON object and no more come for a moment (`PAUSE`), the writer having stopped there. A
terminal is no payload (a platform that lets its hooks inherit one writes nothing into it):
reading it waited for a person's typing.

Imported by the warm helper's client (core/helper.py) for a hook call: nothing heavy until the
payload looks whole and no end came (`json`, only then).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # (typing would import re and enum: milliseconds of every hook call)
if TYPE_CHECKING:
    from typing import Final, TextIO

PAUSE: Final = 0.05  # seconds without a byte after a whole object: the writer is done
# What may follow a JSON object: its blanks (and the NULs of UTF-16 or UTF-32 text).
_BLANKS: Final = b" \t\r\n\0"


def read(fd: int = 0) -> bytes:
    """The payload on `fd`: its bytes up to the end of input, or up to the end of the JSON
    object they hold when the writer stops there and leaves the input open. OSError: the
    descriptor cannot be read."""
    if os.isatty(fd):
        return b""
    chunks: list[bytes] = []
    ends_object = False
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
        tail = chunk.rstrip(_BLANKS)
        if tail:
            ends_object = tail.endswith(b"}")
        if ends_object and not _more(fd) and whole(b"".join(chunks)):
            break
    return b"".join(chunks)


def from_stream(stream: TextIO | None) -> bytes:
    """The payload on `stream` (sys.stdin): read from its descriptor as `read` does, or, for
    one that has none (a payload the warm helper's client read already), all of it."""
    if stream is None:  # started with no stdin at all
        return b""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return stream.buffer.read()
    return read(fd)


def whole(data: bytes) -> bool:
    """Whether `data` is one JSON object, as the hook reads a payload (past a byte order
    mark)."""
    import json

    from git_atomic.core.bomtext import payload_text

    try:
        return isinstance(json.loads(payload_text(data)), dict)
    except (ValueError, RecursionError):  # not JSON (yet), not text; nested past the stack
        return False


def _more(fd: int) -> bool:
    """Whether a byte or the end of input comes on `fd` within `PAUSE`."""
    import select

    try:
        return bool(select.select([fd], [], [], PAUSE)[0])
    except (OSError, ValueError):  # no descriptor select can wait on: read on, as before
        return True
