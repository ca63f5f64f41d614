"""The last step of `run --isolate`: a validated result comes into the user's worktree.

Under the user's worktree lock (bounded wait): a rescue of the worktree as it is now, then
three-way merges with base = PRE-OP, ours = that rescue, theirs = the result — of the files, and
separately of the staged trees — and the result's commits onto the user's HEAD
(`isolation.replay`). All clean: one target checkpoint, a write-ahead intent naming rescue and
target (what `recover` finishes after a crash), then the restore engine writes only what
differs, and an `apply` event makes it reversible with `git atomic undo`. Any conflict: nothing
of the user's is touched.
"""

from __future__ import annotations

import enum
import time
from typing import Final

from git_atomic.core import children, failpoints, records
from git_atomic.core.errors import BusyError, RefusedError
from git_atomic.core.journalrows import OpRow
from git_atomic.core.lock import WorktreeLock
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, EventKind, IntentAction, Phase
from git_atomic.engine import (
    emptyfolders,
    isolation,
    restore,
    restoreplan,
    snapshot,
    unseen,
)
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.ops import effecttarget, output
from git_atomic.ops.context import (
    Context,
    check_git_state,
    end_on_a_signal,
    refuse_if_interrupted,
    refuse_index_lock,
)
from git_atomic.ops.operation import op_ref

WAIT_LIMIT_S: Final = 600.0
LOCK_COMMAND: Final = "run --isolate"
# The note of the POST-OP the apply leaves in your worktree (effect.py tells it by this).
APPLIED_NOTE: Final = "applied to your worktree"


@dataclass(frozen=True)
class Result:
    """The validated state of the private worktree: what comes home."""

    files_tree: str
    staged_tree: str
    head_oid: str | None
    empty_folders: str | None = None  # checkpoint.Parts' fields of the same names
    all_empty_folders: bool = False
    index_flags: str | None = None


class NotApplied(enum.StrEnum):
    """Why a validated result did not come home (`not_applied` in the JSON)."""

    CONFLICT = "conflict"  # it overlaps with changes made in the worktree meanwhile
    BUSY = "busy"  # the worktree was locked, or git waits there for the user
    INTERRUPT = "interrupt"  # a signal came before the apply started
    BRANCH = "branch"  # your branch lost the commit the run started from (the command moved it)


@dataclass(frozen=True)
class Applied:
    applied: bool
    merged: bool = False  # the user's worktree had changed since PRE-OP: a real merge
    not_applied: NotApplied | None = None
    why: str | None = None
    conflicts: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Merges:
    """The result merged onto the worktree as it is now (its rescue): files, index, commits."""

    rescue: Snapshot
    rescue_ref: str
    ours_files: str  # the files tree the merge of the files was made with
    files: isolation.Merge
    staged: isolation.Merge
    head: isolation.Merge

    def clean(self) -> bool:
        return None not in (self.files.oid, self.staged.oid, self.head.oid)


def apply_result(ctx: Context, *, op_id: str, name: str, pre: Snapshot, result: Result) -> Applied:
    assert pre.head_oid is not None
    refused = _take_lock(ctx)
    if refused is not None:
        return refused
    try:
        refused = _not_ready(ctx) or _branch_lost(ctx.repo, pre)
        if refused is not None:
            return refused
        ctx.journal.set_phase(op_id, Phase.APPLY, worktree=ctx.worktree)
        failpoints.hit("isolate:apply:start")
        seq = len(ctx.journal.checkpoints(op_id)) + 1
        try:
            merges = _merge(ctx, op_id=op_id, name=name, pre=pre, result=result, seq=seq)
        except RefusedError as exc:  # e.g. unmerged paths appeared meanwhile
            return Applied(False, not_applied=NotApplied.BUSY, why=exc.message)
        rescue = merges.rescue
        merged = (merges.ours_files, rescue.staged_tree, rescue.head_ref, rescue.head_oid) != (
            pre.files_tree,
            pre.staged_tree,
            pre.head_ref,
            pre.head_oid,
        )
        if not merges.clean():
            return _conflict(ctx, merges, merged=merged)
        return _come_home(
            ctx, merges, op_id=op_id, name=name, pre=pre, result=result, seq=seq, merged=merged
        )
    finally:
        ctx.lock.release()


