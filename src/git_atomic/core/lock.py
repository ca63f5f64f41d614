"""One git-atomic process at a time per worktree: a lock file that names its owner."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core.errors import BusyError, Interrupted, LockBusy


class Holder(NamedTuple):
    pid: int
    since: str
    command: str
    start: str | None  # the process's start time, to tell a reused pid from the owner

    @property
    def alive(self) -> bool:
        return process_alive(self.pid, self.start)


def why_gone(holder: Holder) -> str | None:
    """Why the lock's holder is no longer at work (`status` says it), or None where it is."""
    if holder.pid <= 0:
        return "its lock file cannot be read (a process died writing it)"
    if holder.alive:
        return None
    now = process_start(holder.pid)
    if (
        now is not None
        and holder.start is not None
        and now != holder.start
        and not (_is_zombie(holder.pid))
    ):
        return f"pid {holder.pid} is another process now (it started after the lock was taken)"
    return f"pid {holder.pid} is not running"


def process_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return None


def process_alive(pid: int, start: str | None) -> bool:
    if pid <= 0:
        return False  # an unreadable lock reads as pid 0; os.kill(0, 0) would signal our group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False
    # Killed but not yet reaped (its parent, or an init that reaps slowly, as a container's
    # may, has not waited for it): dead all the same, whatever we know of its start.
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


_PLAIN: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 :+._-")


def _json(record: dict[str, int | str | None]) -> str:
    """`json.dumps(record)` for numbers and plain words, by hand: a lock is taken before the
    scan starts (the hot path, tests/test_hot_path.py), and the json module costs a millisecond
    to import."""
    if not all(isinstance(v, int | None) or _PLAIN.issuperset(v) for v in record.values()):
        import json

        return json.dumps(record)
    return (
        "{"
        + ", ".join(
            f'"{k}": ' + ("null" if v is None else str(v) if isinstance(v, int) else f'"{v}"')
            for k, v in record.items()
        )
        + "}"
    )


class WorktreeLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False
        self._file: tuple[int, int] | None = None  # (device, inode) of the lock file we made

    def read(self) -> Holder | None:
        try:
            import json

            # Never through a link (ELOOP: a holder unknown, as a half-written one): what a
            # file elsewhere says is not who holds this worktree.
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            with open(fd, "rb") as fh:
                data = json.loads(fh.read(1 << 16))
            return Holder(
                int(data["pid"]),
                str(data["since"]),
                str(data.get("command", "")),
                data.get("start"),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError):
            # Half-written by a process that died between open and write: treat as stale.
            return Holder(0, "unknown", "", None)

    def acquire(
        self,
        command: str,
        *,
        wait: float | None = None,
        interrupted: Callable[[], int | None] | None = None,
    ) -> None:
        """`interrupted`: the signal received meanwhile, if any (asked while waiting: the wait
        ends with Interrupted, nothing changed)."""
        deadline = None if wait is None else time.monotonic() + wait
        told = False
        while True:
            record: dict[str, int | str | None] = {
                "pid": os.getpid(),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "command": command,
                "start": process_start(os.getpid()),
            }
            # Written whole, then linked into place: nobody ever reads a half-written lock.
            staging = self.path.with_name(f"{self.path.name}.{os.getpid()}")
            staging.unlink(missing_ok=True)  # one a killed command of this pid left (or a link)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with open(os.open(staging, flags, 0o644), "w") as fh:
                fh.write(_json(record))
            try:
                os.link(staging, self.path)
                made = os.stat(staging)
                self._file = (made.st_dev, made.st_ino)
            except FileExistsError:
                staging.unlink(missing_ok=True)
                holder = self.read()
                if holder is None:
                    continue
                if not holder.alive:
                    if self.read() != holder:
                        continue  # it let go and left between our two looks: not a death
                    raise _busy(holder) from None
                if deadline is None or time.monotonic() >= deadline:
                    raise _busy(holder) from None
                if _runs_us(holder.pid):
                    raise _waits_for_us(holder) from None
                if interrupted is not None and (signum := interrupted()) is not None:
                    why = f"interrupted while waiting for pid {holder.pid}; nothing changed"
                    raise Interrupted(why, signum=signum) from None
                if not told:
                    import sys

                    print(
                        f"git-atomic: waiting for pid {holder.pid} (`{holder.command}`)",
                        file=sys.stderr,
                    )
                    told = True
                time.sleep(0.05)
                continue
            staging.unlink(missing_ok=True)
            self.held = True
            return

    def refuse_if_held(self) -> None:
        """BusyError, as `acquire` without a wait would raise it, while another holds the lock
        (or died holding it); the lock neither taken nor its file made (a dry run's)."""
        holder = self.read()
        if holder is not None:
            raise _busy(holder)

    def _remove_ours(self) -> None:
        """The lock file we made, removed only if it is the one at its name: the operation may
        have moved the git dir away and left a `.git` file or link in its place (to another
        repository, whose own lock of a live command is not ours to remove)."""
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == self._file:
                os.unlink(self.path)
        except (FileNotFoundError, NotADirectoryError):
            pass  # gone with the git dir it was in: recover finds it wherever that is put back

    def break_stale(self) -> Holder | None:
        """Remove a lock whose owner is dead (only `recover` does this, explicitly)."""
        holder = self.read()
        if holder is not None and not holder.alive:
            self.path.unlink(missing_ok=True)
        return holder

    def release(self) -> None:
        if self.held:
            self._remove_ours()
            self.held = False


