"""Hermetic real repositories for tests, and exact fingerprints of their state."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def verify_flag() -> str:
    """GIT_ATOMIC_VERIFY_SCAN for the suite's runs: "1" (the product's fast paths checked
    against git's slow answers), or "0" where GIT_ATOMIC_TEST_VERIFY=0 asks for a run as users
    have it (docs/contributing.md)."""
    return "0" if os.environ.get("GIT_ATOMIC_TEST_VERIFY") == "0" else "1"


def hermetic_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A git environment that sees nothing of this machine: own HOME, no system config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.com",
        GIT_COMMITTER_NAME="Test Committer",
        GIT_COMMITTER_EMAIL="committer@example.com",
        GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2026-01-01T00:00:00Z",
        LC_ALL="C",
        NO_COLOR="1",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        GIT_ATOMIC_VERIFY_SCAN=verify_flag(),  # fast paths checked against git's (scan.py)
        # The warm helper is on (as for users); one a test leaves behind goes soon, and
        # tests/conftest.py stops those of each test's repositories when it ends.
        GIT_ATOMIC_HELPER_IDLE="20",
        # A live git's index.lock is waited for 3 s, not 10: the tests that hold one (a commit's
        # editor open) hold it past any wait, and would each spend the ten seconds.
        GIT_ATOMIC_INDEX_LOCK_WAIT="3",
        # A failing git call's report goes into the test's HOME, not the machine's /tmp.
        GIT_ATOMIC_LOG_DIR=str(home),
    )
    env.pop("GIT_ATOMIC_FAILPOINT", None)
    from git_atomic.ops.windowlog import SHELL_MARKS

    for mark in SHELL_MARKS:  # the suite run in an agent's shell is not that agent's call
        env.pop(mark, None)
    if "GIT_ATOMIC_SPLIT_SCAN_AT" in os.environ:  # scan indexes split from that size (scan.py)
        env["GIT_ATOMIC_SPLIT_SCAN_AT"] = os.environ["GIT_ATOMIC_SPLIT_SCAN_AT"]
    if "GIT_ATOMIC_INDEX_MEMO_AT" in os.environ:  # indexes named through a memo from that size
        env["GIT_ATOMIC_INDEX_MEMO_AT"] = os.environ["GIT_ATOMIC_INDEX_MEMO_AT"]
    if extra:
        env.update(extra)
    return env


@dataclass
class GitRepo:
    path: Path
    env: dict[str, str]

    @classmethod
    def create(
        cls,
        path: Path,
        home: Path,
        *,
        initial_commit: bool = True,
        branch: str = "main",
        object_format: str = "sha1",
        git_dir: Path | None = None,
    ) -> GitRepo:
        """`git_dir`: made there (`--separate-git-dir`), the worktree's `.git` a file."""
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path, hermetic_env(home))
        elsewhere = ("--separate-git-dir", str(git_dir)) if git_dir is not None else ()
        repo.git("init", "-q", "-b", branch, f"--object-format={object_format}", *elsewhere)
        if initial_commit:
            repo.write("README", b"hello\n")
            repo.git("add", "README")
            repo.git("commit", "-q", "-m", "initial")
        return repo

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> str:
        res = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env={**self.env, **(env or {})},
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if check and res.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {res.stderr.decode()}")
        return res.stdout.decode("utf-8", "surrogateescape")

    def checkpoint_refs(self, fmt: str = "%(objectname) %(objecttype)\t%(refname)") -> str:
        """`for-each-ref refs/atomic/` without the scan cache's refs (refs/atomic/scan/), which
        any capture, even a probe, may move."""
        out = self.git("for-each-ref", f"--format={fmt}", "refs/atomic/")
        return "".join(line + "\n" for line in out.splitlines() if "refs/atomic/scan/" not in line)

    def atomic(
        self,
        *args: str,
        check: int | None = None,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m git_atomic ARGS` as a real process; check the exit code if given."""
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        res = command_line(list(args), cwd or self.path, full_env, input, timeout)
        if check is not None and res.returncode != check:
            raise AssertionError(
                f"git-atomic {' '.join(args)}: exit {res.returncode}, expected {check}\n"
                f"stdout: {res.stdout}\nstderr: {res.stderr}"
            )
        return res

    def atomic_json(self, *args: str, check: int | None = 0, **kw: Any) -> dict[str, Any]:
        argv = list(args)
        at = argv.index("--") if "--" in argv else len(argv)
        res = self.atomic(*argv[:at], "--json", *argv[at:], check=check, **kw)
        obj: dict[str, Any] = json.loads(res.stdout)
        return obj

    def write(self, rel: str | bytes, data: bytes, *, mode: int = 0o644) -> None:
        full = os.path.join(os.fsencode(self.path), os.fsencode(rel))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
        os.chmod(full, mode)

    def read(self, rel: str | bytes) -> bytes:
        with open(os.path.join(os.fsencode(self.path), os.fsencode(rel)), "rb") as fh:
            return fh.read()

    def exists(self, rel: str | bytes) -> bool:
        return os.path.lexists(os.path.join(os.fsencode(self.path), os.fsencode(rel)))

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def diverged(self, path: str = "c") -> None:
        """`path` committed, then changed one way on a new branch `side` and another on the
        branch checked out (`main`): a merge or rebase of `side` conflicts."""
        self.write(path, b"base\n")
        self.git("add", path)
        self.git("commit", "-qm", "base")
        self.git("checkout", "-qb", "side")
        self.write(path, b"side\n")
        self.git("commit", "-qam", "side")
        self.git("checkout", "-q", "main")
        self.write(path, b"main\n")
        self.git("commit", "-qam", "main")

    def fingerprint(self, *, ignored: Sequence[str] = ()) -> State:
        return fingerprint(self.path, self.env)


@dataclass(frozen=True)
class State:
    head: str  # "ref: refs/heads/x" or a commit id
    head_commit: str | None
    branches: tuple[tuple[str, str], ...]
    index: tuple[tuple[bytes, str, str, int, str], ...] | None  # read_index(); None: no file
    files: tuple[tuple[bytes, str, str], ...]  # (path, kind+mode, sha256 of bytes/link target)

    def diff(self, other: State) -> list[str]:
        out = []
        for name in ("head", "head_commit", "branches"):
            if getattr(self, name) != getattr(other, name):
                out.append(f"{name}: {getattr(self, name)!r} != {getattr(other, name)!r}")
        if (self.index is None) != (other.index is None):
            out.append(f"index file: {self.index is not None} != {other.index is not None}")
        elif self.index != other.index:
            ours, others = set(self.index or ()), set(other.index or ())
            out += [f"index entry only here: {e!r}" for e in sorted(ours - others)]
            out += [f"index entry only there: {e!r}" for e in sorted(others - ours)]
            if ours == others:
                out.append("index: same entries in another order")
        mine, theirs = (
            dict((p, (k, h)) for p, k, h in self.files),
            dict((p, (k, h)) for p, k, h in other.files),
        )
        for p in sorted(set(mine) | set(theirs)):
            if mine.get(p) != theirs.get(p):
                out.append(f"file {p!r}: {mine.get(p)} != {theirs.get(p)}")
        return out


def next_second() -> None:
    """Sleep until just past the start of the clock's next second: whatever was written before
    has its times in an earlier whole second than whatever is written after (file times lag
    the clock by up to a tick: the 30 ms). For what git or a capture compares in whole seconds
    (git's racy check in this build, a scan's start second): half a second on average, where
    a fixed `sleep(1.1)` waits twice as long. Not for an age in seconds (the raw record keeps
    a file's hash only when it is more than a second old: conversion.py): sleep that."""
    import time

    time.sleep(1.03 - time.time() % 1)


def git_dir_paths(git_dir: Path) -> set[str]:
    """Every file and folder under a git dir, by path (folders end in `/`), read from the disk
    without following a link, but for the object store and git-atomic's own (`atomic/`, our
    refs and their reflogs): what a rollback must leave as it found it, empty folders too."""
    ours = ("atomic/", "atomic-journal-kept", "objects/", "refs/atomic/", "logs/refs/atomic/")
    out = set()
    for dirpath, dirnames, filenames in os.walk(git_dir):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, git_dir) + ("/" if name in dirnames else "")
            if not rel.startswith(ours):
                out.add(rel)
    return out


def git_atomic_on_path(bin_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """`env` with a `git-atomic` console script (this checkout's) first on PATH, made in
    `bin_dir`: `git atomic ...` then runs it, as git finds an installed one."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "git-atomic"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m git_atomic "$@"\n')
    script.chmod(0o755)
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A file system of `size` (tmpfs) mounted at `where`, unmounted after; the test is
    skipped where the system allows no such mount (not root, a container without mount)."""
    import pytest

    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (not root, or no mount in this container)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fingerprint(root: Path, env: Mapping[str, str]) -> State:
    """Everything a rollback must restore, read without letting git rewrite the index first."""
    git_dir = root / ".git"
    index = git_dir / "index"
    answer = subprocess.run(
        ["git", "rev-parse", "--show-object-format"],
        cwd=root,
        env={**env, "GIT_OPTIONAL_LOCKS": "0"},
        capture_output=True,
    )
    width = 32 if answer.stdout.strip() == b"sha256" else 20
    entries = None
    if index.exists():
        entries, split, _end = _read_index(index.read_bytes(), width=width)
        if split:  # the user's core.splitIndex: git reads it with its shared index
            entries = _git_entries(root, env)
    head = (git_dir / "HEAD").read_text().strip()
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"],
        cwd=root,
        env={**env, "GIT_OPTIONAL_LOCKS": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    branches = tuple(tuple(line.split(" ", 1)) for line in refs if line)
    head_commit = (
        subprocess.run(
            ["git", "rev-parse", "-q", "--verify", "HEAD"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
        or None
    )
    files: list[tuple[bytes, str, str]] = []
    broot = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(broot):
        if dirpath == broot:
            dirnames[:] = [d for d in dirnames if d != b".git"]
        else:
            dirnames[:] = [
                d for d in dirnames if not os.path.exists(os.path.join(dirpath, d, b".git"))
            ]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, broot)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                files.append((rel, "link", hashlib.sha256(os.readlink(full)).hexdigest()))
            elif stat.S_ISREG(st.st_mode):
                kind = "exec" if st.st_mode & 0o100 else "file"
                with open(full, "rb") as fh:
                    files.append((rel, kind, hashlib.sha256(fh.read()).hexdigest()))
    return State(
        head,
        head_commit,
        tuple(sorted(branches)),  # type: ignore[arg-type]
        entries,
        tuple(sorted(files)),
    )


def read_index(data: bytes, *, width: int = 20) -> tuple[tuple[bytes, str, str, int, str], ...]:
    """The entries of a raw index file (`_read_index`)."""
    return _read_index(data, width=width)[0]


def split_index(data: bytes, *, width: int = 20) -> bool:
    """Whether a raw index file is a split one (`core.splitIndex`): a `link` extension after
    its entries, read here as `read_index` reads them."""
    return _read_index(data, width=width)[1]


def _split_index(data: bytes, pos: int, width: int) -> bool:
    """Whether the index's extensions, from `pos`, hold a `link` one: the file is then a
    split index, its entries only those that changed since its shared index."""
    while pos + 8 <= len(data) - width:
        if data[pos : pos + 4] == b"link":
            return True
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
    return False


def _git_entries(
    root: Path, env: Mapping[str, str]
) -> tuple[tuple[bytes, str, str, int, str], ...]:
    """A split index's entries, as git reads them with its shared index (`ls-files`, which
    writes nothing), in `read_index`'s form."""
    from testing import oracle

    out = []
    for path, mode, oid, stage, flags in oracle.index_entries(env, root):
        names = [
            n
            for bit, n in (
                (0x8000, "assume-unchanged"),
                (1 << 30, "skip-worktree"),
                (1 << 29, "intent-to-add"),
            )
            if flags & bit
        ]
        out.append((path, mode, oid, stage, ",".join(names)))
    return tuple(out)


def index_extensions(data: bytes, *, width: int = 20) -> dict[str, bytes]:
    """The extensions of a raw index file after its entries (TREE, REUC, UNTR, FSMN, link,
    sdir...), by signature: their bytes as git wrote them."""
    pos = _read_index(data, width=width)[2]
    out = {}
    while pos + 8 <= len(data) - width:
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        out[data[pos : pos + 4].decode("latin-1")] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size
    return out


def cache_tree(body: bytes, *, width: int = 20) -> list[tuple[bytes, int, int, str | None]]:
    """A TREE extension's folders: (name, entries or -1 where git must hash it again,
    subfolders, tree id or None)."""
    out, pos = [], 0
    while pos < len(body):
        end = body.index(b"\0", pos)
        name, pos = body[pos:end], end + 1
        line_end = body.index(b"\n", pos)
        count, subtrees = (int(x) for x in body[pos:line_end].split(b" "))
        pos = line_end + 1
        oid = None
        if count >= 0:
            oid, pos = body[pos : pos + width].hex(), pos + width
        out.append((name, count, subtrees, oid))
    return out


def _read_index(
    data: bytes, *, width: int = 20
) -> tuple[tuple[tuple[bytes, str, str, int, str], ...], bool, int]:
    """Every entry of a raw index file (versions 2 to 4): path, mode, object id, stage and
    flags (`assume-unchanged`, `skip-worktree`, `intent-to-add`). Stat data is left out: it is
    git's cache, not the user's state. Read here, independently of how the product reads it.
    `width`: the bytes of an object id (20, SHA-1; 32, SHA-256)."""
    assert data[:4] == b"DIRC", "not an index file"
    version, count = int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big")
    assert version in (2, 3, 4), f"index version {version}"
    pos, previous, out = 12, b"", []
    for _ in range(count):
        start = pos
        mode = int.from_bytes(data[pos + 24 : pos + 28], "big")
        oid = data[pos + 40 : pos + 40 + width].hex()
        flags = int.from_bytes(data[pos + 40 + width : pos + 42 + width], "big")
        pos += 42 + width
        extended = 0
        if version >= 3 and flags & 0x4000:
            extended = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        if version == 4:
            strip, byte = data[pos] & 0x7F, data[pos]
            pos += 1
            while byte & 0x80:
                byte = data[pos]
                pos += 1
                strip = ((strip + 1) << 7) | (byte & 0x7F)
            end = data.index(b"\0", pos)
            path = previous[: len(previous) - strip] + data[pos:end]
            pos = end + 1
        else:
            end = data.index(b"\0", pos)
            path = data[pos:end]
            pos = start + ((end - start + 8) & ~7)
        previous = path
        names = [
            n
            for bit, n in (
                (flags & 0x8000, "assume-unchanged"),
                (extended & 0x4000, "skip-worktree"),
                (extended & 0x2000, "intent-to-add"),
            )
            if bit
        ]
        out.append((path, f"{mode:o}", oid, (flags >> 12) & 3, ",".join(names)))
    return tuple(out), _split_index(data, pos, width), pos


def helper_pids(root: Path) -> list[int]:
    """The warm helpers (cli/helperd.py) serving repositories under root, found among the
    processes (a helper still starting has written no pid file yet)."""
    inside = os.fsencode(root.resolve()) + b"/"
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        line = _cmdline(entry)
        if b"git_atomic.cli.helperd" not in line:
            continue
        argv = line.split(b"\0")
        if any(b"git_atomic.cli.helperd" in a for a in argv) and any(
            a.startswith(inside) and a.endswith(b"/.git/atomic/helper") for a in argv
        ):
            pids.append(int(entry))
    return sorted(pids)


def _cmdline(pid: str) -> bytes:
    """A process's command line, read whole (b"" when it is gone or has none). The suite looks
    through every process's after each test (conftest.py): plain reads of the descriptor cost
    half what a buffered file object does."""
    try:
        fd = os.open(f"/proc/{pid}/cmdline", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return b""
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except OSError:
        return b""
    finally:
        os.close(fd)
    return b"".join(chunks)


def stop_helpers(root: Path) -> list[int]:
    """Stop the warm helpers of the repositories under root, and wait until they are gone; the
    pids of those it found."""
    import signal
    import time

    found = helper_pids(root)
    for pid in found:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _running(pid):
                time.sleep(0.02)
            if not _running(pid):
                break
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


# --- the fork server (testing/forkserver.py) ----------------------------------------------------
# False: every call starts a new interpreter (tests of the start-up and of the warm helper,
# which a forked call does not go through, set it so).
FORK = True
# Per process and flavour ("": the command line's; "--mcp": with the `mcp` SDK imported).
_SERVER: dict[tuple[int, str], tuple[subprocess.Popen[bytes], str, dict[str, str]] | None] = {}
_SERVER_LOCK = threading.Lock()


# Servers started and found gone, per process: past three, new interpreters from then on.
_GONE: dict[int, int] = {}


def _gone(proc: subprocess.Popen[bytes]) -> None:
    """This process's command-line server answers no more (it died): the next call starts
    another, up to three times."""
    with _SERVER_LOCK:
        _GONE[os.getpid()] = _GONE.get(os.getpid(), 0) + 1
        if _GONE[os.getpid()] < 3:
            del _SERVER[os.getpid(), ""]
        else:
            _SERVER[os.getpid(), ""] = None
    proc.kill()
    proc.wait()


def startup_env(env: Mapping[str, str]) -> dict[str, str]:
    """What Python reads from the environment when it starts (the streams, the encodings)."""
    return {k: v for k, v in env.items() if k.startswith(("PYTHON", "LC_", "LANG"))}


def forks_on() -> bool:
    """Whether calls are forked at all: not with GIT_ATOMIC_TEST_FORK=0, nor under coverage."""
    measured = any(k.startswith("COVERAGE_") for k in os.environ)
    return os.environ.get("GIT_ATOMIC_TEST_FORK", "1") != "0" and not measured


def fork_server(flavour: str = "") -> tuple[subprocess.Popen[bytes], str, dict[str, str]] | None:
    """This process's fork server of `flavour` (testing/forkserver.py), started on first use;
    None where forks are off (GIT_ATOMIC_TEST_FORK=0, or under coverage)."""
    import tempfile
    import time

    with _SERVER_LOCK:
        if (os.getpid(), flavour) in _SERVER:
            return _SERVER[os.getpid(), flavour]
        found = None
        if forks_on():
            folder = tempfile.mkdtemp(prefix=f"git-atomic-forks{flavour.lstrip('-') or ''}-")
            path = os.path.join(folder, "s")
            env = hermetic_env(Path(folder) / "home")
            proc = subprocess.Popen(
                [sys.executable, "-m", "testing.forkserver", path, *([flavour] if flavour else [])],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=folder,
                env=env,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if os.path.exists(path):
                    found = (proc, path, startup_env(env))
                    break
                time.sleep(0.02)
        _SERVER[os.getpid(), flavour] = found
        return found


def command_line(
    args: list[str],
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes | None,
    timeout: float,
    *,
    errors: str = "backslashreplace",
) -> subprocess.CompletedProcess[str]:
    """`python -m git_atomic ARGS`: forked by the server when it can, else a new interpreter.
    `errors`: how output that is not UTF-8 is decoded ("strict": it fails the call)."""
    res = forked(args, cwd, env, stdin, timeout, errors=errors)
    if res is None:
        ran = subprocess.run(
            [sys.executable, "-m", "git_atomic", *args],
            cwd=cwd,
            env=env,
            input=stdin,  # the bytes as they are: a payload in UTF-16 is no UTF-8 text
            stdin=None if stdin else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        res = subprocess.CompletedProcess(
            ran.args, ran.returncode, _text(ran.stdout, errors), _text(ran.stderr, errors)
        )
    return res


def forked(
    args: list[str],
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes | None,
    timeout: float,
    *,
    errors: str = "backslashreplace",
) -> subprocess.CompletedProcess[str] | None:
    """`python -m git_atomic ARGS` run by the fork server; None: run it as a new interpreter."""
    import array
    import socket
    import tempfile
    import time

    server = fork_server() if FORK else None
    if server is None or startup_env(env) != server[2]:
        return None
    _, path, _ = server
    argv = [sys.executable, "-m", "git_atomic", *args]
    head = json.dumps(
        {
            "args": args,
            "env": dict(env),
            "umask": _umask(),
            "argv0": str(ROOT / "src" / "git_atomic" / "__main__.py"),
        }
    ).encode()
    with (
        tempfile.TemporaryFile() as inp,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn,
    ):
        if stdin:
            inp.write(stdin)
            inp.seek(0)
        source = inp.fileno() if stdin else os.open(os.devnull, os.O_RDONLY)
        folder = os.open(cwd, os.O_RDONLY | os.O_DIRECTORY)
        try:
            conn.connect(path)
            fds = array.array("i", [source, out.fileno(), err.fileno(), folder])
            conn.sendmsg(
                [b"%d\n" % len(head) + head], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)]
            )
        except OSError:  # it is gone: this call is a new interpreter, the next starts a server
            _gone(server[0])
            return None
        finally:
            os.close(folder)
            if not stdin:
                os.close(source)
        conn.settimeout(timeout)
        deadline = time.monotonic() + timeout
        with conn.makefile("rb") as lines:
            code = _status(lines, argv, timeout, deadline)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            argv, code, _text(out.read(), errors), _text(err.read(), errors)
        )


def _status(lines: Any, argv: list[str], timeout: float, deadline: float) -> int:
    """The exit code the server reports (minus the signal that ended the call), after its pid;
    past `timeout`, the call is killed, as `subprocess.run` kills its process."""
    import signal
    import time

    pid = 0
    try:
        while True:
            word, _, value = lines.readline().decode().partition(" ")
            if word == "pid":
                pid = int(value)
            elif word in ("exit", "signal"):
                return int(value) if word == "exit" else -int(value)
            else:
                raise AssertionError(f"the fork server said {word!r}")
    except (TimeoutError, OSError):
        if pid and time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(argv, timeout) from None
        raise


def _text(data: bytes, errors: str = "backslashreplace") -> str:
    """As `subprocess.run(text=True)` gives it: decoded, universal newlines (bytes that are not
    UTF-8, a branch's name git prints, escaped unless `errors` says otherwise)."""
    return data.decode(errors=errors).replace("\r\n", "\n").replace("\r", "\n")


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask
