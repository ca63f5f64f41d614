"""`git atomic run`: one command as one atomic operation."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Callable, Sequence

from git_atomic.core import children
from git_atomic.core.config import Config, GateSpec, gates_to_run, load_config
from git_atomic.core.errors import (
    GitError,
    IndexLockHeld,
    RolledBackError,
    SigningFailed,
    UnholdableName,
    UsageError,
)
from git_atomic.core.journalrows import OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus
from git_atomic.engine import discovery, git, gitlinks, gitstate, indexerrors, layoutcheck
from git_atomic.engine.early import Early
from git_atomic.ops import context, output, phasecommit
from git_atomic.ops.conclude import conclude
from git_atomic.ops.execution import failed_phase, run_command
from git_atomic.ops.operation import Engine
from git_atomic.ops.rollbackop import ROLLBACK_FAILURES, rollback_op
from git_atomic.ops.validation import validate_and_finish

WAIT_LIMIT_S = 600.0
# In an operation's details: the state of the git command that ran it between its steps (a
# bisect, a rebase's exec: engine/gitdriving.py).
_DRIVEN_BY = "driven_by"
_BISECT = "a bisect"  # (gitstate.IN_PROGRESS's words, as gitdriving.BISECT)


def run(
    *,
    argv: Sequence[str],
    name: str | None,
    gates: Sequence[str],
    no_gates: bool,
    timeout: float | None,
    history: str | None,
    isolate: bool,
    wait: bool,
    json_out: bool,
    all_gates: bool = False,
    early: Early | None = None,
    ok_exit: tuple[int, ...] | None = None,
) -> int:
    _check_command(argv)
    if isolate:
        from git_atomic.commands.isolate import run_isolated

        return run_isolated(
            argv=argv,
            name=name,
            gates=gates,
            no_gates=no_gates,
            timeout=timeout,
            history=history,
            wait=wait,
            json_out=json_out,
            all_gates=all_gates,
            ok_exit=ok_exit,
        )
    with context.opened(
        "run", wait=WAIT_LIMIT_S if wait else None, early=early, until_closed=wait, driven_ok=True
    ) as ctx:
        config = load_config(ctx.repo.root)
        mode = HistoryMode.parse(history, what="--history") if history else config.history
        driven = _driven_by(ctx.repo)
        # A commit would move HEAD off the commit bisect judges (`git bisect run` marks HEAD):
        # in a bisect, a result is kept as in shadow mode, said after the outcome's line. (A
        # rebase's exec may commit: the rebase goes on from there, as for a `git commit`.)
        shadowed = driven == _BISECT and mode == HistoryMode.COMMITS
        mode = HistoryMode.SHADOW if shadowed else mode
        specs = _runnable_gates(ctx, config, gates, no_gates=no_gates)
        op_name = name or os.path.basename(argv[0]) or "run"
        engine = Engine(ctx)
        oks = ok_exit or config.command_ok_exit(argv)
        command = _Command(argv, specs, timeout, json_out, all_gates, oks)

        def work() -> OpRow:
            op = engine.begin(
                op_name,
                history=mode,
                kind=OpKind.RUN,
                argv=argv,
                keep_owner=True,
                detail={_DRIVEN_BY: driven} if driven is not None else None,
            )
            return _execute(engine, op, lambda: _run_then_validate(engine, op, command))

        return conclude(
            ctx.journal,
            work,
            json_out=json_out,
            tell=lambda op: _tell(ctx, op, shadowed=shadowed),
        )


def _tell(ctx: context.Context, op: OpRow, *, shadowed: bool) -> None:
    output.tell_outcome(ctx.journal, op, repo=ctx.repo)
    if shadowed and op.status == OpStatus.COMMITTED:
        output.say(
            "git-atomic: a bisect is in progress: nothing was committed on the commit it "
            "checked out (kept as with --history shadow)"
        )


def _driven_by(repo: git.Repo) -> str | None:
    if gitstate.in_progress(repo) is None:
        return None
    from git_atomic.engine import gitdriving  # only where git's state is in progress

    return gitdriving.driving(repo)


def _check_command(argv: Sequence[str]) -> None:
    """Refuse no command at all, or one whose program cannot be found, before anything opens."""
    if not argv:
        raise UsageError("run: give the command after --, e.g. git atomic run -- make fmt")
    missing = children.missing_program(argv, cwd=discovery.current_folder())
    if missing is not None:
        raise UsageError(f"run: cannot run the command: {missing}; nothing was started")


def _runnable_gates(
    ctx: context.Context, config: Config, gates: Sequence[str], *, no_gates: bool
) -> tuple[GateSpec, ...]:
    """The gates this run asks for, each one's program checked before the command starts."""
    specs = gates_to_run(config, gates, no_gates=no_gates)
    from git_atomic.ops.gates import check_programs

    check_programs(specs, root=ctx.repo.root)
    return specs


