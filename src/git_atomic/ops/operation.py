"""The phase machine: PRE-OP -> OP-EXEC -> POST-OP, or back to PRE-OP with nothing lost."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from git_atomic.core import failpoints
from git_atomic.core.errors import AtomicError, BusyError
from git_atomic.core.journal import CheckpointRow, OpRow
from git_atomic.engine import checkpoint, restore, scan, snapshot
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.ops import phasecommit
from git_atomic.ops.context import Context, owner_fields, refuse_if_interrupted

HISTORY_MODES: Final = ("commits", "shadow")
PHASE_LABEL: Final = {"pre_op": "PRE-OP", "op_exec": "OP-EXEC", "post_op": "POST-OP"}
UNTRACKED_NAMED: Final = 5  # a phase commit's untracked files named in its record, at most


@dataclass(frozen=True)
class Made:
    """A phase's visible commit, and the entries of the index it left."""

    commit: str
    staged: str


@dataclass(frozen=True)
class RollbackResult:
    rescue: str
    target: str
    outcome: restore.Outcome


def new_op_id() -> str:
    return os.urandom(6).hex()


def op_ref(op_id: str, kind: str, seq: int) -> str:
    return f"refs/atomic/ops/{op_id}/{seq:03d}-{kind.replace('_', '-')}"


