"""`emergency` and `undo`: the two ways back that are not an operation's rollback.

`emergency` is a whole-state request by nature: it saves everything as a rescue checkpoint, then
goes to the POST-OP state of the newest committed operation of this worktree, else to HEAD's
commit (while an operation is open: HEAD's commit before it began, since its own commits are not
validated), or to `--to COMMIT`. For a commit: HEAD (branch or detached) moves to it, no other
branch moves, the index and the files become its tree, and untracked files go — they are in the
rescue, and `undo` brings them back. Ignored files are never touched. An open operation is
closed as rolled_back. Its dry run lists every path it would change and every commit it would
drop from a branch.

`undo` takes back the effect of the newest event of this worktree (rollback, abort, emergency,
recover, apply, undo): the change from that event's rescue (the state it replaced) to its target
(the state it went to), by the rules of effect.py. With nothing changed since, that is the
rescue exactly, as always; with changes since (commits, the user's files, another session's),
the event's change is reversed on top of them: no branch moves back over later commits, other
files keep their bytes, and an overlap changes nothing (exit 3). It takes a rescue of its own,
so a second `undo` re-does what the first undid. A move that has nothing to change takes no
rescue and writes no event.
"""

from __future__ import annotations

import re
from typing import Final

from git_atomic.commands import movetell, moving, theirs
from git_atomic.core import patterns, records
from git_atomic.core.config import load_config
from git_atomic.core.errors import BusyError, UsageError
from git_atomic.core.journalrows import UNDOES, EventRow, OpRow
from git_atomic.core.vocab import CheckpointKind, EventKind, OpStatus
from git_atomic.engine import checkpoint, discovery, gitlinks, gitstate, snapshot
from git_atomic.ops import (
    context,
    dryrun,
    effect,
    effectfifos,
    gitdirredo,
    indexgone,
    journalgone,
    moves,
    output,
    samefolder,
    steps,
)
from git_atomic.ops.operation import Engine


def emergency(*, to: str | None, dry_run: bool, json_out: bool) -> int:
    # The moment a user most needs it may be a merge or rebase stopped by conflicts: its state
    # goes into the rescue with everything else.
    # Your last resort works also where the journal is gone (`rm -rf .git/atomic`): it starts
    # a new one, as `recover` would, and says so; everything is saved in its rescue all the same.
    gone = journalgone.journal_gone(discovery.discover()) if not dry_run else None
    with context.opened(
        "emergency", check_state=False, start_new=not dry_run, read_only=dry_run
    ) as ctx:
        repo = ctx.repo
        if gone is not None:
            output.say(f"git-atomic: warning: {journalgone.journal_gone_line(*gone)}")
        open_op = moving.guard(ctx)
        if open_op is None:  # a link in refs no open operation can have made: yours
            gitlinks.refuse_found(repo.git_dir, repo.common_dir)
        target, label, from_commit = _emergency_target(ctx, to, open_op)
        move = moves.Move(EventKind.EMERGENCY, target, label, open_op.id if open_op else None)
        # A folder of yours git cannot list, made so since the operation began (`chmod 000`):
        # refused by name as its rollback refuses it, not left as one no rescue holds.
        prev = moves.preview(repo, move, current=moves.probe(repo, since=_since(ctx, open_op)))
        if dry_run or (prev.empty and open_op is None):
            return movetell.report_still(
                ctx,
                move,
                prev,
                open_op,
                status=OpStatus.ROLLED_BACK,
                dry_run=dry_run,
                json_out=json_out,
                modes=dryrun.bits(ctx, prev, move) if dry_run else (),
            )
        if from_commit:
            moves.keep(repo, target)
        engine = Engine(ctx)
        with moving.owning(ctx, open_op):
            done = moves.carry_out(engine, move, probe=prev.current)
            closed = None
            if open_op is not None:
                closed = engine.close(
                    open_op.id,
                    status=OpStatus.ROLLED_BACK,
                    detail=moving.op_detail(open_op, done, emergency=True),
                )
        history = closed.history if closed else load_config(repo.root).history
        said = f"emergency: everything was saved as rescue {output.short(done.rescue)}; "
        said += f"back to {label}"
        if closed is not None:  # the reflogs the open operation rewrote: nothing is lost
            done, said = moving.mend_reflogs(ctx, closed, done, said)
        return movetell.report_done(
            ctx,
            move,
            prev,
            done,
            closed,
            status=OpStatus.ROLLED_BACK,
            json_out=json_out,
            history=history,
            said=said,
        )


