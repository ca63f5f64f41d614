"""What `git atomic recover` did, and how it says so: `Recovery` gathers it as recover.py works
(`Action`, the JSON's `recovery.action`, says what became of the interrupted operation); `tell`
prints the lines (or the JSON object) once it is done."""

from __future__ import annotations

import enum
from typing import Final

from git_atomic.core.journalrows import OpRow
from git_atomic.core.lock import Holder
from git_atomic.core.records import dataclass, field
from git_atomic.core.vocab import OpStatus
from git_atomic.ops import commandresults, context, output, results

NOTHING_TO_RECOVER: Final = "nothing to recover in this worktree"


class Action(enum.StrEnum):
    """What recover did with the interrupted operation (`recovery.action` in the JSON)."""

    PRE_OP = "pre_op"  # back at its exact PRE-OP state
    ACCEPT = "accept"  # the tree kept, recorded as OP-EXEC
    NOTHING_CHANGED = "nothing_changed"  # killed before its PRE-OP checkpoint was recorded
    RESTORE = "restore"  # the interrupted rollback or emergency finished
    KEPT_OPEN = "kept_open"  # a rollback inside a session finished; the session goes on
    EFFECT = "effect"  # an agent turn: its own changes taken back, the rest left as it is
    OVERLAP = "overlap"  # an agent turn whose changes overlap later ones: nothing changed
    KEPT = "kept"  # --accept where PRE-OP is gone from the object store: kept, not recorded


@dataclass
class Recovery:
    """What recover did, for the summary line and the JSON object."""

    lock_broken: Holder | None = None
    restore_finished: commandresults.RestoreFinished | None = None  # a restore a crash had stopped
    op: OpRow | None = None
    action: Action | None = None
    rescue: str | None = None
    problems: list[str] = field(default_factory=list)
    unlocked: list[str] = field(default_factory=list)  # git's stale locks removed (said if refused)
    notes: list[str] = field(default_factory=list)  # for the summary line (reflogs written back)
    not_restored: list[bytes] = field(default_factory=list)  # the system refused (exit 3)
    # A commit a remote-tracking ref holds that the finished restore took off a branch
    # (ops/published.py): said on stderr as it is done, and in the JSON's `notes`.
    published: list[str] = field(default_factory=list)
    left: bool = False  # what others changed since an interrupted restore's rescue (exit 3)
    overlaps: list[str] = field(default_factory=list)  # a turn's changes and later ones (exit 3)
    stopped_group: int | None = None  # the command's process group, left running by the kill
    isolated: list[str] = field(default_factory=list)  # `run --isolate` operations closed
    # The journal was gone while operations' checkpoints remain: the newest's PRE-OP and name.
    journal_gone: tuple[str, str] | None = None
    further: list[Recovery] = field(default_factory=list)  # more killed turns (recoverturns)
    finished: list[str] = field(default_factory=list)  # a closed turn's commit finished
    elsewhere: list[str] = field(default_factory=list)  # what is left to recover (recoverturns)

    @property
    def anything(self) -> bool:
        return bool(
            self.lock_broken
            or self.journal_gone
            or self.restore_finished
            or self.op
            or self.stopped_group
            or self.isolated
            or self.finished
        )


_SAID: Final = {
    Action.PRE_OP: "back at its exact PRE-OP state",
    Action.ACCEPT: "the tree is kept as it was and recorded as OP-EXEC",
    Action.NOTHING_CHANGED: "it had not changed anything; closed",
    Action.RESTORE: "the interrupted rollback or emergency is finished; closed",
    Action.KEPT_OPEN: "the interrupted rollback is finished; the operation stays open",
    Action.EFFECT: "the turn's own changes are taken back (what you did meanwhile stays)",
    Action.OVERLAP: "the turn's changes overlap later ones, so nothing was changed; closed",
    Action.KEPT: "the tree is kept as it is; nothing is recorded (its PRE-OP is gone); closed",
}


def tell(
    ctx: context.Context, done: Recovery, *, json_out: bool, duration: float, open_op: OpRow | None
) -> None:
    if json_out:
        if not done.anything and open_op is None and done.op is None:
            # What the line on stderr says, for an agent that reads the JSON alone.
            done.published.append(NOTHING_TO_RECOVER)
        for more in done.further:  # (one object: the further turns are its notes)
            assert more.op is not None and more.action is not None
            done.published.append(f"also {more.op.name} [{more.op.id}]: {_SAID[more.action]}")
            done.problems += [*more.problems, *(f"overlaps: {x}" for x in more.overlaps)]
        done.published += [*done.finished, *done.elsewhere]
        output.emit(_result(ctx, done, duration=duration))
        return
    if done.stopped_group is not None:
        output.say(
            f"git-atomic: stopped the command left running by the killed git-atomic "
            f"(process group {done.stopped_group})"
        )
    if done.lock_broken is not None:
        output.say(
            f"git-atomic: removed the lock left by pid {done.lock_broken.pid} "
            f"(`{done.lock_broken.command or '?'}`, since {done.lock_broken.since})"
        )
    if done.restore_finished is not None:
        output.say(
            f"git-atomic: finished the interrupted {done.restore_finished.event} "
            f"(rescue {output.short(done.restore_finished.rescue)})"
        )
    for line in done.finished:
        output.say(f"git-atomic: {line}")
    if done.op is not None:
        assert done.action is not None
        line = f"git-atomic: {done.op.name} [{done.op.id}] recovered: {_SAID[done.action]}"
        line += "".join(f"; {note}" for note in done.notes)
        if done.rescue:
            line += (
                f"; the state it replaced is saved as {output.short(done.rescue)} "
                "(`git atomic undo` brings it back)"
            )
        output.say(line)
    for line in done.overlaps:
        output.say(f"git-atomic:   overlaps: {line}")
    if done.overlaps and done.op is not None:
        output.say(
            "git-atomic: the turn's changes are still there: take them back by hand, or go "
            f"back to its whole state (`git atomic rollback --op {done.op.id} --whole --dry-run` "
            "says what that drops)"
        )
    for problem in done.problems:
        output.say(f"git-atomic: warning: {problem}")
    for more in done.further:
        tell(ctx, more, json_out=False, duration=duration, open_op=None)
    for line in done.elsewhere:
        output.say(f"git-atomic: {line}")
    if not done.anything and open_op is None:
        output.say(f"git-atomic: {NOTHING_TO_RECOVER}")


def _result(
    ctx: context.Context, done: Recovery, *, duration: float
) -> commandresults.RecoverResult:
    finished = done.restore_finished
    operation = (
        results.operation(ctx.journal, done.op)
        if done.op is not None
        else results.no_operation(
            status=OpStatus.RECOVERED if done.anything else None,
            rescue=finished.rescue if finished else None,
            duration_s=round(duration, 3),
        )
    )
    lock = done.lock_broken
    return commandresults.RecoverResult(
        operation,
        commandresults.Recovery(
            action=done.action,
            lock_broken=commandresults.LockBroken(lock.pid, lock.since) if lock else None,
            stopped_group=done.stopped_group,
            isolated_closed=tuple(done.isolated),
            restore_finished=finished,
            rescue=done.rescue,
            problems=(*done.problems, *(f"overlaps: {line}" for line in done.overlaps)),
            duration_s=round(duration, 3),
            notes=tuple(done.published),
        ),
    )
