"""The suite's fork server: `python -m git_atomic ARGS` as a fork of a process that imported the
package once, instead of a new interpreter each time.

The suite runs the command line thousands of times; most of a short command's cost is the
interpreter's start and the package's imports (docs/performance.md), paid again by every call.
Each pytest process starts one server (`python -m testing.forkserver SOCKET`, a process with
one thread, which never runs a command itself); `GitRepo.atomic` hands it a call over a unix
socket: the arguments, environment, working folder, umask and the descriptors of the standard
streams. The server forks a child, which takes all of them (as the warm helper's child does,
`cli/helperchild.py`), runs `main` as the console script would and exits; the server answers
with the child's pid, then with its exit status, once it has reaped it.

So each command is still its own process, with its own pid, lock, journal connection and git
processes, killed for real by a failpoint; what it does not exercise is the interpreter's own
start-up and the warm helper's routing, which tests/test_hot_path.py and tests/test_helper.py
test with real interpreters (they run as before). `GitRepo.atomic` starts a new interpreter
when the call's environment differs from the server's in what Python reads at start-up, when
coverage is being measured, and when `GIT_ATOMIC_TEST_FORK=0`.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import pkgutil
import selectors
import socket
import struct
import sys


class _Call:
    """A call as helperchild.become takes it."""

    def __init__(self, head: dict[str, object], streams: list[str]) -> None:
        self.umask = int(str(head["umask"]))
        self.streams = streams
        self.env = {str(k): str(v) for k, v in dict(head["env"]).items()}  # type: ignore[call-overload]
        self.args = [str(a) for a in list(head["args"])]  # type: ignore[call-overload]
        self.argv0 = str(head["argv0"])
        self.stdin = None


def _spec(stream: object) -> str:
    """How an interpreter started in this environment opened a standard stream."""
    buffer = getattr(stream, "buffer", None)
    return ":".join(
        (
            getattr(stream, "encoding", None) or "utf-8",
            getattr(stream, "errors", None) or "strict",
            "1" if getattr(stream, "line_buffering", False) else "0",
            "1" if getattr(stream, "write_through", False) else "0",
            "raw" if type(buffer).__name__ == "FileIO" else "buffered",
        )
    )


# The `mcp` SDK and what its server runs on, for a server that forks `git-atomic mcp`
# (testing/mcpfork.py): about 0.9 s of processor time a new interpreter pays to import them.
MCP_PRELOAD = ("mcp_types", "mcp.server.lowlevel", "mcp.server.stdio", "mcp.server.context")


def _preload(*, mcp: bool = False) -> None:
    import git_atomic

    for info in pkgutil.walk_packages(git_atomic.__path__, "git_atomic."):
        if info.name.endswith((".__main__", ".cli.entry")):
            continue  # it runs the command line, or answers Ctrl-C as a command's start does
        try:
            importlib.import_module(info.name)
        except Exception:  # an optional dependency missing: the command imports it, or fails
            continue
    # What the commands import as they run, each child again (an extension module's load, the
    # dynamic linker's work: measured 3.5 ms of a child's processor time for both): what the
    # warm helper preloads for the same reason (cli/helperd.py), and ctypes, which `run` loads
    # for the subreaper (core/escapees.py) and a rollback for statx (engine/ignores.py).
    from git_atomic.cli import helperd

    for name in (*helperd.PRELOAD, "ctypes"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for name in MCP_PRELOAD if mcp else ():
        importlib.import_module(name)
    # The server's objects out of the collector's reach: a child's full collection, where one
    # comes, no longer writes into each of them and copies the server's heap page by page
    # (16 ms of a child's processor time, 1.5 ms frozen).
    gc.freeze()


def serve(path: str, *, mcp: bool = False) -> None:
    streams = [_spec(s) for s in (sys.stdin, sys.stdout, sys.stderr)]
    _preload(mcp=mcp)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(0, selectors.EVENT_READ, "parent")  # its end closes: the worker left
    children: dict[int, tuple[socket.socket, int]] = {}
    while True:
        for key, _ in selector.select():
            if key.data == "parent":
                if not os.read(0, 4096):
                    return
            elif key.data == "accept":
                conn, _ = listener.accept()
                try:
                    pid = _start(conn, listener, selector, streams)
                except OSError:  # the client left, or no fork now: it runs a new interpreter
                    pid = None
                if pid is None:
                    conn.close()
                    continue
                pidfd = os.pidfd_open(pid)
                selector.register(pidfd, selectors.EVENT_READ, pid)
                children[pid] = (conn, pidfd)
                _say(conn, f"pid {pid}")
            else:
                pid = int(key.data)
                conn, pidfd = children.pop(pid)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                if os.WIFSIGNALED(status):
                    _say(conn, f"signal {os.WTERMSIG(status)}")
                else:
                    _say(conn, f"exit {os.WEXITSTATUS(status)}")
                conn.close()


def _say(conn: socket.socket, line: str) -> None:
    """One line to a client, which may have gone: one whose call ran past its timeout killed
    the child and closed its end (a write there fails with EPIPE). The server serves on."""
    with contextlib.suppress(OSError):
        conn.sendall(line.encode() + b"\n")


def _start(
    conn: socket.socket,
    listener: socket.socket,
    selector: selectors.BaseSelector,
    streams: list[str],
) -> int | None:
    data, ancillary, _, _ = conn.recvmsg(1 << 20, socket.CMSG_SPACE(4 * 4))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(struct.unpack(f"{len(payload) // 4}i", payload[: len(payload) // 4 * 4]))
    if len(fds) != 4:
        for fd in fds:
            os.close(fd)
        return None
    size, _, rest = data.partition(b"\n")
    while len(rest) < int(size):
        rest += conn.recv(1 << 20)
    call = _Call(json.loads(rest), streams)
    try:
        pid = os.fork()
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    if pid == 0:
        code = 70
        try:
            from git_atomic.cli import helperchild

            selector.close()
            listener.close()
            conn.close()
            helperchild.become(call, fds)  # type: ignore[arg-type]
            sys.path[0] = os.getcwd()  # as `python -m` has it
            if "random" in sys.modules:
                sys.modules["random"].seed()
            code = helperchild.run_main(call.args)
        except BaseException:  # as the interpreter reports what escaped: a traceback, exit 1
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            code = 1
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    return pid


if __name__ == "__main__":
    try:
        serve(sys.argv[1], mcp="--mcp" in sys.argv[2:])
    finally:
        import shutil

        shutil.rmtree(os.path.dirname(sys.argv[1]), ignore_errors=True)  # made for it
