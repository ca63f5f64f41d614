"""`git atomic run --isolate -- COMMAND`: the command runs in a private worktree; the user's
worktree changes only after the gates have passed, in one rescued, crash-safe apply.

1. PRE-OP: a checkpoint of the user's worktree (HEAD, the index, every tracked and untracked
   file), under the worktree lock held for that moment only.
2. A private worktree, detached at HEAD's commit, brought to PRE-OP exactly (files and index).
   Its path is in the journal before it exists, so `recover` finds it after a crash.
3. OP-EXEC: the command runs there, in the same subfolder as the user's; checkpoint (and, in
   commits mode, the commit of its effect on that detached HEAD, as `run` makes it: the index
   keeps the user's work in progress, see phasecommit.py).
4. POST-OP: the gates run there; checkpoint (and commit, if a gate changed files).
5. Apply, under the user's worktree lock (bounded wait): a rescue of the user's worktree, then
   three-way merges with base PRE-OP, ours = the worktree now, theirs = the result: of the
   files, and separately of the staged trees; the private commits go onto the user's HEAD
   (see isolation.py). All clean: the restore engine writes only what differs. Any conflict:
   the user's worktree is not touched.

While it runs, the journal row is filed under `isolated:<op_id>`, not under the user's worktree:
it holds no worktree, so the user's own operations (and other isolated runs) go on. From the
apply on it belongs to the user's worktree like any `run`.

Outcomes: applied -> committed (exit 0). The command, a timeout, a gate or an interrupt failed
-> rolled_back, failed_phase exec/timeout/validate/interrupt (exit 1, or 130/143): the user's
worktree was never touched. Validated but not applied (a conflict, or the worktree stayed busy)
-> rolled_back with failed_phase "validate" (exit 1): applying is the last check of POST-OP, and
the documented phases (docs/reference.md) stay the only values. The JSON's "isolated" object
says why and how to apply the result by hand.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from git_atomic.core import children, failpoints
from git_atomic.core.config import GateSpec, gates_to_run, load_config
from git_atomic.core.errors import AtomicError, RefusedError
from git_atomic.core.journalrows import CheckpointRow, OpRow, Owner
from git_atomic.core.lock import WorktreeLock
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus, Phase
from git_atomic.engine import checkpoint, discovery, git, isolation, snapshot
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.ops import commandresults, output, phasecommit, results
from git_atomic.ops.conclude import conclude
from git_atomic.ops.context import (
    CHILD_RECORD,
    Context,
    check_git_state,
    open_journal,
    refuse_if_interrupted,
)
from git_atomic.ops.gates import check_programs
from git_atomic.ops.isolation_apply import NotApplied, Result, apply_result, take_worktree_lock
from git_atomic.ops.isolation_recovery import cleanup_stale_isolated
from git_atomic.ops.operation import Engine, new_op_id, op_ref
from git_atomic.ops.validation import validate


@dataclass(frozen=True)
class _State:
    """The private worktree right after a phase (and its commit, in commits mode)."""

    row: CheckpointRow
    files_tree: str
    staged_tree: str
    head_oid: str | None


@dataclass
class _Run:
    ctx: Context
    op_id: str
    name: str
    history: HistoryMode
    argv: tuple[str, ...]
    path: Path
    pre: Snapshot
    base: phasecommit.Base | None  # commits mode: what its commits are measured from
    private: git.Repo | None = None
    result: _State | None = None
    coverage: float | None = None
    applied: bool = False
    merged: bool = False
    reason: NotApplied | None = None
    why: str | None = None
    conflicts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def commits(self) -> bool:
        return self.history == HistoryMode.COMMITS


def run_isolated(
    *,
    argv: Sequence[str],
    name: str | None,
    gates: Sequence[str],
    no_gates: bool,
    timeout: float | None,
    history: str | None,
    wait: bool,
    json_out: bool,
    all_gates: bool = False,
    ok_exit: tuple[int, ...] | None = None,
) -> int:
    repo = discovery.discover()
    check_git_state(repo)
    journal = open_journal(repo)
    ctx = Context(repo, journal, WorktreeLock(repo.git_dir / "atomic.lock"))
    try:
        config = load_config(repo.root)
        mode = HistoryMode.parse(history, what="--history") if history else config.history
        specs = gates_to_run(config, gates, no_gates=no_gates)
        check_programs(specs, root=repo.root)
        if mode == HistoryMode.COMMITS:
            repo.identity_env(required=True)
        if repo.read_head()[1] is None:
            raise RefusedError(
                "run --isolate starts its private worktree from HEAD's commit, "
                "and HEAD has none yet",
                hint="make a first commit",
            )
        cleanup_stale_isolated(engine=Engine(ctx), finish_applies=False)
        started: list[_Run] = []

        def work() -> OpRow:
            op_name = name or os.path.basename(argv[0]) or "run"
            started.append(_start(ctx, argv=argv, name=op_name, history=mode, wait=wait))
            return _execute(
                started[0],
                specs,
                timeout=timeout,
                json_out=json_out,
                all_gates=all_gates,
                ok_exit=ok_exit or config.command_ok_exit(argv),
            )

        return conclude(
            journal,
            work,
            json_out=json_out,
            tell=lambda op: _tell(started[0], op),
            as_json=lambda op: _as_json(started[0], op),
        )
    finally:
        ctx.lock.release()
        journal.close()


# --- the phases ----------------------------------------------------------------------------------
def _start(
    ctx: Context, *, argv: Sequence[str], name: str, history: HistoryMode, wait: bool
) -> _Run:
    repo, journal = ctx.repo, ctx.journal
    take_worktree_lock(ctx.lock, patient_with_all=wait)
    try:
        refuse_if_interrupted(ctx)
        op_id = new_op_id()
        path = isolation.worktree_path(repo, op_id)
        detail = {
            "isolated": True,
            "private_worktree": str(path),
            "user_worktree": ctx.worktree,
            "user_root": str(repo.root),
        }
        journal.create_op(
            op_id,
            worktree=isolation.PRIVATE_PREFIX + op_id,
            name=name,
            kind=OpKind.RUN,
            history=history,
            phase=Phase.PRE_OP,
            pending=None,
            argv=argv,
            started_at=time.time(),
            detail=detail,
            owner=Owner.this_process(),
        )
        try:
            ref = op_ref(op_id, CheckpointKind.PRE_OP, 1)
            captured = snapshot.capture(
                repo,
                message=f"git-atomic PRE-OP: {name} [{op_id}]",
                ref=ref,
                effect_base=history == HistoryMode.COMMITS,
            )
            journal.add_checkpoint(
                op_id,
                CheckpointKind.PRE_OP,
                captured.snapshot.commit,
                ref,
                "backup state before operation",
            )
        except BaseException:
            journal.forget_op(op_id)  # nothing exists yet: forget the operation entirely
            raise
    finally:
        ctx.lock.release()
    failpoints.hit("isolate:after-pre-op")
    commits = history == HistoryMode.COMMITS
    base = phasecommit.base_of(repo, captured.snapshot.commit) if commits else None
    return _Run(ctx, op_id, name, history, tuple(argv), path, captured.snapshot, base)


def _execute(
    run: _Run,
    specs: Sequence[GateSpec],
    *,
    timeout: float | None,
    json_out: bool,
    all_gates: bool,
    ok_exit: tuple[int, ...],
) -> OpRow:
    try:
        if children.INTERRUPTS.received is not None:
            return _fail(run, FailedPhase.INTERRUPT)
        engine = _open_private(run)
        failed = _run_command(run, timeout=timeout, json_out=json_out, ok_exit=ok_exit)
        if failed is not None:
            return _fail(run, failed)
        done = _checkpoint(run, engine, CheckpointKind.OP_EXEC, shlex.join(run.argv)[:200])
        if children.INTERRUPTS.received is not None:
            return _fail(run, FailedPhase.INTERRUPT, keep=False)
        verdict = validate(
            engine,
            run.op_id,
            specs,
            worktree=run.ctx.worktree,  # the coverage ratchet compares with the user's history
            all_gates=all_gates,
            progress=not json_out and sys.stderr.isatty(),
        )
        if verdict.failed_phase is not None:
            return _fail(run, verdict.failed_phase, keep=False)
        run.coverage = verdict.coverage
        run.result = _post_op(run, engine, done, gates_ran=verdict.gates_ran)
        failpoints.hit("isolate:after-post-op")
        _drop_private(run)
        return _apply(run)
    except BaseException:
        _close_unless_applying(run)
        raise
    finally:
        children.CHILDREN.path = None
        _drop_private(run)


def _open_private(run: _Run) -> Engine:
    """OP-EXEC begins: the private worktree, detached at HEAD's commit, brought to PRE-OP; an
    engine of its own checkpoints it."""
    journal = run.ctx.journal
    journal.set_phase(run.op_id, Phase.EXEC)
    assert run.pre.head_oid is not None
    run.private = isolation.add_worktree(run.ctx.repo, run.path, run.pre.head_oid)
    # The command's process group, for `recover` to end if we are killed under it.
    children.CHILDREN.path = run.private.git_dir / CHILD_RECORD
    failpoints.hit("isolate:after-worktree")
    isolation.bring_to(run.private, run.pre)
    return Engine(Context(run.private, journal, WorktreeLock(run.private.git_dir / "atomic.lock")))


def _run_command(
    run: _Run, *, timeout: float | None, json_out: bool, ok_exit: tuple[int, ...]
) -> FailedPhase | None:
    """The command, in the private worktree's copy of the user's folder: how it failed, if it
    did."""
    assert run.private is not None
    cwd = isolation.private_cwd(run.ctx.repo.root, run.private.root)
    isolation.point_git_variables_at(run.private)
    res = children.run_child(
        list(run.argv),
        cwd=cwd,
        timeout=timeout,
        stdout=sys.stderr.fileno() if json_out else None,
        interactive=True,
        env={"PWD": str(cwd)},
    )
    run.ctx.journal.set_command_result(run.op_id, exit_code=res.exit_code, duration=res.duration_s)
    if res.error:
        output.say(f"git-atomic: cannot run the command: {res.error}")
    if children.INTERRUPTS.received is not None:
        return FailedPhase.INTERRUPT
    if res.timed_out:
        return FailedPhase.TIMEOUT
    if res.exit_code is None or res.exit_code not in ok_exit:
        return FailedPhase.EXEC
    return None


def _post_op(run: _Run, engine: Engine, done: _State, *, gates_ran: bool) -> _State:
    if not gates_ran and done.row.commit_sha is None:
        # Nothing ran since OP-EXEC and it made no commit: that checkpoint is the result.
        row = engine.alias_checkpoint(
            run.ctx.journal.op(run.op_id) or _gone(run),
            done.row,
            CheckpointKind.POST_OP,
            "validation complete",
        )
        return dataclasses.replace(done, row=row)
    return _checkpoint(run, engine, CheckpointKind.POST_OP, "validation complete")


def _close_unless_applying(run: _Run) -> None:
    """After an error: before the apply started the user's worktree was never touched, so the
    operation is closed here. A half-done apply stays open for `recover` (its intent names
    rescue and target)."""
    op = run.ctx.journal.op(run.op_id)
    applying = op is not None and op.phase == Phase.APPLY
    if op is not None and op.status == OpStatus.OPEN and (not applying or op.pending is None):
        _close(
            run,
            status=OpStatus.ROLLED_BACK,
            failed_phase=FailedPhase.VALIDATE if applying else FailedPhase.EXEC,
        )


def _result(repo: git.Repo, state: _State) -> Result:
    """What comes home: the private worktree's files, index, HEAD and empty folders."""
    held = checkpoint.load(repo, state.row.sha)
    return Result(
        state.files_tree,
        state.staged_tree,
        state.head_oid,
        empty_folders=held.empty_folders,
        all_empty_folders=held.all_empty_folders,
    )