class Engine:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.repo = ctx.repo
        self.journal = ctx.journal
        self._too_large: set[bytes] = set()  # new files over the size budget, not yet named

    def tell_too_large(self) -> None:
        """One line per operation: the new files no checkpoint holds, as they are too large."""
        found, self._too_large = sorted(self._too_large), set()
        if not found:
            return
        from git_atomic.ops import output

        shown = ", ".join(p.decode("utf-8", "backslashreplace") for p in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        output.say(
            f"git-atomic: not protected (larger than max_new_file_size): {shown}{more}; "
            "no checkpoint holds them, and a rollback leaves them as they are"
        )

    # --- opening -------------------------------------------------------------------------
    def begin(
        self,
        name: str,
        *,
        history: str,
        kind: str,
        argv: Sequence[str] | None = None,
        detail: dict[str, Any] | None = None,
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
        if history == "commits":
            self.repo.identity_env(required=True)
        op_id = new_op_id()
        now = time.time()
        self.journal.create_op(
            id=op_id,
            worktree=self.ctx.worktree,
            name=name,
            kind=kind,
            history=history,
            status="open",
            phase="pre_op",
            pending=json.dumps({"action": "pre_op"}),
            argv=json.dumps(list(argv)) if argv is not None else None,
            started_at=now,
            detail=json.dumps(detail) if detail else None,
            **owner_fields(),
        )
        failpoints.hit("begin:after-journal")
        try:
            self._checkpoint(
                op_id,
                name,
                history,
                "pre_op",
                "backup state before operation",
                first=True,
                effect_base=history == "commits" and not tree_is_the_change,
            )
        except BaseException:
            # Nothing of the user's changed yet: forget the operation entirely.
            with self.journal.write() as c:
                c.execute("DELETE FROM operations WHERE id=?", (op_id,))
                c.execute("DELETE FROM checkpoints WHERE op_id=?", (op_id,))
            raise
        fields: dict[str, Any] = {"phase": "exec", "pending": None}
        if not keep_owner:
            fields.update(owner_pid=None, owner_start=None)
        self.journal.update_op(op_id, **fields)
        op = self.journal.op(op_id)
        assert op is not None
        return op

    # --- checkpoints ---------------------------------------------------------------------
    def checkpoint(
        self,
        op: OpRow,
        kind: str,
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
        self, op: OpRow, same_as: CheckpointRow, kind: str, message: str
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
        history: str,
        kind: str,
        message: str,
        *,
        first: bool,
        commit: bool = True,
        commit_message: str | None = None,
        effect_base: bool = False,
        argv: Sequence[str] | None = None,
    ) -> CheckpointRow:
        commits = history == "commits" and commit and not first
        seq = len(self.journal.checkpoints(op_id)) + 1
        base = None
        if commits:
            base = phasecommit.base_of(self.repo, self.journal.checkpoints(op_id)[0].sha)
        label = PHASE_LABEL.get(kind, kind.upper())
        captured = snapshot.capture(
            self.repo,
            message=f"git-atomic {label}: {name} [{op_id}]",
            ref=op_ref(op_id, kind, seq),
            untracked_of_op=base.untracked if base is not None else None,
            for_commit=commits,
            effect_base=effect_base,
            early=self.ctx.early,
        )
        self._too_large |= captured.too_large
        failpoints.hit(f"checkpoint:{kind}:after-capture")
        self.journal.add_checkpoint(
            op_id, kind, captured.snapshot.commit, op_ref(op_id, kind, seq), message
        )
        failpoints.hit(f"checkpoint:{kind}:after-journal")
        if base is not None:
            made = self._commit_phase(
                op_id,
                captured,
                commit_message or phasecommit.message(label, name, message, argv=argv),
                base,
            )
            if made is not None:
                self.journal.set_commit_sha(op_id, seq, made.commit)
        return self.journal.checkpoints(op_id)[-1]

    def _commit_phase(
        self, op_id: str, captured: snapshot.Captured, message: str, base: phasecommit.Base
    ) -> Made | None:
        """Commits mode: a visible commit of the operation's effect on the branch, only when
        there is something to commit; the index keeps what you staged (phasecommit.py)."""
        snap = captured.snapshot
        assert captured.commit_tree is not None
        head_tree = phasecommit.tree_of(self.repo, snap.head_oid)
        plan = phasecommit.plan(
            self.repo,
            base=base.tree,
            head_tree=head_tree,
            files=captured.commit_tree,
            staged=snap.staged_tree,
            adopted=base.untracked - captured.untracked if base.untracked else frozenset(),
        )
        if plan.held_back:
            self._note(op_id, "held_back", plan.held_back)
        if base.untracked is None and captured.untracked:
            self._note(op_id, "left_untracked", sorted(captured.untracked)[:UNTRACKED_NAMED])
        if plan.tree == head_tree:
            return None
        parents = ["-p", snap.head_oid] if snap.head_oid else []
        commit = self.repo.line(
            "commit-tree",
            plan.tree,
            *parents,
            "-m",
            message,
            env=self.repo.identity_env(required=True),
        )
        self.journal.update_op(op_id, pending=json.dumps({"action": "advance", "commit": commit}))
        failpoints.hit("commit-phase:before-ref")
        old = snap.head_oid or "0" * 40
        if snap.head_ref is not None:
            self.repo.update_refs(
                [f"update {snap.head_ref} {commit} {old}"],
                message=f"git-atomic: {message.splitlines()[0]}",
            )
        else:
            self.repo.run("update-ref", "--no-deref", "-m", "git-atomic", "HEAD", commit, old)
        failpoints.hit("commit-phase:before-index")
        phasecommit.put_index(self.repo, snap, captured.flags, plan.staged)
        self.journal.update_op(op_id, pending=None)
        return Made(commit, plan.staged)

    def _note(self, op_id: str, key: str, paths: Sequence[bytes]) -> None:
        """Name paths in the operation's record (what a commit of it left out, and why)."""
        op = self.journal.op(op_id)
        assert op is not None
        detail = dict(op.details)
        names = [p.decode("utf-8", "surrogateescape") for p in paths]
        detail[key] = sorted({*detail.get(key, ()), *names})
        self.journal.update_op(op_id, detail=json.dumps(detail))

    # --- going back ----------------------------------------------------------------------
    def rollback_to(
        self,
        op_id: str | None,
        target_sha: str,
        *,
        event: str,
        paths: Sequence[bytes] = (),
        with_refs: bool = True,
        rescue_sha: str | None = None,
        probe: Snapshot | None = None,
    ) -> RollbackResult:
        """Save the current state as a rescue checkpoint, then bring the tree to `target_sha`.

        With `rescue_sha` (a restore that a crash interrupted), the state before it was saved
        already; the half-restored tree is only probed, so `undo` still finds the original.
        `probe`: a capture of this instant that the caller already took (to preview the move);
        it becomes the rescue itself, so the tree is scanned once, not twice.
        """
        intent: dict[str, Any] = {
            "action": "restore",
            "target": target_sha,
            "event": event,
            "paths": [p.decode("utf-8", "surrogateescape") for p in paths],
            "with_refs": with_refs,
            "rescue": rescue_sha,
        }
        self._set_pending(op_id, intent)
        failpoints.hit(f"{event}:before-rescue")
        target = checkpoint.load(self.repo, target_sha)
        if rescue_sha is None:
            ref = self._rescue_ref(op_id)
            if probe is not None and not restore.overwritten_ignored(
                self.repo, probe.files_tree, target, paths
            ):
                self.repo.update_refs(
                    [f"create {ref} {probe.commit}"], message=f"git-atomic: rescue before {event}"
                )
                current = probe
            else:
                captured = snapshot.capture(
                    self.repo,
                    message=f"git-atomic rescue before {event}",
                    ref=ref,
                    also_capture=lambda tree: restore.overwritten_ignored(
                        self.repo, tree, target, paths
                    ),
                    early=self.ctx.early,
                    allow_unmerged=True,
                )
                self._too_large |= captured.too_large
                current = captured.snapshot
            failpoints.hit(f"{event}:rescue-unrecorded")
            rescue_sha = current.commit
            if op_id is not None:
                self.journal.add_checkpoint(op_id, "rescue", rescue_sha, ref, f"before {event}")
            intent["rescue"] = rescue_sha
            self._set_pending(op_id, intent)
        else:
            current = snapshot.capture(
                self.repo,
                message="git-atomic probe",
                ref=None,
                allow_unmerged=True,
            ).snapshot
        failpoints.hit(f"{event}:after-rescue")
        the_plan = restore.plan(self.repo, current, target, with_refs=with_refs, paths=paths)
        outcome = restore.apply(
            self.repo, current, target, the_plan, reason=f"git-atomic: {event}", paths=paths
        )
        failpoints.hit(f"{event}:after-restore")
        self.journal.add_event(
            op_id=op_id,
            worktree=self.ctx.worktree,
            kind=event,
            rescue=rescue_sha,
            target=target_sha,
            detail={"problems": outcome.problems} if outcome.problems else None,
        )
        self._set_pending(op_id, None)
        if not paths:
            scan.follow(self.repo, current.files_tree, target.files_tree)
        if op_id is None:
            self.tell_too_large()
        return RollbackResult(rescue_sha, target_sha, outcome)

    def _set_pending(self, op_id: str | None, intent: dict[str, Any] | None) -> None:
        value = json.dumps(intent) if intent is not None else None
        if op_id is not None:
            self.journal.update_op(op_id, pending=value)
        else:
            pending_file = self.repo.git_dir / "atomic-pending.json"
            if value is None:
                pending_file.unlink(missing_ok=True)
            else:
                tmp = pending_file.with_suffix(".tmp")
                tmp.write_text(value)
                os.replace(tmp, pending_file)

    def _rescue_ref(self, op_id: str | None) -> str:
        if op_id is None:
            return f"refs/atomic/rescue/{int(time.time() * 1000):x}-{os.urandom(2).hex()}"
        return op_ref(op_id, "rescue", len(self.journal.checkpoints(op_id)) + 1)

    def close(
        self, op_id: str, *, status: str, failed_phase: str | None = None, **fields: Any
    ) -> OpRow:
        op = self.journal.op(op_id)
        assert op is not None
        self.tell_too_large()
        now = time.time()
        self.journal.update_op(
            op_id,
            status=status,
            failed_phase=failed_phase,
            phase="done",
            pending=None,
            owner_pid=None,
            owner_start=None,
            ended_at=now,
            duration=now - op.started_at,
            **fields,
        )
        closed = self.journal.op(op_id)
        assert closed is not None
        return closed

    def pre_op(self, op_id: str) -> CheckpointRow:
        return self.journal.checkpoints(op_id)[0]


def interrupted_exit(signum: int) -> int:
    import signal

    return 130 if signum == signal.SIGINT else 143


# What a rollback after a failure can itself meet: git, the disk, the journal. The operation then
# stays open with its intent recorded, the next command reports it interrupted and `recover`
# finishes it. Anything else is a bug, left to reach the error log.
ROLLBACK_FAILURES: Final = (AtomicError, OSError, sqlite3.Error)


def rollback_op(
    engine: Engine, op: OpRow, *, failed_phase: str | None, event: str = "rollback"
) -> OpRow:
    """Return the tree to the operation's PRE-OP state and close the operation."""
    result = engine.rollback_to(op.id, engine.pre_op(op.id).sha, event=event)
    detail = dict(op.details)
    if result.outcome.problems:
        detail["problems"] = result.outcome.problems
    if result.outcome.left:
        detail["changed_since_rescue"] = [
            p.decode("utf-8", "surrogateescape") for p in result.outcome.left
        ]
    if result.outcome.refs_left:
        detail["refs_moved_since_rescue"] = result.outcome.refs_left
    return engine.close(
        op.id,
        status="rolled_back",
        failed_phase=failed_phase,
        detail=json.dumps(detail) if detail else None,
    )


def validate_and_finish(
    engine: Engine,
    op: OpRow,
    gate_specs: Sequence[Any],
    *,
    all_gates: bool = False,
    progress: bool = False,
    just_taken: CheckpointRow | None = None,
) -> OpRow:
    """POST-OP: run the gates; all pass -> final checkpoint; one fails -> back to PRE-OP.

    `just_taken`: a checkpoint of this very instant (run's OP-EXEC). With no gates in between
    nothing can have changed, so POST-OP names that checkpoint instead of scanning again.
    """
    from git_atomic.core import process
    from git_atomic.ops import gates

    engine.journal.update_op(op.id, phase="validate")
    results = gates.run_gates(
        gate_specs,
        root=engine.repo.root,
        log_dir=engine.repo.state_dir / "logs" / op.id,
        journal=engine.journal,
        worktree=engine.ctx.worktree,
        all_gates=all_gates,
        progress=progress,
    )
    gates.record(engine.journal, op.id, results)
    failpoints.hit("validate:after-gates")
    if process.INTERRUPTS.received is not None:
        return rollback_op(engine, op, failed_phase="interrupt")
    if any(not r.passed for r in results):
        return rollback_op(engine, op, failed_phase="validate")
    engine.journal.update_op(op.id, phase="post_op")
    # Only a checkpoint that made no visible commit: one that did was captured before the commit
    # moved the branch and the index, so it is not the state after the operation.
    if just_taken is not None and not results and just_taken.commit_sha is None:
        engine.alias_checkpoint(op, just_taken, "post_op", "validation complete")
    else:
        engine.checkpoint(op, "post_op", "validation complete")
    failpoints.hit("post-op:after-checkpoint")
    coverages = [r.coverage for r in results if r.coverage is not None]
    return engine.close(op.id, status="committed", coverage=coverages[-1] if coverages else None)
