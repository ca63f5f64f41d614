"""Processes that left the command's process group (`setsid`, a daemon's double fork), stopped
at its end like the group, where they work in the worktree.

The command's process group is killed when it ends (children.py), but a child that made a
session of its own (`setsid cmd &`, `nohup setsid`, a daemon's double fork) is in no group of
the command's: it kept running, and kept writing into the tree after the rollback had put it
back. On Linux we are made the *subreaper* of what the command starts for as long as it runs
(prctl PR_SET_CHILD_SUBREAPER): an orphan among its descendants is given to us instead of to
init, so it can be found as a child of ours that we did not start. Each such process whose
working folder is inside the worktree is killed (with its process group), as the command's
own group is; one that left the tree (a daemon does `chdir("/")`: gpg-agent, a build server)
is left running, as it would be without us, and so is git's own background work (`gc --auto`
detached by a commit, `maintenance`, `fsmonitor--daemon`: killed, a repository would never get
packed). Elsewhere nothing is done.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Final

_PR_SET_CHILD_SUBREAPER: Final = 36
# Rounds of looking: each killed process may leave children of its own, given to us in turn.
_ROUNDS: Final = 50


class Reaper:
    """Subreaper for the span of one command; `stop` ends the escapees working under `root`."""

    def __init__(self, root: Path | None) -> None:
        self._root = os.fsencode(os.path.realpath(root)) if root is not None else None
        self._on = False
        self._before: set[int] = set()
        if self._root is None or not sys.platform.startswith("linux"):
            return
        before = _children()
        if before is None or not _subreaper(on=True):
            return
        self._on = True
        self._before = before

    def stop(self, command_pid: int) -> list[int]:
        """Kill the processes given to us since (not `command_pid`, not ours) that work under
        the root, each with its group; reap them; stop being a subreaper. Their pids. Looked
        for until the command's group (killed by the caller) is gone: a process of it may
        still be dying, its orphans not yet given to us."""
        if not self._on:
            return []
        killed: list[int] = []
        try:
            for _ in range(_ROUNDS):
                acted = False
                for pid in sorted((_children() or set()) - self._before - {command_pid}):
                    acted |= self._stop_one(pid, killed)
                if not acted and (not command_pid or not _group_alive(command_pid)):
                    break
                time.sleep(0.01)  # the killed ones' children are given to us meanwhile
        finally:
            _subreaper(on=False)
            self._on = False
        return killed

    def _stop_one(self, pid: int, killed: list[int]) -> bool:
        """Reap `pid` if it is dead, kill it if it works under the root; whether it was."""
        state, pgid = _stat(pid)
        if state is None:
            return False
        if state == "Z":
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            return True
        if pgid == os.getpgrp() or not self._works_under_root(pid) or _is_git(pid):
            self._before.add(pid)  # ours, not working in the tree, or git's own: left
            return False
        with contextlib.suppress(OSError):
            if pgid and pgid != os.getpgrp():
                os.killpg(pgid, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
        killed.append(pid)
        return True

    def _works_under_root(self, pid: int) -> bool:
        assert self._root is not None
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd".encode())
        except OSError:
            return False
        return cwd == self._root or cwd.startswith(self._root.rstrip(b"/") + b"/")


def _subreaper(*, on: bool) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _children() -> set[int] | None:
    """Our direct children, from each thread's `children` list; None where the kernel has no
    such list (CONFIG_PROC_CHILDREN)."""
    found: set[int] = set()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children", "rb") as fh:
                found.update(int(p) for p in fh.read().split())
    except (OSError, ValueError):
        return None
    return found


def _stat(pid: int) -> tuple[str | None, int]:
    """A process's state letter and process group, or (None, 0) when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None, 0
    # The name, in parentheses, may hold anything: the fields follow its last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return fields[0].decode(), int(fields[2])
    except (IndexError, ValueError):
        return None, 0


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group `pgid` is still there (a dying one, a zombie)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _is_git(pid: int) -> bool:
    """Whether the process runs git itself (`git`, or a program of git's exec path)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return os.path.basename(exe) == "git" or "/git-core/" in exe