def _checkpoint(run: _Run, engine: Engine, kind: CheckpointKind, message: str) -> _State:
    """A checkpoint of the private worktree, filed as the user's (HEAD on the user's branch);
    in commits mode also the phase's commit on the private detached HEAD."""
    assert run.private is not None
    journal = run.ctx.journal
    seq = len(journal.checkpoints(run.op_id)) + 1
    ref = op_ref(run.op_id, kind, seq)
    label = kind.label
    captured = snapshot.capture(
        run.private,
        message="git-atomic probe",
        ref=None,
        untracked_of_op=run.base.untracked if run.base is not None else None,
        for_commit=run.base is not None,
    )
    snap = isolation.as_user_checkpoint(
        run.private,
        captured.snapshot,
        head_ref=run.pre.head_ref,
        root=run.ctx.repo.root,
        private_root=run.private.root,
        message=f"git-atomic {label}: {run.name} [{run.op_id}]",
    )
    run.private.update_refs([f"create {ref} {snap.commit}"], message=f"git-atomic: {label}")
    journal.add_checkpoint(run.op_id, kind, snap.commit, ref, message)
    staged, head = captured.snapshot.staged_tree, captured.snapshot.head_oid
    if run.base is not None:
        text = (
            phasecommit.command_message(label, run.name, run.argv)
            if kind == CheckpointKind.OP_EXEC
            else phasecommit.message(label, run.name, message, argv=run.argv)
        )
        made = phasecommit.commit_phase(run.private, journal, run.op_id, captured, text, run.base)
        if made is not None:
            journal.set_commit_sha(run.op_id, seq, made.commit)
            staged, head = made.staged, made.commit
    return _State(journal.checkpoints(run.op_id)[-1], captured.snapshot.files_tree, staged, head)