def _take_lock(ctx: Context) -> Applied | None:
    """The user's worktree lock, or why the result cannot come home now."""
    if children.INTERRUPTS.received is not None:
        return Applied(False, not_applied=NotApplied.INTERRUPT)
    try:
        take_worktree_lock(ctx.lock, patient_with_all=True)
    except BusyError as exc:
        if children.INTERRUPTS.received is not None:
            return Applied(False, not_applied=NotApplied.INTERRUPT)
        return Applied(False, not_applied=NotApplied.BUSY, why=exc.message)
    return None


def _not_ready(ctx: Context) -> Applied | None:
    """Why the worktree cannot take the result now (git waits there for the user, an operation
    of its own is open or was interrupted, a signal came), under its lock; None: it can. An
    open operation (`begin`, an agent turn) would take the result for its own: its abort
    would drop it while the log says it was kept."""
    try:
        check_git_state(ctx.repo)
        refuse_index_lock(ctx.repo)
        open_op = refuse_if_interrupted(ctx)
    except RefusedError as exc:
        return Applied(False, not_applied=NotApplied.BUSY, why=exc.message)
    if open_op is not None and open_op.phase != Phase.APPLY:  # another's apply: it is closing
        why = f"operation {open_op.id} ({open_op.name}) is open in this worktree"
        return Applied(False, not_applied=NotApplied.BUSY, why=why)
    if children.INTERRUPTS.received is not None:
        return Applied(False, not_applied=NotApplied.INTERRUPT)
    return None


def _branch_lost(repo: Repo, pre: Snapshot) -> Applied | None:
    """Why the result cannot go on top of your branch: it no longer holds the commit the run
    started from (moved back, to another line, or deleted: worktrees share branches, so the
    command's `git update-ref refs/heads/main HEAD~` reaches yours). Applied there, its commits
    would leave the branch in silence. None: it holds it (a commit of yours meanwhile, or one
    the command put on top: nothing is lost)."""
    ref, was = pre.head_ref, pre.head_oid
    if ref is None or was is None or not ref.startswith("refs/heads/"):
        return None
    now = repo.rev_parse(ref)
    if now == was or (
        now is not None
        and repo.run("merge-base", "--is-ancestor", was, now, check=False).returncode == 0
    ):
        return None
    branch = ref.removeprefix("refs/heads/")
    where = "deleted" if now is None else f"moved to {now[:12]}"
    why = (
        f"your branch {branch} no longer holds {was[:12]}, the commit the run started from "
        f"({where} while it ran); on top of it the result would leave that commit out"
    )
    return Applied(False, not_applied=NotApplied.BRANCH, why=why)


def _per_path(repo: Repo, *, base: str, ours: str, theirs: str) -> isolation.Merge:
    """The result merged onto your tree path by path (treemerge.py): a change is never carried
    along a rename into another file (yours renamed, or the operation's), and an overlap is
    named by your path, not by a name git makes up for one side of it."""
    from git_atomic.ops import treemerge

    merged = treemerge.merge(repo, base=base, ours=ours, theirs=theirs)
    if merged.tree is not None:
        return isolation.Merge(merged.tree)
    named = (o.path.decode("utf-8", "surrogateescape") for o in merged.conflicts)
    return isolation.Merge(None, tuple(dict.fromkeys(named)) or ("(unknown)",))


