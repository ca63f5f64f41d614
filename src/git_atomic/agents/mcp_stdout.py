"""The MCP server's stdout: JSON-RPC lines to the client, written so that a wait can end.

The SDK writes each answer with a blocking write in a worker thread. A client that stops
reading (it waits for the server to exit before it reads the rest, or hangs) fills the pipe, the
write blocks, and nothing can cancel it: the client then closed stdin, or sent SIGTERM as MCP's
stdio shutdown says, and the server never exited (its calls rolled back, the process left
until SIGKILL). Here the line goes on a private, non-blocking copy of fd 1, and a full pipe is
waited on in the event loop, where the server's end cancels the wait. While it serves, fd 1
itself points at stderr, as the SDK's own stdout does, so that nothing else printed reaches the
wire; it is pointed back at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Any, Final

_FULL_WAIT_S: Final = 0.05  # without anyio.wait_writable (before anyio 4.7): how often to look
# Once stdin closed, how long the answers still to write may wait for a client that reads none.
QUIET_S: Final = 2.0


class Output:
    """What the SDK's stdio transport writes to (its `stdout`: `write`, `flush`)."""

    def __init__(self, fd: int = 1) -> None:
        self._fd = fd
        self._blocked_since: float | None = None  # anyio's clock: the pipe full since then
        self._wire = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
        os.set_blocking(self._wire, False)
        with contextlib.suppress(OSError):
            os.dup2(2, fd)  # a stray print goes to stderr, not into the client's stream

    @classmethod
    def opened(cls) -> Output | None:
        """The server's stdout, or None (the SDK's own) where fd 1 is no pipe or socket: a
        terminal's (a person trying the server), whose state non-blocking would be for every
        program on it, or closed."""
        import stat

        try:
            mode = os.fstat(1).st_mode
            if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
                return None
            return cls()
        except OSError:
            return None

    async def write(self, text: str) -> None:
        import anyio

        data = memoryview(text.encode("utf-8"))
        while data:
            try:
                data = data[os.write(self._wire, data) :]
                self._blocked_since = None
            except BlockingIOError:  # the pipe is full: the client is not reading now
                if self._blocked_since is None:
                    self._blocked_since = anyio.current_time()
                waiting: Any = getattr(anyio, "wait_writable", None)
                if waiting is not None:
                    await waiting(self._wire)
                else:
                    await anyio.sleep(_FULL_WAIT_S)

    async def given_up(self, scope: Any) -> None:
        """Cancels `scope` (the server's end) once a write has waited QUIET_S for the client to
        read: stdin is closed, and answers the client reads still go, however many."""
        import anyio

        while True:
            await anyio.sleep(QUIET_S / 8)
            since = self._blocked_since
            if since is not None and anyio.current_time() - since >= QUIET_S:
                scope.cancel()
                return

    async def flush(self) -> None:
        """Each write went whole to the pipe: nothing is held here."""

    def close(self) -> None:
        """fd 1 the wire again (blocking, as it came), and the copy closed."""
        with contextlib.suppress(OSError):
            os.set_blocking(self._wire, True)
            os.dup2(self._wire, self._fd)
        with contextlib.suppress(OSError):
            os.close(self._wire)
