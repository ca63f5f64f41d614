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
from git_atomic.core.errors import AtomicError, BusyError, GitError, Interrupted, RefusedError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import CheckpointRow, EventRow, OpRow
from git_atomic.core.lock import WorktreeLock, process_alive
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import HistoryMode, OpStatus
from git_atomic.engine import discovery, git, gitstate, refsfiles
from git_atomic.engine.early import Early, holding

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


def check_git_state(repo: git.Repo) -> None:
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
    if op.history == HistoryMode.COMMITS and gitstate.index_lock_held(ctx.repo):
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
    if gitstate.index_lock_held(repo):
        who = gitstate.index_lock_holder(repo)
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
    same_worktree(ctx.repo, op)
    if op is not None and is_interrupted(op):
        raise BusyError(
            f"operation {op.id} ({op.name}) was interrupted (pid {op.owner_pid} is gone)",
            hint="run `git atomic recover` (or `git atomic recover --accept` to keep the tree)",
        )
    return op


ROOT_KEY: Final = "worktree_root"  # an operation's detail: the folder it was begun in


def root_identity(repo: git.Repo) -> dict[str, object]:
    """The worktree's folder as an operation records it: its path, its device and inode, and
    where it is from the git dir (`..` for a `.git` folder in it)."""
    st = os.stat(repo.root)
    return {
        "path": os.fsdecode(repo.root),
        "id": [st.st_dev, st.st_ino],
        "from_git_dir": _from_git_dir(repo),
    }


def _from_git_dir(repo: git.Repo) -> str:
    return os.path.relpath(os.path.realpath(repo.root), os.path.realpath(repo.git_dir))


def same_worktree(repo: git.Repo, op: OpRow | None) -> None:
    """Refuse (exit 3, nothing touched) to act on an operation begun in another folder than
    the one git now says is this worktree: `core.worktree`, `GIT_WORK_TREE` or `GIT_DIR` set
    since (by the operation, or in this shell) would have a rollback write that folder. The
    same folder moved (same inode) is still it, and so is a copy of the repository whole (the
    worktree where it was from its git dir)."""
    if op is not None:
        same_folder(repo, op.details.get(ROOT_KEY), f"operation {op.id} ({op.name}) was begun")


def same_event_folder(repo: git.Repo, event: EventRow | None) -> None:
    """`same_worktree` for a move of no operation (`emergency`, `rollback --to`, their
    `undo`): its rescue, the state it replaced, is of the folder its event recorded."""
    if event is None or not event.detail:
        return
    import json  # (a move's, never a checkpoint's)

    try:
        detail = json.loads(event.detail)
    except ValueError:
        return
    if isinstance(detail, dict):
        rescue = (event.rescue or "")[:12]
        what = f"the {event.kind} that saved rescue {rescue} was made"
        same_folder(repo, detail.get(ROOT_KEY), what)


def same_folder(repo: git.Repo, begun: object, what: str) -> None:
    """Refuse, naming `what`, where `begun` (root_identity's record) is not this worktree's
    folder; nothing where none was recorded (before roots were)."""
    if not isinstance(begun, dict):
        return
    try:
        st = os.stat(repo.root)
    except OSError:
        return
    if begun.get("id") == [st.st_dev, st.st_ino] or begun.get("from_git_dir") == _from_git_dir(
        repo
    ):
        return
    raise RefusedError(
        f"{what} in the worktree at {begun.get('path')}, "
        f"and git now takes {os.fsdecode(repo.root)} for this worktree; nothing was changed",
        hint="run it there, or put back what tells git where the worktree is: "
        "core.worktree, GIT_WORK_TREE, GIT_DIR",
    )


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
        newest = orphaned_pre_op(repo)
        if newest is not None and not kept_here(repo) and not made_here(repo, newest[0]):
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
        _mark_kept_here(repo)
    return journal


# Beside our folder, in the common git dir: this repository has kept a journal. `rm -rf
# .git/atomic` leaves it, so a journal gone is told from one never kept here (a repository
# whose refs/atomic/ were copied from another by a mirror clone or a fetch of refs/*: git
# copies refs, never this file).
KEPT_HERE: Final = "atomic-journal-kept"


def kept_here(repo: git.Repo) -> bool:
    return os.path.lexists(repo.common_dir / KEPT_HERE)


def made_here(repo: git.Repo, checkpoint: str) -> bool:
    """Whether `checkpoint` was taken in a worktree of this repository: its meta names the
    folder (realpath) of this worktree or of one git lists beside it. So a journal removed
    before a version that marks `KEPT_HERE` ever opened it (an upgrade) is told from
    refs/atomic/ copied from another repository, made elsewhere. Read only when a journal is
    missing while operations' checkpoints remain (one git process)."""
    import json

    try:
        meta = json.loads(repo.out("cat-file", "blob", f"{checkpoint}:meta"))
    except (AtomicError, ValueError):
        return False
    where = meta.get("worktree") if isinstance(meta, dict) else None
    if not isinstance(where, str) or not os.path.isabs(where):
        return False
    roots = {os.path.realpath(repo.root)}
    with contextlib.suppress(OSError):
        for name in os.listdir(repo.common_dir / "worktrees"):
            with contextlib.suppress(OSError):
                gitfile = (repo.common_dir / "worktrees" / name / "gitdir").read_text()
                roots.add(os.path.realpath(os.path.dirname(gitfile.strip())))
    return os.path.realpath(where) in roots


