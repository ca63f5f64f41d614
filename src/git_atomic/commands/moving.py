"""What `rollback`, `undo` and `emergency` share: the guard, the move and its record (what they
say of it: movetell.py).

A move either goes to an existing checkpoint exactly (a whole-state move, or an effect taken back
with nothing changed since) or to a target the effect engine computed (effect.py), which
`moves.carry_out` keeps reachable by a ref before the move. An effect that overlaps later
changes is refused here: exit 3, nothing changed, the overlaps named (`refuse_overlap`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from git_atomic.commands import movetell
from git_atomic.core import records
from git_atomic.core.errors import BusyError, Exit
from git_atomic.core.journalrows import OpRow, Owner
from git_atomic.core.printable import printable
from git_atomic.core.vocab import CheckpointKind, EventKind, OpStatus
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.ops import context, dryrun, effect, moveresults, moves, output, results, steps
from git_atomic.ops.operation import Engine

EXACTLY: Final = "exactly its PRE-OP state"  # a take-back's words where it was exact


def guard(ctx: context.Context) -> OpRow | None:
    """The open operation, refusing (exit 3) while anything half done waits for `recover`."""
    op = context.refuse_if_interrupted(ctx)
    if op is not None and op.pending is not None:
        raise BusyError(
            f"a step of operation {op.id} ({op.name}) was interrupted half way",
            hint="run `git atomic recover` to finish it",
        )
    return op


def go(
    ctx: context.Context,
    move: moves.Move,
    subject: OpRow | None,
    stays_open: OpRow | None,
    current: Snapshot | None,
    *,
    dry_run: bool,
    json_out: bool,
    close_open: bool,
    takes_back: bool = False,
    said: str | None = None,
    git_dir_only: bool = False,
) -> int:
    """One rollback: preview, then (unless a dry run or nothing to do) the move and its record.

    `takes_back`: the move takes the subject's effect back, so a closed subject becomes
    rolled_back (recorded in the event, for `undo` to give its status back). `git_dir_only`:
    its files are there already, what it takes back is in the git dir alone (a replace ref):
    carried out all the same, for its event (what `undo` takes back)."""
    journal = ctx.journal
    said = said or f"rolled back to {move.label}" + _only(move.paths)
    status = OpStatus.OPEN if stays_open is not None else OpStatus.ROLLED_BACK
    prev = moves.preview(ctx.repo, move, current=current)
    large = movetell.large_moves(ctx, prev, move.paths) if prev.empty else []
    # The FIFOs, sockets and devices it makes, takes away or names (no tree holds them): listed
    # with the files, and a move all the same.
    specials, named = movetell.specials_moved(ctx, prev, move.paths)
    large += named if prev.empty else []
    # Bits alone to close (`rollback --to X key` of a key opened to 0644): a move all the same.
    bits_only = prev.empty and not dry_run and bool(dryrun.bits(ctx, prev, move))
    # A folder holding only ignored files to move back (foldermoves.py): a move all the same.
    folders = prev.empty and not dry_run and bool(dryrun.folders(ctx, prev, move))
    if dry_run or (
        prev.empty
        and not close_open
        and not git_dir_only
        and not large
        and not specials
        and not bits_only
        and not folders
    ):
        beside_said, beside_bits = (
            dryrun.beside(ctx, subject, prev.current) if dry_run and takes_back else ([], [])
        )
        return movetell.report_still(
            ctx,
            move,
            prev,
            subject,
            status=status,
            dry_run=dry_run,
            json_out=json_out,
            git_dir=[
                *(foreseen(ctx, subject) if dry_run and takes_back and subject else ()),
                *large,
            ],
            beside=beside_said,
            modes=[*dryrun.bits(ctx, prev, move), *beside_bits],
            specials=specials,
            warned=dryrun.inside(ctx, subject) if dry_run and takes_back else (),
        )
    engine = Engine(ctx)
    with owning(ctx, subject if subject is not None and subject.status == OpStatus.OPEN else None):
        if (
            takes_back
            and subject is not None
            and subject.status not in (OpStatus.OPEN, OpStatus.ROLLED_BACK)
        ):
            flip: steps.StatusFlip | None = steps.StatusFlip(
                subject.id, subject.status, OpStatus.ROLLED_BACK
            )
        else:
            flip = steps.status_flip(journal, move.target, subject, selective=bool(move.paths))
        detail = flip.detail() if flip is not None else {}
        if takes_back and subject is not None:
            detail["takes_back"] = subject.id  # its effect, gone again (render.brought_back)
        if move.paths:
            detail["paths"] = [p.decode("utf-8", "surrogateescape") for p in move.paths]
        # git's locks its git left (HEAD.lock...), first: the move's own ref updates need them
        unlocked = locks_left(ctx, subject) if takes_back and subject is not None else []
        # What its dry run names in the git dir (ORIG_HEAD, COMMIT_EDITMSG, packed-refs...):
        # the real one names those it put back (no longer foreseen once it is done).
        foreseen_before = foreseen(ctx, subject) if takes_back and subject is not None else []
        with output.told_if_refused(unlocked):
            done = moves.carry_out(engine, move, detail=detail or None, probe=prev.current)
        if unlocked:
            done = records.replace(done, problems=(*unlocked, *done.problems))
        if takes_back and subject is not None:
            done, said = mend_reflogs(ctx, subject, done, said, takes_back=True)
            done = config_named(ctx, subject, done)
            done, said = beside_trees(ctx, subject, done, said)
        put_back = _put_back(ctx, subject, foreseen_before)
        if close_open and subject is not None:
            subject = engine.close(
                subject.id, status=OpStatus.ROLLED_BACK, detail=op_detail(subject, done)
            )
        elif flip is not None:
            journal.set_status(flip.op, flip.after)
    subject = journal.op(subject.id) if subject is not None else None
    return movetell.report_done(
        ctx,
        move,
        prev,
        done,
        subject,
        status=status,
        json_out=json_out,
        said=said,
        git_dir=put_back,
    )


def _put_back(ctx: context.Context, op: OpRow | None, before: Sequence[str]) -> list[str]:
    """Of the git-dir lines foreseen before a move (`foreseen`), those it carried out: not
    foreseen any more."""
    if not before or op is None:
        return []
    after = set(foreseen(ctx, op))
    return [line for line in before if line not in after]


def locks_left(ctx: context.Context, op: OpRow) -> list[str]:
    """git's locks (HEAD.lock, a branch's, config.lock, packed-refs.lock) a git of `op`'s left
    that no git holds (it died half way), removed before a move takes its effect back, as
    its own rollback removes them (gitlocks.py): written while it ran, an agent turn's within
    its calls (one from between them, or since, is yours). A few lstat calls where there are
    none."""
    from git_atomic.engine import gitlocks

    return gitlocks.removed(ctx.repo, lambda: _windows(ctx, op))


def _windows(ctx: context.Context, op: OpRow) -> list[tuple[float, float | None]]:
    """When `op` ran: an agent turn's calls, each from the capture at its start to the one at
    its end, else its run from start to end."""
    from git_atomic.engine import checkpoint

    windows: list[tuple[float, float | None]] = []
    for step in effect.turn_steps(op):
        start = checkpoint.load(ctx.repo, step.before).captured_at
        if start is not None:
            windows.append((start, checkpoint.load(ctx.repo, step.after).captured_at))
    if not effect.turn_steps(op):
        windows.append((op.started_at, op.ended_at))
    return windows


def mend_reflogs(
    ctx: context.Context, op: OpRow, done: moves.Done, said: str, *, takes_back: bool = False
) -> tuple[moves.Done, str]:
    """A move that takes `op`'s effect back writes back the reflogs it rewrote, as its own
    rollback does (gitdirback.mend_reflogs); the summary says so, a reflog left is a warning.
    A `packed-refs` it left with only git's header goes too (gitdirback.put_back_git_files)."""
    from git_atomic.core import records
    from git_atomic.ops.gitdirback import put_back_beside, put_back_git_files

    problems = list(done.problems)
    # Files an operation taken back later changed inside a submodule stay (no checkpoint holds
    # them): named, those changed while it ran (submodulesback.changed_inside).
    ended = (op.ended_at or time.time()) if takes_back else None
    pre = ctx.journal.checkpoints(op.id)
    end = pre[-1].sha if pre else None
    mended: list[str] = []
    changed: dict[str, object] = {}
    if pre and pre[0].kind == CheckpointKind.PRE_OP:
        mended, lines = put_back_beside(
            ctx.repo,
            op.details,
            pre_op=pre[0].sha,
            op_id=op.id,
            own=False,
            problems=problems,
            end=end,
            changed=changed,
            ended=ended,
        )
    else:
        lines = put_back_git_files(
            ctx.repo, op.details, problems=problems, end=end, changed=changed, ended=ended
        )
    from git_atomic.ops import submodulesback

    # Never "exactly its PRE-OP state" over files it changed inside a submodule, which stay
    if any(submodulesback.CHANGED_INSIDE in line for line in lines):
        said = said.replace(EXACTLY, f"{EXACTLY} but for the files inside submodules named")
    if changed:  # for an `undo` of this move to write back (gitdirredo.py)
        from git_atomic.ops import gitdirredo

        gitdirredo.remember(ctx.journal, ctx.worktree, done.rescue, changed)
    done = records.replace(done, problems=tuple(problems))
    if lines:
        done = records.replace(done, problems=(*done.problems, *lines))
    if mended:
        said += f"; {output.mended_words(mended)}"
    return done, said


