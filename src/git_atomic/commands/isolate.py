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
worktree was never touched. Validated but not applied (a conflict, the worktree stayed busy, or
your branch no longer holds the commit the run started from: the command moved it) ->
rolled_back with failed_phase "validate" (exit 1): applying is the last check of POST-OP, and
the documented phases (docs/reference.md) stay the only values. The JSON's "isolated" object
says why and how to apply the result by hand.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Sequence

from git_atomic.commands.isolated_run import (
    IsolatedRun,
    PhaseState,
    as_json,
    branches_moved,
    close,
    close_unless_applying,
    drop_private,
    fail,
    file_checkpoint,
    gone,
    not_applied,
    tell,
)
from git_atomic.core import children, failpoints, records
from git_atomic.core.config import GateSpec, gates_to_run, load_config
from git_atomic.core.errors import RefusedError
from git_atomic.core.journalrows import OpRow, Owner
from git_atomic.core.lock import WorktreeLock
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus, Phase
from git_atomic.engine import checkpoint, discovery, git, isolation, managedbranch, snapshot
from git_atomic.ops import output, phasecommit
from git_atomic.ops.conclude import conclude
from git_atomic.ops.context import (
    CHILD_RECORD,
    Context,
    check_git_state,
    open_journal,
)
from git_atomic.ops.execution import failed_phase
from git_atomic.ops.gates import check_programs
from git_atomic.ops.isolation_apply import NotApplied, Result, apply_result, take_worktree_free
from git_atomic.ops.isolation_recovery import cleanup_stale_isolated
from git_atomic.ops.operation import Engine, new_op_id, op_ref
from git_atomic.ops.validation import validate


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
            managedbranch.refuse_commits_on_managed(repo)
        if repo.read_head()[1] is None:
            raise RefusedError(
                "run --isolate starts its private worktree from HEAD's commit, "
                "and HEAD has none yet",
                hint="make a first commit",
            )
        cleanup_stale_isolated(engine=Engine(ctx), finish_applies=False)
        started: list[IsolatedRun] = []

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
            tell=lambda op: tell(started[0], op),
            as_json=lambda op: as_json(started[0], op),
        )
    finally:
        ctx.lock.release()
        journal.close()


# --- the phases ----------------------------------------------------------------------------------
def _start(
    ctx: Context, *, argv: Sequence[str], name: str, history: HistoryMode, wait: bool
) -> IsolatedRun:
    repo, journal = ctx.repo, ctx.journal
    take_worktree_free(ctx, wait=wait)
    try:
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
    return IsolatedRun(ctx, op_id, name, history, tuple(argv), path, captured.snapshot, base)


def _execute(
    run: IsolatedRun,
    specs: Sequence[GateSpec],
    *,
    timeout: float | None,
    json_out: bool,
    all_gates: bool,
    ok_exit: tuple[int, ...],
) -> OpRow:
    try:
        if children.INTERRUPTS.received is not None:
            return fail(run, FailedPhase.INTERRUPT)
        engine = _open_private(run)
        failed = _run_command(run, timeout=timeout, json_out=json_out, ok_exit=ok_exit)
        if failed is not None:
            return fail(run, failed)
        done = _checkpoint(run, engine, CheckpointKind.OP_EXEC, shlex.join(run.argv)[:200])
        if children.INTERRUPTS.received is not None:
            return fail(run, FailedPhase.INTERRUPT, keep=False)
        verdict = validate(
            engine,
            run.op_id,
            specs,
            worktree=run.ctx.worktree,  # the coverage ratchet compares with the user's history
            all_gates=all_gates,
            progress=not json_out and sys.stderr.isatty(),
        )
        if verdict.failed_phase is not None:
            return fail(run, verdict.failed_phase, keep=False)
        run.coverage = verdict.coverage
        run.result = _post_op(run, engine, done, gates_ran=verdict.gates_ran)
        failpoints.hit("isolate:after-post-op")
        if run.private is not None:  # what it wrote into a submodule's folder stays there
            from git_atomic.ops import isolatedsubmodules

            run.problems += isolatedsubmodules.written_into(run.private)
        drop_private(run)
        return _apply(run)
    except BaseException:
        close_unless_applying(run)
        raise
    finally:
        children.CHILDREN.path = None
        drop_private(run)