def _mark_kept_here(repo: git.Repo) -> None:
    if kept_here(repo):
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(repo.common_dir / KEPT_HERE, flags, 0o644)
    except OSError:
        return  # made meanwhile, or a git dir we cannot write: as before this file was
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            "git-atomic keeps its journal in atomic/journal.sqlite3 of this git dir; while this "
            "file is here, a journal missing there was removed\n"
        )


def journal_gone(repo: git.Repo) -> tuple[str, str] | None:
    """The newest operation's PRE-OP and name when this repository's journal is gone while
    checkpoints of its operations remain; None otherwise (a journal there, or never kept here)."""
    if os.path.lexists(repo.state_dir / "journal.sqlite3"):
        return None
    newest = orphaned_pre_op(repo)
    if newest is None or kept_here(repo) or made_here(repo, newest[0]):
        return newest
    return None


def journal_gone_line(sha: str, name: str) -> str:
    """What `recover` and `emergency` say when they start a new journal (`journal_gone`)."""
    return (
        "the journal was gone: a new one is started. The newest operation's PRE-OP, "
        f"{name}, is checkpoint {sha[:12]}: `git atomic rollback --to {sha[:12]} "
        "--whole --dry-run` lists what going back to it would change"
    )


def orphaned_pre_op(repo: git.Repo) -> tuple[str, str] | None:
    """The PRE-OP checkpoint of the newest operation under refs/atomic/ops/ and its subject
    (`git-atomic PRE-OP: NAME [ID]`), for a journal that is gone; None when there is none.
    Asked of git only where the refs' files may hold one (refsfiles.py): a repository's first
    operation, or an agent's first turn's end, lists no refs for it."""
    if not refsfiles.may_hold(repo, "refs/atomic/ops/"):
        return None
    listed = repo.run(
        "for-each-ref",
        "--sort=-committerdate",
        "--count=1",
        "--format=%(objectname) %(subject)",
        "refs/atomic/ops/*/001-pre-op",
        check=False,
    )
    line = listed.stdout.decode("utf-8", "replace").strip()
    if listed.returncode != 0 or not line:
        return None
    sha, _, subject = line.partition(" ")
    return sha, subject.removeprefix("git-atomic PRE-OP: ")


@contextmanager
def opened(
    command: str,
    *,
    lock: bool = True,
    wait: float | None = None,
    check_state: bool = True,
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
    discovery.check_layout(repo)
    if check_state:
        check_git_state(repo)
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
        _gone_instead(repo, journal)
        raise
    finally:
        journal.close()


def _gone_instead(repo: git.Repo, journal: Journal) -> None:
    """After git failed inside a command: where a checkpoint of the worktree's newest
    operations is no longer whole in the object store (an operation deleted our refs and
    pruned, or removed an alternate), that is the line to say, not git's failure."""
    from git_atomic.engine import checkpointgone

    ops = journal.ops(worktree=repo.worktree_id, limit=3)
    if (
        ops
        and ops[0].details.get("alternates")
        and not os.path.lexists(repo.common_dir / "objects" / "info" / "alternates")
    ):  # (a clone --shared's) what took its objects away, by name
        from git_atomic.engine import alternates

        why = alternates.removed(repo, ops[0].details)
        if why is not None:
            found = checkpointgone.first_gone(repo, [c.sha for c in journal.checkpoints(ops[0].id)])
            what = f"a checkpoint of {ops[0].name} [{ops[0].id}]"
            raise checkpointgone.CheckpointGone(
                why
                + (f"; {checkpointgone.describe(*found, what=what, cause=False)}" if found else ""),
                hint=_alternates_back(journal.op(ops[0].id)),
            ) from None
    for op in ops:
        found = checkpointgone.first_gone(repo, [c.sha for c in journal.checkpoints(op.id)])
        if found is not None:
            raise checkpointgone.CheckpointGone(
                checkpointgone.describe(*found, what=f"a checkpoint of {op.name} [{op.id}]"),
                hint="`git atomic emergency --to COMMIT` goes back to a commit of yours instead",
            ) from None
    # The states the worktree's newest moves went to and replaced (an `emergency --to`'s commit,
    # a take-back's made state: held by refs no row names, refs/atomic/commits/).
    for event in journal.events(repo.worktree_id, limit=3):
        for sha, what in ((event.target, "went to"), (event.rescue, "replaced")):
            gone = checkpointgone.missing(repo, sha) if sha else []
            if sha and gone:
                rescue = event.rescue if what == "went to" and event.rescue else None
                raise checkpointgone.CheckpointGone(
                    checkpointgone.describe(
                        sha, gone, what=f"the state the {event.kind} of {_ago(event.at)} {what}"
                    ),
                    hint=(
                        f"`git atomic rollback --to {rescue[:12]} --whole` goes back to what it "
                        "replaced"
                        if rescue is not None and not checkpointgone.missing(repo, rescue)
                        else "`git atomic emergency --to COMMIT` goes back to a commit of yours"
                    ),
                ) from None


def _ago(at: float) -> str:
    """When, for people: "12:34:56" (today's clock; the event's own day is in `log`)."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def _alternates_back(op: OpRow | None) -> str:
    """How the alternates file an operation removed is written back: by its rollback."""
    if op is not None and op.status == OpStatus.OPEN:
        if op.pending:  # a run stopped half way (interrupted)
            return "`git atomic recover` writes it back and returns to PRE-OP"
        return "`git atomic abort` writes it back and rolls the operation back"
    return "write it back as it was before the operation (its path above)"


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
