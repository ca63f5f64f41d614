"""One CLI child of the MCP server: progress while it runs, SIGINT when the call is cancelled.

The async twin of `agents.run_cli` (which the hooks use): the server must keep answering other
calls, send `notifications/progress` while a long gate runs, and stop the child when the client
sends `notifications/cancelled`. The SDK applies a cancel by cancelling the call's task; the
child then gets SIGINT, as from Ctrl-C, and the CLI stops its command or gate, rolls the
operation back and exits 130. We wait for that (shielded from the cancel), so the repository's
queue moves on only once the tree is back.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anyio
from anyio.abc import ByteReceiveStream, Process

from git_atomic.agents import CliResult
from git_atomic.core.errors import Exit
from git_atomic.core.printable import printable

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

PROGRESS_EVERY_S: Final = 1.0
# Characters of the CLI's stderr (its command's output) held: more than a result shows.
STDERR_KEPT: Final = 100_000
_RECENT: Final = 2000  # characters searched for the last line printed
_SHOWN: Final = 160  # characters of it a progress message shows (its end)
# A rollback on a 100k-file tree takes under 2 s (docs/performance.md): a child still busy after
# this is stuck and is killed; its interrupted operation is `recover`'s to finish, as after a crash.
ROLLBACK_GRACE_S: Final = 120.0


async def run_child(
    ctx: ServerRequestContext[Any],
    verb: str,
    argv: Sequence[str],
    cwd: Path,
    *,
    logs: Path | None,
    arrived: float | None = None,
    noted: Callable[[CliResult], None] | None = None,
) -> CliResult:
    """The CLI's answer; `arrived` (time.monotonic()) is when the call came, which the
    progress it sends counts from (a call that waited in its queue reported progress then).
    `noted` is given the answer of a child that ran, even when the call is cancelled: what the
    child did (an operation it made, rolled back or not) is the server's to note, answered or
    not; a cancel that came as the child finished lost a `begin`'s op id."""
    try:
        process = await anyio.open_process(list(argv), cwd=cwd, stdin=subprocess.DEVNULL)
    except (OSError, ValueError) as exc:
        # The folder vanished, the interpreter is gone, an argument no command line can hold
        # (a NUL byte, a lone surrogate): an answer, not a crash.
        why = f"cannot run git-atomic in {cwd}: {getattr(exc, 'strerror', None) or exc}\n"
        if getattr(exc, "errno", None) == errno.E2BIG:  # the system's limit on a command line
            longest = max(len(a) for a in argv)
            why = (
                f"an argument is too long for a command line (the longest: {longest} characters)\n"
            )
        return CliResult(tuple(argv), int(Exit.REFUSED), None, "", why)
    out: list[bytes] = []
    err = _Tail(STDERR_KEPT)
    try:
        async with anyio.create_task_group() as ticker:
            # Without a progress token from the client, report_progress sends nothing.
            ticker.start_soon(_progress, ctx, verb, logs, arrived, err.last_line)
            async with anyio.create_task_group() as readers:
                readers.start_soon(_drain, process.stdout, out)
                readers.start_soon(_drain, process.stderr, err)
                await process.wait()
                # A grandchild left running may hold the pipes open: do not wait for it.
                readers.cancel_scope.deadline = anyio.current_time() + 5
            ticker.cancel_scope.cancel()
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await _interrupt(process)
            # What it wrote that was not read yet (a grandchild may hold a pipe: not for long).
            with anyio.move_on_after(5):
                async with anyio.create_task_group() as readers:
                    readers.start_soon(_drain, process.stdout, out)
                    readers.start_soon(_drain, process.stderr, err)
            if noted is not None:
                noted(_answer(argv, process, out, err))
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await process.aclose()
    result = _answer(argv, process, out, err)
    if noted is not None:
        noted(result)
    return result


def _answer(argv: Sequence[str], process: Process, out: list[bytes], err: _Tail) -> CliResult:
    stdout = b"".join(out).decode("utf-8", "replace")
    code = process.returncode if process.returncode is not None else int(Exit.REFUSED)
    stderr = err.text()
    return CliResult(tuple(argv), code, _one_object(stdout), stdout, stderr, err.dropped)


async def _drain(stream: ByteReceiveStream | None, into: list[bytes] | _Tail) -> None:
    if stream is not None:
        async for chunk in stream:
            into.append(chunk)


