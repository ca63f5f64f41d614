"""Watchman's own socket (or its command-line client where the socket's name is not known):
one JSON command sent, its answer read later (watcher.py asks what changed through it)."""

from __future__ import annotations

import contextlib
import os
import stat
from typing import TYPE_CHECKING, Final, Protocol

from git_atomic.core import process, wholefile

if TYPE_CHECKING:
    import _socket
    from pathlib import Path

    from git_atomic.engine.git import Repo

PROGRAM: Final = ("watchman", "--no-spawn", "--no-pretty", "-j")
TIMEOUT_S: Final = 5.0
# A Watchman that took a connection and gave no answer within TIMEOUT_S (seen: a 4.9 server
# that answered `version` and never `watch-list` again) is not asked again for this long, while
# its socket is the same file: without it every capture waited the 5 seconds before the usual
# scan. A restarted Watchman makes its socket anew, and is asked at once.
STUCK_S: Final = 600.0


class Asked(Protocol):
    """A command sent to Watchman, its answer read later."""

    def answer(self, *, timeout: float) -> process.Result: ...


class Sent:
    """A command sent over Watchman's own socket: its answer is one line of JSON, read as
    the command-line client gives it (0: the line whole; else what came)."""

    def __init__(self, sock: _socket.socket, stuck: _Stuck | None = None) -> None:
        self._sock: _socket.socket | None = sock
        self._result: process.Result | None = None
        self._stuck = stuck  # where to say that it did not answer (None: nowhere)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def answer(self, *, timeout: float) -> process.Result:
        import time

        if self._result is not None or self._sock is None:
            return self._result or process.Result(1, b"", b"")
        sock, self._sock = self._sock, None
        got = bytearray()
        deadline = time.monotonic() + timeout
        code = 1
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    code = -9
                    break
                sock.settimeout(left)
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                got += chunk
                if got.endswith(b"\n"):
                    code = 0
                    break
        except OSError:  # a timeout too
            code = -9
        finally:
            sock.close()
        if code == -9 and self._stuck is not None and timeout >= TIMEOUT_S:
            self._stuck.mark()
        self._result = process.Result(code, bytes(got), b"")
        return self._result


def send(repo: Repo, command: list[object]) -> Asked | None:
    """`command` sent to Watchman: over its socket when its name is known, else through its
    command-line client; None when Watchman is not there (not installed, not running)."""
    import json

    data = json.dumps(command).encode()
    if not os.environ.get("WATCHMAN_SOCK") and find_program() is None:
        return None  # not installed: not even a process started to find out
    sockname = socket_name(repo)
    if sockname is not None:
        if _still_stuck(repo, sockname):
            return None
        sock = _connect(sockname)
        if sock is None and not os.environ.get("WATCHMAN_SOCK"):
            # Not running, or running under another name now: learnt again, once.
            again = socket_name(repo, learn=True)
            sock = _connect(again) if again not in (None, sockname) else None
            sockname = again if sock is not None and again is not None else sockname
        if sock is None:
            return None
        try:
            sock.sendall(data + b"\n")
        except OSError:
            sock.close()
            return None
        # (a dry run writes no file: it would not be said that it did not answer)
        return Sent(sock, _Stuck(repo.state_dir, sockname) if repo.quarantine is None else None)
    try:
        return process.Program(PROGRAM, cwd=repo.root, input=data)
    except OSError:  # not installed
        return None


class _Stuck:
    """Where a Watchman that did not answer is remembered (`stuck-watchman` in the state
    folder): its socket's name and identity (device, inode, change time)."""

    def __init__(self, state_dir: Path, sockname: str) -> None:
        self.path = state_dir / "stuck-watchman"
        self.sockname = sockname

    def identity(self) -> str | None:
        try:
            st = os.stat(self.sockname)
        except OSError:
            return None
        return f"{self.sockname}\n{st.st_dev} {st.st_ino} {st.st_ctime_ns}\n"

    def mark(self) -> None:
        said = self.identity()
        if said is None:
            return
        with contextlib.suppress(OSError):  # by rename: whatever stands there is replaced
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            wholefile.write_new(tmp, said.encode("utf-8", "surrogateescape"))
            os.replace(tmp, self.path)

    def still(self) -> bool:
        """Whether a Watchman at this socket did not answer less than STUCK_S ago, and its
        socket is the same file since."""
        import time

        try:
            if not 0 <= time.time() - os.lstat(self.path).st_mtime < STUCK_S:
                return False
            kept = wholefile.read(self.path).decode("utf-8", "surrogateescape")
        except (OSError, ValueError):
            return False
        return kept == self.identity()