def beside_trees(
    ctx: context.Context, op: OpRow, done: moves.Done, said: str
) -> tuple[moves.Done, str]:
    """What `op`'s effect holds beside its trees (effectbeside.py), taken back after the move
    that takes the effect back: the files over the budget it moved, moved back; the bits it
    opened, closed again where nobody changed the file since, and kept in the move's event
    for `undo` to open again."""
    from git_atomic.core import records
    from git_atomic.ops import effectbeside, effectfifos, gitdirredo

    taken = effect.operation_steps(ctx.repo, ctx.journal, op)
    if not taken or done.rescue is None:
        return done, said
    # One the restore named already (largegone.note) is not named twice.
    steps = (taken[0].before, taken[-1].after)
    did = effectbeside.take_back(ctx.repo, steps, done.rescue, named=done.failed)
    gitdirredo.remember(
        ctx.journal,
        ctx.worktree,
        done.rescue,
        effectbeside.noted(did.changed, did.made, did.taken),
    )
    done = records.replace(
        done,
        changes=effectfifos.counted(done.changes, did.made, did.taken),
        # (A socket the restore named already is not named twice.)
        problems=(*done.problems, *(w for w in did.warned if w not in done.problems)),
        notes=(*done.notes, *did.said),
        failed=(*done.failed, *did.failed),
    )
    if did.said:
        said += "; " + "; ".join(did.said)
    return done, said


