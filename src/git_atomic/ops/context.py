"""Everything a command needs, opened once and checked at the door."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from git_atomic.core import children
from git_atomic.core.errors import BusyError, GitError, Interrupted, RefusedError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.lock import WorktreeLock, process_alive
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import HistoryMode, OpStatus
from git_atomic.engine import discovery, git, gitlockheld, gitstate, layoutcheck
from git_atomic.engine.early import Early, holding
from git_atomic.ops import journalgone, samefolder
from git_atomic.ops.samefolder import ROOT_KEY

# The intent of a restore outside any operation (rollback --to, undo, emergency) while it runs.
PENDING_RESTORE: Final = "atomic-pending.json"

CHILD_RECORD: Final = children.CHILD_RECORD


@dataclass
class Context:
    repo: git.Repo
    journal: Journal
    lock: WorktreeLock
    early: Early | None = None  # the lock and a scan, taken before the rest was imported

    @property
    def worktree(self) -> str:
        return self.repo.worktree_id


def check_git_state(repo: git.Repo, *, driven_ok: bool = False) -> None:
    """Refuse git's half-way state; `driven_ok`: but for that of a git command that runs ours
    between its steps, the index and files whole (a bisect, a rebase's exec: `run`,
    engine/gitdriving.py)."""
    if driven_ok and gitstate.in_progress(repo) is not None:
        from git_atomic.engine import gitdriving  # only where git's state is in progress

        if gitdriving.driving(repo) is not None:
            return
    why = git_state_in_the_way(repo)
    if why:
        raise RefusedError(why)


def git_state_in_the_way(repo: git.Repo, *, open_op: str | None = None) -> str:
    """Why git's own state stops an operation ('' when it does not): a command left half way
    (a merge, a rebase...), with the ways out. `open_op`: the id of the operation open in the
    worktree (its `checkpoint` or `commit` refused): the way back is its `abort`, exactly to
    its PRE-OP, not `emergency`, which goes to the last good state without your work."""
    what = gitstate.in_progress(repo)
    if what is None:
        return ""
    back = (
        f"or roll the operation [{open_op}] back with `git atomic abort`"
        if open_op is not None
        else "or save it and go back with `git atomic emergency`"
    )
    return (
        f"{what} is in progress in this worktree; finish it, or abort it "
        f"({gitstate.WAY_OUT[what]}), {back}"
    )


def left_index_lock(ctx: Context, op: OpRow) -> bool:
    """Whether the operation left a stale index.lock (gitstate.stale_index_lock): git writes no
    index past it, so there is no state to validate or commit."""
    if not os.path.lexists(ctx.repo.git_dir / gitstate.INDEX_LOCK):
        return False
    from git_atomic.engine import checkpoint  # only then: not on every command's way in

    pre_op = checkpoint.load(ctx.repo, ctx.journal.checkpoints(op.id)[0].sha)
    return gitstate.stale_index_lock(ctx.repo, pre_op.git_state)


def refuse_left_index_lock(ctx: Context, op: OpRow) -> None:
    """In an operation worked in steps: `checkpoint` and `commit` refuse, as they do a merge.
    In commits mode also where the lock was yours before the operation began: the commit of
    the step writes the index, which no git can while the lock is there (the branch would
    move and the index not)."""
    lock = ctx.repo.git_dir / gitstate.INDEX_LOCK
    if left_index_lock(ctx, op):
        raise RefusedError(
            f"the operation left a stale {lock}: git writes no index while it is there; "
            "nothing was changed",
            hint="if no git command is running, remove that file and run this again, "
            "or run `git atomic abort`",
        )
    if op.history == HistoryMode.COMMITS and gitlockheld.index_lock_held(ctx.repo):
        raise RefusedError(
            f"{lock} exists: git writes no index while it is there, and this step's commit "
            "must; nothing was changed",
            hint="if no git command is running, remove that file and run this again",
        )


def refuse_head_on_ours(ctx: Context) -> None:
    """In an operation worked in steps: `checkpoint` and `commit` refuse a HEAD the operation
    pointed at one of our own refs (`git symbolic-ref HEAD refs/atomic/...`): the step would
    take that checkpoint's tree for your files, and its commit move our ref."""
    from git_atomic.engine import gitlinks

    on_ours = gitlinks.branches_on_ours(ctx.repo)
    if on_ours:
        raise RefusedError(
            f"branch {on_ours[0]} is a symbolic ref to one of git-atomic's own refs "
            "(refs/atomic/); nothing was changed",
            hint="make it a branch of its own again, or run `git atomic abort`",
        )
    if gitlinks.head_damaged(ctx.repo.git_dir):
        raise RefusedError(
            f"{ctx.repo.git_dir / 'HEAD'} is on one of git-atomic's own refs (refs/atomic/), "
            "or something else git-atomic does not take for HEAD; nothing was changed",
            hint="point HEAD at your branch again (`git symbolic-ref HEAD refs/heads/NAME`), "
            "or run `git atomic abort`",
        )


