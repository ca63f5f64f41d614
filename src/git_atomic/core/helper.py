"""The client of the warm helper: hand a short command to the worktree's helper process, if one
answers, and give back its exit code; otherwise say so, and the command runs here as always.

A command costs the start of Python and the import of the engine before any work, which at 1,000
files is most of a checkpoint (docs/performance.md). The helper (cli/helperd.py) is a process
per worktree that has imported everything once; for each command it forks a child that takes
this process's working folder, environment, umask and standard streams (the descriptors
themselves, passed over the socket) and runs the same `main` the command line runs. The helper
is never needed: when none answers, or one of another installation, version or interpreter, or
the child dies before it reports an exit code, the command runs in this process.

Everything here runs before the command line is parsed, on every call of a routed command: it
imports nothing heavy (no `socket`, no `json`, no `subprocess`; tests/test_hot_path.py). A
helper is started after the command, where none answered (helperstart.py).
"""

from __future__ import annotations

import os
import stat
import sys

# `typing` costs a client about 14 ms (it imports `re` and `enum`); mypy reads this name as
# typing's own.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from typing import Final

# Short, non-interactive commands. Never `run`, `commit`, `tdd` (their command and gates run in
# the user's terminal), `recover`, `undo` or `init`.
ROUTED: Final = frozenset({"begin", "checkpoint", "status", "abort", "hook"})
# Served by a helper that runs, never the reason one starts: a command that only reads leaves
# the git dir as it was (its socket and folder would be a change).
_READS: Final = frozenset({"status"})
# Crash injection kills the process that runs the command: the tests that use it test this one.
_COLD_ONLY: Final = ("GIT_ATOMIC_FAILPOINT", "GIT_ATOMIC_FAILPOINT_TRACE")
# Where the repository is, said by the environment: found as git finds it, by the command.
_LOCATED: Final = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
)
MAGIC: Final = b"git-atomic-helper 1"
DEFAULT_IDLE: Final = 60.0  # seconds a helper waits for the next command before it leaves
# The socket's path is limited to 108 bytes (sun_path); a longer one is reached from its folder.
_SUN_PATH: Final = 100