def _apply(run: _Run) -> OpRow:
    assert run.result is not None
    done = apply_result(
        run.ctx,
        op_id=run.op_id,
        name=run.name,
        pre=run.pre,
        result=_result(run.ctx.repo, run.result),
    )
    run.applied, run.merged = done.applied, done.merged
    run.problems += done.problems
    if done.applied:
        return _close(run, status=OpStatus.COMMITTED)
    if done.not_applied == NotApplied.INTERRUPT:
        return _fail(run, FailedPhase.INTERRUPT, keep=False)
    return _not_applied(
        run, done.not_applied or NotApplied.BUSY, done.why or "", conflicts=done.conflicts
    )


# --- endings -------------------------------------------------------------------------------------
def _fail(run: _Run, failed_phase: FailedPhase, *, keep: bool = True) -> OpRow:
    """The user's worktree was never touched; keep what the private one holds, then close."""
    if keep and run.private is not None:
        try:
            journal = run.ctx.journal
            ref = op_ref(run.op_id, CheckpointKind.RESCUE, len(journal.checkpoints(run.op_id)) + 1)
            captured = snapshot.capture(run.private, message="git-atomic probe", ref=None)
            snap = isolation.as_user_checkpoint(
                run.private,
                captured.snapshot,
                head_ref=run.pre.head_ref,
                root=run.ctx.repo.root,
                private_root=run.private.root,
                message=f"git-atomic rescue: {run.name} [{run.op_id}] as it failed",
            )
            run.private.update_refs([f"create {ref} {snap.commit}"], message="git-atomic: rescue")
            journal.add_checkpoint(
                run.op_id,
                CheckpointKind.RESCUE,
                snap.commit,
                ref,
                "the private worktree when the operation failed",
            )
        except AtomicError as exc:  # e.g. the command left unmerged paths: nothing to keep
            run.problems.append(f"its private worktree could not be kept: {exc.message}")
    run.problems += _branches_moved(run)
    return _close(run, status=OpStatus.ROLLED_BACK, failed_phase=failed_phase)