def refuse_index_lock(repo: git.Repo) -> None:
    """Refuse (exit 3, nothing changed) while a git holds the worktree's index.lock, before a
    move or an apply that is not an operation's own rollback: it writes the index, and would
    have to take the lock from a live git (`git commit -a` waiting for its message), whose own
    index write then fails after it has moved the branch. A lock that goes within the grace
    period was a quick git's (a `git status` refresh) and is waited for; a stale one, from a
    git that died, only the user can tell from a live one."""
    lock = repo.git_dir / gitstate.INDEX_LOCK
    if gitlockheld.index_lock_held(repo):
        who = gitlockheld.index_lock_holder(repo)
        raise BusyError(
            f"{lock} exists: {who or 'a git command'} is writing the index"
            f"{'' if who else ' (or died doing so)'}; nothing was changed",
            hint="let it finish; if no git command is running, remove that file and run this "
            "again (`git atomic emergency` saves everything and goes back all the same)",
        )


def begun_here_as_another(ctx: Context) -> None:
    """Refuse (exit 3, nothing touched) while an operation begun in this very folder as another
    worktree of the repository is open: its `.git` file was changed since (a linked worktree's
    pointed at the main git dir, say), and git takes the folder for another worktree, whose
    journal row is not the operation's. Its rollback must not be skipped, nor another begun."""
    try:
        st = os.stat(ctx.repo.root)
    except OSError:
        return
    for op in ctx.journal.ops(status=OpStatus.OPEN):
        begun = op.details.get(ROOT_KEY)
        if op.worktree == ctx.worktree or not isinstance(begun, dict):
            continue
        if begun.get("id") == [st.st_dev, st.st_ino]:
            raise RefusedError(
                f"operation {op.id} ({op.name}) was begun in this folder as worktree "
                f"{op.worktree}, and git now takes it for worktree {ctx.worktree}: its .git "
                "was changed since; nothing was changed",
                hint="put back the .git file it had (`gitdir: <the repository's "
                f".git/worktrees/{op.worktree}>`), then run this again",
            )


def is_interrupted(op: OpRow) -> bool:
    return (
        op.status == OpStatus.OPEN
        and op.owner_pid is not None
        and not process_alive(op.owner_pid, op.owner_start)
    )


def refuse_if_interrupted(ctx: Context) -> OpRow | None:
    """The open operation of this worktree, refusing if it was interrupted by a crash."""
    if (ctx.repo.git_dir / PENDING_RESTORE).exists():
        raise BusyError(
            "a rollback, undo or emergency was interrupted half way in this worktree",
            hint="run `git atomic recover` to finish it",
        )
    op = ctx.journal.open_op(ctx.worktree)
    if op is None:
        begun_here_as_another(ctx)
    samefolder.same_worktree(ctx.repo, op)
    if op is not None and is_interrupted(op):
        raise BusyError(
            f"operation {op.id} ({op.name}) was interrupted (pid {op.owner_pid} is gone)",
            hint="run `git atomic recover` (or `git atomic recover --accept` to keep the tree)",
        )
    return op


# Where `git filter-branch` keeps what it rewrote of our refs (its `--original` default).
ORIGINAL: Final = "refs/original/refs/atomic"


# Where the refs of ours that no journal row names are (heldrefs.py: a rescue of no
# operation, the commit an `emergency --to` went to): their folders, and `packed-refs`, where
# they are once `git gc` or `pack-refs` packed them. Their stat when an operation or a turn
# begins, in its detail: one that changed when it closes (a ref deleted or made there, a
# packed one deleted) has the refs held again.
UNNAMED: Final = "unnamed_ref_folders"
_UNNAMED_FOLDERS: Final = ("refs/atomic/rescue", "refs/atomic/commits", "packed-refs")


def unnamed_folders(repo: git.Repo) -> dict[str, list[int] | None]:
    """Each of _UNNAMED_FOLDERS as (inode, mtime in ns), None where there is none: three lstat
    calls."""
    out: dict[str, list[int] | None] = {}
    for rel in _UNNAMED_FOLDERS:
        try:
            st = os.lstat(repo.common_dir / rel)
        except OSError:
            out[rel] = None
            continue
        out[rel] = [st.st_ino, st.st_mtime_ns]
    return out


def checkpoints_held(repo: git.Repo, rows: Sequence[CheckpointRow]) -> bool:
    """Whether each of `rows` (an operation's checkpoints) is held by its ref, a loose file
    naming it, and filter-branch kept no copy of our refs: a few small reads, no git process.
    False: heldrefs.hold_all, which asks git (a `git gc` packed them, or a command deleted or
    rewrote them)."""
    for row in rows:
        if not row.ref:
            continue
        try:
            with open(repo.common_dir / row.ref, "rb") as f:
                if f.read(100).strip() != row.sha.encode():
                    return False
        except OSError:
            return False
    return not os.path.lexists(repo.common_dir / ORIGINAL)


