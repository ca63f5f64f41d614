"""Which MCP server made an operation: two clients on one worktree keep to their own.

An operation opened with `begin` is the worktree's, and the CLI lets any caller checkpoint,
commit or abort it: a second agent (another client, its own server process) working in the
same worktree could abort the first one's work or commit it half done, and its `rollback` (no
arguments: the newest operation) or `undo` took back or brought back the first one's. Each
server marks the operations it makes (`begin`, `run`, `tdd`: a file named by the op id in
`.git/atomic/mcp-sessions/`, holding its pid and start) and refuses to finish, step back or,
unless named, take back an operation another live server made. Once that server is gone (its
client closed), its operations are anyone's again, as those made on the command line are.
Folders are opened without following a link: a marker is never written outside the repository.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from git_atomic.agents import cli_argv
from git_atomic.core import wholefile

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

FOLDER: Final = "mcp-sessions"
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
# The calls that finish, step in or step back the open operation, or take back the newest
# operation (or bring back what the last rollback took): another session's is not theirs.
GUARDED: Final = frozenset({"checkpoint", "commit", "abort", "rollback", "undo"})
MAKING: Final = frozenset({"begin", "run", "tdd"})  # the calls that make an operation
_PID_MAX: Final = 2**22  # Linux's highest pid_max: a larger number is no process's


async def anothers(
    ctx: ServerRequestContext[Any],
    verb: str,
    arguments: Mapping[str, Any],
    state: Path,
    root: Path,
    logs: Path | None,
    arrived: float,
) -> str | None:
    """Why the call would finish or take back another live MCP session's operation (None when
    it would not): a folder listing, and CLI calls only when another server has marked an
    operation (`status`; for a rollback or undo, its own dry run: what it would take back)."""
    from git_atomic.agents.mcp_child import run_child

    marked = others(state)
    if not marked:
        return None
    now = await run_child(ctx, "status", cli_argv("status"), root, logs=logs, arrived=arrived)
    target = (now.data or {}).get("open")
    opened = isinstance(target, dict) and target.get("op_id") in marked
    if not opened and verb in ("rollback", "undo"):
        if arguments.get("op") or arguments.get("to"):
            return None  # named: what it takes back was chosen, not the newest
        dry = await run_child(
            ctx, verb, cli_argv(verb, ["--dry-run"]), root, logs=logs, arrived=arrived
        )
        target = dry.data if dry.exit_code == 0 else None
    op_id = target.get("op_id") if isinstance(target, dict) else None
    if not isinstance(target, dict) or op_id not in marked:
        return None
    what = f"{target.get('name')} [{op_id}]"
    whose = f"another MCP session (server pid {marked[op_id]}), which is still running"
    if opened:
        return (
            f"the open operation {what} was opened by {whose}: it is that session's to "
            "checkpoint, commit or abort; nothing was changed (begin your own once it is "
            "finished, or work in another worktree)"
        )
    if verb == "rollback":
        return (
            f"the newest operation, {what}, was made by {whose}: it is that session's to take "
            "back; nothing was changed (name it with op to take back its effect anyway)"
        )
    if verb == "undo":
        return (
            f"the last rollback took back {what}, made by {whose}: it is that session's to "
            "undo; nothing was changed"
        )
    return None


def _folder(state_dir: Path, *, make: bool) -> int | None:
    """Our markers' folder, opened without following a link at either level; None if absent."""
    try:
        top = os.open(state_dir, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except OSError:
        return None
    try:
        if make:
            with contextlib.suppress(FileExistsError):
                os.mkdir(FOLDER, 0o755, dir_fd=top)
        return os.open(FOLDER, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=top)
    except OSError:
        return None
    finally:
        os.close(top)


def mark(state_dir: Path, op_id: str) -> None:
    """This server opened `op_id`."""
    folder = _folder(state_dir, make=True)
    if folder is None:
        return
    try:
        # Written whole: a marker read empty (truncated, not yet written) is no server's.
        text = f"{os.getpid()} {_started(os.getpid()) or ''}\n"
        wholefile.replace_at(folder, op_id, text.encode("ascii"))
    except OSError:
        pass  # no marker: the operation is anyone's, as before
    finally:
        os.close(folder)


def unmark(state_dir: Path, op_id: str) -> None:
    folder = _folder(state_dir, make=False)
    if folder is None:
        return
    try:
        with contextlib.suppress(OSError):
            os.unlink(op_id, dir_fd=folder)
    finally:
        os.close(folder)


def others(state_dir: Path) -> dict[str, int]:
    """The operations other live servers marked, with their pids (a listing when none is
    marked: no git process, no CLI call). A dead server's marker is removed."""
    folder = _folder(state_dir, make=False)
    if folder is None:
        return {}
    found: dict[str, int] = {}
    try:
        for name in os.listdir(folder):
            pid, started = _marked(name, folder)
            if pid is None or pid == os.getpid():
                continue
            if _alive(pid, started):
                found[name] = pid
            else:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=folder)
    finally:
        os.close(folder)
    return found


def _marked(name: str, folder: int) -> tuple[int | None, str | None]:
    """The marking server's pid and start time (None where the system does not say it)."""
    # What another tool or a person put there is no marker: a folder, a fifo (never waited
    # on), a link, words that are no pid.
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK, dir_fd=folder)
    except OSError:
        return None, None
    try:
        with os.fdopen(fd, "rb") as marker:
            if not stat.S_ISREG(os.fstat(marker.fileno()).st_mode):
                return None, None
            pid, _, started = marker.read(64).strip().partition(b" ")
    except OSError:
        return None, None
    if not (pid.isdigit() and 0 < int(pid) <= _PID_MAX):
        return None, None
    return int(pid), (started.decode("ascii", "replace") or None)


def _alive(pid: int, started: str | None) -> bool:
    """Whether the server that marked is still running: its pid, and where the system says
    when a process started, the same start (a pid reused by another process is not it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return started is None or _started(pid) in (None, started)


def _started(pid: int) -> str | None:
    """When the process started, in clock ticks since boot (Linux's /proc); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return None
    return fields[19].decode() if len(fields) > 19 else None  # field 22, `starttime`
