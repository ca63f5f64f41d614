"""`git atomic recover`: finish what a git-atomic that died (SIGKILL, OOM, power cut) left open.

What it may find, in the order it deals with them:
  1. a lock whose owner is dead: broken explicitly (never silently, never by another command);
  2. a restore outside any operation (`rollback --to`, `undo`, `emergency`) that stopped half
     way: always finished, reusing the rescue it had saved, so `undo` still finds the original;
  3. the interrupted operation of this worktree:
     - a restore under way (rollback, abort): finished, as in 2;
     - `begin` had not finished: the operation never ran, so its PRE-OP state is the state;
     - otherwise: back to the exact PRE-OP state (rescue first), or with `--accept` the tree is
       kept as it is and recorded as an OP-EXEC checkpoint (a commit, in commits mode).
Running it again finds nothing left to do.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

from git_atomic.agents import turnkilledend
from git_atomic.agents.turnstate import OPEN_MARKS
from git_atomic.commands import recoverbeside, recoverdone, recoverturns
from git_atomic.commands.recoverdone import Action, Recovery
from git_atomic.core import children, failpoints, wholefile
from git_atomic.core.errors import BusyError, GitError, RefusedError
from git_atomic.core.journalrows import OpRow, Owner
from git_atomic.core.lock import WorktreeLock, process_alive, remove_common_left
from git_atomic.core.vocab import (
    CheckpointKind,
    EventKind,
    FailedPhase,
    IntentAction,
    OpKind,
    OpStatus,
    Phase,
)
from git_atomic.engine import (
    besideleft,
    checkpoint,
    checkpointgone,
    discovery,
    dotgit,
    gitlinks,
    restoreplan,
    scratch,
    snapshot,
)
from git_atomic.engine.checkpointgone import CheckpointGone
from git_atomic.ops import commandresults, context, journalgone, output, samefolder, setaside
from git_atomic.ops.isolation_recovery import cleanup_stale_isolated
from git_atomic.ops.operation import Engine, RollbackResult

PENDING_FILE: Final = context.PENDING_RESTORE


def recover(*, accept: bool, json_out: bool) -> int:
    started = time.monotonic()
    try:
        repo = discovery.discover()
    except RefusedError as exc:
        # git refuses the repository, or finds none, for what the operation (or a restore
        # killed half way) left: set aside as its rollback would (setaside.py), then found.
        if isinstance(exc, BusyError) or not setaside.found_again():
            raise
        repo = discovery.discover()
    done = Recovery()
    worktree_lock = WorktreeLock(repo.git_dir / "atomic.lock")
    holder = worktree_lock.read()
    if holder is not None and not holder.alive:
        done.lock_broken = worktree_lock.break_stale()
    failpoints.hit("recover:after-break-lock")
    # A live holder makes this refuse (exit 3): it is working, not interrupted.
    done.journal_gone = journalgone.journal_gone(repo)
    if done.journal_gone is not None:
        done.problems.append(journalgone.journal_gone_line(*done.journal_gone))
    with context.opened("recover", check_state=False, start_new=True) as ctx:
        _refuse_if_owned(ctx.journal.open_op(ctx.worktree))
        engine = Engine(ctx)
        done.stopped_group = children.stop_orphaned_child(ctx.repo.git_dir / context.CHILD_RECORD)
        done.isolated = [op.id for op in cleanup_stale_isolated(engine=engine)]
        _finish_outside_restore(engine, done)
        _finish_closed_op_restores(engine, done)
        turnkilledend.record_killed(ctx)  # a turn's Stop killed before its operation's row
        op = ctx.journal.open_op(ctx.worktree)
        samefolder.same_worktree(ctx.repo, op)
        if op is not None and _needs_recovery(op):
            try:
                with output.told_if_refused(done.unlocked):  # (filled as it goes)
                    _recover_op(engine, op, accept=accept, done=done)
            except CheckpointGone as exc:
                raise CheckpointGone(exc.message, hint=_GONE_HINT) from None
            except GitError:
                # git failed on the way (an agent turn's effect worked out from its steps):
                # where the operation's first checkpoint is gone, that is the line to say.
                _refuse_if_gone(engine, op)
                raise
            if _clean(done):  # and each further killed turn (recoverturns.py)
                recoverturns.every_killed_turn(
                    ctx, lambda more: _one_more(engine, more, done, accept=accept)
                )
        elif op is not None and not done.anything:
            output.say(
                f"git-atomic: {op.name} [{op.id}] is open and not interrupted; "
                "finish it with `git atomic commit` or `git atomic abort`"
            )
        done.elsewhere = recoverturns.left_lines(ctx)
        tmp = ctx.repo.state_dir / "tmp"
        # What it moved aside beside a file of yours (another file system): removed, or into tmp
        for path in besideleft.sweep(ctx.repo.root, tmp):
            done.problems.append(f"{path}: a file a killed restore moved aside, out of your files")
        scratch.remove_dead(tmp)  # what the killed process left there
        # and those set aside before a rename, beside our files
        scratch.remove_dead_asides(
            ctx.repo.state_dir, ctx.repo.common_dir / OPEN_MARKS, git_dir=ctx.repo.git_dir
        )
        dotgit.remove_left(ctx.repo)  # and what one killed as it wrote `.git` left at the top
        gitlinks.remove_left(ctx.repo.git_dir, ctx.repo.common_dir)  # or a ref, HEAD, commondir
        remove_common_left(ctx.repo.common_dir)  # the common lock's file a killed holder left
        for name in scratch.aside_left(tmp):
            done.problems.append(
                f"a restore killed while it removed a file left it at .git/atomic/tmp/{name}: "
                "kept, in case it was a save of yours made at that instant"
            )
        recoverdone.tell(
            ctx,
            done,
            json_out=json_out,
            duration=time.monotonic() - started,
            open_op=op if done.op is None else None,
        )
    if done.not_restored:
        output.say(
            f"git-atomic: {len(done.not_restored)} path(s) could not be put back (the warnings "
            "above say why): the tree is not entirely at the target (exit 3)"
        )
        return 3
    if done.left:
        output.say(
            "git-atomic: what was changed after the interrupted restore began is left as it is "
            "(the warnings above name it); the rest is finished (exit 3)"
        )
        return 3
    if done.overlaps or any(more.overlaps for more in done.further):
        return 3
    return 0


def _clean(done: Recovery) -> bool:
    return not (done.overlaps or done.not_restored or done.left)


def _one_more(engine: Engine, op: OpRow, done: Recovery, *, accept: bool) -> bool:
    """A further killed turn recovered as the first was; said after it (`further`)."""
    more = Recovery()
    _recover_op(engine, op, accept=accept, done=more)
    done.further.append(more)
    done.not_restored += more.not_restored
    done.left = done.left or more.left
    return _clean(more)


def _refuse_if_owned(op: OpRow | None) -> None:
    """Before anything changes: an operation whose owner lives is at work, not interrupted."""
    if op is not None and op.owner_pid is not None and process_alive(op.owner_pid, op.owner_start):
        raise BusyError(
            f"operation {op.id} ({op.name}) is being worked on by pid {op.owner_pid}",
            hint="it is not interrupted; wait for it to finish",
        )


def _needs_recovery(op: OpRow) -> bool:
    # No owner: an open session between commands, unless a step of it was half done.
    return op.owner_pid is not None or op.pending is not None


def _finish_outside_restore(engine: Engine, done: Recovery) -> None:
    pending = engine.repo.git_dir / PENDING_FILE
    try:
        intent = json.loads(wholefile.read(pending))  # (never through a link, nor a FIFO)
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        # Written by rename, so never half written; a file we cannot read is not ours to act on
        # (nor one that is no regular file: a link's target is never read, a FIFO waited on).
        aside = pending.with_name(f"{PENDING_FILE}.unreadable")
        pending.replace(aside)
        done.problems.append(f"{pending} could not be read; moved to {aside.name}")
        return
    if intent.get("action") != IntentAction.RESTORE:
        pending.unlink(missing_ok=True)
        return
    # (an `emergency`, a `rollback --to`, an `undo` of no operation: never into another folder)
    what = f"the interrupted {intent.get('event')} was begun"
    samefolder.same_folder(engine.repo, intent.get(samefolder.ROOT_KEY), what)
    result = _finish_restore(engine, None, intent)
    done.restore_finished = commandresults.RestoreFinished(
        intent.get("event"), result.target, result.rescue
    )
    done.problems += result.outcome.problems
    done.not_restored += result.outcome.failed
    done.published += result.outcome.notes
    done.left = done.left or result.outcome.left_anything


def _finish_closed_op_restores(engine: Engine, done: Recovery) -> None:
    """A rollback of an operation closed long ago (`rollback --op ID`) keeps its intent there."""
    for op_id in engine.journal.closed_with_pending(engine.ctx.worktree):
        op = engine.journal.op(op_id)
        intent = op.pending_intent if op is not None else None
        if (
            op is not None
            and intent is not None
            and intent.get("action") == IntentAction.ADVANCE
            and _turn_commit(intent)
        ):
            # A kept turn's commit (commits mode) killed between its branch and your index
            from git_atomic.agents import turncommit

            said = turncommit.finish(engine.repo, engine.journal, op_id, intent)
            done.finished.append(f"the commit of {op.name} [{op_id}] is finished: {said}")
            continue
        if intent is None or intent.get("action") != IntentAction.RESTORE:
            engine.journal.set_pending(op_id, None)
            continue
        _drop_unrecorded_refs(engine, op_id)
        result = _finish_restore(engine, op_id, intent)
        done.restore_finished = commandresults.RestoreFinished(
            intent.get("event"), result.target, result.rescue, op_id
        )
        done.problems += result.outcome.problems
        done.not_restored += result.outcome.failed
        done.published += result.outcome.notes
        done.left = done.left or result.outcome.left_anything


def _turn_commit(intent: dict[str, Any]) -> bool:
    """Whether a closed operation's intent is a kept turn's commit (agents/turncommit.py), as
    it writes one; anything else left there (a journal edited by hand) is dropped, not read."""
    return all(isinstance(intent.get(k), str) for k in ("commit", "at", "old", "staged"))


def _drop_unrecorded_refs(engine: Engine, op_id: str) -> None:
    """A kill between a capture and its journal row leaves a ref no row names, under the name
    the next checkpoint of the operation would take. It holds the state at the kill, which
    recover either keeps or rescues anyway: nothing is lost by dropping it."""
    named = {c.ref for c in engine.journal.checkpoints(op_id)}
    stray = [
        f"delete {name} {oid}"
        for name, oid in engine.repo.refs(f"refs/atomic/ops/{op_id}/").items()
        if name not in named
    ]
    engine.repo.update_refs(stray, message="git-atomic recover: a checkpoint never recorded")


def _finish_restore(engine: Engine, op_id: str | None, intent: dict[str, Any]) -> RollbackResult:
    paths = [p.encode("utf-8", "surrogateescape") for p in intent.get("paths") or []]
    return engine.rollback_to(
        op_id,
        str(intent["target"]),
        event=EventKind(str(intent.get("event"))),
        paths=paths,
        with_refs=bool(intent.get("with_refs", True)),
        own_branches=bool(intent.get("own_branches", False)),
        rescue_sha=intent.get("rescue"),
        started_from=intent.get("from"),
        # An effect's windows: what its rules hid that it made goes as the killed move's would
        made_within=tuple(
            (float(w[0]), float(w[1]))
            for w in intent.get("within") or []
            if isinstance(w, list) and len(w) == 2 and all(isinstance(t, float) for t in w)
        ),
    )


# The intents `recover --accept` carries on by moving refs back (`_finish_restore`, `_back_to`).
_MOVES_REFS_BACK: Final = (IntentAction.RESTORE, IntentAction.ADVANCE)


def _recover_op(engine: Engine, op: OpRow, *, accept: bool, done: Recovery) -> None:
    journal = engine.journal
    journal.set_owner(op.id, Owner.this_process())
    _drop_unrecorded_refs(engine, op.id)
    done.op = op
    # A packed-refs it made no file, set aside unread (setaside.py): said, as its rollback says.
    repo = engine.repo
    if gitlinks.packed_refs_unread(repo.git_dir, repo.common_dir):
        from git_atomic.engine import packedrefs

        unread = packedrefs.unchecked(repo.git_dir, repo.common_dir, since=op.started_at)
        done.problems += [unread] if unread else []
    checkpoints = journal.checkpoints(op.id)
    pre = next((c for c in checkpoints if c.kind == CheckpointKind.PRE_OP), None)
    intent = op.pending_intent or {}
    detail = dict(op.details)
    if not accept:  # a `clone --shared`'s store it removed: its checkpoints may be only there
        from git_atomic.ops.gitdirback import alternates_first

        done.problems += alternates_first(engine.repo, detail)
    if pre is not None and (not accept or intent.get("action") in _MOVES_REFS_BACK):
        # Its git's locks (a killed git's: its own, or the interrupted restore's), before any
        # ref of it moves back; `--accept` moves refs only where it finishes a restore or a
        # commit stopped half way.
        done.unlocked += recoverbeside.locks_left(engine, op)
        done.problems += done.unlocked
    # Asked only with --accept, which must not measure from what is gone; a restore finds out
    # by itself (Engine.rollback_to) and refuses, and this refusal's hint says what then.
    gone = checkpointgone.missing(engine.repo, pre.sha) if pre is not None and accept else []
    if pre is None:
        # Killed inside `begin` before its PRE-OP checkpoint was recorded: nothing was changed.
        done.action = Action.NOTHING_CHANGED
    elif gone:
        # Something took PRE-OP away (refs deleted and pruned, an alternate removed): nothing
        # can be restored, measured or committed from it; the tree stays as asked.
        journal.set_pending(op.id, None)
        done.problems.append(
            checkpointgone.describe(pre.sha, gone, what=f"PRE-OP of {op.name} [{op.id}]")
            + ": the tree is kept as it is and nothing is recorded"
        )
        done.action = Action.KEPT
    elif intent.get("action") == IntentAction.RESTORE:
        result = _finish_restore(engine, op.id, intent)
        done.rescue, done.action = result.rescue, Action.RESTORE
        done.problems += result.outcome.problems
        done.not_restored += result.outcome.failed
        done.published += result.outcome.notes
        done.left = done.left or result.outcome.left_anything
        # A turn's restore is of its own effect (effect.py): finished, it is the turn's end.
        closes = (
            intent.get("event") == EventKind.EMERGENCY
            or result.target == pre.sha
            or op.kind == OpKind.AGENT_TURN
        )
        if not closes and op.kind == OpKind.SESSION:
            # A rollback or undo inside an open session: the session goes on from there.
            journal.set_owner(op.id, None)
            done.action = Action.KEPT_OPEN
            done.op = journal.op(op.id)
            return
        if not closes:
            _back_to(engine, op, pre.sha, done)
            done.action = Action.PRE_OP
    elif journal.last_event_kind(op.id) == EventKind.EMERGENCY:
        # `emergency` had made its move and was killed before it closed the operation.
        done.action = Action.RESTORE
    elif op.kind == OpKind.AGENT_TURN and not accept:
        # Its Stop hook killed while it judged the turn: what you did between its calls (your
        # edits, commits, branches) is never the turn's, and stays.
        _take_back_turn(engine, op, done)
    elif op.phase == Phase.PRE_OP or not accept:
        # `begin` had not finished (the operation never ran), or the default: exact PRE-OP.
        _back_to(engine, op, pre.sha, done)
        done.action = Action.PRE_OP
    else:
        if intent.get("action") == IntentAction.ADVANCE:
            # A visible commit stopped half way (branch moved, index not yet installed): put the
            # state of the checkpoint being committed back, then record it again, whole.
            _back_to(engine, op, checkpoints[-1].sha, done)
        failpoints.hit("recover:before-accept")
        engine.checkpoint(
            op, CheckpointKind.OP_EXEC, "kept by recover --accept after an interruption"
        )
        done.action = Action.ACCEPT
    failpoints.hit("recover:before-close")
    if pre is not None and done.action not in (Action.KEPT, Action.NOTHING_CHANGED):
        recoverbeside.tell_history(engine, op, pre.sha, detail, done)
    detail["recovered"] = done.action
    if done.overlaps:
        detail["overlaps"] = done.overlaps
    if done.problems:
        detail["problems"] = detail.get("problems", []) + done.problems
    if done.not_restored:
        detail["not_restored"] = [p.decode("utf-8", "surrogateescape") for p in done.not_restored]
    done.op = engine.close(
        op.id, status=OpStatus.RECOVERED, failed_phase=FailedPhase.INTERRUPT, detail=detail
    )


_GONE_HINT: Final = (
    "put back what held it (an alternate object store, the objects from a backup) and run "
    "`git atomic recover` again, or keep the tree as it is: `git atomic recover --accept`"
)


def _refuse_if_gone(engine: Engine, op: OpRow) -> None:
    rows = engine.journal.checkpoints(op.id)
    gone = checkpointgone.missing(engine.repo, rows[0].sha) if rows else []
    if gone:
        raise CheckpointGone(
            checkpointgone.describe(rows[0].sha, gone, what=f"PRE-OP of {op.name} [{op.id}]")
            + "; nothing was changed",
            hint=_GONE_HINT,
        ) from None


def _take_back_turn(engine: Engine, op: OpRow, done: Recovery) -> None:
    """An agent turn's own changes taken back on top of the state now, as its Stop hook would
    have after a failing gate (judge.py); where they overlap later changes, nothing changes."""
    from git_atomic.ops import effect, effectsteps, moves

    steps = effect.operation_steps(engine.repo, engine.journal, op)
    found = effect.take_back(engine.repo, steps, moves.probe(engine.repo))
    found = effectsteps.within_windows(found, effectsteps.quiet_windows(op))
    if found.conflicts:
        done.action = Action.OVERLAP
        done.overlaps = effect.conflict_lines(found)
        return
    done.action = Action.EFFECT
    if found.changes_something:
        result = effect.carry_out(engine, found, op_id=op.id, event=EventKind.RECOVER)
        done.rescue = result.rescue
        done.problems += result.outcome.problems
        done.not_restored += result.outcome.failed
        done.published += result.outcome.notes
        done.left = done.left or result.outcome.left_anything


def _back_to(engine: Engine, op: OpRow, target_sha: str, done: Recovery) -> None:
    """Restore `target_sha` (rescue first), unless the tree is there already.

    A restore that was finished before the kill needs no second rescue: it would only push the
    one holding the user's work further from `undo`.
    """
    current = snapshot.capture(
        engine.repo, message="git-atomic probe", ref=None, allow_unmerged=True
    ).snapshot
    target = checkpoint.load(engine.repo, target_sha)
    # Taking the operation back, as its own rollback would have: a branch another worktree may
    # have moved meanwhile is left and named (restoreplan.plan), never moved.
    plan = restoreplan.plan(engine.repo, current, target, own_branches=True)
    if not (
        plan.files
        or plan.new_folders
        or plan.gone_folders
        or plan.ref_lines
        or plan.head_changes
        or plan.index_changes
        or plan.git_state_changes
        or plan.shallow_changes
        or plan.attributes_changes
        # what git keeps beside the files (a stash pushed or dropped, an exclude line...),
        # which the operation's own rollback puts back too
        or plan.exclude_changes
        or plan.stash_changes
        or plan.sparse_changes
        or plan.dot_git_changes
        or plan.renamed_back
    ):
        return
    result = engine.rollback_to(op.id, target_sha, event=EventKind.RECOVER, own_branches=True)
    done.rescue = result.rescue
    done.problems += result.outcome.problems
    done.not_restored += result.outcome.failed
    done.left = done.left or result.outcome.left_anything
