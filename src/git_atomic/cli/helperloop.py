"""The warm helper's loop (cli/helperd.py starts it after its imports): its socket listened on,
each client taken (the same user, installation, confinement), a child forked to run its command
(helperchild.py) and reaped; the helper leaves when idle, when its socket is removed or
replaced, when a file of the installation changed, and on SIGTERM. Split from helperd.py.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import struct
import sys
import time
from typing import Final

from git_atomic.cli import helperchild
from git_atomic.cli.helperchild import Request
from git_atomic.core import helper

MAX_CHILDREN: Final = 16  # more at once: the command runs in the client
_ANSWER_WAIT: Final = 5.0  # seconds a client has to send its command
_WAKE: Final = "wake"  # the selector's key of the signal wake-up socket


class Helper:
    def __init__(self, name: str, idle: float, lock_fd: int) -> None:
        self.name = name
        self.idle = idle
        self.me = helper.identity()
        self.confinement = confinement(os.getpid())
        self.sources = _sources()
        self.children: dict[int, tuple[socket.socket, int | None]] = {}
        self.selector = selectors.DefaultSelector()
        self.wake = socket.socketpair()  # a signal writes a byte to [1]: the loop wakes on [0]
        self.stopping = False
        self.lock_fd = lock_fd
        self.listener: socket.socket | None = None
        self.inode = 0

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A signal wakes the loop at once (its select would sleep on through it otherwise).
        for end in self.wake:
            end.setblocking(False)
        signal.set_wakeup_fd(self.wake[1].fileno(), warn_on_full_buffer=False)
        self.selector.register(self.wake[0], selectors.EVENT_READ, _WAKE)
        try:
            self._listen()
            self._loop()
        finally:
            self._leave()

    def _stop(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def _listen(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.name)  # a helper that died left it: we hold the lock
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.name)
        finally:
            os.umask(old)
        listener.listen(64)
        self.inode = os.stat(self.name).st_ino
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, None)
        stem = self.name.removesuffix(".sock")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{stem}.pid.tmp")  # a link there is removed, never written through
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(f"{stem}.pid.tmp", flags, 0o600), "w") as fh:
            fh.write(f"{os.getpid()}\n")
        os.replace(f"{stem}.pid.tmp", f"{stem}.pid")

    def _loop(self) -> None:
        last = time.monotonic()
        while not self.stopping:
            wait = 1.0 if self.children else min(1.0, max(0.0, last + self.idle - time.monotonic()))
            for key, _ in self.selector.select(wait):
                if key.data is None:
                    self._accept()
                elif key.data is _WAKE:
                    with contextlib.suppress(OSError):
                        self.wake[0].recv(64)
                else:
                    self._reap(key.data)
                last = time.monotonic()
            for pid in list(self.children):
                self._reap(pid, block=False)
            if not self._still_ours():
                return
            if not self.children and time.monotonic() - last >= self.idle:
                return

    def _still_ours(self) -> bool:
        try:
            return os.stat(self.name).st_ino == self.inode
        except OSError:
            return False

    def _leave(self) -> None:
        if self.listener is not None:
            self.listener.close()
            if self._still_ours():
                with contextlib.suppress(OSError):
                    os.unlink(self.name)
                with contextlib.suppress(OSError):
                    os.unlink(self.name.removesuffix(".sock") + ".pid")
        for conn, pidfd in self.children.values():
            conn.close()  # the children still answer their clients themselves
            if pidfd is not None:
                os.close(pidfd)
        os.close(self.lock_fd)

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            conn.settimeout(_ANSWER_WAIT)
            cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            peer, uid, _gid = struct.unpack("3i", cred)
            if uid != os.getuid():
                raise ValueError("another user's client")
            req = self._receive(conn, fds)
            refusal = "confined" if confinement(peer) != self.confinement else self._refusal(req)
            if refusal is not None:
                conn.sendall(f"no {refusal}\n".encode())
                raise ValueError(refusal)
            pid = os.fork()
        except (OSError, ValueError, IndexError):
            _close(fds)
            conn.close()
            return
        if pid == 0:
            self._child(conn, req, fds)
        _close(fds)
        conn.settimeout(None)
        pidfd = None
        with contextlib.suppress(AttributeError, OSError):
            pidfd = os.pidfd_open(pid)
            self.selector.register(pidfd, selectors.EVENT_READ, pid)
        self.children[pid] = (conn, pidfd)

    def _receive(self, conn: socket.socket, fds: list[int]) -> Request:
        data, ancillary, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(4 * 4))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % 4
                fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
        if flags & socket.MSG_CTRUNC or len(fds) != 4:
            raise ValueError("the client's descriptors did not come")
        head, _, data = data.partition(b"\n")
        length, stdin_length, has_stdin = (int(w) for w in head.split())
        while len(data) < length + stdin_length:
            chunk = conn.recv(1 << 16)
            if not chunk:
                raise ValueError("the client left")
            data += chunk
        return Request(data[:length], data[length:] if has_stdin else None)

    def _refusal(self, req: Request) -> str | None:
        # The installation first: an upgrade in place also changes the version the client
        # says, and that client must replace this helper, not only be refused by it.
        if _sources() != self.sources:
            self.stopping = True  # this installation changed under us: a new helper will come
            with contextlib.suppress(OSError):
                os.unlink(self.name)
            return "stale"
        if req.identity != self.me:
            return "other"
        if len(self.children) >= MAX_CHILDREN:
            return "busy"
        return None

    def _reap(self, pid: int, *, block: bool = True) -> None:
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 0
        if done == 0:
            return
        conn, pidfd = self.children.pop(pid)
        if pidfd is not None:
            self.selector.unregister(pidfd)
            os.close(pidfd)
        if os.WIFSIGNALED(status):  # the child could not say: we do
            with contextlib.suppress(OSError):
                conn.sendall(f"signal {os.WTERMSIG(status)}\n".encode())
        conn.close()

    def _child(self, conn: socket.socket, req: Request, fds: list[int]) -> None:
        """Become the command: never returns."""
        code = 70
        try:
            self._forget(conn)
            helperchild.become(req, fds)
            conn.sendall(f"pid {os.getpid()}\n".encode())
            if not _told_to_go(conn):
                return  # the client gave up waiting and runs the command itself: never both
            code = helperchild.run_main(req.args)
            conn.sendall(f"exit {code}\n".encode())
        finally:
            os._exit(code)

    def _forget(self, conn: socket.socket) -> None:
        """In the child: close what is the helper's (the listener, the lock, other clients)."""
        self.selector.close()
        signal.set_wakeup_fd(-1)  # before its socket closes: a signal now is the child's own
        for end in self.wake:
            end.close()
        if self.listener is not None:
            os.close(self.listener.detach())
        os.close(self.lock_fd)
        for other, pidfd in self.children.values():
            os.close(other.detach())
            if pidfd is not None:
                os.close(pidfd)
        del conn


