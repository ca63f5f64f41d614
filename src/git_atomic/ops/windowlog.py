"""A worktree's log of the changes whose two ends are known: an agent turn's window that
closed with a step, a rollback or undo (from its rescue to its target), an operation kept
(from its PRE-OP to the state it left). An agent turn's shell call takes in everything that
changed while it ran, but what one of these began and ended inside it is not the call's
(agents/turnothers.py reads the log). Written only where agent turns were ever recorded (their
folder, `turns/`, is there): one append, no git process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from git_atomic.core import failpoints
from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.vocab import CheckpointKind, OpKind
from git_atomic.engine import git

TURNS_DIR: Final = "turns"  # agents/turnstate.py's folder of the turns' records
# Entries older than this are dropped when the log passes _KEEP_BYTES: an entry matters only
# while a window that holds it is open, and a window lasts as long as one tool call.
_KEEP_SECONDS: Final = 24 * 3600
_KEEP_BYTES: Final = 256 * 1024
# A log larger than this was written by another hand (ours is cut at _KEEP_BYTES): only its
# newest part is read, never the whole of it into memory.
_READ_MAX: Final = 4 * 1024 * 1024
# Never a fifo's wait (a hook that hangs), never through a link.
_OPEN: Final = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Window(NamedTuple):
    who: str  # a turn's session, or "op:ID" / "move:EVENT" for an operation or a move
    before: str
    after: str
    began: float  # before its first capture began (time.time())
    ended: float  # once its end was reached
    commit: str | None = None  # commits mode: the visible commit its end state is just before
    # A file tool's window that took no capture (agents/turnsteps.PENDING): before and after
    # are '', and these name its files as they were before and after (path -> [mode, blob],
    # or None where there was no file).
    files_before: dict[str, object] | None = None
    files_after: dict[str, object] | None = None


def _folder(repo: git.Repo) -> str:
    return os.path.join(repo.state_dir, TURNS_DIR)


def wanted(repo: git.Repo) -> bool:
    """Whether agent turns were ever recorded here (their folder a folder, never a link)."""
    try:
        return stat.S_ISDIR(os.lstat(_folder(repo)).st_mode)
    except OSError:
        return False


def _path(repo: git.Repo) -> str:
    return os.path.join(_folder(repo), f"windows-{repo.worktree_id}")


def note(
    repo: git.Repo, who: str, before: str, after: str, began: float, *, commit: str | None = None
) -> None:
    """A change from `before` to `after`, begun at `began` and ended now. Never fails its
    caller: a change not noted stays in the windows it was made in, as before."""
    _write(repo, Window(who, before, after, began, time.time(), commit))


def note_files(
    repo: git.Repo,
    who: str,
    files: tuple[Mapping[str, object], Mapping[str, object]],
    began: float,
    ended: float,
) -> None:
    """A change of the files named (as they were before, and after), from `began` to
    `ended`: a file tool's window that took no capture."""
    _write(repo, Window(who, "", "", began, ended, None, dict(files[0]), dict(files[1])))


def _write(repo: git.Repo, entry: Window) -> None:
    if not wanted(repo):
        return
    with contextlib.suppress(OSError):
        fd = os.open(_path(repo), os.O_RDWR | os.O_CREAT | os.O_APPEND | _OPEN, 0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return  # a folder, a fifo: no log of ours, nothing noted (as before)
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_size > _KEEP_BYTES:
                _trim(fd)
            os.write(fd, (json.dumps(entry._asdict()) + "\n").encode())
        finally:
            os.close(fd)


# The variables an agent platform sets for its shell tool's commands (agents/turncaller.py's
# SHELL_VARIABLES, each platform's: a test keeps the two the same): an operation or a move run
# there may be the agent's own, part of its call.
SHELL_MARKS: Final = ("CLAUDECODE", "GEMINI_CLI", "CODEX_THREAD_ID", "CODEX_SESSION_ID")


def in_an_agents_shell() -> bool:
    """Whether this command runs in an agent's shell call: its change is then left in that
    call's window (the turn's, as before), never noted as another writer's."""
    return any(os.environ.get(mark) for mark in SHELL_MARKS)


def note_kept(repo: git.Repo, rows: Sequence[CheckpointRow], op: OpRow) -> None:
    """A kept operation's change (`rows`: its checkpoints), PRE-OP to the state it left. An
    agent turn notes its own windows; an isolated run's apply is a move of its own; one run
    in an agent's shell call is left in that call's window."""
    if op.kind == OpKind.AGENT_TURN or op.details.get("isolated") or not wanted(repo):
        return
    if in_an_agents_shell():
        return
    ends = [c for c in rows[1:] if c.kind in (CheckpointKind.OP_EXEC, CheckpointKind.POST_OP)]
    if rows and rows[0].kind == CheckpointKind.PRE_OP and ends:
        last = ends[-1]
        note(repo, f"op:{op.id}", rows[0].sha, last.sha, op.started_at, commit=last.commit_sha)


def _trim(fd: int) -> None:
    """The log with only its recent entries, the newest half of its size at most (called with
    its lock held): it never grows past _KEEP_BYTES and an entry. Written over its start, then
    cut: a process killed between the two leaves entries twice (a window split twice around
    the same change splits it as once), never the log emptied."""
    old = time.time() - _KEEP_SECONDS
    lines = [json.dumps(w._asdict()) + "\n" for w in _parse(_all(fd)) if w.ended > old]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line)
        if size > _KEEP_BYTES // 2:
            break
        kept.append(line)
    data = "".join(reversed(kept)).encode()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_APPEND)  # (pwrite)
    try:
        os.pwrite(fd, data, 0)
        failpoints.hit("windowlog:trim")
        os.ftruncate(fd, len(data))
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)


def _all(fd: int) -> bytes:
    """The log's bytes: its newest _READ_MAX only, from a line's start, where it is larger."""
    size = os.fstat(fd).st_size
    if size <= _READ_MAX:
        return os.pread(fd, size, 0)
    tail = os.pread(fd, _READ_MAX, size - _READ_MAX)
    return tail[tail.find(b"\n") + 1 :]


def _parse(data: bytes) -> list[Window]:
    found = []
    for line in data.splitlines():
        with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
            raw = json.loads(line)
            commit = raw.get("commit")
            before, after = raw.get("files_before"), raw.get("files_after")
            found.append(
                Window(
                    str(raw["who"]),
                    str(raw["before"]),
                    str(raw["after"]),
                    float(raw["began"]),
                    float(raw["ended"]),
                    str(commit) if commit else None,
                    dict(before) if isinstance(before, dict) else None,
                    dict(after) if isinstance(after, dict) else None,
                )
            )
    return found


def read(repo: git.Repo) -> list[Window]:
    """Every entry noted (the recent ones, once the log was trimmed)."""
    try:
        fd = os.open(_path(repo), os.O_RDONLY | _OPEN)
    except OSError:
        return []
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        fcntl.flock(fd, fcntl.LOCK_SH)
        return _parse(_all(fd))
    except OSError:
        return []
    finally:
        os.close(fd)
