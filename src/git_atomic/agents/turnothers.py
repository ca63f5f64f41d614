"""Other sessions' calls inside a turn's window: theirs, not the turn's.

A window that may change anything (a shell call) takes in everything that changed while it
ran. A call of another session's turn in the same worktree that began and ended inside it has
checkpoints of its own, before and after: what changed between them is that turn's. Each
window that closes with a step notes it in the worktree's log (`note`: the two checkpoints and
when they were taken); a window closing splits its step around the other sessions' steps that
lie wholly inside it (`outside_others`), so its turn's take-back leaves their changes as they
are. What they changed in the same lines as the turn's own calls is then an overlap, said as
any other. A call of theirs that began before the window, or ends after it, stays in it (its
checkpoints do not bound what changed inside), and so does a file tool's call whose window
took no capture (its step waits in its record: turnsteps.PENDING).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from typing import Final, NamedTuple

from git_atomic.agents.turnstate import TURNS_DIR, Record, real_folder, session_dir
from git_atomic.core.errors import AtomicError
from git_atomic.engine import git

# Entries older than this are dropped when the log passes _KEEP_BYTES: a window lasts as long
# as one tool call, and a log entry matters only while another window that holds it is open.
_KEEP_SECONDS: Final = 24 * 3600
_KEEP_BYTES: Final = 256 * 1024


class Window(NamedTuple):
    session: str
    before: str
    after: str
    began: float  # before its first capture began
    ended: float  # once its last capture was taken


def _log_path(repo: git.Repo) -> str:
    return os.path.join(repo.state_dir, TURNS_DIR, f"windows-{repo.worktree_id}")


def note(repo: git.Repo, record: Record, step: tuple[str, str], began: float) -> None:
    """The step a window of `record`'s closed with, for the other sessions' windows open
    meanwhile. Never fails the call: a window not noted stays in theirs, as before."""
    if not real_folder(session_dir(repo.state_dir, record.session), make=False):
        return
    line = json.dumps(
        {
            "session": record.session,
            "before": step[0],
            "after": step[1],
            "began": began,
            "ended": time.time(),
        }
    )
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    with contextlib.suppress(OSError):
        fd = os.open(_log_path(repo), flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_size > _KEEP_BYTES:
                _trim(fd)
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def _trim(fd: int) -> None:
    """The log with only its recent entries (called with its lock held)."""
    old = time.time() - _KEEP_SECONDS
    kept = [w for w in _parse(os.pread(fd, 4 * _KEEP_BYTES, 0)) if w.ended > old]
    data = "".join(json.dumps(w._asdict()) + "\n" for w in kept).encode()
    os.ftruncate(fd, 0)
    os.write(fd, data)


def _parse(data: bytes) -> list[Window]:
    found = []
    for line in data.splitlines():
        with contextlib.suppress(ValueError, TypeError, KeyError):
            raw = json.loads(line)
            found.append(
                Window(
                    str(raw["session"]),
                    str(raw["before"]),
                    str(raw["after"]),
                    float(raw["began"]),
                    float(raw["ended"]),
                )
            )
    return found


def _read(repo: git.Repo) -> list[Window]:
    try:
        fd = os.open(_log_path(repo), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        return _parse(os.pread(fd, 4 * _KEEP_BYTES, 0))
    except OSError:
        return []
    finally:
        os.close(fd)


def outside_others(
    repo: git.Repo, record: Record, step: tuple[str, str], *, since: float, until: float
) -> tuple[Record, list[tuple[str, str]]]:
    """`step` (a window that ran from `since`, its start taken, to `until`, before its end was
    taken) less the other sessions' steps wholly inside it: the parts between them, oldest
    first. Their checkpoints are held by refs of the turn too (theirs may be retired first).
    The step itself where none is inside it, or where their checkpoints cannot be held."""
    inside = sorted(
        (
            w
            for w in _read(repo)
            if w.session != record.session and w.began >= since and w.ended <= until
        ),
        key=lambda w: (w.began, w.ended),
    )
    if not inside:
        return record, [step]
    parts: list[tuple[str, str]] = []
    start, free_from = step[0], since
    for window in inside:
        if window.began >= free_from:  # a stretch of ours, then theirs
            parts.append((start, window.before))
            start, free_from = window.after, window.ended
        elif window.ended > free_from:  # theirs overlapping theirs: one stretch
            start, free_from = window.after, window.ended
    parts.append((start, step[1]))
    held, lines = record, []
    for sha in sorted({sha for w in inside for sha in (w.before, w.after)}):
        held, ref = held.next_ref("other-session")
        lines.append(f"create {ref} {sha}")
    try:
        repo.update_refs(lines, message="git-atomic: another session's checkpoint in a turn")
    except AtomicError:
        return record, [step]
    return held, [p for p in parts if p[0] != p[1]]