def _parent_of(pid: int) -> int:
    """The parent of process `pid` (0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _runs_us(pid: int) -> bool:
    """Whether `pid` is this process's parent, or its parent's, and so on up: the git-atomic
    whose command or gate started us (`git atomic run -- make`, where `make` runs `git atomic
    run --wait`). It ends only after we do, so waiting for it would never end."""
    here, seen = os.getppid(), set()
    while here > 1 and here not in seen:
        if here == pid:
            return True
        seen.add(here)
        here = _parent_of(here)
    return False


def _waits_for_us(holder: Holder, *, waited: bool = True) -> BusyError:
    """`waited`: `--wait` was given (without it, the line says no more than that it cannot)."""
    why = "so this one does not wait for it" if waited else "so waiting for it would never end"
    return BusyError(
        f"the git-atomic working in this worktree (pid {holder.pid}, `{holder.command}`) is "
        f"the one running this command: it ends only after this one does, {why}",
        hint="run it outside that git-atomic's command and gates",
    )


def _busy(holder: Holder) -> BusyError:
    if not holder.alive:
        return BusyError(
            f"a git-atomic process (pid {holder.pid}) died while holding this "
            f"worktree (since {holder.since})",
            hint="run `git atomic recover` to finish or undo what it was doing",
        )
    if _runs_us(holder.pid):  # (its own ancestor: "pass --wait" would wait for nothing)
        return _waits_for_us(holder, waited=False)
    return LockBusy(
        f"another git-atomic is working in this worktree "
        f"(pid {holder.pid}, `{holder.command}`, since {holder.since})",
        hint="wait for it, or pass --wait",
    )


@contextlib.contextmanager
def held_unless_dead(path: Path, command: str, *, wait: float | None) -> Iterator[None]:
    """The worktree's lock at `path` held, for setting aside what has git refuse the repository
    (agents/turnpacked.py, ops/setaside.py); BusyError where a live process holds it. Where its
    holder died it is not taken, and that is no refusal: no one else can take it either until
    `recover` breaks it, and `recover` needs the repository found first."""
    lock = WorktreeLock(path)
    try:
        lock.acquire(command, wait=wait)
    except BusyError:
        holder = lock.read()
        if holder is None or holder.alive:
            raise
    try:
        yield
    finally:
        lock.release()  # (only where it was taken)


# The files of the common git dir every worktree shares (`packed-refs`), set aside by one
# process at a time whichever worktree it works in: the worktree's lock above is its own
# worktree's alone. Taken last (after the worktree's lock and a turn's slot, never before
# them: no two processes wait on each other), and by a process that holds it already at once.
COMMON_LOCK: Final = "atomic-common.lock"
_common_held: set[str] = set()


@contextlib.contextmanager
def common_held(common_dir: Path, *, wait: float = 60.0) -> Iterator[None]:
    """The common git dir's lock held (`flock`: a holder that dies lets go of it; the file,
    ours by its name, is removed as it is let go, and one taken that is no longer the file at
    its name is taken again). BusyError where another process holds it for `wait` seconds;
    where the file cannot be made (a read-only git dir), nothing is held: nothing there can be
    set aside either."""
    import fcntl

    key = os.path.realpath(common_dir)
    if key in _common_held:
        yield
        return
    path = os.path.join(key, COMMON_LOCK)
    deadline = time.monotonic() + wait
    fd: int | None = None
    while fd is None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError:
            yield  # (none made: a git dir we cannot write in)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not os.path.samestat(os.fstat(fd), os.lstat(path)):
                raise FileNotFoundError(path)  # let go and removed meanwhile: taken again
        except (BlockingIOError, FileNotFoundError) as why:
            os.close(fd)
            fd = None
            if isinstance(why, BlockingIOError) and time.monotonic() >= deadline:
                raise BusyError(
                    "another git-atomic is setting aside a file of the git dir every worktree "
                    "shares (packed-refs)",
                    hint="wait for it, or try again",
                ) from None
            time.sleep(0.02)
    _common_held.add(key)
    try:
        yield
    finally:
        _common_held.discard(key)
        with contextlib.suppress(OSError):
            os.unlink(path)  # (before it is let go: one waiting then takes a new one)
        os.close(fd)


def remove_common_left(common_dir: Path) -> bool:
    """The common lock's file a killed holder left (empty: `flock` let go of it, its file
    stayed), removed where no live process holds it; taken the way `common_held` takes it,
    so one that holds it or takes it meanwhile keeps it. Whether one was removed."""
    import fcntl

    path = os.path.join(os.path.realpath(common_dir), COMMON_LOCK)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False  # none (or not a file we would have made)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not os.path.samestat(os.fstat(fd), os.lstat(path)):
            return False  # let go and removed meanwhile: another's now
        os.unlink(path)  # (before it is let go, as common_held does)
        return True
    except OSError:
        return False  # held: a live holder's
    finally:
        os.close(fd)