def _not_applied(
    run: _Run, reason: NotApplied, why: str, *, conflicts: Sequence[str] = ()
) -> OpRow:
    run.reason, run.why, run.conflicts = reason, why, list(conflicts)
    return _close(run, status=OpStatus.ROLLED_BACK, failed_phase=FailedPhase.VALIDATE)


def _close(run: _Run, *, status: OpStatus, failed_phase: FailedPhase | None = None) -> OpRow:
    journal = run.ctx.journal
    op = journal.op(run.op_id) or _gone(run)
    detail: dict[str, object] = dict(op.details)
    detail.update(applied=run.applied, merged=run.merged)
    if run.reason is not None:
        detail.update(not_applied=run.reason, why=run.why, conflicts=run.conflicts)
    if run.problems:
        detail["problems"] = op.details.get("problems", []) + run.problems
    return Engine(run.ctx).close(
        run.op_id,
        status=status,
        failed_phase=failed_phase,
        worktree=run.ctx.worktree,
        detail=detail,
        coverage=run.coverage,
    )


def _gone(run: _Run) -> OpRow:
    raise RefusedError(f"operation {run.op_id} vanished from the journal while it ran")


def _branches_moved(run: _Run) -> list[str]:
    """Worktrees share their branches: one the command created or moved is not private. Say so
    (moving it back could undo what the user did meanwhile in another worktree)."""
    repo = run.ctx.repo
    now = repo.refs("refs/heads/")
    private = os.path.normpath(repo.state_dir / isolation.ISOLATED_DIR)
    checked_out = {
        b
        for b, where in repo.other_worktree_heads().items()
        if os.path.dirname(os.path.normpath(where)) != private
    } | {run.pre.head_ref}
    moved = sorted(
        b
        for b in set(now) | set(run.pre.branches)
        if now.get(b) != run.pre.branches.get(b) and b not in checked_out
    )
    if not moved:
        return []
    names = ", ".join(b.removeprefix("refs/heads/") for b in moved)
    return [
        f"branches changed while it ran are left as they are (worktrees share branches): {names}"
    ]