def undo(*, dry_run: bool, json_out: bool) -> int:
    # A merge (rebase...) in progress is refused below unless it is the one the last event
    # itself brought back (an undo of a rollback that cleared it): undoing that event again is
    # the rollback it undid, which saves it in the rescue and clears it.
    with context.opened("undo", check_state=False, read_only=dry_run) as ctx:
        journal, repo = ctx.journal, ctx.repo
        open_op = moving.guard(ctx)
        context.refuse_index_lock(ctx.repo)
        snapshot.refuse_blocked_index(ctx.repo)  # yours: no rescue could hold it
        # A link in refs is yours too: the probe would set it aside, and no undo makes it again.
        gitlinks.refuse_found(repo.git_dir, repo.common_dir)
        event = _last_event(ctx, open_op)
        rescue, target = event.rescue, event.target
        assert rescue is not None and target is not None
        subject = journal.op(event.op_id) if event.op_id else None
        if not dry_run:  # (the rollback of another live MCP session's operation: theirs)
            theirs.refuse_undo(ctx, event)
        # The folder the operation ran in: never one git takes for this worktree since.
        moved = subject or _op_moved(ctx, event)
        samefolder.same_worktree(repo, moved)
        if moved is None:  # an emergency's, a rollback --to's: the folder its event noted
            samefolder.same_event_folder(repo, event)
        current = moves.probe(repo, since=subject.started_at if subject else None)
        step = effect.Step(rescue, target)
        gone = indexgone.unreadable(repo, current)  # worked out from the index the event left
        now = indexgone.as_left(current, checkpoint.load(repo, target)) if gone else current
        found = _until_done(effect.take_back(repo, [step], now, ended=event.at), event)
        _door(ctx, current, target, exact=found.exact)
        what = f"the last {event.kind}"
        if found.target is None:
            return moving.refuse_overlap(
                ctx,
                found,
                subject,
                event=EventKind.UNDO,
                what=f"undoing {what}",
                step=effect.Step(target, rescue),
                whole=f"git atomic rollback --to {rescue[:12]} --whole",
                dry_run=dry_run,
                json_out=json_out,
            )
        move = _undo_move(found, what, open_op)
        if found.exact:  # where the folders it moved back were (foldermoves.py)
            from git_atomic.engine import folderids, foldermoves

            # Those its rescue could not see (in a folder a rule ignores), beside those the
            # event moved that it sees (effectfolders.py: not one you wrote into since).
            seen = set(folderids.load(repo, found.target.folder_ids).values())
            known = {p: i for p, i in foldermoves.known_from(event.detail).items() if i not in seen}
            folders_again = (dict(found.folders) | known, found.folders_left)
            move = records.replace(move, folders_known=known, folders_effect=folders_again)
        prev = moves.preview(repo, move, current=current)
        # What the event wrote in the git dir beside its checkpoints (a replace ref, grafts,
        # refs it unpacked), written back as it was (gitdirredo.py).
        # git's half-way state here now, or where the move goes: the ORIG_HEAD that goes with
        # it goes too (gitdirredo.py); a few lstat calls.
        halfway = gitstate.in_progress(repo) is not None or bool(
            gitstate.waiting_in(repo, checkpoint.load(repo, rescue).git_state)
        )
        remade = gitdirredo.reverse(
            repo, event.detail, what=what, dry_run=True, bits=False, halfway=halfway
        )
        remade += movetell.large_moves(ctx, prev) if prev.empty else []
        # The permission bits it would set back (no tree holds them): listed with the files
        bits = gitdirredo.bits_back(repo, event.detail)
        # A folder holding only ignored files to move again (foldermoves.py): an undo all the same.
        folders = prev.empty and not dry_run and bool(dryrun.folders(ctx, prev, move))
        if dry_run or (prev.empty and not remade and not bits and not folders):
            concerned = (subject or _op_undone(ctx, event)) if dry_run else None
            foreseen = moving.foreseen(ctx, concerned) if concerned is not None else []
            return movetell.report_still(
                ctx,
                move,
                prev,
                subject,
                status="undone",
                dry_run=dry_run,
                json_out=json_out,
                git_dir=[*foreseen, *remade],
                modes=[*bits, *dryrun.bits(ctx, prev, move)],
            )
        engine = Engine(ctx)
        with moving.owning(ctx, open_op):
            reverse = steps.reverse_status(journal, event.detail)
            # The event it undid, by that event's rescue: where the result is worked out on
            # top of later changes, its target is a new commit that names neither (log,
            # `rollback --op` and a second undo follow this link: EventRow.undid).
            detail: dict[str, object] = {UNDOES: rescue}
            if reverse is not None:
                detail.update(reverse.detail())
            done = moves.carry_out(engine, move, detail=detail, probe=prev.current)
            if reverse is not None:
                journal.set_status(reverse.op, reverse.after)
        subject = journal.op(event.op_id) if event.op_id else None
        if not dry_run:  # (the rollback of another live MCP session's operation: theirs)
            theirs.refuse_undo(ctx, event)
        again = "re-does it" if event.kind == EventKind.UNDO else "undoes this"
        said = f"undid {what}; `git atomic undo` again {again}"
        if gone:
            said = f"{said} ({indexgone.NOTE})"
        concerned = subject or _op_undone(ctx, event)  # an undo of an undo: the same op's
        if concerned is not None:  # reflogs are never emptied again: what undo re-does
            done, said = moving.mend_reflogs(ctx, concerned, done, said)  # leaves them as is
        changed: dict[str, object] = {}
        lines = gitdirredo.reverse(
            repo,
            event.detail,
            what=what,
            dry_run=False,
            changed=changed,
            halfway=halfway,
            goes_to=checkpoint.load(repo, rescue),
        )
        gitdirredo.remember(journal, ctx.worktree, done.rescue, changed)  # a second undo's
        lines = [line for line in lines if line not in done.problems]  # (a socket: named once)
        if lines:
            done = records.replace(done, problems=(*done.problems, *lines))
        if effectfifos.MADE in changed or effectfifos.TAKEN in changed:  # paths changed too
            done = records.replace(done, changes=effectfifos.counted_noted(done.changes, changed))
        return movetell.report_done(
            ctx,
            move,
            prev,
            done,
            subject,
            status="undone",
            json_out=json_out,
            said=said,
        )