def config_named(ctx: context.Context, op: OpRow, done: moves.Done) -> moves.Done:
    """The config lines `op` added or removed that are still so, named (configmade.py): a
    rollback of its effect leaves configuration as it is, as its own rollback does."""
    from git_atomic.core import records
    from git_atomic.ops import configmade

    lines = configmade.later_lines(ctx.repo, op.details)
    return records.replace(done, problems=(*done.problems, *lines)) if lines else done


def foreseen(ctx: context.Context, op: OpRow) -> list[str]:
    """What `mend_reflogs` would write back in the git dir for `op`, for a dry run."""
    from git_atomic.ops import gitdirforesee

    return gitdirforesee.foresee(ctx.repo, op, ctx.journal.checkpoints(op.id))


def refuse_overlap(
    ctx: context.Context,
    found: effect.Outcome,
    subject: OpRow | None,
    *,
    event: EventKind,
    what: str,
    step: effect.Step,
    whole: str,
    dry_run: bool,
    json_out: bool,
) -> int:
    """The effect and later changes overlap: nothing changes; name the paths, and the ways to
    either side. `what`: the effect, for people; `whole`: the command that goes to the whole
    earlier state instead."""
    lines = effect.conflict_lines(found)
    first = found.conflicts[0]
    sides = (
        f"to keep the later changes, leave the tree as it is; to drop them too, `{whole}` "
        f"(its --dry-run lists what it would drop)"
    )
    if found.switch is not None:
        sides = _switch_hint(found)
    elif first.where != effect.STATE and not first.path.endswith(b"/"):  # a file, not a folder
        sides += (
            f"; each side of a file: {_side(ctx, step.before, first.path)} (before) and "
            f"{_side(ctx, step.after, first.path)} (after {what})"
        )
    if json_out:
        output.emit(
            moveresults.RefusedMove(
                operation=(
                    results.operation(ctx.journal, subject)
                    if subject is not None
                    else results.no_operation(status=None, rescue=None, duration_s=0.0, name=event)
                ),
                event=event,
                dry_run=dry_run,
                conflicts=tuple(
                    moveresults.Overlap(
                        c.path.decode("utf-8", "surrogateescape"),
                        c.where,
                        c.kind,
                        tuple(tuple(r) for r in c.lines),
                    )
                    for c in found.conflicts
                ),
                error=f"refused, nothing changed: {what} and later changes overlap",
                hint=sides,
                exit_code=int(Exit.REFUSED),
            )
        )
    elif dry_run:
        for line in lines:
            print(f"{'overlap':<7} {printable(line)}")
    shown = "; ".join(lines[:3]) + ("; ..." if len(lines) > 3 else "")
    dry = "dry run: " if dry_run else ""
    if found.switch is not None:
        refusal, hint = _switch_refusal(found, what, shown)
        output.say(f"git-atomic: {dry}{refusal}")
        output.say(f"git-atomic: hint: {hint}")
        return int(Exit.REFUSED)
    output.say(
        f"git-atomic: {dry}refused, nothing changed: {what} and "
        f"later changes overlap: {shown} ({sides})"
    )
    return int(Exit.REFUSED)