def _still_stuck(repo: Repo, sockname: str) -> bool:
    return _Stuck(repo.state_dir, sockname).still()


def _connect(sockname: str | None) -> _socket.socket | None:
    """A connection to Watchman's socket, when it is one of ours (owned by us): None when
    nothing listens there."""
    import _socket

    if sockname is None:
        return None
    try:
        st = os.stat(sockname)
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
            return None
    except OSError:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(TIMEOUT_S)
        sock.connect(sockname)
    except OSError:
        sock.close()
        return None
    return sock


# What Watchman's socket is named from: where the program is, and the environment it reads.
_SOCK_ENV: Final = ("TMPDIR", "TMP", "USER", "LOGNAME", "HOME", "XDG_STATE_HOME", "PATH")


def socket_name(repo: Repo, *, learn: bool = False) -> str | None:
    """The path of Watchman's socket: `WATCHMAN_SOCK` when set (as Watchman's own clients read
    it), else what `watchman get-sockname` answered, kept in the state folder under what it
    depends on (the program, its environment); asked when that changed, or with `learn`.
    None: no `watchman` program."""
    import json

    named = os.environ.get("WATCHMAN_SOCK")
    if named:
        return named
    found = find_program()
    if found is None:
        return None
    program, st = found
    key = [program, st.st_mtime_ns, st.st_size, os.getuid()]
    key += [os.environ.get(name) for name in _SOCK_ENV]
    kept = repo.state_dir / "watchman-sock.json"
    if not learn:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            record = json.loads(wholefile.read(kept))
            if record["key"] == key and isinstance(record["sockname"], str):
                return str(record["sockname"])
    try:
        asked = process.Program(
            (program, "--no-spawn", "--no-pretty", "get-sockname"), cwd=repo.root
        )
        res = asked.answer(timeout=TIMEOUT_S)
        sockname = json.loads(res.stdout)["sockname"] if res.returncode == 0 else None
    except (OSError, ValueError, TypeError, KeyError):
        sockname = None
    if not isinstance(sockname, str) or repo.quarantine is not None:  # (a dry run keeps none)
        return sockname if isinstance(sockname, str) else None
    with contextlib.suppress(OSError):
        tmp = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
        wholefile.write_new(tmp, json.dumps({"key": key, "sockname": sockname}).encode())
        os.replace(tmp, kept)
    return sockname


def find_program() -> tuple[str, os.stat_result] | None:
    """The `watchman` program the command line would run (the first on PATH), and its stat."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(folder or ".", PROGRAM[0])
        with contextlib.suppress(OSError):
            st = os.stat(path)
            if stat.S_ISREG(st.st_mode) and os.access(path, os.X_OK):
                return path, st
    return None


def ask(repo: Repo, command: list[object]) -> dict[str, object] | None:
    """One command to Watchman, synchronously; None when there is no answer."""
    running = send(repo, command)
    return answer_of(running) if running is not None else None


def answer_of(running: Asked) -> dict[str, object] | None:
    data = _told(running)
    return None if data is None or "error" in data else data


def ask_told(repo: Repo, command: list[object]) -> dict[str, object] | None:
    """`ask`, its error answered too (`{"error": ...}`); None when there is no answer."""
    running = send(repo, command)
    return _told(running) if running is not None else None


def _told(running: Asked) -> dict[str, object] | None:
    res = running.answer(timeout=TIMEOUT_S)
    if res.returncode != 0:
        return None
    import json

    try:
        data = json.loads(res.stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