def _merge(
    ctx: Context, *, op_id: str, name: str, pre: Snapshot, result: Result, seq: int
) -> _Merges:
    """A rescue of the worktree now, and the result merged onto it (base: PRE-OP). The files
    are merged while the rescue is taken: what the merge would overwrite that git ignores now
    is held by the rescue too."""
    repo = ctx.repo
    seen: list[tuple[str, isolation.Merge]] = []

    def merge_files(ours: str) -> list[bytes]:
        merged = _per_path(repo, base=pre.files_tree, ours=ours, theirs=result.files_tree)
        seen.append((ours, merged))
        if merged.oid is None:
            return []
        return unseen.overwritten_ignored(repo, ours, records.replace(pre, files_tree=merged.oid))

    rescue_ref = op_ref(op_id, CheckpointKind.RESCUE, seq)
    rescue = snapshot.capture(
        repo,
        message=f"git-atomic rescue before applying {name} [{op_id}]",
        ref=rescue_ref,
        also_capture=merge_files,
    ).snapshot
    ours_files, files = seen[-1]
    staged = _per_path(
        repo, base=pre.staged_tree, ours=rescue.staged_tree, theirs=result.staged_tree
    )
    head = isolation.Merge(rescue.head_oid)
    assert pre.head_oid is not None
    if (
        result.head_oid != pre.head_oid
        and result.head_oid is not None
        and rescue.head_oid is not None
    ):
        head = isolation.replay(
            repo,
            since=pre.head_oid,
            tip=result.head_oid,
            onto=rescue.head_oid,
            squash_message=f"OP-EXEC: {name} - isolated result",
        )
    return _Merges(rescue, rescue_ref, ours_files, files, staged, head)


def _conflict(ctx: Context, merges: _Merges, *, merged: bool) -> Applied:
    """Nothing of the user's is touched: the rescue is dropped, the overlaps are named."""
    ctx.repo.run(
        "update-ref", "--no-deref", "-d", merges.rescue_ref, merges.rescue.commit, check=False
    )
    sides = (("files", merges.files), ("index", merges.staged), ("commits", merges.head))
    conflicts = dict.fromkeys(c for _, m in sides for c in m.conflicts)
    return Applied(
        False,
        merged=merged,
        not_applied=NotApplied.CONFLICT,
        why="conflicts in " + ", ".join(w for w, m in sides if m.oid is None),
        conflicts=tuple(conflicts),
    )


def _come_home(
    ctx: Context,
    merges: _Merges,
    *,
    op_id: str,
    name: str,
    pre: Snapshot,
    result: Result,
    seq: int,
    merged: bool,
) -> Applied:
    """The merged state as a checkpoint, the intent naming rescue and target, then the restore
    engine from the worktree now to it, and the `apply` event `undo` reverses."""
    repo, journal, rescue = ctx.repo, ctx.journal, merges.rescue
    assert merges.files.oid and merges.staged.oid and merges.head.oid
    journal.add_checkpoint(
        op_id,
        CheckpointKind.RESCUE,
        rescue.commit,
        merges.rescue_ref,
        "before applying the isolated result",
    )
    target = _post_op(ctx, merges, op_id=op_id, name=name, pre=pre, result=result, seq=seq)
    intent = {
        "action": IntentAction.RESTORE,
        "target": target.commit,
        "event": EventKind.APPLY,
        "paths": [],
        "with_refs": True,
        "rescue": rescue.commit,
    }
    journal.set_pending(op_id, intent)
    failpoints.hit("isolate:apply:before-restore")
    the_plan = restoreplan.plan(repo, rescue, target)
    outcome = restore.apply(
        repo, rescue, target, the_plan, reason=f"git-atomic: apply {name} [{op_id}]"
    )
    failpoints.hit("isolate:apply:after-restore")
    journal.add_event(
        op_id=op_id,
        worktree=ctx.worktree,
        kind=EventKind.APPLY,
        rescue=rescue.commit,
        target=target.commit,
        detail={"problems": outcome.problems} if outcome.problems else None,
    )
    return Applied(True, merged=merged, problems=tuple(outcome.problems))