# Our folder's parts a command opens or writes by name: none may be a link.
_STATE_PARTS: Final = (
    "",
    "journal.sqlite3",
    "journal.sqlite3-wal",
    "journal.sqlite3-shm",
    "tmp",
    "helper",
    "logs",
)


def linked_state(repo: git.Repo) -> Path | None:
    """The first of our folder's parts (`.git/atomic` itself, the journal and its WAL files, the
    scratch, helper and log folders) that is a symbolic link; None when none is."""
    for part in _STATE_PARTS:
        path = repo.state_dir / part if part else repo.state_dir
        if path.is_symlink():
            return path
    return None


def open_journal(repo: git.Repo, *, start_new: bool = False, read_only: bool = False) -> Journal:
    """The journal, never opened through a link: an operation (or anyone) that made our
    folder, or the journal, a link to a file or folder outside would have every record of
    ours read from there and written there (exit 3, nothing read or written). One that is gone
    while checkpoints of operations remain is not started again silently (`start_new`:
    `recover`, which says so). `read_only`: for a command that only reads, which leaves the
    repository exactly as it was (none there reads as an empty journal)."""
    linked = linked_state(repo)
    if linked is not None:
        raise RefusedError(
            f"{linked} is a symbolic link (to {os.readlink(linked)}); git-atomic never reads "
            "or writes its records through one",
            hint="put the real folder or file back in its place, then run the command again",
        )
    import sqlite3

    path = repo.state_dir / "journal.sqlite3"
    if not start_new and not os.path.lexists(path):
        newest = journalgone.orphaned_pre_op(repo)
        if (
            newest is not None
            and not journalgone.kept_here(repo)
            and not journalgone.made_here(repo, newest[0])
        ):
            # A journal never kept here: refs/atomic/ copied from another repository (`git
            # clone --mirror`, `git fetch origin '+refs/*:refs/*'`). Not this one's operations:
            # left as they are, and not taken for them.
            from git_atomic.ops import output

            output.say(
                "git-atomic: note: refs/atomic/ops/ holds checkpoints of operations this "
                "repository never recorded (copied from another: a mirror clone, a fetch of "
                "refs/*): they are not taken for its own (`git atomic gc` retires them "
                "once they are as old as any checkpoint it retires)"
            )
        elif newest is not None:
            raise RefusedError(
                f"{path} is gone (removed: `rm -rf .git/atomic`?), "
                "and the checkpoints of operations remain under refs/atomic/ops/: which one "
                "was open, and what `undo` would bring back, can no longer be told",
                hint="`git atomic recover` starts a new journal and names the newest "
                f"operation's PRE-OP ({newest[1]}: {newest[0][:12]})",
            )
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.lstat(path).st_mode):
            # A folder or a FIFO there (a command's `mkdir`, `mkfifo`): sqlite cannot open the
            # one and hangs or fails reading the other.
            raise RefusedError(
                f"{path} is not a file; git-atomic cannot read what it recorded",
                hint="move it aside, then `git atomic recover` starts a new journal; the "
                "checkpoints stay under refs/atomic/ (`git for-each-ref refs/atomic/`)",
            )
    try:
        journal = Journal(path, read_only=read_only)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError):
            raise  # busy, or a full disk: not the file's fault
        raise RefusedError(
            f"{path} is damaged ({exc}); git-atomic cannot read what it recorded",
            hint="move it aside, then `git atomic recover` starts a new journal; the checkpoints "
            "stay under refs/atomic/ (`git for-each-ref refs/atomic/`)",
        ) from None
    if not read_only:
        journalgone.mark_kept_here(repo)
        _private_as_git(repo)
    return journal


def _private_as_git(repo: git.Repo) -> None:
    """Under an exact `core.sharedRepository` mode in the repository's config (t1301: `git
    init --shared=0600`, a repository only its owner may read, whatever the umask), our folder
    gets the bits git gives a folder of its own (objectformat.shared_mode): the journal (your
    command lines), the gate logs (their output) and the scan index (every file name) are out
    of reach of those git keeps out. The config file read as it is (configtext), no git: a
    HEAD or commondir an operation made a FIFO would keep git waiting here, before the command
    sets it aside; a few bytes read, nothing parsed where the key is not in them."""
    from git_atomic.engine import safefs

    try:
        with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
            data = tree.read(b"config")
    except (OSError, safefs.Blocked):
        return
    if data is None or b"sharedrepository" not in data.lower():
        return
    from git_atomic.engine import configtext, objectformat

    values = configtext.values(data, b"core.sharedrepository")
    if not values or values[-1] is None:
        return  # (a bare key is `true`: a group's, left as made)
    perm = objectformat.shared_perm(values[-1].decode("utf-8", "replace"))
    if perm is None or perm >= 0:
        return
    with contextlib.suppress(OSError):
        now = os.lstat(repo.state_dir).st_mode
        if stat.S_ISDIR(now):
            wanted = objectformat.shared_mode(now & 0o7777, perm, folder=True)
            if wanted != now & 0o7777:
                os.chmod(repo.state_dir, wanted, follow_symlinks=False)


