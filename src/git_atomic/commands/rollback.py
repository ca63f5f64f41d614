"""`rollback`: take back an operation's effect, step back inside an open one, or (asked for by
name) go back to a whole earlier state.

An operation's *effect* is the change from its PRE-OP to the state it left; an agent turn's, the
sum of its tool calls' steps (effect.operation_steps).
  - `rollback --op ID` of a closed operation, and immediate `rollback` (no --op, no --to) of the
    newest operation when it is closed, take that effect back: exactly PRE-OP when nothing
    changed since (files, index, HEAD, branches), else on top of what changed since, three-way;
    later commits stay on their branch. Where the effect and later changes overlap nothing
    changes: exit 3, the overlaps named. The operation becomes rolled_back (undo marks it back).
    An operation already rolled back has nothing further to take back.
  - Inside an open operation everything since its PRE-OP is its own (one operation per
    worktree): immediate `rollback` steps back through its *steps*, its PRE-OP and OP-EXEC
    checkpoints (rescue checkpoints are never steps), each restored exactly: the newest step
    whose files, index or special files differ from the worktree's now ("where the tree
    already equals it, to the checkpoint before that", and so on past steps that changed
    none). The operation stays open; at its PRE-OP there is nothing further: the command says
    so, changes nothing and exits 0. `rollback --op` of the open operation closes it, back at
    its exact PRE-OP.
  - A whole earlier state only when asked for: `rollback --op ID --whole` (exact PRE-OP of a
    closed operation, dropping what came after) and `rollback --to CHECKPOINT --whole`; a
    dry run lists every path and every commit it would drop. `--to` without `--whole` is the
    open operation's own checkpoints only, or selective: with paths, only those paths' files
    and index entries (HEAD and branches untouched).
  - No operation at all in this worktree: exit 2, nothing to roll back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from git_atomic.commands import moving, rollbacktarget, theirs
from git_atomic.commands.query import resolve_op
from git_atomic.core import records
from git_atomic.core.errors import UsageError
from git_atomic.core.journalrows import OpRow
from git_atomic.core.printable import printable
from git_atomic.core.vocab import CheckpointKind, EventKind, OpStatus
from git_atomic.engine import checkpoint, gitlinks, gitstate, pathcheck, snapshot
from git_atomic.ops import context, dryrun, effect, effectsteps, moves, output, samefolder, steps


def rollback(
    *,
    op: str | None,
    to: str | None,
    paths: Sequence[str],
    dry_run: bool,
    json_out: bool,
    whole: bool = False,
) -> int:
    _check_arguments(op=op, to=to, paths=paths, whole=whole)
    # A merge, rebase... in progress is refused (context.check_git_state), but where it is
    # exactly what the operation whose effect is taken back left (`undo` brought it back):
    # taking that effect back clears it, as the operation's own rollback did (_door).
    with context.opened("rollback", check_state=False, read_only=dry_run) as ctx:
        if to is not None or (op is None and paths):
            context.check_git_state(ctx.repo)
        wanted = pathcheck.worktree_paths(ctx.repo.root, Path.cwd(), paths) if paths else ()
        open_op = moving.guard(ctx)
        context.refuse_index_lock(ctx.repo)
        if open_op is None:  # yours, where no operation is open to have made it (as `undo`)
            snapshot.refuse_blocked_index(ctx.repo)
            gitlinks.refuse_found(ctx.repo.git_dir, ctx.repo.common_dir)
        current = None
        subject: OpRow | None
        if op is not None:
            return _named_op(ctx, op, open_op, whole=whole, dry_run=dry_run, json_out=json_out)
        if to is not None:
            move, subject = rollbacktarget.to_checkpoint(ctx, to, wanted, open_op, whole=whole)
        else:
            newest = ctx.journal.ops(worktree=ctx.worktree, limit=1)
            if not newest:
                raise UsageError(
                    "rollback: no operation in this worktree yet; nothing to roll back"
                )
            if not dry_run:  # (another live session's: refused unless named with --op)
                theirs.refuse_newest(ctx, newest[0])
            current = moves.probe(ctx.repo, since=newest[0].started_at)
            if newest[0].status != OpStatus.OPEN:
                return _take_back(ctx, newest[0], current, dry_run=dry_run, json_out=json_out)
            context.check_git_state(ctx.repo)
            found = rollbacktarget.immediate(ctx, newest[0], current, json_out=json_out)
            if found is None:
                return 0
            move, subject = found
        stays_open = open_op is not None and subject is not None and subject.id == open_op.id
        return moving.go(
            ctx,
            move,
            subject,
            open_op if stays_open else None,
            current,
            dry_run=dry_run,
            json_out=json_out,
            close_open=False,
        )


def _check_arguments(*, op: str | None, to: str | None, paths: Sequence[str], whole: bool) -> None:
    """Refuse a combination of --op, --to, paths and --whole that asks for no one thing."""
    if op is not None and to is not None:
        raise UsageError("rollback: give --op or --to, not both")
    if paths and to is None:
        raise UsageError("rollback: paths need a checkpoint: rollback --to CHECKPOINT -- PATH...")
    if whole and (paths or (op is None and to is None)):
        raise UsageError(
            "rollback --whole: a whole earlier state is `--op ID --whole` or "
            "`--to CHECKPOINT --whole`, without paths"
        )


def _named_op(
    ctx: context.Context,
    op: str,
    open_op: OpRow | None,
    *,
    whole: bool,
    dry_run: bool,
    json_out: bool,
) -> int:
    """`rollback --op ID`: a closed operation's effect taken back, or its exact PRE-OP (the open
    operation's, or asked for with --whole)."""
    named = resolve_op(ctx.journal, op)
    if named.status != OpStatus.OPEN and not whole:
        rollbacktarget.whole_op(
            ctx, named, open_op
        )  # its refusals (another worktree's, one open here)
        return _take_back(ctx, named, None, dry_run=dry_run, json_out=json_out)
    context.check_git_state(ctx.repo)
    move = rollbacktarget.whole_op(ctx, named, open_op)
    close_open = open_op is not None
    return moving.go(
        ctx,
        move,
        named,
        None,
        None,
        dry_run=dry_run,
        json_out=json_out,
        close_open=close_open,
        takes_back=True,
    )


