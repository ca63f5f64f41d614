"""The phase machine: PRE-OP -> OP-EXEC -> POST-OP, or back to PRE-OP with nothing lost."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from git_atomic.core import failpoints
from git_atomic.core.errors import BusyError, GitError
from git_atomic.core.journalrows import CheckpointRow, OpRow, Owner
from git_atomic.core.vocab import (
    CheckpointKind,
    FailedPhase,
    HistoryMode,
    IntentAction,
    OpKind,
    OpStatus,
    Phase,
)
from git_atomic.engine import (
    gitlinks,
    layoutcheck,
    managedbranch,
    scan,
    snapshot,
)
from git_atomic.ops import context, gitdirnoted, phasecommit, samefolder
from git_atomic.ops.context import Context, refuse_if_interrupted
from git_atomic.ops.restoring import Restoring
from git_atomic.ops.restoring import RollbackResult as RollbackResult
from git_atomic.ops.restoring import op_ref as op_ref

if TYPE_CHECKING:  # a checkpoint never restores: the restore's modules load on a rollback
    pass


def new_op_id() -> str:
    return os.urandom(6).hex()


class Engine(Restoring):
    """An operation's phases over this worktree's journal: begin, checkpoints, close; its moves
    of the worktree (a rollback, an undo, a take-back) are `Restoring`'s (restoring.py)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.repo = ctx.repo
        self.journal = ctx.journal
        self._too_large: set[bytes] = set()  # new files over the size budget, not yet named

    # --- opening -------------------------------------------------------------------------
    def begin(
        self,
        name: str,
        *,
        history: HistoryMode,
        kind: OpKind,
        argv: Sequence[str] | None = None,
        detail: Mapping[str, object] | None = None,
        keep_owner: bool = False,
        tree_is_the_change: bool = False,
    ) -> OpRow:
        """Open an operation with its PRE-OP checkpoint (never a commit: phasecommit.py).

        `tree_is_the_change`: in commits mode, the commits hold the tracked files as they stand,
        measured from HEAD, not the change since PRE-OP (`tdd` without a command: the person's
        edits are the change its phase commit records).
        """
        open_op = refuse_if_interrupted(self.ctx)
        if open_op is not None:
            raise BusyError(
                f"operation {open_op.id} ({open_op.name}) is open in this worktree",
                hint="finish it with `git atomic commit` or `git atomic abort`",
            )
        if history == HistoryMode.COMMITS:
            self.repo.identity_env(required=True)
            managedbranch.refuse_commits_on_managed(self.repo)
            managedbranch.refuse_commits_past_a_lock(self.repo)
            managedbranch.refuse_commits_inside_a_commit(self.repo)
        op_id = new_op_id()
        detail = {**(detail or {}), samefolder.ROOT_KEY: samefolder.root_identity(self.repo)}
        gitdirnoted.note_at_begin(self.repo, detail)
        detail[context.UNNAMED] = context.unnamed_folders(self.repo)  # (heldrefs.py)
        self.journal.create_op(
            op_id,
            worktree=self.ctx.worktree,
            name=name,
            kind=kind,
            history=history,
            phase=Phase.PRE_OP,
            pending={"action": IntentAction.PRE_OP},
            argv=argv,
            started_at=time.time(),
            detail=detail,
            owner=Owner.this_process(),
        )
        failpoints.hit("begin:after-journal")
        try:
            self._checkpoint(
                op_id,
                name,
                history,
                CheckpointKind.PRE_OP,
                "backup state before operation",
                first=True,
                effect_base=history == HistoryMode.COMMITS and not tree_is_the_change,
            )
        except BaseException:
            # Nothing of the user's changed yet: forget the operation entirely.
            self.journal.forget_op(op_id)
            raise
        self.journal.start_exec(op_id, keep_owner=keep_owner)
        op = self.journal.op(op_id)
        assert op is not None
        return op

    # --- checkpoints ---------------------------------------------------------------------
    def checkpoint(
        self,
        op: OpRow,
        kind: CheckpointKind,
        message: str,
        *,
        commit: bool = True,
        commit_message: str | None = None,
    ) -> CheckpointRow:
        """A checkpoint of the tree now; in commits mode also a commit, unless `commit=False`.

        `commit_message` replaces the commit's `PHASE: name - message` (a TDD phase's commit
        reads `GREEN: <message>`).
        """
        return self._checkpoint(
            op.id,
            op.name,
            op.history,
            kind,
            message,
            first=False,
            commit=commit,
            commit_message=commit_message,
            argv=op.argv_list,
        )

    def alias_checkpoint(
        self, op: OpRow, same_as: CheckpointRow, kind: CheckpointKind, message: str
    ) -> CheckpointRow:
        """Record a phase whose state is exactly an existing checkpoint's (no second scan)."""
        seq = len(self.journal.checkpoints(op.id)) + 1
        ref = op_ref(op.id, kind, seq)
        self.repo.update_refs([f"create {ref} {same_as.sha}"], message=f"git-atomic: {kind}")
        self.journal.add_checkpoint(op.id, kind, same_as.sha, ref, message)
        return self.journal.checkpoints(op.id)[-1]

    def _checkpoint(
        self,
        op_id: str,
        name: str,
        history: HistoryMode,
        kind: CheckpointKind,
        message: str,
        *,
        first: bool,
        commit: bool = True,
        commit_message: str | None = None,
        effect_base: bool = False,
        argv: Sequence[str] | None = None,
    ) -> CheckpointRow:
        commits = history == HistoryMode.COMMITS and commit and not first
        seq = len(self.journal.checkpoints(op_id)) + 1
        base = None
        if commits:
            # Asked before PRE-OP is read: a git dir the operation moved or pointed elsewhere
            # would have it read from there (the capture would refuse only after).
            layoutcheck.check_layout(self.repo)
            pre_sha = self.journal.checkpoints(op_id)[0].sha
            try:
                base = phasecommit.base_of(self.repo, pre_sha)
            except GitError:
                self._gone(pre_sha)  # the operation took its PRE-OP away: said as such
                raise
        label = kind.label
        # After PRE-OP, a folder of ours git cannot list that was made so since the operation
        # began is the operation's: refused by name (the operation left interrupted, as for a
        # file it made unreadable), not kept as a folder its checkpoint does not hold.
        row = None if first else self.journal.op(op_id)
        since = scan.UNLISTABLE_SINCE.set(row.started_at if row is not None else None)
        if first and self.ctx.early is None:
            # A link in refs now is yours: never set aside, never written through (looked for
            # already where the scan started early, before it read a ref: early.py).
            gitlinks.refuse_found(self.repo.git_dir, self.repo.common_dir)
        try:
            captured = snapshot.capture(
                self.repo,
                message=f"git-atomic {label}: {name} [{op_id}]",
                ref=op_ref(op_id, kind, seq),
                untracked_of_op=base.untracked if base is not None else None,
                before=base.before if base is not None else None,
                for_commit=commits,
                effect_base=effect_base,
                early=self.ctx.early,
            )
        finally:
            scan.UNLISTABLE_SINCE.reset(since)
        self._too_large |= captured.too_large
        if kind == CheckpointKind.PRE_OP:
            # The branches' reflogs, for a rollback that makes one the operation deleted or
            # renamed again (reflogkeep.py): one link each, imported only here.
            from git_atomic.engine import reflogkeep

            reflogkeep.keep(self.repo, op_id, captured.snapshot.branches)
        failpoints.hit(f"checkpoint:{kind}:after-capture")
        self.journal.add_checkpoint(
            op_id, kind, captured.snapshot.commit, op_ref(op_id, kind, seq), message
        )
        failpoints.hit(f"checkpoint:{kind}:after-journal")
        if base is not None:
            made = phasecommit.commit_phase(
                self.repo,
                self.journal,
                op_id,
                captured,
                commit_message or phasecommit.message(label, name, message, argv=argv),
                base,
            )
            if made is not None:
                self.journal.set_commit_sha(op_id, seq, made.commit)
        return self.journal.checkpoints(op_id)[-1]

    # --- closing (going back: restoring.py) ----------------------------------------------
    def close(
        self,
        op_id: str,
        *,
        status: OpStatus,
        failed_phase: FailedPhase | None = None,
        coverage: float | None = None,
        detail: Mapping[str, object] | None = None,
        worktree: str | None = None,
        noted: bool = False,
    ) -> OpRow:
        """Close the operation; `detail` replaces its record's (default: kept as it is);
        `worktree`: record it in that worktree from now on (journal.close_op); `noted`: what it
        leaves in the git dir is in `detail` already (gitdirnoted.note_at_close)."""
        op = self.journal.op(op_id)
        assert op is not None
        self.tell_too_large()
        if not noted:
            detail = gitdirnoted.note_at_close(
                self.repo, op.details if detail is None else detail, op_id=op_id
            )
        now = time.time()
        self.journal.close_op(
            op_id,
            status=status,
            failed_phase=failed_phase,
            ended_at=now,
            duration=now - op.started_at,
            coverage=coverage,
            detail=detail,
            worktree=worktree,
        )
        self._hold_checkpoints(op_id)
        closed = self.journal.op(op_id)
        assert closed is not None
        if status == OpStatus.COMMITTED and self._turns_here():  # for the turns' windows
            from git_atomic.ops import windowlog

            windowlog.note_kept(self.repo, self.journal.checkpoints(op_id), closed)
        return closed

    def _hold_checkpoints(self, op_id: str) -> None:
        """Each checkpoint's ref holding it again where the operation's command deleted or
        rewrote our refs (heldrefs.py); a few reads where it did not (the common case)."""
        op = self.journal.op(op_id)
        noted = op.details.get(context.UNNAMED) if op is not None else None
        if not context.checkpoints_held(self.repo, self.journal.checkpoints(op_id)) or (
            noted is not None and noted != context.unnamed_folders(self.repo)
        ):  # (a ref of a rescue, of an emergency's commit, deleted or made meanwhile)
            from git_atomic.ops import heldrefs  # (only where one is not)

            heldrefs.hold_all(self.repo, self.journal)

    def pre_op(self, op_id: str) -> CheckpointRow:
        return self.journal.checkpoints(op_id)[0]