# What a sandbox changes about a process (bubblewrap, firejail and containers: namespaces;
# Landlock and seccomp filters need no_new_privs; dropped capabilities). A client confined
# otherwise than the helper is not served: its command would run outside its sandbox.
_CONFINED_BY: Final = ("CapPrm", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp", "Seccomp_filters")
_NAMESPACES: Final = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts")


def confinement(pid: int) -> tuple[str, ...] | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            fields = [line for line in fh if line.partition(":")[0] in _CONFINED_BY]
        spaces = []
        for name in _NAMESPACES:
            with contextlib.suppress(FileNotFoundError):
                spaces.append(os.readlink(f"/proc/{pid}/ns/{name}"))
    except OSError:
        return None
    return (*fields, *spaces)


def _close(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _sources() -> dict[str, tuple[int, int, int]]:
    """The files of this installation the helper has loaded, as they are on disk now."""
    found = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and getattr(module, "__name__", "").startswith("git_atomic"):
            try:
                st = os.stat(path)
            except OSError:
                continue
            found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


def _told_to_go(conn: socket.socket) -> bool:
    """Whether the client, told this child's pid, says to run the command (`go`). A client
    that stopped waiting before the pid came (10 s: a machine under load) closed the socket
    and runs the command itself; its `go` is what makes this child the only one that does."""
    conn.settimeout(None)
    try:
        return conn.recv(3) == b"go\n"
    except OSError:
        return False
