"""The end of an agent turn: judged at its end event (`end`: judge.py runs its gates, keeps or
takes back its effect), or closed without its end event (`close`: an interrupt, the session's
end, the next prompt finding it open): recorded, not judged, so nothing the user does
afterwards can be taken back by a later turn. A turn whose record and refs a call removed is
said lost, never passed over.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from git_atomic.agents import (
    turn,
    turnabandoned,
    turnmarks,
    turnothers,
    turnplace,
    turnstate,
    turnsteps,
)
from git_atomic.agents.turnstate import Record, Slot, any_turn_refs, new_record, worktrees_of
from git_atomic.core import failpoints, records
from git_atomic.core.errors import AtomicError, LockBusy
from git_atomic.engine import capturerefs, git

if TYPE_CHECKING:
    from git_atomic.agents import judge


def end(repo: git.Repo, session: str, *, history: str = "shadow") -> list[judge.Verdict]:
    """The turn ended: judge it in every worktree it changed (nothing when it changed none).
    `history`: "commits" makes a kept turn one commit on the branch."""
    return _finish_all(repo, session, ending=None, history=history)


def close(repo: git.Repo, session: str, why: str, *, prompt: bool = False) -> list[judge.Verdict]:
    """The turn ended without its end event (`why`): record it as it is, judge nothing.
    `prompt`: the session's next prompt, which also closes another session's turn abandoned
    in this worktree (not at an end event a platform gives seconds: Codex's `Interrupt`)."""
    verdicts = _finish_all(repo, session, ending=why)
    if prompt:
        verdicts += _close_others_abandoned(repo, session)
    return verdicts


def _finish_all(
    repo: git.Repo, session: str, *, ending: str | None, history: str = "shadow"
) -> list[judge.Verdict]:
    # A turn whose record a call of its own removed: looked for with git only where the refs
    # may hold a turn other than those that have their records (no process at a usual end).
    live = turnstate.live_turns(repo.state_dir, session)
    if any_turn_refs(repo, but=live):
        from git_atomic.agents import turnorphans

        turnorphans.restore(repo, session, live=live)
    verdicts = []
    marks = turnmarks.open_marks(repo.state_dir, session)
    for worktree in worktrees_of(repo.state_dir, session):
        slot = Slot(repo.state_dir, session, worktree)
        record = slot.read()
        if record is None:  # a record a call made unreadable (`echo > ...json`): as one gone
            slot.path.unlink(missing_ok=True)
            continue
        marks.pop(worktree, None)
        # This worktree's turn is judged here, also where the worktree was moved since it began
        # (`mv` of the repository: its record names the old folder).
        where = repo if worktree == repo.worktree_id else turnplace.worktree_repo(repo, record.root)
        if where is None:
            slot.remove()  # its worktree is gone, and with it what the turn changed
            continue
        verdict = _finish(where, slot, ending=ending, history=history)
        if verdict is not None:
            verdicts.append(verdict)
    for worktree, mark in marks.items():
        Slot(repo.state_dir, session, worktree).forget()
        verdicts.append(_lost(repo, session, worktree, mark))
    # A turn whose record file alone a call removed, its mark and refs too, and no `after`
    # came to say it (a call cut short): its lock file still says it is open (Slot).
    for worktree in turnstate.locked_without_record(repo.state_dir, session):
        if worktree in marks:
            continue
        slot = Slot(repo.state_dir, session, worktree)
        with slot.held():
            lost = slot.lost_here()
            if lost:
                slot.forget()
        if lost:
            verdicts.append(_lost(repo, session, worktree, {}))
    return verdicts


def _close_others_abandoned(repo: git.Repo, session: str) -> list[judge.Verdict]:
    """Another session's turn in this worktree that no hook call wrote for ABANDONED_AFTER (its
    agent was killed): closed at this session's prompt, as it would be at its own, recorded
    and not judged, nothing taken back. One directory listing; the journal only for one
    found."""
    cutoff = time.time() - turnstate.ABANDONED_AFTER
    verdicts = []
    for slot in turnstate.abandoned(repo.state_dir, repo.worktree_id, cutoff):
        if slot.session == session:
            continue
        why = f"a turn of another session, {slot.session[:12]}: {turnabandoned.abandoned_why(slot)}"
        verdict = _finish(repo, slot, ending=why, history="shadow", own_session=False)
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts


def _lost(repo: git.Repo, session: str, worktree: str, mark: Mapping[str, str]) -> judge.Verdict:
    """A turn that was open (`turnmarks.mark_open`) and has neither its record nor a checkpoint
    ref left: a call removed both (`rm -rf .git/atomic`, `git update-ref -d` of its refs). Said,
    not passed over as a turn that changed nothing; there is nothing to take back from."""
    from git_atomic.agents import judge

    turnstate.unmark(repo.state_dir, session, worktree)
    op_id = mark.get("op_id", "")
    record = new_record(op_id, session, mark.get("platform", ""), repo.root)
    gone = (
        f"its record (under {repo.state_dir / turnstate.TURNS_DIR}) and its checkpoints "
        f"(refs/atomic/turns/{op_id or '...'}/) were removed, or made unreadable, while it "
        "ran (by one of its calls?)"
    )
    if not op_id:  # marked by a call's `after` that found nothing of the turn (`_lost_in_call`)
        gone = (
            "a call of it ended with nothing of the turn left: its record (under "
            f"{repo.state_dir / turnstate.TURNS_DIR}), its checkpoints (refs/atomic/turns/) "
            "and its mark were removed while it ran (by that call?), or the call's start was "
            "never seen (the hooks installed while it ran)"
        )
    why = (
        f"{gone}, so what it changed can no longer be told from what others did: nothing was "
        "taken back and no gate ran. `git status` and `git diff` show the worktree as it is; "
        "`git atomic gates --run` runs the gates"
    )
    if _nothing_recorded(repo):
        why += (
            "; this repository's journal records no operation and it holds no checkpoint: "
            "if a call made the git dir anew (`rm -rf .git`, `git init`?), the history and "
            "checkpoints went with it: nothing can be taken back, the files are as they are"
        )
    where = "" if worktree == repo.worktree_id else f" (worktree {worktree})"
    return judge.not_judged(record, repo, why + where)


def _nothing_recorded(repo: git.Repo) -> bool:
    """Whether the journal records no operation and no ref holds a checkpoint of ours (as
    commands/session.py asks): the git dir the turn began in is gone with all of them."""
    if repo.refs("refs/atomic/ops/", "refs/atomic/turns/"):
        return False
    from git_atomic.ops import context

    if not os.path.lexists(repo.state_dir / "journal.sqlite3"):
        return True
    try:
        journal = context.open_journal(repo)
    except AtomicError:
        return False
    try:
        return not journal.ops(limit=1)
    finally:
        journal.close()


def _finish(
    repo: git.Repo, slot: Slot, *, ending: str | None, history: str, own_session: bool = True
) -> judge.Verdict | None:
    """`own_session`: the call is of the turn's own session (its prompt, its end): a turn
    whose Stop could not wait for the lock is judged there (turnstopkilled.busy)."""
    from git_atomic.agents import judge, turnstopkilled
    from git_atomic.core.vocab import HistoryMode
    from git_atomic.ops import context

    left: Record | None = None  # the turn, once it left its slot
    try:
        with _locked(repo, "hook: end of turn") as ctx_lock:
            # A command the turn left half way (a merge that conflicts): its end is held as it
            # is, git's state and the index as its bytes, and the turn recorded, not judged;
            # what you do afterwards (resolve it, commit) is never the turn's.
            held_up = context.git_state_in_the_way(repo)
            with slot.held():  # the turn leaves its slot before the gates run
                record = slot.read()
                if record is None:
                    return None
                if record.root != str(repo.root):
                    copied = turnplace.not_here(repo, slot, record)
                    if copied:
                        return judge.not_judged(record, repo, copied)
                    # The worktree moved since the turn began.
                    record = records.replace(record, root=str(repo.root))
                if (began := turnstopkilled.began(record)) is not None:
                    if ctx_lock.journal.op(record.op_id) is not None:
                        slot.remove()  # its end was killed once it was an operation: recover's
                        return None
                    # Its Stop was killed before the turn was an operation: judged as it would
                    # have been, never "ended without Stop" (turnstopkilled.py).
                    ending, history = None, began
                elif ending is not None and own_session and (busy := turnstopkilled.busy(record)):
                    # Its Stop came and could not wait for the lock: judged as it would have
                    # been, never closed unjudged by the next prompt.
                    ending, history = None, busy
                record = turnstopkilled.unmarked(record)
                if ending is not None and turnabandoned.idle_too_long(slot):
                    record = turnabandoned.without_open_window(repo, record)
                    if "made no hook call since" not in ending:
                        ending = f"{ending}; {turnabandoned.abandoned_why(slot)}"
                own = judge.own_open_op(ctx_lock, record) if ending is None else None
                if own is not None:
                    # The turn waits in its slot, as it is, for its operation to be finished.
                    slot.write(record)
                    return judge.own_open(record, repo, own)
                if ending is None:  # its end began: said in its record before any capture
                    slot.write(turnstopkilled.mark(record, history))
                unreadable = ""
                # The turn's refs listed with its end's capture, for after it (one listing);
                # never a listing an earlier call of this process made.
                repo.listed = None
                also = capturerefs.ALSO_LISTED.set((_turn_refs(record),))
                # (Imported at the turn's end, which captures: not on every call's way.)
                from git_atomic.engine import indexerrors

                try:
                    record = closed(repo, record, raw_index=bool(held_up))
                except indexerrors.UnreadableIndex as exc:
                    # The turn left an index git cannot read: no state to keep. Its end is
                    # held with the index as its bytes, and the turn is taken back.
                    unreadable = f"this turn left {exc.left} ({exc.reason})"
                    record = closed(repo, record, raw_index=True)
                finally:
                    capturerefs.ALSO_LISTED.reset(also)
                if ending is None and record.steps:
                    # It waits in its slot, marked, until it is an operation (turnop.record_op)
                    slot.write(turnstopkilled.mark(record, history))
                else:
                    slot.remove()
                left = record
            failpoints.hit("turnend:closed")  # its last step taken, not yet an operation
            listed = None  # the branches and the turn's refs: one listing for both uses
            if record.steps and not unreadable:
                listed = _branches_and_turn_refs(repo, record)
                unreadable = _on_our_refs(repo, record, listed) or _moved_away(repo, record)
            if ending is not None and unreadable:
                # Closed, not judged: nothing is taken back, what it left is said (a worktree
                # git no longer finds here, an index it cannot read).
                ending = f"{ending}; {unreadable}, left as it is"
            if not record.steps:
                turnsteps.forget_refs(repo, record)
                if turnothers.kept_as_neithers(record):  # its calls ran with another's: said
                    return judge.not_judged(record, repo, "none of its changes are its own")
                if record.extra.get("packed_refs_aside"):  # turnpacked.SET_ASIDE: said
                    return judge.not_judged(record, repo, "its calls changed no file")
                return None
            mode = HistoryMode.parse(history, what="history")
            return judge.judge(
                repo,
                ctx_lock,
                record,
                ending=ending,
                history=mode,
                unreadable=unreadable,
                held_up=held_up,
                listed=listed,
            )
    except AtomicError as exc:
        # Said, also when the turn had left its slot (a failure while it was judged).
        record = slot.read()
        if record is not None and turnstopkilled.marked_here(record):
            record = turnstopkilled.unmarked(record)  # not killed: no end of it under way
            with slot.held():
                slot.write(record)
        hint = exc.hint
        if isinstance(exc, LockBusy):
            # (not the command line's `--wait`: a hook has none, it waited
            # GIT_ATOMIC_HOOK_LOCK_WAIT)
            hint = "the turn stays open: its next Stop judges it"
            if record is not None and (ending is None or turnstopkilled.busy(record)):
                # Its end was seen: the next prompt judges it too, never keeps it unjudged.
                if ending is None:
                    with slot.held():
                        if (now := slot.read()) is not None and now.op_id == record.op_id:
                            slot.write(turnstopkilled.marked_busy(now, history))
                hint = "the turn stays open: its next Stop judges it, or your next prompt does"
        record = record or left
        why = f"{exc} ({hint})" if hint else str(exc)
        # What was done before the refusal, said with it (judge.py: git's stale locks removed).
        why += "".join(f"; {note}" for note in getattr(exc, "__notes__", ()))
        if record is not None and _left_open(repo, record.op_id):
            why += (
                f"; its operation {record.op_id} is left open: `git atomic recover` finishes it "
                "(`--accept` keeps the tree as it is)"
            )
        return judge.not_judged(record, repo, why) if record is not None else None


def _turn_refs(record: Record) -> str:
    return f"{turnstate.TURN_REFS}{record.op_id}/"


def _branches_and_turn_refs(repo: git.Repo, record: Record) -> bytes | None:
    """The branches and the turn's refs, in one listing (`Repo.refs_listing`'s format): for
    `_on_our_refs` and the judge's adoption of the turn's refs, which each listed its own.
    Where the turn's end captured, its capture listed them and our updates since are known
    (`Repo.listed_again`): no listing. None where git cannot list them (a HEAD the turn
    damaged): each asks again, as before."""
    from git_atomic.engine.gitoutput import REFS_FORMAT

    known = repo.listed_again("refs/heads/", _turn_refs(record))
    if known is not None:
        return known
    res = repo.run(
        "for-each-ref", f"--format={REFS_FORMAT}", "refs/heads/", _turn_refs(record), check=False
    )
    return res.stdout if res.returncode == 0 else None


def _on_our_refs(repo: git.Repo, record: Record, listed: bytes | None) -> str:
    """Why the turn cannot be kept ('' when it can): a branch its calls made a symbolic ref to
    one of our refs (`git symbolic-ref refs/heads/x refs/atomic/...`), which would dangle once
    the turn's refs move, or a commit on it move a checkpoint's. As `run` does, the turn is
    taken back; the branch is first made a branch of its own again, as the turn's start had
    it (gone where it had none). `listed`: the refs under refs/heads/ (and others), listed."""
    from git_atomic.engine import checkpoint, gitlinks

    if gitlinks.head_damaged(repo.git_dir):
        # The take-back sets it aside and puts back the turn's start's (rescue.load_target).
        return (
            f"this turn left {repo.git_dir / 'HEAD'} on one of git-atomic's own refs "
            "(refs/atomic/), or as git refuses it"
        )
    on_ours = gitlinks.branches_on_ours(repo, listed)
    if not on_ours:
        return ""
    start = checkpoint.load(repo, record.steps[0][0])
    gitlinks.branches_off_ours(repo, start.branches)
    return (
        f"this turn left branch {on_ours[0]} a symbolic ref to one of git-atomic's own refs "
        "(refs/atomic/)"
    )


def _moved_away(repo: git.Repo, record: Record) -> str:
    """Why the turn cannot be kept ('' when it can): a call of it set `core.bare true` or
    changed `core.worktree`, so that git finds no worktree here, or another (coreplace.py).
    As `run` does with a command that did, the turn is taken back, the setting with it."""
    from git_atomic.agents import turnbeside
    from git_atomic.engine import coreplace

    moved = coreplace.moved_away(repo, turnbeside.beside_detail(repo, record))
    return f"this turn set {moved}" if moved else ""


def _left_open(repo: git.Repo, op_id: str) -> bool:
    """Whether the turn's operation was recorded and is still open (its judging failed half
    way): every later operation is refused until `recover`."""
    from git_atomic.core.vocab import OpStatus
    from git_atomic.ops import context

    try:
        journal = context.open_journal(repo)
    except AtomicError:
        return False
    try:
        op = journal.op(op_id)
    finally:
        journal.close()
    return op is not None and op.status == OpStatus.OPEN


def closed(repo: git.Repo, record: Record, *, raw_index: bool) -> Record:
    """The turn's last window closed, and its last checkpoint taken: what is on disk."""
    if isinstance(record.extra.get(turnsteps.ASKED), str) and turn.asks(record):
        record = turn.at_mark(repo, record)  # a call refused at a prompt: the window ends there
    if record.window_before is not None:
        record = turnsteps.close_window(repo, record, raw_index=raw_index)
    if turnsteps.pending_of(record):
        record, end = turnsteps.capture(repo, record, "end", ref=False, raw_index=raw_index)
        record = turnsteps.settle(repo, record, end)
    return record


@contextmanager
def _locked(repo: git.Repo, command: str) -> Iterator[judge.Held]:
    from git_atomic.ops import context

    # git's own state is looked at by the turn's end itself (`_finish`).
    with context.opened(command, wait=turnstate.lock_wait(), found=repo, check_state=False) as ctx:
        yield ctx
