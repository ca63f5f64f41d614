"""Every path a git-atomic command named in a system call, by strace: the oracle of "nothing
outside the worktree is read through a link or written" that no outcome on the disk can mislead
(a `stat` through a link reads nothing, a failed `open` writes nothing, yet both reached out).

`traced` runs `python -m git_atomic ARGS` (a new interpreter, no warm helper: strace sees only
the processes it starts) under `strace -f -ff -yy`, and the calls of every process of its tree
(git's included) are parsed: each path a call named, resolved against its folder descriptor or
the process's working folder (which `-yy` prints), and whether the call follows a link at the
last step of that path. The user's command and gates may do anything: the processes that
`exec` a program whose argument list holds one of `theirs` (a marker the test put in the command
line) are not ours from that `exec` on, with everything they start; their calls only tell
which links they made or removed. The calls are ordered by time (`-ttt`), so a link is judged
where it stood when the call was made: one a command swapped in, or our rollback took away.

`Trace.reached(outside, links)` lists the calls that reached into `outside`: naming a path there,
holding a descriptor of a file there, or naming a path through one of `links` (a link of the
worktree that leads out): one of its folders, or the link itself at the last step of a call that
follows it. `lstat`, `readlink`, `unlink`, `rename` of the link itself are fine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

STRACE: Final = "/usr/bin/strace"
_CALLS: Final = (
    "%file,%process,getdents64,fchdir,fchmod,fchown,ftruncate,fstatfs,fgetxattr,fsetxattr,"
    "flistxattr,fremovexattr,fallocate"
)
# Calls that name paths: (index of the folder descriptor or None, index of the path).
_PATHS: Final[dict[str, tuple[tuple[int | None, int], ...]]] = {
    **{n: ((None, 0),) for n in ("open", "creat", "stat", "lstat", "access", "readlink")},
    **{n: ((None, 0),) for n in ("unlink", "mkdir", "rmdir", "chmod", "chown", "lchown")},
    **{n: ((None, 0),) for n in ("utime", "utimes", "truncate", "chdir", "execve", "statfs")},
    **{n: ((None, 0),) for n in ("mknod", "chroot", "getxattr", "lgetxattr", "setxattr")},
    **{n: ((None, 0),) for n in ("lsetxattr", "listxattr", "llistxattr", "removexattr")},
    "lremovexattr": ((None, 0),),
    **{n: ((0, 1),) for n in ("openat", "openat2", "newfstatat", "statx", "faccessat")},
    **{n: ((0, 1),) for n in ("faccessat2", "readlinkat", "unlinkat", "mkdirat", "fchmodat")},
    **{n: ((0, 1),) for n in ("fchownat", "utimensat", "futimesat", "execveat", "mknodat")},
    "name_to_handle_at": ((0, 1),),
    "rename": ((None, 0), (None, 1)),
    "link": ((None, 0), (None, 1)),
    "renameat": ((0, 1), (2, 3)),
    "renameat2": ((0, 1), (2, 3)),
    "linkat": ((0, 1), (2, 3)),
    "symlink": ((None, 1),),  # its first argument is the text the link holds, not a path reached
    "symlinkat": ((1, 2),),
    "inotify_add_watch": ((None, 1),),
}
# Calls that never follow a link at the last step of their path.
_NOFOLLOW: Final = frozenset(
    {
        *("lstat", "readlink", "readlinkat", "unlink", "unlinkat", "rename", "renameat"),
        *("renameat2", "mkdir", "mkdirat", "rmdir", "symlink", "symlinkat", "lchown"),
        *("lgetxattr", "lsetxattr", "llistxattr", "lremovexattr", "mknod", "mknodat", "link"),
    }
)
# Calls that follow it unless their flags say otherwise (the flag, then the flags' index).
_FLAGGED: Final = {
    **{n: ("AT_SYMLINK_NOFOLLOW", 3) for n in ("newfstatat", "faccessat2", "utimensat")},
    "statx": ("AT_SYMLINK_NOFOLLOW", 2),
    "fchownat": ("AT_SYMLINK_NOFOLLOW", 4),
    "name_to_handle_at": ("AT_SYMLINK_NOFOLLOW", 4),
    "linkat": ("!AT_SYMLINK_FOLLOW", 4),
    "inotify_add_watch": ("IN_DONT_FOLLOW", 2),
}
_LINE: Final = re.compile(r"^(?:(\d+\.\d+) )?(\w+)\((.*)\)\s+=\s+(.*)$")
_FD: Final = re.compile(r"^(-?\d+|AT_FDCWD)<(.*)>$", re.S)
_FORKS: Final = frozenset(("clone", "clone3", "fork", "vfork"))


@dataclass(frozen=True)
class Named:
    """One path a call named: absolute (its folder's path before it), and whether the call
    follows a link at its last step."""

    path: bytes
    follows: bool
    start: int  # where the part the call resolved begins (before it: a folder it was given)


@dataclass(frozen=True)
class Call:
    at: float  # seconds since the epoch
    pid: int
    ours: bool  # False: the user's command's or a gate's (kept to follow the links they make)
    program: str  # what the process runs: its last exec's arguments, shortened
    name: str
    named: tuple[Named, ...]
    args: tuple[str, ...]
    fds: tuple[bytes, ...]  # the paths of the descriptors it was given or gave back
    line: str
    done: bool  # it succeeded


@dataclass(frozen=True)
class Reach:
    call: Call
    path: bytes
    how: str  # "outside", "descriptor outside", "through link L", "follows link L"

    def __str__(self) -> str:
        call = self.call
        return f"{self.how}: {self.path!r} by {call.pid} ({call.program}): {call.line}"


@dataclass
class Trace:
    result: subprocess.CompletedProcess[str]
    calls: list[Call] = field(default_factory=list)  # every process's, in time order
    pids: int = 0  # processes of ours seen

    def paths(self) -> set[bytes]:
        """Every path a call of ours named, absolute."""
        return {n.path for c in self.calls if c.ours for n in c.named}

    def reached(
        self, outside: Path, links: Iterable[Path], *, allowed: Iterable[Path] = ()
    ) -> list[Reach]:
        """The calls that reached into `outside` (see the module's text). `allowed`: links on
        the way to the worktree (its parent a link): a path through one is taken as its
        target's."""
        out_b = os.fsencode(os.path.realpath(outside))
        link_set = {_canonical(os.fsencode(p)) for p in links}
        ways = {os.fsencode(p): os.fsencode(os.path.realpath(p)) for p in allowed}
        found = []
        for call in self.calls:
            if not call.ours:
                _moved(call, link_set, out_b)
                continue
            for fd_path in call.fds:
                if _under(fd_path, out_b):
                    found.append(Reach(call, fd_path, "descriptor outside"))
            for named in call.named:
                how = _judge(named, out_b, link_set, ways)
                if how:
                    found.append(Reach(call, named.path, how))
            _moved(call, link_set, out_b)
        return found


def available() -> bool:
    """Whether strace runs here (a container may forbid ptrace)."""
    if not os.access(STRACE, os.X_OK):
        return False
    tried = subprocess.run(
        [STRACE, "-qq", "-e", "trace=none", "true"], capture_output=True, check=False
    )
    return tried.returncode == 0


def traced(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    theirs: Sequence[str] = (),
    stdin: bytes | None = None,
    timeout: float = 120,
    program: Sequence[str] | None = None,
) -> Trace:
    """`python -m git_atomic ARGS` (or `program`) run under strace in `cwd`; its calls, each
    marked ours but for those of a process from its exec of a program whose arguments hold one
    of `theirs` on (and of what it starts): those are kept to follow the links they make."""
    argv = list(program) if program is not None else [sys.executable, "-m", "git_atomic", *args]
    full_env = {**env, "GIT_ATOMIC_HELPER": "0"}
    folder = tempfile.mkdtemp(prefix="git-atomic-strace-")
    try:
        prefix = os.path.join(folder, "t")
        strace = [STRACE, "-f", "-ff", "-qq", "-yy", "-ttt", "-s", "512", "-e", f"trace={_CALLS}"]
        ran = subprocess.run(
            [*strace, "-o", prefix, "--", *argv],
            cwd=cwd,
            env=full_env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        result = subprocess.CompletedProcess(
            argv,
            ran.returncode,
            ran.stdout.decode(errors="backslashreplace"),
            ran.stderr.decode(errors="backslashreplace"),
        )
        per_pid = {}
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as fh:
                per_pid[int(name.rsplit(".", 1)[1])] = fh.read().decode("latin-1").splitlines()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _ours(result, per_pid, [m.encode() for m in theirs], os.fsencode(cwd))


def _ours(
    result: subprocess.CompletedProcess[str],
    per_pid: dict[int, list[str]],
    theirs: list[bytes],
    cwd: bytes,
) -> Trace:
    """Every call, in time order, each marked ours or not: the processes from the root (the one
    no one forked) down are ours, but for those that exec a program of `theirs`, from that exec
    on, and what they start."""
    children: set[int] = set()
    for lines in per_pid.values():
        for line in lines:
            parsed = _LINE.match(line)
            if parsed and parsed[2] in _FORKS and parsed[4].split(" ")[0].isdigit():
                children.add(int(parsed[4].split(" ")[0]))
    roots = [p for p in per_pid if p not in children]
    trace = Trace(result)
    todo = [(root, cwd, True, "") for root in sorted(roots)]
    while todo:
        pid, where, ours, program = todo.pop()
        trace.pids += ours
        started = pid in roots  # the program strace started: ours, whatever its arguments
        for line in per_pid.get(pid, []):
            parsed = _LINE.match(line)
            if not parsed:
                continue
            name, args, ret = parsed[2], _split(parsed[3]), parsed[4]
            if name == "execve" and not ret.startswith("-1"):
                if not started and _theirs(args, theirs):
                    ours = False  # from here on the process is the user's command or gate
                started = False
                program = _program(args)
            if name in _FORKS and ret.split(" ")[0].isdigit():
                todo.append((int(ret.split(" ")[0]), where, ours, program))
                continue
            for arg in args:
                fd = _FD.match(arg)
                if fd and fd[1] == "AT_FDCWD":
                    where = _unescape(fd[2])
            at = float(parsed[1] or 0)
            call = _call(at, pid, ours, program, name, args, ret, where, line)
            if name == "chdir" and ret.startswith("0") and call.named:
                where = call.named[0].path
            elif name == "fchdir" and ret.startswith("0") and call.fds:
                where = call.fds[0]
            trace.calls.append(call)
    trace.calls.sort(key=lambda c: c.at)
    return trace


def _theirs(args: list[str], theirs: list[bytes]) -> bool:
    text = b" ".join(_unescape(a[1:-1]) for a in _split(args[1][1:-1])) if len(args) > 1 else b""
    return any(mark in text for mark in theirs)


def _program(args: list[str]) -> str:
    """An exec's arguments, as text for a person (git's `-c` options left out)."""
    if len(args) < 2:
        return ""
    words = [_unescape(a[1:-1]).decode(errors="replace") for a in _split(args[1][1:-1])]
    shown = [w for n, w in enumerate(words) if w != "-c" and (n == 0 or words[n - 1] != "-c")]
    return " ".join(shown)[:160]


def _call(
    at: float,
    pid: int,
    ours: bool,
    program: str,
    name: str,
    args: list[str],
    ret: str,
    where: bytes,
    line: str,
) -> Call:
    fds = []
    for arg in [*args, ret.strip()]:
        fd = _FD.match(arg)
        if fd and fd[1] != "AT_FDCWD":
            fds.append(_fd_path(fd[2]))
    named = []
    for dir_at, path_at in _PATHS.get(name, ()):
        if path_at >= len(args) or not args[path_at].startswith('"'):
            continue  # NULL, or a path strace could not read
        path = _unescape(args[path_at][1:-1])
        base = where
        if dir_at is not None and dir_at < len(args):
            fd = _FD.match(args[dir_at])
            if fd:
                base = _fd_path(fd[2]) if fd[1] != "AT_FDCWD" else _unescape(fd[2])
        if not path:
            continue  # AT_EMPTY_PATH: the descriptor itself, listed among fds
        start = 0 if path.startswith(b"/") else len(base)
        named.append(Named(os.path.join(base, path), _follows(name, args), start))
    done = not ret.startswith("-1")
    return Call(at, pid, ours, program, name, tuple(named), tuple(args), tuple(fds), line, done)


def _follows(name: str, args: list[str]) -> bool:
    if name in _NOFOLLOW:
        return False
    if name in ("open", "openat", "creat"):
        flags = args[2] if name == "openat" else args[1] if len(args) > 1 else ""
        return (
            name != "creat"
            and "O_NOFOLLOW" not in flags
            and not ("O_CREAT" in flags and "O_EXCL" in flags)
        )
    if name in _FLAGGED:
        flag, at = _FLAGGED[name]
        flags = args[at] if at < len(args) else ""
        if flag.startswith("!"):
            return flag[1:] in flags
        return flag not in flags
    return True


def _moved(call: Call, links: set[bytes], outside: bytes) -> None:
    """`links` after `call`: a link out made, a path removed, renamed or made a folder."""
    if not call.done or not call.named:
        return
    first = call.named[0].path.rstrip(b"/")
    if call.name in ("symlink", "symlinkat"):
        target = _unescape(call.args[0][1:-1])
        if _under(os.path.normpath(os.path.join(os.path.dirname(first), target)), outside):
            links.add(first)
    elif call.name in ("unlink", "unlinkat", "rmdir", "mkdir", "mkdirat"):
        links.difference_update([p for p in links if _under(p, first)])
    elif call.name in ("rename", "renameat", "renameat2") and len(call.named) == 2:
        to = call.named[1].path.rstrip(b"/")
        if "RENAME_EXCHANGE" in call.line:
            return
        moving = [p for p in links if _under(p, first)]
        links.difference_update([p for p in links if _under(p, to)])
        links.difference_update(moving)
        links.update(to + p[len(first) :] for p in moving)


def _judge(named: Named, outside: bytes, links: set[bytes], ways: dict[bytes, bytes]) -> str:
    """How a path a call named reached into `outside`: "" if it did not."""
    acc = os.path.normpath(named.path[: named.start]) if named.start else b""
    parts = [p for p in named.path[named.start :].split(b"/") if p and p != b"."]
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if part == b"..":
            acc = os.path.dirname(acc) or b"/"
            continue
        acc = acc + b"/" + part
        if acc in ways and not last:
            acc = ways[acc]
        if acc in links and (not last or named.follows or named.path.endswith(b"/")):
            return f"{'follows' if last else 'through'} link {acc.decode(errors='replace')}"
    if _under(acc or b"/", outside):
        return "outside"
    return ""


def _canonical(path: bytes) -> bytes:
    """A link's path with its folder's links resolved (the link itself left as it is)."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _under(path: bytes, folder: bytes) -> bool:
    return path == folder or path.startswith(folder + b"/")


def _fd_path(text: str) -> bytes:
    """A descriptor's path as `-yy` prints it (a device's numbers after it, `<char 1:3>`)."""
    return _unescape(re.sub(r"<[^<>]*>$", "", text))


def _split(args: str) -> list[str]:
    """A call's arguments, split at the commas outside strings, brackets and `<...>`."""
    out, depth, start, n, quoted = [], 0, 0, 0, False
    while n < len(args):
        ch = args[n]
        if quoted:
            if ch == "\\":
                n += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(args[start:n].strip())
            start = n + 1
        n += 1
    if args[start:].strip():
        out.append(args[start:].strip())
    return out


_ESCAPES: Final = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "\\": 92, '"': 34, "<": 60, ">": 62}


def _unescape(text: str) -> bytes:
    """strace's C-like escapes undone; the text was read as latin-1, byte for byte."""
    out, n = bytearray(), 0
    while n < len(text):
        ch = text[n]
        if ch != "\\" or n + 1 == len(text):
            out.append(ord(ch))
            n += 1
            continue
        nxt = text[n + 1]
        if nxt == "x":
            out.append(int(text[n + 2 : n + 4], 16))
            n += 4
        elif nxt.isdigit():
            digits = re.match(r"[0-7]{1,3}", text[n + 1 :])
            assert digits
            out.append(int(digits[0], 8))
            n += 1 + len(digits[0])
        else:
            out.append(_ESCAPES.get(nxt, ord(nxt)))
            n += 2
    return bytes(out)