def _emergency_target(
    ctx: context.Context, to: str | None, open_op: OpRow | None
) -> tuple[str, str, bool]:
    """Where `emergency` goes, as (checkpoint, label, made from a commit): `--to COMMIT`, else the
    newest validated POST-OP, else HEAD's commit from before any open operation."""
    repo = ctx.repo
    if to is not None:
        _same_folder_as_last(ctx, open_op)
        commit = repo.rev_parse(to)
        if commit is None:
            raise UsageError(f"emergency --to: {to!r} is not a commit in this repository")
        return moves.commit_checkpoint(repo, commit), f"commit {commit[:12]}", True
    post = steps.last_validated(ctx.journal, ctx.worktree)
    if post is not None:
        row, owner = post
        # A state of the folder it ran in: never written into one git takes for it since.
        samefolder.same_worktree(repo, owner)
        return row.sha, f"POST-OP of {owner.name} [{owner.id}]", False
    _same_folder_as_last(ctx, open_op)
    head = _head_before(ctx, open_op)
    if head is None:
        raise UsageError(
            "emergency: no validated state and no commit to return to "
            "(HEAD is unborn); name one with --to COMMIT"
        )
    return moves.commit_checkpoint(repo, head), f"HEAD's commit {head[:12]}", True


def _same_folder_as_last(ctx: context.Context, open_op: OpRow | None) -> None:
    """Refuse (exit 3) a move to a commit where git takes another folder for this worktree
    than its last operation (the open one) and its last move ran in: `core.worktree` or
    `GIT_WORK_TREE` set since would have the commit's tree written over that folder and its
    files removed. Nothing recorded yet (a first `emergency`): nothing to compare with."""
    newest = open_op or next(iter(ctx.journal.ops(worktree=ctx.worktree, limit=1)), None)
    samefolder.same_worktree(ctx.repo, newest)
    events = ctx.journal.events(ctx.worktree, limit=1)
    samefolder.same_event_folder(ctx.repo, events[0] if events else None)


def _since(ctx: context.Context, open_op: OpRow | None) -> float | None:
    """When the operation whose state `emergency` leaves began: the open one, else this
    worktree's newest (moves.probe)."""
    if open_op is not None:
        return open_op.started_at
    newest = ctx.journal.ops(worktree=ctx.worktree, limit=1)
    return newest[0].started_at if newest else None


