"""`python -S -m testing.forkclient SOCKET ARGV0 ARGS...`: `python -m git_atomic ARGS` forked
by a fork server (testing/forkserver.py) for a caller that must start a program, not call a
function: an MCP client starts its server as a command (testing/mcpfork.py).

This process hands the server its standard streams, working folder, umask and environment, so
the forked child reads and writes the caller's pipes itself; it passes on the signals a client
sends to end its server (SIGTERM, SIGINT, SIGHUP) and exits as the child did. Where the server
is gone it becomes the command itself (a new interpreter). What differs from a new interpreter:
the child's pid is not this process's, so a test that kills its server by pid, or compares it,
starts a real one (`mcpfork.server_command` says which).
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import sys


def _run(path: str, argv0: str, args: list[str]) -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    head = json.dumps({"args": args, "env": dict(os.environ), "umask": mask, "argv0": argv0})
    data = head.encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    folder = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        conn.connect(path)
        fds = array.array("i", [0, 1, 2, folder])
        conn.sendmsg([b"%d\n" % len(data) + data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        lines = conn.makefile("rb")
        word, _, value = lines.readline().decode().partition(" ")
    except OSError:
        word, value = "", ""
    finally:
        os.close(folder)
    if word != "pid":  # no server: the command as a new interpreter
        os.execv(sys.executable, [sys.executable, "-m", "git_atomic", *args])
    pid = int(value)

    def forward(signum: int, _frame: object) -> None:
        os.kill(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    # The child holds the streams now: EOF on the caller's pipes comes when it ends.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    while True:
        try:
            word, _, value = lines.readline().decode().partition(" ")
            break
        except InterruptedError:
            continue
    if word == "signal":
        signal.signal(int(value), signal.SIG_DFL)
        os.kill(os.getpid(), int(value))
    return int(value) if word == "exit" else 1


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1], sys.argv[2], sys.argv[3:]))