@contextmanager
def opened(
    command: str,
    *,
    lock: bool = True,
    wait: float | None = None,
    check_state: bool = True,
    driven_ok: bool = False,
    start: str | None = None,
    early: Early | None = None,
    until_closed: bool = False,
    start_new: bool = False,
    found: git.Repo | None = None,
    read_only: bool = False,
) -> Iterator[Context]:
    """`start`: a folder in the worktree to use (the API's `repo=`); default: the current one.
    `found`: the worktree, found already (an agent turn's end: by its record, where a call of
    it left git finding no worktree there, agents/turnplace.py).
    `driven_ok`: a bisect, or a rebase at an exec line, is no refusal (`run`).
    `early`: the worktree's lock, already held (early.started), which its owner releases.
    `until_closed` (with `wait`): wait too while an operation is open in the worktree (a
    `begin` session, an agent turn), the lock let go meanwhile so that its commit or abort
    can run (`run --wait`, `begin --wait`: one open operation per worktree, the second waits).
    `read_only`: a command that only reads: the journal read as it is, never made
    (open_journal), and no lock taken, whose file would be a change in the git dir. With `lock`
    it is a dry run of a command that would take it: refused as that command would be while
    another holds it (no waiting), and working in its own object store outside the repository
    (Repo.quarantined), so that it writes nothing in the repository."""
    repo = early.repo if early is not None else found or discovery.discover(start)
    layoutcheck.check_layout(repo)
    if check_state:
        check_git_state(repo, driven_ok=driven_ok)
    journal = open_journal(repo, start_new=start_new, read_only=read_only)
    try:
        if early is not None:
            yield Context(repo, journal, early.lock, early)
        elif lock and until_closed and wait is not None:
            with _held_once_closed(repo, journal, command, wait) as held:
                yield Context(repo, journal, held)
        elif lock and read_only:
            unheld = WorktreeLock(repo.git_dir / "atomic.lock")
            if not journal.in_memory:
                unheld.refuse_if_held()
            with repo.quarantined():
                yield Context(repo, journal, unheld)
        elif lock and not journal.in_memory:
            with holding(repo, command, wait=wait) as held:
                yield Context(repo, journal, held)
        else:
            yield Context(repo, journal, WorktreeLock(repo.git_dir / "atomic.lock"))
    except GitError:
        from git_atomic.ops import whygitfailed  # (only where git failed)

        whygitfailed.raise_if_gone(repo, journal)
        raise
    finally:
        journal.close()


@contextmanager
def _held_once_closed(
    repo: git.Repo, journal: Journal, command: str, wait: float
) -> Iterator[WorktreeLock]:
    """The worktree's lock, taken when no operation is open there (or `wait` seconds have
    passed: the caller then refuses as without --wait). An interrupted operation is not waited
    for: `recover` is what it needs. Ctrl-C or SIGTERM ends the wait, nothing changed."""
    deadline = time.monotonic() + wait
    told = False
    waited_for: OpRow | None = None
    children.INTERRUPTS.install()  # kept between two holds of the lock: a signal ends the wait
    try:
        while True:
            with holding(repo, command, wait=max(0.0, deadline - time.monotonic())) as held:
                # A signal that came while the lock was let go ends the wait, though the
                # operation closed meanwhile: the command must not start after a Ctrl-C.
                if waited_for is not None:
                    end_on_a_signal(waited_for)
                op = journal.open_op(repo.worktree_id)
                if op is None or is_interrupted(op) or time.monotonic() >= deadline:
                    yield held
                    return
            waited_for = op
            end_on_a_signal(op)
            if not told:
                from git_atomic.ops import output  # not on an agent hook's hot path

                output.say(
                    f"git-atomic: waiting for operation {op.id} ({op.name}) to be committed "
                    "or aborted"
                )
                told = True
            time.sleep(0.2)
    finally:
        children.INTERRUPTS.uninstall()


def end_on_a_signal(op: OpRow) -> None:
    """Raise Interrupted when SIGINT or SIGTERM came while waiting for `op` to close."""
    if (signum := children.INTERRUPTS.received) is not None:
        why = f"interrupted while waiting for operation {op.id}; nothing changed"
        raise Interrupted(why, signum=signum)