def _open_private(run: IsolatedRun) -> Engine:
    """OP-EXEC begins: the private worktree, detached at HEAD's commit, brought to PRE-OP; an
    engine of its own checkpoints it."""
    journal = run.ctx.journal
    journal.set_phase(run.op_id, Phase.EXEC)
    assert run.pre.head_oid is not None
    run.private = isolation.add_worktree(run.ctx.repo, run.path, run.pre.head_oid)
    from git_atomic.engine import isolatedconfig  # run --isolate alone

    isolatedconfig.carry(run.ctx.repo, run.private)
    # The command's process group, for `recover` to end if we are killed under it.
    children.CHILDREN.path = run.private.git_dir / CHILD_RECORD
    failpoints.hit("isolate:after-worktree")
    isolation.bring_to(run.private, run.pre)
    return Engine(Context(run.private, journal, WorktreeLock(run.private.git_dir / "atomic.lock")))


def _run_command(
    run: IsolatedRun, *, timeout: float | None, json_out: bool, ok_exit: tuple[int, ...]
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
        escapees_under=run.private.root,
    )
    run.ctx.journal.set_command_result(run.op_id, exit_code=res.exit_code, duration=res.duration_s)
    if res.error:
        output.say(f"git-atomic: cannot run the command: {res.error}")
    return failed_phase(res, ok_exit)


def _post_op(run: IsolatedRun, engine: Engine, done: PhaseState, *, gates_ran: bool) -> PhaseState:
    if not gates_ran and done.row.commit_sha is None:
        # Nothing ran since OP-EXEC and it made no commit: that checkpoint is the result.
        row = engine.alias_checkpoint(
            run.ctx.journal.op(run.op_id) or gone(run),
            done.row,
            CheckpointKind.POST_OP,
            "validation complete",
        )
        return records.replace(done, row=row)
    return _checkpoint(run, engine, CheckpointKind.POST_OP, "validation complete")


def _result(repo: git.Repo, state: PhaseState) -> Result:
    """What comes home: the private worktree's files, index, HEAD and empty folders."""
    held = checkpoint.load(repo, state.row.sha)
    return Result(
        state.files_tree,
        state.staged_tree,
        state.head_oid,
        empty_folders=held.empty_folders,
        all_empty_folders=held.all_empty_folders,
        index_flags=held.index_flags,
    )


def _checkpoint(run: IsolatedRun, engine: Engine, kind: CheckpointKind, message: str) -> PhaseState:
    """A checkpoint of the private worktree, filed as the user's (HEAD on the user's branch);
    in commits mode also the phase's commit on the private detached HEAD."""
    assert run.private is not None
    journal = run.ctx.journal
    label = kind.label
    captured = snapshot.capture(
        run.private,
        message="git-atomic probe",
        ref=None,
        untracked_of_op=run.base.untracked if run.base is not None else None,
        for_commit=run.base is not None,
    )
    subject = f"git-atomic {label}: {run.name} [{run.op_id}]"
    seq = file_checkpoint(run, captured.snapshot, kind, subject, message)
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
    return PhaseState(
        journal.checkpoints(run.op_id)[-1], captured.snapshot.files_tree, staged, head
    )


def _apply(run: IsolatedRun) -> OpRow:
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
        return close(run, status=OpStatus.COMMITTED)
    if done.not_applied == NotApplied.INTERRUPT:
        return fail(run, FailedPhase.INTERRUPT, keep=False)
    # Named, with their way back (or made again): your branch the command moved back, and
    # every other it made, moved or deleted, whatever kept the result out (a conflict too).
    run.problems += branches_moved(run)
    return not_applied(
        run, done.not_applied or NotApplied.BUSY, done.why or "", conflicts=done.conflicts
    )