def _take_back(
    ctx: context.Context,
    op: OpRow,
    current: checkpoint.Snapshot | None,
    *,
    dry_run: bool,
    json_out: bool,
) -> int:
    """Take a closed operation's effect back, on top of whatever happened since. Refused (exit
    3) where git takes another folder for this worktree than the one the operation (or agent
    turn) ran in: `core.worktree` or `GIT_WORK_TREE` set since would have its effect taken
    back in a folder it never touched."""
    repo, journal = ctx.repo, ctx.journal
    samefolder.same_worktree(repo, op)
    taken = effect.operation_steps(repo, journal, op)
    if not taken:
        raise UsageError(
            f"operation {op.id} ({op.name}) has no PRE-OP checkpoint: it never "
            "started (`git atomic recover` closes it)"
        )
    if op.status == OpStatus.ROLLED_BACK and not _brought_back(ctx, op):
        context.check_git_state(repo)  # a merge of yours is refused, not "nothing further"
        return rollbacktarget.nothing_further(
            ctx, op, f"{op.name} [{op.id}] is rolled back", json_out=json_out
        )
    current = current or moves.probe(repo, since=op.started_at)
    found = effect.take_back(repo, taken, current, ended=op.ended_at)
    _door(ctx, current, taken[-1].after, exact=found.exact)
    _tell_worktrees_removed(ctx, op)
    remade = _remade_within(ctx, op) if found.made_within else ()
    if remade:  # what `undo` wrote of it again is its effect too (restoreplan: unseen files)
        found = records.replace(found, made_within=(*found.made_within, *remade))
    found = effectsteps.within_windows(found, effectsteps.quiet_windows(op))  # a turn's calls
    what = f"the effect of {op.name} [{op.id}]"
    if found.target is None:
        return moving.refuse_overlap(
            ctx,
            found,
            op,
            event=EventKind.ROLLBACK,
            what=what,
            step=effect.Step(taken[0].before, taken[-1].after),
            whole=f"git atomic rollback --op {op.id} --whole",
            dry_run=dry_run,
            json_out=json_out,
        )
    # What it wrote that you moved or removed since stays where you put it: named
    # (effectleft.py), as an agent's turn's take-back names it.
    from git_atomic.ops import effectleft

    for line in effectleft.lines(ctx.repo, [(t.before, t.after) for t in taken], current):
        output.say(f"git-atomic: warning: {line}")
    if not found.changes_something:
        where = f"{what} is not in the tree"
        for line in found.folders_left:  # a folder it moved that stays (effectfolders.py)
            output.say(f"git-atomic: warning: {line}")
        if found.kept:  # what it changed that changed again since: yours now
            names = ", ".join(
                k.removeprefix("refs/heads/")
                + (" checked out here" if k in found.checked_out else " changed")
                + " since"
                for k in found.kept
            )
            where += f" ({names}: left as it is)"
        if _beside_reflogs(moving.foreseen(ctx, op)):
            # Its effect is in the git dir alone (a replace ref, grafts, refs it packed): taken
            # back as a move that writes no file, whose event `undo` takes back.
            return moving.go(
                ctx,
                moves.Move(
                    EventKind.ROLLBACK,
                    current.commit,
                    f"the tree as it is ({what}: in the git dir alone)",
                    None,
                    synthesized=True,
                ),
                op,
                None,
                current,
                dry_run=dry_run,
                json_out=json_out,
                close_open=False,
                takes_back=True,
                said=f"rolled back {op.name} [{op.id}]: its files were as before it already, "
                "what it changed in the git dir is taken back",
                git_dir_only=True,
            )
        # What it did beside its trees (a file over the budget moved, bits opened): a move of
        # its own, whose event `undo` takes back (effectbeside.py).
        from git_atomic.ops import effectbeside

        beside = effectbeside.find(
            ctx.repo,
            checkpoint.load(ctx.repo, taken[0].before),
            checkpoint.load(ctx.repo, taken[-1].after),
            current,
        )
        if beside.anything and not dry_run:
            return moving.go(
                ctx,
                moves.Move(
                    EventKind.ROLLBACK,
                    current.commit,
                    f"the tree as it is ({what}: beside its trees alone)",
                    None,
                    synthesized=True,
                ),
                op,
                None,
                current,
                dry_run=False,
                json_out=json_out,
                close_open=False,
                takes_back=True,
                said=f"rolled back {op.name} [{op.id}]: its files were as before it already",
                git_dir_only=True,
            )
        clauses = effectbeside.foresee(beside)
        if clauses:
            where += " but for " + " and ".join(clauses)
        if not dry_run:  # its effect may be its reflogs alone (`git reflog expire --all`)
            where = _mend_only(ctx, op, where)
        else:  # what the real one writes back all the same, said first
            lines = moving.foreseen(ctx, op)
            for line in [] if json_out else lines:
                print(f"{'git':<7} {printable(line)}")
            inside = dryrun.inside(ctx, op)  # left, and warned of, as the real one does
            for line in inside:
                output.say(f"git-atomic: warning: {line}")
            if lines:
                where = f"dry run: {where} but for what the git lines above say"
            if inside:
                where += " but for what the warnings above name"
            return rollbacktarget.nothing_further(ctx, op, where, json_out=json_out, git_dir=lines)
        stages = [c for c in journal.checkpoints(op.id) if c.kind == CheckpointKind.OP_EXEC]
        if len(stages) > 1:
            # Its steps undid each other (a file a turn's call made, a later call deleted):
            # nothing to take back, but a step's state holds what one wants back.
            where += (
                f" (what its steps left is in their checkpoints, `git atomic show {op.id}`: "
                "`git atomic rollback --to CHECKPOINT -- PATH` brings a path back as one left it)"
            )
        return rollbacktarget.nothing_further(ctx, op, where, json_out=json_out)
    move = _take_back_move(ctx, op, found, what)
    how = moving.EXACTLY if found.exact else "its effect taken back, later changes kept"
    said = f"rolled back {op.name} [{op.id}]: {how}"
    return moving.go(
        ctx,
        move,
        op,
        None,
        current,
        dry_run=dry_run,
        json_out=json_out,
        close_open=False,
        takes_back=True,
        said=said,
    )