class _Tail:
    """The end of what a stream printed, and how much of its start was let go: a command's
    output passes through the CLI's stderr, and a result shows only its end (mcp_results.py),
    where all of it was held, a command that printed without end growing the server until the
    system killed it."""

    def __init__(self, keep: int) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._keep = keep
        self._parts: list[str] = []
        self._held = 0
        self.dropped = 0  # characters of the start let go
        self._recent = ""  # the last characters, for the progress message's last line

    def append(self, chunk: bytes) -> None:
        self._add(self._decoder.decode(chunk))

    def _add(self, text: str) -> None:
        self._parts.append(text)
        self._held += len(text)
        self._recent = (self._recent + text[-_RECENT:])[-_RECENT:]
        if self._held > 2 * self._keep:
            whole = "".join(self._parts)
            self._parts, self._held = [whole[-self._keep :]], self._keep
            self.dropped += len(whole) - self._keep

    def last_line(self) -> str | None:
        """The last line printed that holds anything, shown as one short line."""
        lines = [line.strip() for line in self._recent.splitlines() if line.strip()]
        if not lines:
            return None
        last = lines[-1]
        return printable(last if len(last) <= _SHOWN else f"…{last[-_SHOWN:]}")

    def text(self) -> str:
        self._add(self._decoder.decode(b"", final=True))
        return "".join(self._parts)


def _one_object(stdout: str) -> dict[str, Any] | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def waiting_in_line(
    ctx: ServerRequestContext[Any], verb: str, ready: anyio.Event, arrived: float
) -> None:
    """Until `ready` (the call's turn in its worktree's queue), a heartbeat once a second, as
    while it runs: a call queued behind a long gate sent none, so a client that resets its
    timeout on progress gave up on it (and cancelled it) while the one before it was alive."""
    async with anyio.create_task_group() as ticker:
        ticker.start_soon(_queued, ctx, verb, arrived)
        await ready.wait()
        ticker.cancel_scope.cancel()


async def _queued(ctx: ServerRequestContext[Any], verb: str, arrived: float) -> None:
    while True:
        await anyio.sleep(PROGRESS_EVERY_S)
        waited = time.monotonic() - arrived
        await ctx.session.report_progress(
            round(waited, 1),
            None,
            f"git-atomic {verb}: queued behind another call for {waited:.0f} s",
        )


async def _progress(
    ctx: ServerRequestContext[Any],
    verb: str,
    logs: Path | None,
    arrived: float | None,
    printed: Callable[[], str | None] = lambda: None,
) -> None:
    """A heartbeat once a second that the client can show (and reset its timeout on), naming
    the gate that is running, and the last line the command printed (a test run's progress,
    a build's step, where a long call said only for how long it had run). Its progress counts
    from the call's arrival, so it goes on increasing after the call waited in its queue, as
    the protocol requires."""
    start = time.monotonic()
    arrived = start if arrived is None else arrived
    since = time.time()  # before the child starts: its gate logs are all newer
    while True:
        await anyio.sleep(PROGRESS_EVERY_S)
        now = time.monotonic()
        elapsed = now - start
        gate = running_gate(logs, since) if logs else None
        what = f"gate {gate} running" if gate else "running"
        said = f"git-atomic {verb}: {what} for {elapsed:.0f} s"
        if (last := printed()) is not None:
            said += f"; last printed: {last}"
        await ctx.session.report_progress(round(now - arrived, 1), None, said)


def running_gate(logs: Path, since: float) -> str | None:
    """The gate running now: the last log (`NN-NAME.log`) of the operation folder written to
    last, if that was since `since`."""
    try:
        folders = [
            (entry.stat(follow_symlinks=False).st_mtime, entry.path)
            for entry in os.scandir(logs)
            if entry.is_dir(follow_symlinks=False)
        ]
        if not folders or max(folders)[0] < since:
            return None
        names = sorted(
            entry.name for entry in os.scandir(max(folders)[1]) if entry.name.endswith(".log")
        )
    except OSError:  # no logs yet, or gc removed them meanwhile
        return None
    if not names:
        return None
    return names[-1].removesuffix(".log").partition("-")[2] or None


async def _interrupt(process: Process) -> None:
    """SIGINT, as Ctrl-C: the CLI rolls back and exits 130; only a stuck child is killed."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    with anyio.move_on_after(ROLLBACK_GRACE_S):
        await process.wait()
        return
    process.kill()
    await process.wait()
