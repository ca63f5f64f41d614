"""`begin`, `checkpoint`, `commit`, `abort`: an operation worked in steps, across processes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from git_atomic.commands import theirs
from git_atomic.core.config import gates_to_run, load_config
from git_atomic.core.errors import BusyError, Exit, RefusedError, UsageError
from git_atomic.core.journalrows import OpRow, Owner
from git_atomic.core.vocab import CheckpointKind, EventKind, HistoryMode, OpKind, OpStatus
from git_atomic.engine import git
from git_atomic.engine.early import Early
from git_atomic.ops import context, output, results
from git_atomic.ops.conclude import conclude
from git_atomic.ops.gates import check_programs
from git_atomic.ops.operation import Engine
from git_atomic.ops.rollbackop import rollback_op
from git_atomic.ops.validation import validate_and_finish

WAIT_LIMIT_S = 600.0


def begin(
    *,
    name: str,
    history: str | None,
    wait: bool,
    json_out: bool,
    kind: OpKind = OpKind.SESSION,
    early: Early | None = None,
) -> int:
    with context.opened(
        "begin", wait=WAIT_LIMIT_S if wait else None, early=early, until_closed=wait
    ) as ctx:
        config = load_config(ctx.repo.root)
        engine = Engine(ctx)
        mode = HistoryMode.parse(history, what="--history") if history else config.history
        op = engine.begin(name, history=mode, kind=kind, detail=_turn_of(ctx.repo))
        engine.tell_too_large()
        if json_out:
            output.emit(results.operation(ctx.journal, op))
        else:
            pre = ctx.journal.checkpoints(op.id)[0]
            output.say(
                f"git-atomic: opened {op.name} [{op.id}], PRE-OP {output.short(pre.sha)}; "
                "finish with `git atomic commit` or `git atomic abort`"
            )
        return 0


def _turn_of(repo: git.Repo) -> dict[str, object] | None:
    """The agent turn whose tool call runs this `begin`, for its detail (turncaller.py); only
    looked for where a turn's record may be."""
    if not os.path.isdir(repo.state_dir / "turns"):
        return None
    from git_atomic.agents import turncaller, turnstate

    record = turncaller.calling_turn(repo.state_dir, repo.worktree_id, os.environ)
    if record is None:
        return None
    key = turnstate.session_key(record.session)
    return {turncaller.OPENED_IN_TURN: {"op_id": record.op_id, "session": key}}


@contextmanager
def _working_on_open_op(
    command: str,
    early: Early | None = None,
    *,
    check_state: bool = True,
) -> Iterator[tuple[context.Context, Engine, OpRow]]:
    with context.opened(command, early=early, check_state=False) as ctx:
        op = context.refuse_if_interrupted(ctx)
        why = context.git_state_in_the_way(ctx.repo, open_op=op.id if op else None)
        if check_state and why:
            raise RefusedError(why)
        if op is None:
            raise UsageError(
                f"{command}: no operation is open in this worktree "
                "(start one with `git atomic begin NAME`)" + _never_recorded(ctx)
            )
        theirs.refuse_open(ctx, command, op)  # another live MCP session's: nothing changed
        ctx.journal.set_owner(op.id, Owner.this_process())
        try:
            yield ctx, Engine(ctx), op
        finally:
            current = ctx.journal.op(op.id)
            # A state change left half done keeps its (now dead) owner: that is what marks the
            # operation interrupted, so the next command sends the user to `recover`.
            if current is not None and current.status == OpStatus.OPEN and current.pending is None:
                ctx.journal.set_owner(op.id, None)


def _never_recorded(ctx: context.Context) -> str:
    """Where this repository's journal holds no operation at all and our refs no checkpoint:
    one begun here went with the git dir it was in (`rm -rf .git; git init`), its history and
    checkpoints with it; said, not passed over as a `commit` typed by mistake."""
    if ctx.journal.ops(limit=1) or ctx.repo.refs("refs/atomic/ops/", "refs/atomic/turns/"):
        return ""
    return (
        "; this repository's journal records no operation and it holds no checkpoint: if you "
        "began one here, it went with the git dir it was in (`rm -rf .git`, `git init`?), with "
        "its history and checkpoints: nothing can be taken back, the files are as they are"
    )


def checkpoint(*, message: str | None, json_out: bool) -> int:
    with _working_on_open_op("checkpoint") as (ctx, engine, op):
        context.refuse_left_index_lock(ctx, op)
        context.refuse_head_on_ours(ctx)
        stage = (
            sum(1 for c in ctx.journal.checkpoints(op.id) if c.kind == CheckpointKind.OP_EXEC) + 1
        )
        row = engine.checkpoint(op, CheckpointKind.OP_EXEC, message or f"stage {stage}")
        engine.tell_too_large()
        current = ctx.journal.op(op.id)
        assert current is not None
        if json_out:
            output.emit(results.operation(ctx.journal, current))
        else:
            output.say(
                f"git-atomic: {op.name} [{op.id}] OP-EXEC stage {stage} {output.short(row.sha)}"
            )
        return 0


def commit(*, gates: Sequence[str], no_gates: bool, all_gates: bool, json_out: bool) -> int:
    with _working_on_open_op("commit") as (ctx, engine, op):
        context.refuse_left_index_lock(ctx, op)
        context.refuse_head_on_ours(ctx)
        config = load_config(ctx.repo.root)
        specs = gates_to_run(config, gates, no_gates=no_gates)
        check_programs(specs, root=ctx.repo.root)
        return conclude(
            ctx.journal,
            lambda: validate_and_finish(
                engine,
                op,
                specs,
                all_gates=all_gates,
                progress=not json_out and sys.stderr.isatty(),
            ),
            json_out=json_out,
            tell=lambda done: output.tell_outcome(ctx.journal, done, repo=ctx.repo),
        )


def abort(*, json_out: bool, early: Early | None = None) -> int:
    try:
        return _abort(json_out=json_out, early=early)
    except RefusedError as exc:
        # The operation made HEAD something git refuses (a link outside, a folder, nothing),
        # packed-refs a link git would read every ref through, or a linked worktree's
        # commondir no file of git's: set aside as its rollback would (setaside.py), its
        # PRE-OP HEAD put back, then the abort as always.
        from git_atomic.ops import setaside

        if early is not None or isinstance(exc, BusyError) or not setaside.found_again():
            raise
        return _abort(json_out=json_out, early=None)


def _abort(*, json_out: bool, early: Early | None) -> int:
    # A merge or rebase started inside the operation is the operation's: abort clears it.
    with _working_on_open_op("abort", early, check_state=False) as (ctx, engine, op):
        done = rollback_op(engine, op, failed_phase=None, event=EventKind.ABORT)
        left = [
            *(done.details.get("changed_since_rescue") or ()),
            *(done.details.get("refs_moved_since_rescue") or ()),
            *(done.details.get("not_restored") or ()),
        ]
        if json_out:
            output.emit(results.operation(ctx.journal, done))
        else:
            for problem in done.details.get("problems") or ():
                output.say(f"git-atomic: warning: {problem}")
            back = "not entirely at PRE-OP" if left else "back at PRE-OP"
            if not left and output.left_named(done.details):
                back += ", except what the warnings above name"
            mended = done.details.get("reflogs_mended") or []
            if mended:  # reflogs it rewrote, written back (reflogkeep.mend)
                back += f"; {output.mended_words(mended)}"
            output.say(
                f"git-atomic: {op.name} [{op.id}] aborted; the tree is {back} "
                "(`git atomic undo` brings the work back)"
            )
        return int(Exit.REFUSED) if left else 0
