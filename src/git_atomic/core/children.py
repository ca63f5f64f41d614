"""The other door to subprocess: the user's command and gates, run as children of ours. A
Ctrl-C or SIGTERM is noted and forwarded to the child's process group, never raised; the
terminal is lent to an interactive child; the group is recorded beside the lock so that
`recover` can end it when we are killed under it."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from git_atomic.core import wholefile

if TYPE_CHECKING:
    from git_atomic.core.terminal import Terminal


class ChildResult(NamedTuple):
    exit_code: int | None  # None when it could not start or was killed by us
    duration_s: float
    timed_out: bool
    error: str | None = None  # why it could not start


class Interrupts:
    """SIGINT/SIGTERM while an operation runs: remember, forward to the child's process group.

    The handlers never raise: git-atomic finishes the step it is in (a checkpoint, a restore)
    and then rolls back, so a signal can never leave a half-written state behind.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.forwarded_at: float | None = None  # boot clock: when one first reached the group
        self._child_pgid: int | None = None
        self._previous: dict[int, object] = {}
        self._depth = 0

    def install(self) -> None:
        import signal
        import threading

        self._depth += 1
        if self._depth > 1 or threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            # One ignored by whoever started us (`trap '' INT`, `nohup`-like wrappers, a
            # script's background job) stays ignored, as it does for any other program.
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        import signal

        self._depth = max(0, self._depth - 1)
        if self._depth:
            return
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, _frame: object) -> None:
        if self.received is None:
            self.received = signum
        pgid = self._child_pgid
        if pgid is not None:
            with contextlib.suppress(OSError):
                self.forward(pgid, signum)

    def forward(self, pgid: int, signum: int) -> None:
        """Pass `signum` on to the child's group, noting when it first did (latecomers.py)."""
        os.killpg(pgid, signum)
        if self.forwarded_at is None:
            self.forwarded_at = self.clock()

    @staticmethod
    def clock() -> float:
        """Seconds on the clock /proc's start times count on (since boot, suspends included)."""
        import time

        return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


INTERRUPTS = Interrupts()


def obeyed(code: int) -> int:
    """A command's exit code, or 130/143 where a signal arrived while a state change ran: it
    was finished first, now we obey."""
    if INTERRUPTS.received is not None and code not in (130, 143):
        import signal

        return 130 if INTERRUPTS.received == signal.SIGINT else 143
    return code


# The process group of the command or gate running now, in the worktree's git dir (ChildRecord).
CHILD_RECORD: Final = "atomic-child.json"


class ChildRecord:
    """The process group of the command or gate running now, in a file beside the lock.

    If git-atomic itself is killed (SIGKILL, OOM), the child's group lives on and may go on
    writing to the tree; `recover` reads this file and ends that group before it restores.
    """

    def __init__(self) -> None:
        self.path: Path | None = None  # set while a command holds a worktree

    def started(self, pgid: int) -> None:
        if self.path is None:
            return
        import json

        from git_atomic.core.lock import process_start

        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        record = json.dumps({"pgid": pgid, "start": process_start(pgid), "owner": os.getpid()})
        try:
            wholefile.write_new(tmp, record.encode())
            os.replace(tmp, self.path)
        except OSError:
            # The command moved the git dir away at once (`mv .git gd`): its rollback is
            # refused until the git dir is back (layoutcheck.check_layout); only a kill of this
            # process before then would miss the record.
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def ended(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):  # the git dir moved away meanwhile
                self.path.unlink(missing_ok=True)