def _door(ctx: context.Context, current: checkpoint.Snapshot, end: str, *, exact: bool) -> None:
    """Refuse a merge, rebase... in progress, unless the state now is exactly where the
    operation's effect ends, git's in-progress files included (an `undo` brought back the
    rebase its failed run left): taking the effect back is then what its rollback did."""
    if gitstate.in_progress(ctx.repo) is None:
        return
    if not exact or current.git_state != checkpoint.load(ctx.repo, end).git_state:
        context.check_git_state(ctx.repo)


def _mend_only(ctx: context.Context, op: OpRow, where: str) -> str:
    """The reflogs a kept operation rewrote are written back even where nothing else of its
    effect is left to take back (and a submodule it de-initialised checked out again): the
    warnings first, the words for the summary returned."""
    done = moves.Done(rescue=None, changes=(), problems=())
    done, said = moving.mend_reflogs(ctx, op, done, where, takes_back=True)
    done = moving.config_named(ctx, op, done)
    for line in done.problems:
        output.say(f"git-atomic: warning: {line}")
    if done.problems:
        said += " but for what the warnings above name"
    return said


def _tell_worktrees_removed(ctx: context.Context, op: OpRow) -> None:
    """A linked worktree the operation removed (or moved) does not come back with its
    effect: said first, whatever else the rollback finds (worktreesgone.py)."""
    gone = op.details.get("worktrees_removed")
    away = op.details.get("worktrees_moved")
    gone = gone if isinstance(gone, dict) else {}
    away = away if isinstance(away, dict) else {}
    if not gone and not away:
        return
    from git_atomic.ops import worktreesgone

    lines = worktreesgone.lines(ctx.repo, {str(k): str(v) for k, v in gone.items()})
    lines += worktreesgone.moved_lines(
        ctx.repo,
        {str(k): str(v) for k, v in away.items()},
        locks=op.details.get("worktree_locks"),  # worktreelocks.BEFORE: as its rollback leaves
    )
    for line in lines:
        output.say(f"git-atomic: warning: {line}")