def _last_event(ctx: context.Context, open_op: OpRow | None) -> EventRow:
    """The event `undo` takes back: this worktree's newest, and not older than an open operation."""
    events = ctx.journal.events(ctx.worktree, limit=1)
    if not events:
        raise UsageError(
            "undo: nothing to undo in this worktree "
            "(no rollback, abort, emergency or recover has changed it yet)"
        )
    if events[0].rescue is None or events[0].target is None:
        raise UsageError(f"undo: nothing to undo: the last {events[0].kind} changed nothing")
    event = events[0]
    if open_op is not None and event.at < open_op.started_at:
        raise BusyError(
            f"operation {open_op.id} ({open_op.name}) is open and the last "
            f"{event.kind} happened before it began",
            hint="commit or abort it first",
        )
    return event


def _op_undone(ctx: context.Context, event: EventRow) -> OpRow | None:
    """The operation whose effect an `undo` event moved: an undo names none, but it went to the
    state the event before it replaced (its rescue), and so on back to a rollback of an
    operation. A second `undo` takes that operation's effect back again, and its git-dir
    repairs (gitdirback.put_back_git_files) are made as its rollback made them."""
    seen = 0
    events = ctx.journal.events(ctx.worktree, limit=200)
    while event.op_id is None and event.kind == EventKind.UNDO and seen < len(events):
        earlier = next((e for e in events if e.id < event.id and e.rescue == event.undid), None)
        if earlier is None:
            return None
        event, seen = earlier, seen + 1
    return ctx.journal.op(event.op_id) if event.op_id else None


_TAKES_BACK: Final = patterns.keep(r'"takes_back": "([0-9a-f]+)"')  # moving.go's event detail


def _op_moved(ctx: context.Context, event: EventRow) -> OpRow | None:
    """The operation whose effect the event (or the events an undo of an undo goes back to)
    moved: its own, or the closed one a `rollback --op` took back (`takes_back`)."""
    seen = 0
    events = ctx.journal.events(ctx.worktree, limit=200)
    while seen <= len(events):
        if event.op_id:
            return ctx.journal.op(event.op_id)
        took = re.search(_TAKES_BACK, event.detail or "")
        if took:
            return ctx.journal.op(took.group(1))
        if event.kind != EventKind.UNDO:
            return None
        earlier = next((e for e in events if e.id < event.id and e.rescue == event.undid), None)
        if earlier is None:
            return None
        event, seen = earlier, seen + 1
    return None


def _until_done(found: effect.Outcome, event: EventRow) -> effect.Outcome:
    """The event's windows reach to its end: its restore wrote files after its rescue was
    taken (an undo made again a file its own rule hides), and those are the event's to take
    back, not files of yours."""
    if not found.made_within:
        return found
    windows = tuple((a, max(b, event.at)) for a, b in found.made_within)
    return records.replace(found, made_within=windows)


def _undo_move(found: effect.Outcome, what: str, open_op: OpRow | None) -> moves.Move:
    """The move to the state `found` computed: exactly the rescue, or the event reversed on top
    of later changes."""
    assert found.target is not None
    label = (
        f"the state before {what}"
        if found.exact
        else f"the tree with {what} reversed, later changes kept"
    )
    return moves.Move(
        EventKind.UNDO,
        found.target.commit,
        label,
        open_op.id if open_op else None,
        synthesized=not found.exact,
        kept=found.kept,
        checked_out=found.checked_out,
        left_on=found.left_on,
        made_within=found.made_within,
        # Those the event moved alone (effectfolders.py; exactly the rescue: with those its
        # restore found where the rescue could not see them, folders_known: `undo` adds them)
        folders_effect=(dict(found.folders), found.folders_left),
    )


def _door(ctx: context.Context, current: checkpoint.Snapshot, target: str, *, exact: bool) -> None:
    """Refuse a merge, rebase... in progress, unless the state now is exactly the last event's
    end, git's in-progress files included: then it is that event's doing, and taking the event
    back is what the user asked."""
    if gitstate.in_progress(ctx.repo) is None:
        return
    if not exact or current.git_state != checkpoint.load(ctx.repo, target).git_state:
        context.check_git_state(ctx.repo)


def _head_before(ctx: context.Context, open_op: OpRow | None) -> str | None:
    """HEAD's commit; while an operation is open, as it was before the operation began: in
    commits mode the operation's own commits are on the branch, and none of them is validated."""
    pre = (
        next(
            (c for c in ctx.journal.checkpoints(open_op.id) if c.kind == CheckpointKind.PRE_OP),
            None,
        )
        if open_op is not None
        else None
    )
    if pre is not None:
        return checkpoint.load(ctx.repo, pre.sha).head_oid
    return ctx.repo.read_head()[1]