def _drop_private(run: _Run) -> None:
    if run.private is None and not run.path.exists():
        return
    if not isolation.remove_worktree(run.ctx.repo, run.path):
        run.problems.append(
            f"could not remove its private worktree {run.path}; `git atomic recover` tries again"
        )
    run.private = None


# --- telling -------------------------------------------------------------------------------------
def _as_json(run: _Run, op: OpRow) -> commandresults.IsolatedResult:
    isolated = commandresults.Isolated(
        applied=run.applied,
        merged=run.merged,
        not_applied=run.reason,
        why=run.why,
        conflicts=tuple(run.conflicts),
        result=run.result.row.sha if run.result else None,
        private_worktree=str(run.path),
        apply_by_hand=tuple(_recipes(run)),
    )
    return commandresults.IsolatedResult(results.operation(run.ctx.journal, op), isolated)


def _tell(run: _Run, op: OpRow) -> None:
    journal = run.ctx.journal
    for gate in journal.gates(op.id):
        if not gate.passed:
            output.say(f"git-atomic: gate {gate.name} failed: {gate.message}")
            if gate.output_tail:
                output.say("  " + gate.output_tail.replace("\n", "\n  "))
            output.say(f"  full output: {gate.log_path}")
    for problem in run.problems:
        output.say(f"git-atomic: warning: {problem}")
    head = f"git-atomic: {op.name} [{op.id}]"
    if op.status == OpStatus.COMMITTED:
        output.say(output.summary_line(journal, op))
        output.say(
            f"{head}: applied to your worktree"
            + (", merged with the changes made there meanwhile" if run.merged else "")
            + " (`git atomic undo` reverses the apply)"
        )
    elif run.reason == NotApplied.CONFLICT:
        output.say(
            f"{head} passed its gates but conflicts with changes made in your worktree "
            f"meanwhile ({run.why}): " + ", ".join(run.conflicts)
        )
        output.say("  your worktree was not touched; to apply the result by hand:")
        output.say("\n".join(f"    {line}" for line in _recipes(run)))
    elif run.reason is not None:
        output.say(f"{head} passed its gates but was not applied: {run.why}")
        output.say("  your worktree was not touched; to apply the result by hand:")
        output.say("\n".join(f"    {line}" for line in _recipes(run)))
    else:
        why = output.failure_words(op, otherwise="failed")
        output.say(
            f"{head} rolled back ({why}) in its private worktree; your worktree was not "
            f"touched. What it did is kept: `git atomic show {op.id} --diff`"
        )


def _recipes(run: _Run) -> list[str]:
    if run.reason is None or run.result is None:
        return []
    pre, res = run.pre.commit, run.result.row.sha
    stage = " ".join(shlex.quote(p) for p in run.conflicts[:20]) or "PATH..."
    lines = [
        f"git atomic rollback --to {res} --whole   # take the result as it is (your state is "
        "saved first; `git atomic undo` brings it back)",
        f"git add -- {stage} && git diff --binary {pre}:files {res}:files | git apply -3"
        "   # merge it into your files, from the top of the worktree",
    ]
    if run.result.head_oid and run.result.head_oid != run.pre.head_oid:
        lines.append(f"git log {run.pre.head_oid}..{run.result.head_oid}   # its commits")
    return lines