def enabled(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """GIT_ATOMIC_HELPER: 0 never, 1 always; unset, the default (on)."""
    return environ.get("GIT_ATOMIC_HELPER", "1").strip().lower() not in ("0", "no", "false", "off")


def idle_seconds(environ: os._Environ[str] | dict[str, str] = os.environ) -> float:
    """GIT_ATOMIC_HELPER_IDLE: the default where it is no finite number above 0 (`inf`, as
    core/envnumbers.py reads our other waits: a helper that never leaves, one per worktree)."""
    try:
        value = float(environ.get("GIT_ATOMIC_HELPER_IDLE", ""))
    except ValueError:
        return DEFAULT_IDLE
    return value if 0 < value < float("inf") else DEFAULT_IDLE


def identity() -> bytes:
    """What must be equal for a helper to run a command exactly as this process would: the
    installation (version and the package's file), the interpreter and its flags, the file name
    encoding and character type, the user and groups."""
    import _locale

    from git_atomic import __version__

    parts = (
        __version__,
        __file__,  # where this installation is
        sys.executable,
        sys.version,
        repr(sys.flags),
        sys.getfilesystemencoding(),
        _locale.setlocale(_locale.LC_CTYPE),
        f"{os.getuid()} {os.getgid()} {sorted(os.getgroups())}",
    )
    return "\x1f".join(parts).encode("utf-8", "surrogateescape")


def locate(environ: os._Environ[str] | dict[str, str] = os.environ) -> tuple[str, str] | None:
    """(the helper folder, the socket's name) for the worktree around the working folder, found
    the plain way (a `.git` folder or file above it); None where anything is unusual."""
    if any(environ.get(name) for name in _LOCATED):
        return None
    try:
        here = os.getcwd()
    except OSError:
        return None
    while True:
        dot = os.path.join(here, ".git")
        try:
            if os.path.isdir(dot):
                git_dir = dot
            else:
                text = _small_file(dot, follow=True).decode("utf-8", "surrogateescape").strip()
                if not text.startswith("gitdir: "):
                    return None
                git_dir = os.path.join(here, text[len("gitdir: ") :])
            break
        except FileNotFoundError:
            parent = os.path.dirname(here)
            if parent == here:
                return None
            here = parent
        except OSError:
            return None
    try:
        held = _small_file(os.path.join(git_dir, "commondir"), follow=False)
        common = os.path.join(git_dir, held.decode("utf-8", "surrogateescape").strip())
        name = os.path.basename(os.path.normpath(git_dir))
    except FileNotFoundError:
        common, name = git_dir, "main"
    except OSError:
        return None
    folder = os.path.normpath(os.path.join(common, "atomic", "helper"))
    if os.path.islink(os.path.dirname(folder)) or os.path.islink(folder):
        return None  # our folder made a link: never used through it (the command refuses)
    return folder, f"{name}.sock"


def _small_file(path: str, *, follow: bool) -> bytes:
    """The first 4 KiB of a regular file, never waiting on a FIFO or a device there (an
    operation's `mkfifo .git/worktrees/w/commondir`); `follow`: through a link (a `.git` link
    is your layout), else not. OSError for anything else."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(path)  # (any OSError: the plain way says what it is)
        return os.read(fd, 4096)
    finally:
        os.close(fd)


class _Call:
    """One command handed to a helper: the socket, the child's pid once known, and the signals
    this process received meanwhile (passed on to the child, which acts on them as the command
    line would)."""

    def __init__(self) -> None:
        self.pid = 0
        self.signals: list[int] = []
        self.stale = False  # the helper is older than the installation: start a fresh one

    def forward(self, signum: int, _frame: object) -> None:
        self.signals.append(signum)
        if self.pid:
            try:
                os.kill(self.pid, signum)
            except OSError:
                return  # it is gone: its end is on its way


# Set when a routed command found no helper, or one older than the installation (True: it is
# replaced): the command line starts one after the command.
WANTED: list[tuple[str, str, bool]] = []


def call(args: list[str]) -> int | None:
    """The exit code of the command run by the worktree's helper, or None: run it here."""
    if not args or args[0] not in ROUTED or "-h" in args or "--help" in args:
        return None
    if sys.platform != "linux":  # the helper reads /proc and SO_PEERCRED
        return None
    if not enabled() or any(name in os.environ for name in _COLD_ONLY):
        return None
    if sys.stdin is None or sys.stdout is None or sys.stderr is None:
        return None
    if _ignores_signals():  # the helper's child would answer them: the command runs here
        return None
    where = locate()
    if where is None:
        return None
    sock = _connect(*where)
    if sock is None:
        if args[0] not in _READS:
            WANTED.append((*where, False))
        return None
    job = _Call()
    try:
        code = _served(sock, args, job)
    finally:
        sock.close()
    if job.stale:
        WANTED.append((*where, True))
    return code


def _ignores_signals() -> bool:
    """Whether SIGINT or SIGTERM is ignored here, as whoever started us made it (`trap '' INT`,
    a script's background job): the command must ignore it too."""
    import _signal  # type: ignore[import-not-found]  # `signal` would import enum

    ignored = _signal.SIG_IGN
    return any(_signal.getsignal(s) == ignored for s in (_signal.SIGINT, _signal.SIGTERM))


def _connect(folder: str, name: str) -> _socket.socket | None:
    import _socket

    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    path = os.path.join(folder, name)
    try:
        if len(os.fsencode(path)) < _SUN_PATH:
            s.connect(path)
        else:
            here = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.chdir(folder)
                s.connect(name)
            finally:
                os.fchdir(here)
                os.close(here)
        cred = s.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        if int.from_bytes(cred[4:8], sys.byteorder) != os.getuid():
            raise OSError("the helper's socket is another user's")
    except OSError:
        s.close()
        return None
    return s


def _stream(stream: object) -> bytes:
    buffer = getattr(stream, "buffer", None)
    parts = (
        getattr(stream, "encoding", None) or "utf-8",
        getattr(stream, "errors", None) or "strict",
        "1" if getattr(stream, "line_buffering", False) else "0",
        "1" if getattr(stream, "write_through", False) else "0",
        "raw" if type(buffer).__name__ == "FileIO" else "buffered",
    )
    return ":".join(parts).encode()


def request(args: list[str], stdin: bytes | None) -> bytes:
    """The command as the helper reads it: NUL-separated fields (no argument or variable can
    hold a NUL), then the standard input when this process read it."""
    umask = os.umask(0o22)
    os.umask(umask)
    fields = [
        MAGIC,
        identity(),
        str(umask).encode(),
        b"\x1f".join(_stream(s) for s in (sys.stdin, sys.stdout, sys.stderr)),
        os.fsencode(sys.argv[0] if sys.argv else "git-atomic"),
        str(len(args)).encode(),
        *(os.fsencode(a) for a in args),
        *(os.fsencode(k) + b"=" + os.fsencode(v) for k, v in os.environ.items()),
    ]
    head = b"\0".join(fields)
    data = stdin or b""
    return b"%d %d %d\n" % (len(head), len(data), stdin is not None) + head + data


def _read_stdin() -> bytes:
    """The payload, without waiting on an input the platform leaves open after it."""
    from git_atomic.core import hookstdin

    return hookstdin.read(0)


def _served(s: _socket.socket, args: list[str], job: _Call) -> int | None:
    import _signal  # `signal` would import enum
    import _socket

    # A hook reads its payload whole: read here, so that the command can still run here with it
    # should the helper fail.
    try:
        stdin = _read_stdin() if args[0] == "hook" else None
    except OSError:
        return None  # nothing read: the command reads it as always
    try:  # the working folder itself (a folder we may not read needs O_PATH)
        here = os.open(".", getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        _here(stdin)
        return None
    previous = {sig: _signal.signal(sig, job.forward) for sig in (_signal.SIGINT, _signal.SIGTERM)}
    try:
        message = request(args, stdin)
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2, here))
        sent = s.sendmsg([message[:4096]], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        if sent < len(message):  # (an empty send to a helper that already answered fails)
            s.sendall(message[sent:])
        code = _answer(s, job)
    except OSError:
        code = None
    finally:
        os.close(here)
        for sig, handler in previous.items():
            _signal.signal(sig, handler)
    if code is None:
        _here(stdin)
        if job.signals:  # interrupted before any command ran: as the command line would be
            return _obey(job.signals[0])
    return code


def _here(stdin: bytes | None) -> None:
    """The command runs in this process after all: with the payload already read, if any."""
    if stdin is not None:
        import io

        sys.stdin = io.TextIOWrapper(
            io.BytesIO(stdin), encoding=sys.stdin.encoding, errors=sys.stdin.errors, newline="\n"
        )


def _answer(s: _socket.socket, job: _Call) -> int | None:
    """Read the helper's answer: `pid N` when the child starts, then `exit N`; `signal N` when
    the child died of one; `no WHY` when it would not run the command."""
    buffer = b""
    s.settimeout(10.0)  # until the child says it started
    while True:
        while b"\n" not in buffer:
            chunk = s.recv(256)
            if not chunk:
                return None  # the helper left: the command runs here
            buffer += chunk
        line, _, buffer = buffer.partition(b"\n")
        word, _, value = line.decode("ascii", "replace").partition(" ")
        if word == "pid":
            job.pid = int(value)
            # The child runs the command only once told: had this process stopped waiting
            # (below), it would run the command itself, and the two would run it twice.
            s.sendall(b"go\n")
            s.settimeout(None)  # the command takes what it takes
            for sig in job.signals:
                os.kill(job.pid, sig)
        elif word == "exit":
            return int(value)
        elif word == "signal":
            sig = int(value)
            if sig in job.signals:  # it died of what we passed on: so do we
                return _obey(sig)
            return None  # killed from outside (or crashed): the command runs here
        else:
            job.stale = value == "stale"
            return None


def _obey(sig: int) -> int:
    """Die of the signal, as the command did (or as this process would have, had it run it)."""
    import _signal

    sys.stdout.flush()
    sys.stderr.flush()
    _signal.signal(sig, _signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    return 128 + sig


def lock_name(name: str) -> str:
    """The lock a helper holds from its start (cli/helperd.py), beside its socket `name`."""
    return name.removesuffix(".sock") + ".lock"