def _remade_within(ctx: context.Context, op: OpRow) -> tuple[tuple[float, float], ...]:
    """The windows in which `undo` made the operation's effect again, after a rollback of it:
    from each such undo's rescue (captured just before it wrote) to its end."""
    journal = ctx.journal
    took = {c.sha for c in journal.checkpoints(op.id) if c.kind == CheckpointKind.RESCUE}
    windows = []
    for e in sorted(journal.events(op.worktree, limit=10_000), key=lambda e: e.id):
        if e.kind != EventKind.UNDO:
            if e.rescue and (e.op_id == op.id or f'"takes_back": "{op.id}"' in (e.detail or "")):
                took.add(e.rescue)
        elif e.undid in took and e.rescue:
            start = checkpoint.load(ctx.repo, e.rescue).captured_at
            if start is not None:
                windows.append((start, e.at))
    return tuple(windows)


def _brought_back(ctx: context.Context, op: OpRow) -> bool:
    """Whether `undo` brought a rolled-back operation's effect back into the tree (and no
    later undo took it away again): its effect is there to take back, as a kept one's."""
    from git_atomic.views.render import brought_back

    journal = ctx.journal
    events = sorted(journal.events(op.worktree, limit=10_000), key=lambda e: e.id)
    return brought_back(journal.checkpoints(op.id), events, op.id)


def _take_back_move(
    ctx: context.Context, op: OpRow, found: effect.Outcome, what: str
) -> moves.Move:
    """The move to the state `found` computed: exactly the operation's PRE-OP, or the tree
    without its effect."""
    assert found.target is not None
    pre = ctx.journal.checkpoints(op.id)[0]
    label = steps.label(ctx.journal, pre, op) if found.exact else f"the tree without {what}"
    return moves.Move(
        EventKind.ROLLBACK,
        found.target.commit,
        label,
        None,
        synthesized=not found.exact,
        kept=found.kept,
        checked_out=found.checked_out,
        left_on=found.left_on,
        made_within=found.made_within,
        folders_effect=(dict(found.folders), found.folders_left),
    )


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


def _beside_reflogs(lines: Sequence[str]) -> bool:
    """Whether a rollback's git-dir repairs (gitdirforesee.foresee) change what git
    shows: more than the reflogs it writes back (never emptied again, so no `undo` has them to
    take) and git's memo files (ORIG_HEAD, COMMIT_EDITMSG), as `undo` weighs them."""
    return any(
        not line.startswith(("reflog of ", "ORIG_HEAD: ", "COMMIT_EDITMSG: ")) for line in lines
    )
