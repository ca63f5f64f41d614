"""What an agent session's hooks know between calls: its open turn, one small file each.

A turn's record lives in the repository's common git dir, under
`atomic/turns/<session>/<worktree>.json`: one per session and worktree, so that a session's
turn that went into a linked worktree is judged there, and a record is never captured by a
checkpoint. Every read-modify-write holds an `flock` on a file beside it: a session's parallel
hook calls (four `PostToolUse` at once) each see the others' changes, and none is lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from git_atomic.core import envnumbers, records, wholefile
from git_atomic.core.records import dataclass, field
from git_atomic.engine import refsfiles
from git_atomic.engine.objectformat import sha256_hex

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo

TURNS_DIR: Final = "turns"
# An open turn's checkpoints, until it is judged and they become its operation's (`gc` retires
# refs of operations the journal does not know, and an open turn is not in the journal yet).
TURN_REFS: Final = "refs/atomic/turns/"
# The turn that holds Copilot CLI's subagents' calls (a child session sends no prompt): judged
# within its parent's window around them (its `task` call), so never another writer's to it.
SUBAGENTS_TURN: Final = "copilot-cli"
# In `Record.extra`: why the turn was rebuilt from its refs (turnorphans.py), for its verdict.
REBUILT: Final = "rebuilt"


@dataclass(frozen=True)
class Record:
    """One session's open turn in one worktree.

    `steps`: the (before, after) checkpoints of the turn's file-changing calls, oldest first;
    the turn's effect is their sum. A *window* is open while calls are in flight: it began at
    `window_before` (the checkpoint taken before the first of them, '' if it could not be
    taken, "files-noted" when file tools only noted their files: turn.py) and closes with the
    checkpoint after the last one ends.
    """

    op_id: str
    session: str
    platform: str
    root: str  # the worktree, for messages and for judging it from another one
    started_at: float
    steps: tuple[tuple[str, str], ...] = ()
    window_before: str | None = None
    in_flight: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    unprotected: tuple[str, ...] = ()
    background: tuple[str, ...] = ()
    refs: int = 0  # checkpoint refs allocated under TURN_REFS<op_id>/
    extra: dict[str, Any] = field(default_factory=dict)

    def next_ref(self, what: str) -> tuple[Record, str]:
        seq = self.refs + 1
        ref = f"{TURN_REFS}{self.op_id}/{seq:03d}-{what}"
        return records.replace(self, refs=seq), ref

    def to_json(self) -> dict[str, Any]:
        data = records.asdict(self)
        data["steps"] = [list(step) for step in self.steps]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Record | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                op_id=str(data["op_id"]),
                session=str(data["session"]),
                platform=str(data.get("platform", "")),
                root=str(data.get("root", "")),
                started_at=float(data.get("started_at", 0.0)),
                steps=tuple((str(b), str(a)) for b, a in data.get("steps", [])),
                window_before=data.get("window_before"),
                in_flight=tuple(map(str, data.get("in_flight", []))),
                labels=tuple(map(str, data.get("labels", []))),
                unprotected=tuple(map(str, data.get("unprotected", []))),
                background=tuple(map(str, data.get("background", []))),
                refs=int(data.get("refs", 0)),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError):
            return None


_LOCK_WAIT_S: Final = 45.0


def lock_wait() -> float:
    """How long a hook call waits for the worktree's lock (GIT_ATOMIC_HOOK_LOCK_WAIT); the
    default where it is no finite number (`inf` would wait past every platform's timeout,
    `nan` not at all; an empty or misspelt value was an internal error at every call), none
    where it is below 0. Read at each call, not at import (the warm helper imports this module
    once)."""
    return envnumbers.seconds("GIT_ATOMIC_HOOK_LOCK_WAIT", _LOCK_WAIT_S)


def any_turn_refs(repo: Repo, *, but: Collection[str] = ()) -> bool:
    """Whether a ref may be under refs/atomic/turns/, read from the files git keeps them in
    (no git process, never through a link, never a FIFO's wait: refsfiles.py): a hook call
    with no record to go on (a read-only call's, a turn with no file-changing call) asks git
    for the turns' refs (turnorphans.py) only where there may be one; and a turn's end, only
    where there may be one of a turn other than those `but` names (the turns that have their
    records: no turn of theirs is rebuilt)."""
    return refsfiles.may_hold(repo, TURN_REFS, but=but)


def session_key(session: str) -> str:
    """The session's name in file names and checkpoint messages."""
    try:
        raw = session.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate JSON can carry ("\ud800")
        raw = session.encode("utf-8", "surrogatepass")
    return sha256_hex(raw)[:24]  # (hashlib's import loads OpenSSL: 2-3 ms of each call)


def session_dir(state_dir: Path, session: str) -> Path:
    return state_dir / TURNS_DIR / session_key(session)


def real_folder(folder: Path, *, make: bool) -> bool:
    """Whether a session's folder (and `turns` above it, and our folder above that) are
    folders, never links: a call of the turn (`ln -s /elsewhere .git/atomic/turns`) would have
    every record and lock written outside the repository, and a file there (`touch
    .git/atomic/turns`) every hook fail. With `make`: one that is missing is made, and a link
    or anything else in the place of `turns` or the session's folder is renamed aside beside
    it (never followed, nothing of it lost); our folder made a link is refused (captures set
    it aside: gitlinks.py)."""
    state_dir = folder.parent.parent
    try:
        kind = stat.S_IFMT(os.lstat(state_dir).st_mode)
    except FileNotFoundError:
        kind = stat.S_IFDIR  # made below, with `turns`
    if kind != stat.S_IFDIR:
        if not make:
            return False
        from git_atomic.core.errors import RefusedError

        what = "a symbolic link" if kind == stat.S_IFLNK else "not a folder (a FIFO, a file)"
        raise RefusedError(
            f"{state_dir} is {what}; git-atomic never writes its records through one"
        )
    for path in (folder.parent, folder):
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            if not make:
                return False
            path.mkdir(parents=path == folder.parent, exist_ok=True)
            continue
        if stat.S_ISDIR(mode):
            continue
        if not make:
            return False
        os.rename(path, path.with_name(f"{path.name}.aside-{os.getpid()}-{time.time_ns()}"))
        path.mkdir(exist_ok=True)
    return True


def turn_message(worktree: str, record: Record, what: str) -> str:
    """The message of one of the turn's checkpoints: it names the turn's session and worktree,
    so that a turn whose record a call of its own removed (`rm -rf .git/atomic`) is rebuilt
    from its refs (turnorphans.py)."""
    tag = f"of session {session_key(record.session)} in worktree {worktree}"
    return f"git-atomic turn {what}: {record.platform} [{record.op_id}] {tag}"


# Beside our folder, in the common git dir: one small file per open turn (session and
# worktree), written at its first call and removed with its record. A call that removes both
# the record and the turn's refs (`rm -rf .git/atomic` and `git update-ref -d` of refs/atomic/)
# leaves it, so the turn's end says what is gone instead of passing as a turn that changed
# nothing. git never copies it (a clone, a fetch), and it costs a file per turn, no git.
OPEN_MARKS: Final = "atomic-open-turns"


def marks_folder(state_dir: Path, *, make: bool) -> Path | None:
    """The marks' folder; None where it is not a real folder (never followed through a link)
    or, without `make`, is missing."""
    folder = state_dir.parent / OPEN_MARKS
    try:
        if stat.S_ISDIR(os.lstat(folder).st_mode):
            return folder
        return None
    except FileNotFoundError:
        if not make:
            return None
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
    return folder if os.path.isdir(folder) and not os.path.islink(folder) else None


def unmark(state_dir: Path, session: str, worktree: str) -> None:
    folder = marks_folder(state_dir, make=False)
    if folder is not None:
        with contextlib.suppress(OSError):
            (folder / f"{session_key(session)}.{worktree}").unlink()


# The most of a state file read: far more than any we write (a record of thousands of steps),
# far less than one another hand made huge would cost a hook call's memory.
_RECORD_LIMIT: Final = 64 << 20


def record_at(path: Path) -> Record | None:
    """The turn's record in `path` (a link, a fifo, a folder there: OSError, never followed,
    never waited on; JSON that is no record: ValueError)."""
    return Record.from_json(json.loads(wholefile.read(path, limit=_RECORD_LIMIT)))


class Slot:
    """The record file of one session in one worktree, read and written under its flock.

    The lock file beside the record says whether a turn is open (`OPEN` in it from the first
    write of a record to its removal, written through the descriptor the flock holds: no file
    more, one `pwrite`): a call that removes the record file alone, with the turn's mark and
    refs (`rm .git/atomic/turns/*/*.json`), leaves it, and the call's `after`, or the turn's
    end, says the turn is lost (`lost_here`) instead of passing it over in silence."""

    def __init__(self, state_dir: Path, session: str, worktree: str) -> None:
        self.state_dir = state_dir
        self.folder = session_dir(state_dir, session)
        self.path = self.folder / f"{worktree}.json"
        self.session = session
        self.worktree = worktree
        self.lock_path = self.folder / f"{worktree}.lock"
        self._fd: int | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        real_folder(self.folder, make=True)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.lock_path, flags, 0o600)
        outer = self._fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fd = fd
            yield
        finally:
            self._fd = outer
            os.close(fd)  # closing releases the flock

    def lost_here(self) -> bool:
        """Whether a turn was open here and its record is gone (someone removed the file):
        the lock file says open and there is no record. Called with the slot held."""
        if self._fd is None or os.path.lexists(self.path):
            return False
        with contextlib.suppress(OSError):
            return os.pread(self._fd, len(_OPEN), 0) == _OPEN
        return False

    def forget(self) -> None:
        """The lock file says no turn is open (a lost one said: `lost_here`)."""
        with contextlib.suppress(OSError):
            if self._fd is not None:
                os.ftruncate(self._fd, 0)
            else:  # (not held: the file by name, never through a link)
                flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(self.lock_path, flags)
                try:
                    os.ftruncate(fd, 0)
                finally:
                    os.close(fd)

    def read(self) -> Record | None:
        if not real_folder(self.folder, make=False):
            return None
        try:
            return record_at(self.path)
        except (OSError, ValueError):
            return None

    def write(self, record: Record) -> None:
        real_folder(self.folder, make=True)
        # Written whole, then renamed over the record (the caller holds the turn's lock). Not
        # flushed to the disk: an fsync costs each hook call milliseconds, and the turn's
        # checkpoints, refs git writes without one (core.fsync), are no more durable than it.
        text = json.dumps(record.to_json()).encode("utf-8")
        wholefile.replace(self.path, text, mode=0o600, durable=False)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.pwrite(self._fd, _OPEN, 0)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        self.forget()
        unmark(self.state_dir, self.session, self.worktree)


_OPEN: Final = b"open\n"  # in a slot's lock file while its turn is open (Slot)


def worktrees_of(state_dir: Path, session: str) -> list[str]:
    """The worktrees in which this session has an open turn."""
    folder = session_dir(state_dir, session)
    if not real_folder(folder, make=False):
        return []
    with contextlib.suppress(OSError):  # (not a glob: its pattern would be compiled each call)
        return sorted(name[:-5] for name in os.listdir(folder) if name.endswith(".json"))
    return []


def live_turns(state_dir: Path, session: str) -> set[str]:
    """The operations of this session's open turns that have their records (any worktree)."""
    live = set()
    for name in worktrees_of(state_dir, session):
        record = Slot(state_dir, session, name).read()
        if record is not None:
            live.add(record.op_id)
    return live


def locked_without_record(state_dir: Path, session: str) -> list[str]:
    """The worktrees in which this session's folder has a lock file that is not empty and no
    record (a turn whose record file was removed: Slot); one listing, no file read."""
    folder = session_dir(state_dir, session)
    if not real_folder(folder, make=False):
        return []
    with contextlib.suppress(OSError):
        names = set(os.listdir(folder))
        return sorted(
            name[:-5]
            for name in names
            if name.endswith(".lock")
            and f"{name[:-5]}.json" not in names
            and os.lstat(folder / name).st_size > 0
        )
    return []


def open_turns(state_dir: Path) -> list[Record]:
    """Every open turn of the repository (for `hooks status`)."""
    found: list[Record] = []
    for path in sorted((state_dir / TURNS_DIR).glob("*/*.json")):
        if not real_folder(path.parent, make=False):
            continue  # never read through a link
        with contextlib.suppress(OSError, ValueError):
            record = record_at(path)
            if record is not None:
                found.append(record)
    return found


# A turn whose session made no hook call for this long is abandoned (the agent was killed, the
# session never came back): no turn's calls are that far apart, and no tool call runs that long
# with no other call. Closing it (the session's next prompt, another session's, `gc`) leaves out
# a window still open: what happened since its last call is not the turn's.
ABANDONED_AFTER: Final = 24 * 3600.0


def last_call(path: Path) -> float | None:
    """When a hook call of the turn last wrote its record (or its mark): its file's time; None
    where there is none."""
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return None


def slots_in(state_dir: Path, worktree: str | None = None) -> list[tuple[Slot, Record, float]]:
    """Each open turn's slot (in `worktree`, or in every one), its record and when a hook call
    last wrote it. Listed folder by folder, no glob (its pattern would be compiled in each
    command the warm helper runs)."""
    found = []
    with contextlib.suppress(OSError):
        for key in sorted(os.listdir(state_dir / TURNS_DIR)):
            folder = state_dir / TURNS_DIR / key
            if not real_folder(folder, make=False):
                continue
            names = [f"{worktree}.json"] if worktree is not None else sorted(os.listdir(folder))
            for name in names:
                path = folder / name
                when = last_call(path) if name.endswith(".json") else None
                if when is None:
                    continue
                with contextlib.suppress(OSError, ValueError):
                    record = record_at(path)
                    if record is not None and session_key(record.session) == key:
                        slot = Slot(state_dir, record.session, name.removesuffix(".json"))
                        found.append((slot, record, when))
    return found


def abandoned(state_dir: Path, worktree: str, cutoff: float) -> list[Slot]:
    """The slots in `worktree` of turns whose session made no hook call since `cutoff` (the
    agent was killed, the session never came back): no Stop, no next prompt will end them."""
    return [slot for slot, _, when in slots_in(state_dir, worktree) if when < cutoff]


# In `Record.extra`: the worktree folder's device and inode when the turn began, to tell a
# copy of the repository (`cp -a` while the turn ran: the record came with it) from the
# worktree moved (`mv`: the same folder) (turnplace.not_here).
ROOT_ID: Final = "root_id"


def new_record(op_id: str, session: str, platform: str, root: Path) -> Record:
    extra: dict[str, Any] = {}
    with contextlib.suppress(OSError):
        st = os.stat(root)
        extra[ROOT_ID] = [st.st_dev, st.st_ino]
    return Record(op_id, session, platform, str(root), time.time(), extra=extra)