def _execute(engine: Engine, op: OpRow, work: Callable[[], OpRow]) -> OpRow:
    """The operation's `work` (its command, then its gates), guarded: an interrupt before it
    starts, or an error in it, rolls the operation back."""
    if children.INTERRUPTS.received is not None:
        return rollback_op(engine, op, failed_phase=FailedPhase.INTERRUPT)
    try:
        return work()
    except IndexLockHeld:
        raise  # the rollback itself was refused before it wrote anything: `recover` does it
    except BaseException as error:
        # A bug or a git failure mid-way: put the tree back before the error surfaces.
        current = engine.journal.op(op.id)
        if current is not None and current.status == OpStatus.OPEN:
            why = _alternates_removed(engine, current) if isinstance(error, GitError) else None
            # If even that fails (git, the disk, the journal), the operation stays open with its
            # intent recorded: the next command reports it interrupted and `recover` finishes
            # the job. Anything else is a bug: it reaches the error log, with this error as context.
            closed = None
            with contextlib.suppress(*ROLLBACK_FAILURES):
                closed = rollback_op(engine, current, failed_phase=FailedPhase.EXEC)
            if why is not None and closed is not None:
                raise RolledBackError(
                    f"{why}; {op.name} [{op.id}] could not be checkpointed without it and was "
                    "rolled back, the file written back",
                    hint="`git atomic undo` brings the operation's files back",
                ) from error
        raise


def _alternates_removed(engine: Engine, op: OpRow) -> str | None:
    """Where git failed after the command removed the `objects/info/alternates` the PRE-OP
    had (a `clone --shared`'s: the objects it borrows are unreadable): the line that says so."""
    if not op.details.get("alternates") or os.path.lexists(
        engine.repo.common_dir / "objects" / "info" / "alternates"
    ):
        return None
    from git_atomic.engine import alternates

    return alternates.removed(engine.repo, op.details)


@dataclass(frozen=True)
class _Command:
    """What `run` was asked to do, once the operation is open."""

    argv: Sequence[str]
    specs: Sequence[GateSpec]
    timeout: float | None
    json_out: bool
    all_gates: bool
    ok_exit: tuple[int, ...]