def _switch_refusal(found: effect.Outcome, what: str, shown: str) -> tuple[str, str]:
    """The overlap of a switch taken back with what you left uncommitted on top of your own
    commits on the branch it switched you to: in the words of what happened, one line, then
    what to do (_switch_hint)."""
    assert found.switch is not None
    on, back = (name.removeprefix("refs/heads/") for name in found.switch)
    paths = ", ".join(
        dict.fromkeys(c.path.decode("utf-8", "backslashreplace") for c in found.conflicts)
    )
    return (
        f"refused, nothing changed: {what} switched you to {on}, and taking it back checks "
        f"out {back} again; your commits on {on} stay there, but your uncommitted changes "
        f"({paths}) were made on top of them and do not apply to {back} ({shown})",
        _switch_hint(found),
    )


def _switch_hint(found: effect.Outcome) -> str:
    assert found.switch is not None
    on = found.switch[0].removeprefix("refs/heads/")
    return (
        f"commit them on {on} or `git stash` them, then run this again; or stay on {on} "
        "and leave the tree as it is"
    )


def _side(ctx: context.Context, checkpoint: str, path: bytes) -> str:
    """How to see a file at a checkpoint, or that it is absent there (a `git show` of a path
    that is not there only fails)."""
    name = path.decode("utf-8", "backslashreplace")
    spec = f"{checkpoint[:12]}:files/{name}"
    there = ctx.repo.run("cat-file", "-e", f"{checkpoint}:files/{os.fsdecode(path)}", check=False)
    return f"`git show {spec}`" if there.returncode == 0 else f"no {name} at {checkpoint[:12]}"


def _only(paths: Sequence[bytes]) -> str:
    if not paths:
        return ""
    shown = ", ".join(p.decode("utf-8", "backslashreplace") for p in paths[:3])
    return f" (only {shown}{', ...' if len(paths) > 3 else ''})"


def op_detail(op: OpRow, done: moves.Done, *, emergency: bool = False) -> dict[str, object]:
    detail: dict[str, object] = dict(op.details)
    if done.problems:
        detail["problems"] = list(done.problems)
    if done.left:
        detail["changed_since_rescue"] = [p.decode("utf-8", "surrogateescape") for p in done.left]
    if done.refs_left:
        detail["refs_moved_since_rescue"] = list(done.refs_left)
    if done.failed:
        detail["not_restored"] = [p.decode("utf-8", "surrogateescape") for p in done.failed]
    if emergency:
        detail["emergency"] = True
    return detail


@contextmanager
def owning(ctx: context.Context, op: OpRow | None) -> Iterator[None]:
    """While we work on an open operation it names us, so a crash shows as interrupted."""
    if op is None:
        yield
        return
    ctx.journal.set_owner(op.id, Owner.this_process())
    try:
        yield
    finally:
        current = ctx.journal.op(op.id)
        if current is not None and current.status == OpStatus.OPEN:
            ctx.journal.set_owner(op.id, None)