def _post_op(
    ctx: Context, merges: _Merges, *, op_id: str, name: str, pre: Snapshot, result: Result, seq: int
) -> Snapshot:
    """The merged state as the operation's POST-OP checkpoint, kept by its ref and journaled:
    the target the restore goes to."""
    repo, rescue = ctx.repo, merges.rescue
    assert merges.files.oid and merges.staged.oid and merges.head.oid
    # The command's own changes of the entry flags (`git add -N`, `--no-skip-worktree`), made
    # on yours as they are now: the private worktree started from PRE-OP's flags.
    ran = records.replace(pre, index_flags=result.index_flags)
    target = isolation.target_checkpoint(
        repo,
        current=rescue,
        files_tree=merges.files.oid,
        staged_tree=merges.staged.oid,
        head_oid=merges.head.oid,
        index_flags=effecttarget.flags_after(repo, rescue, [(pre, ran)]),
        folders=emptyfolders.empty_folders_after(repo, rescue, [(pre, result)], merges.files.oid),
        message=f"git-atomic POST-OP: {name} [{op_id}] applied",
    )
    target_ref = op_ref(op_id, CheckpointKind.POST_OP, seq + 1)
    repo.update_refs([f"create {target_ref} {target.commit}"], message="git-atomic: apply")
    ctx.journal.add_checkpoint(
        op_id, CheckpointKind.POST_OP, target.commit, target_ref, APPLIED_NOTE
    )
    return target


def take_worktree_free(ctx: Context, *, wait: bool) -> None:
    """The user's worktree lock, taken with no operation open there (`begin`, an agent turn):
    refused at once (exit 3), or with `wait` taken once it is committed or aborted (up to
    WAIT_LIMIT_S), the lock let go meanwhile so that its commit or abort can run."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    told = False
    waited_for: OpRow | None = None
    while True:
        take_worktree_lock(ctx.lock, patient_with_all=wait)
        try:
            if waited_for is not None:  # a signal while the lock was let go: no start after it
                end_on_a_signal(waited_for)
            open_op = refuse_if_interrupted(ctx)
        except BaseException:
            ctx.lock.release()
            raise
        if open_op is None:
            return
        ctx.lock.release()
        waited_for = open_op
        end_on_a_signal(open_op)
        if open_op.phase == Phase.APPLY and time.monotonic() < deadline:
            time.sleep(0.05)  # another isolated run's apply, closing: waited for, as its lock
            continue
        if not wait or time.monotonic() >= deadline:
            raise BusyError(
                f"operation {open_op.id} ({open_op.name}) is open in this worktree",
                hint="finish it with `git atomic commit` or `git atomic abort`, or pass --wait",
            )
        if not told:
            output.say(
                f"git-atomic: waiting for operation {open_op.id} ({open_op.name}) to be "
                "committed or aborted"
            )
            told = True
        time.sleep(0.2)


def take_worktree_lock(lock: WorktreeLock, *, patient_with_all: bool) -> None:
    """Take the user's worktree lock. Another isolated run holds it for moments only: wait for
    it. Anyone else: refuse at once unless `patient_with_all` (`--wait`, and the final apply)."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    told = False
    while True:
        try:
            lock.acquire(LOCK_COMMAND, wait=None)
            return
        except BusyError:
            holder = lock.read()
            if holder is None:
                continue
            alive = holder.alive
            if not alive and lock.read() != holder:
                continue  # it let go and left between our two looks: the worktree is free
            isolated = holder.command.startswith(LOCK_COMMAND)
            if (
                not alive
                or not (patient_with_all or isolated)
                or time.monotonic() >= deadline
                or children.INTERRUPTS.received is not None
            ):
                raise
            if not told and not isolated:
                output.say(f"git-atomic: waiting for pid {holder.pid} (`{holder.command}`)")
                told = True
            time.sleep(0.05)