def _run_then_validate(engine: Engine, op: OpRow, command: _Command) -> OpRow:
    """Run the command, record what it left as OP-EXEC, then run the gates; a command that failed
    or left a state git cannot go on from is rolled back."""
    argv, json_out = command.argv, command.json_out
    res = run_command(engine, op, argv, timeout=command.timeout, json_out=json_out)
    failed = _why_not_go_on(engine, op, res, command.ok_exit)
    if failed is not None:
        return rollback_op(engine, engine.journal.op(op.id) or op, failed_phase=failed)
    try:
        exec_row = engine.checkpoint(
            op,
            CheckpointKind.OP_EXEC,
            shlex.join(argv)[:200],
            commit_message=phasecommit.command_message("OP-EXEC", op.name, argv),
        )
    except indexerrors.UnmergedPaths:
        output.say("git-atomic: the command left unmerged paths in the index")
        return rollback_op(engine, op, failed_phase=FailedPhase.EXEC)
    except indexerrors.UnreadableIndex as error:
        output.say(f"git-atomic: the command left {error.left} ({error.reason})")
        return rollback_op(engine, op, failed_phase=FailedPhase.EXEC)
    except SigningFailed as error:
        output.say(f"git-atomic: {error}; so the operation is rolled back")
        unsigned = "its commit could not be signed (commit.gpgSign)"
        engine.journal.set_detail(op.id, {**op.details, output.NOT_KEPT: unsigned})
        return rollback_op(engine, engine.journal.op(op.id) or op, failed_phase=FailedPhase.EXEC)
    except UnholdableName as error:
        # Its refusal says "nothing was changed": true of a checkpoint asked for, not here.
        output.say(
            f"git-atomic: the command left {error.shown}, {error.what}, which git refuses to "
            "track: no checkpoint can hold it, so it stays where it is"
        )
        return rollback_op(engine, op, failed_phase=FailedPhase.EXEC)
    if children.INTERRUPTS.received is not None:
        return rollback_op(engine, op, failed_phase=FailedPhase.INTERRUPT)
    return validate_and_finish(
        engine,
        op,
        command.specs,
        all_gates=command.all_gates,
        progress=not json_out and sys.stderr.isatty(),
        just_taken=exec_row,
    )


def _why_not_go_on(
    engine: Engine, op: OpRow, res: children.ChildResult, ok_exit: tuple[int, ...]
) -> FailedPhase | None:
    """Why the command's run cannot go on to OP-EXEC (saying so where the exit does not), or
    None."""
    failed = failed_phase(res, ok_exit)
    if failed is not None:
        return failed
    left = _what_it_left(engine, op)
    if left is not None and res.exit_code:
        # An exit status `--ok-exit` counts as success: the rollback says so, not "exited 1".
        engine.journal.set_detail(op.id, {**op.details, output.EXIT_OK: True})
    return left


def _what_it_left(engine: Engine, op: OpRow) -> FailedPhase | None:
    """FailedPhase.EXEC where the command left a state git cannot go on from (saying which),
    else None."""
    # The git dir moved away or pointed elsewhere: refused (exit 3), the operation left for
    # `recover` once it is back, before anything of git's is read there.
    layoutcheck.check_layout(engine.repo)
    if gitlinks.head_damaged(engine.repo.git_dir) or gitlinks.branches_on_ours(engine.repo):
        # git refuses such a repository: nothing to validate or commit.
        output.say(
            "git-atomic: the command left .git/HEAD as git refuses it (a link, say), or HEAD "
            "or a branch on one of git-atomic's own refs (refs/atomic/)"
        )
        return FailedPhase.EXEC
    if "core_place" in op.details:  # coreplace.BEFORE
        from git_atomic.engine import coreplace

        moved = coreplace.moved_away(engine.repo, op.details)
        if moved is not None:  # nothing anyone could validate, commit or roll back later
            output.say(f"git-atomic: the command set {moved}")
            return FailedPhase.EXEC
    left = gitstate.in_progress(engine.repo)
    if left is not None and left == op.details.get(_DRIVEN_BY):
        left = None  # the bisect or rebase it ran in (engine/gitdriving.py), not one it left
    if left is not None:
        # A merge or rebase waiting for the user is no state to validate or commit.
        output.say(f"git-atomic: the command left {left} in progress")
        return FailedPhase.EXEC
    if context.left_index_lock(engine.ctx, op):
        # Nor is an index git refuses to write: the rollback takes the lock, as after a failure.
        output.say("git-atomic: the command left a stale .git/index.lock")
        return FailedPhase.EXEC
    return None