def stop_orphaned_child(record: Path) -> int | None:
    """End the process group of a command or gate whose git-atomic was killed under it: it
    would go on writing to the tree while recover restores it."""
    import json

    from git_atomic.core.lock import process_alive

    try:
        # Never through a link (a file elsewhere would name a process group of yours to end),
        # nor a FIFO's wait: one is no record of ours, removed itself.
        data = json.loads(wholefile.read(record))
        pgid, start, owner = int(data["pgid"]), data.get("start"), int(data["owner"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        record.unlink(missing_ok=True)
        return None
    if process_alive(owner, None) and owner != os.getpid():
        return None  # its git-atomic lives (an isolated run between phases): not ours to end
    stopped = None
    # A leader alive under another start time is a new process that reused the number: not
    # ours. A dead leader's number stays taken while any member of its group lives.
    leader_reused = process_alive(pgid, None) and not process_alive(pgid, start)
    if pgid > 1 and not leader_reused and _kill_group(pgid):
        stopped = pgid
    record.unlink(missing_ok=True)
    return stopped


def _kill_group(pgid: int) -> bool:
    import signal
    import time

    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    return True


def missing_program(argv: Sequence[str], *, cwd: str | os.PathLike[str]) -> str | None:
    """Why `argv` cannot start, when its program is not there: checked before an operation opens,
    so a typo costs no checkpoint and no rollback. A shell command line cannot be checked."""
    import shutil

    program = argv[0]
    if "/" in program:
        path = Path(cwd, program)
        if not path.exists():
            return f"{program}: no such file"
        if path.is_dir() or not os.access(path, os.X_OK):
            return f"{program}: not an executable file"
        return None
    if shutil.which(program) is None:
        return f"{program}: command not found on PATH"
    return None


CHILDREN = ChildRecord()
_KILL_GRACE_S: Final = 5.0


def run_child(
    command: Sequence[str] | str,
    *,
    cwd: str | os.PathLike[str],
    timeout: float | None,
    stdout: int | None = None,
    stderr: int | None = None,
    env: Mapping[str, str] | None = None,
    interactive: bool = False,
    escapees_under: Path | None = None,
) -> ChildResult:
    """Run the user's command (argv) or gate (a shell command line, given as str).

    The child gets its own process group, so a timeout or a forwarded signal reaches everything
    it started. A gate's stdin is closed, to keep a forgotten prompt from hanging an agent; the
    command (`interactive`) reads the caller's stdin, and when that is the terminal it gets the
    terminal too (terminal.py). `escapees_under`: the worktree; what the child started that
    left its group (`setsid`) and works there is stopped with the group (escapees.py).
    """
    import signal
    import time

    shell = isinstance(command, str)
    argv: list[str] = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    start = time.monotonic()
    terminal = None
    if interactive:
        from git_atomic.core.terminal import Terminal

        terminal = Terminal.lendable()
    reaper = None
    if escapees_under is not None:
        from git_atomic.core.escapees import Reaper

        reaper = Reaper(escapees_under)
    try:
        child = _start(
            argv,
            cwd=cwd,
            stdout=stdout,
            stderr=stderr,
            env=env,
            interactive=interactive,
            terminal=terminal,
        )
    except OSError as exc:
        if reaper is not None:
            reaper.stop(0)
        what = argv[0] if not shell else "/bin/sh"
        return ChildResult(None, time.monotonic() - start, False, f"{what}: {exc.strerror}")
    INTERRUPTS._child_pgid = child.pid
    CHILDREN.started(child.pid)
    timed_out = False
    try:
        timed_out = _wait_or_stop(child, terminal, timeout)
    finally:
        _end_group(child, terminal)
        if reaper is not None:
            reaper.stop(child.pid)
    code = child.returncode
    if terminal and code == -signal.SIGINT and INTERRUPTS.received is None:
        # Ctrl-C on the lent terminal reached the command's group, not ours: it is our interrupt.
        INTERRUPTS.received = signal.SIGINT
    return ChildResult(None if timed_out else code, time.monotonic() - start, timed_out)


def _start(
    argv: list[str],
    *,
    cwd: str | os.PathLike[str],
    stdout: int | None,
    stderr: int | None,
    env: Mapping[str, str] | None,
    interactive: bool,
    terminal: Terminal | None,
) -> subprocess.Popen[bytes]:
    """The child started in a process group of its own, with our environment plus `env`; it
    takes the lent terminal before it runs, else reads our stdin only when `interactive`."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=None if interactive and (terminal or not os.isatty(0)) else subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env=full_env,
        process_group=0,
        preexec_fn=terminal.give_to_self if terminal else None,
    )


def _wait_or_stop(
    child: subprocess.Popen[bytes], terminal: Terminal | None, timeout: float | None
) -> bool:
    """Wait for the child; True when the timeout ran out first. An interrupt that came before
    it started is forwarded at once; at the timeout its group is sent SIGTERM, and after an
    interrupt it outlived that signal again, each followed by SIGKILL after a grace."""
    import signal

    if INTERRUPTS.received is not None:
        INTERRUPTS.forward(child.pid, INTERRUPTS.received)
    timed_out = False
    if terminal:
        timed_out = terminal.wait(child, timeout)
    else:
        from git_atomic.core import latecomers

        try:
            latecomers.wait(child, timeout, INTERRUPTS)
        except subprocess.TimeoutExpired:
            timed_out = True
    if timed_out:
        _terminate_group(child, signal.SIGTERM)
    if INTERRUPTS.received is not None and child.poll() is None:
        _terminate_group(child, INTERRUPTS.received)
    return timed_out


def _end_group(child: subprocess.Popen[bytes], terminal: Terminal | None) -> None:
    """After the child, however it went: signals are no longer forwarded to its group, the
    group is killed, the terminal taken back and the record beside the lock removed."""
    import signal

    INTERRUPTS._child_pgid = None
    if child.poll() is None:
        _terminate_group(child, signal.SIGKILL)
    # Whatever the child left running in its group must not outlive the operation.
    with contextlib.suppress(OSError):
        os.killpg(child.pid, signal.SIGKILL)
    if terminal:
        terminal.take_back()
    CHILDREN.ended()


def _terminate_group(child: subprocess.Popen[bytes], sig: int) -> None:
    import signal

    try:
        os.killpg(child.pid, sig)
    except OSError:
        return
    try:
        child.wait(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
