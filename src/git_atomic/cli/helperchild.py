"""The warm helper's child: the client's request read, the child made into the client's
command, and `main` run as the console script would run it (cli/helperd.py forks it).

A request carries the client's identity, umask, standard streams (how each was opened:
encoding, errors, buffering), `argv[0]`, arguments, environment and, for a hook, the standard
input the client read already; the descriptors of the streams and of the working folder come
beside it. The child takes all of them, so the command cannot tell it from a new interpreter,
and it exits as one would.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import tempfile
import time

from git_atomic.core import helper


class Request:
    """A client's command as it came over the socket (core/helper.request wrote it)."""

    def __init__(self, raw: bytes, stdin: bytes | None) -> None:
        fields = raw.split(b"\0")
        if fields[0] != helper.MAGIC:
            raise ValueError("not a request")
        self.identity = fields[1]
        self.umask = int(fields[2])
        self.streams = [s.decode() for s in fields[3].split(b"\x1f")]
        self.argv0 = os.fsdecode(fields[4])
        argc = int(fields[5])
        self.args = [os.fsdecode(a) for a in fields[6 : 6 + argc]]
        self.env = {}
        for item in fields[6 + argc :]:
            key, _, value = item.partition(b"=")
            self.env[os.fsdecode(key)] = os.fsdecode(value)
        self.stdin = stdin


def become(req: Request, fds: list[int]) -> None:
    """Take the client's place: signals as a new interpreter has them, the client's streams,
    working folder, umask, environment and arguments."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd, target in zip(fds[:3], (0, 1, 2), strict=True):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        os.close(fd)
    os.umask(req.umask)
    os.environ.clear()
    os.environ.update(req.env)
    time.tzset()
    tempfile.tempdir = None  # found again from this environment, if the helper looked
    sys.stdin = _text(0, req.streams[0], "r", req.stdin)
    sys.stdout = _text(1, req.streams[1], "w", None)
    sys.stderr = _text(2, req.streams[2], "w", None)
    sys.argv = [req.argv0, *req.args]


def _text(fd: int, spec: str, mode: str, data: bytes | None) -> io.TextIOWrapper:
    encoding, errors, line, through, kind = spec.split(":")
    raw: io.RawIOBase | io.BytesIO
    if data is not None:
        raw = io.BytesIO(data)
        buffer: io.BufferedIOBase | io.RawIOBase | io.BytesIO = raw
    else:
        raw = io.FileIO(fd, mode + "b", closefd=False)
        if kind == "raw":
            buffer = raw
        elif mode == "r":
            buffer = io.BufferedReader(raw)
        else:
            buffer = io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffer,  # type: ignore[arg-type]
        encoding=encoding,
        errors=errors,
        newline="\n",
        line_buffering=line == "1",
        write_through=through == "1",
    )


def run_main(args: list[str]) -> int:
    """`main` as the console script runs it, and its exit as the interpreter would make it."""
    try:
        from git_atomic.cli.main import main

        code: object = main(args)
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:  # before `main`'s own answer to it, or after: console_main's
        sys.stderr.write("git-atomic: interrupted\n")
        code = 130
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    _leave_threads()
    import atexit

    atexit._run_exitfuncs()
    if not _flush():
        code = 120  # as the interpreter exits when it cannot flush standard output
    return code


def _flush() -> bool:
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            ok = False
    return ok


def _leave_threads() -> None:
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        threading._shutdown()  # what the interpreter's exit does
