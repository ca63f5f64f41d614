"""The end of an agent turn: record it as an operation, judge its effect, keep it or take it back.

The turn becomes an operation of kind `agent-turn` in the journal only now, with the
checkpoints its calls took (the first `before` is its PRE-OP). It is judged on what *it* did:

- a turn that changed nothing is not judged at all (the engine never gets here);
- the gates run on the tree as it is; when one fails, its result on the tree *without the
  turn's changes* is looked up (`baseline.py`, cached by tree): the tree as it is now with the
  turn's own effect taken back, so that what you or another session changed meanwhile counts
  on both sides (where that effect cannot be taken back cleanly, the state the turn started
  from). A gate that fails there too does not fail the turn — the turn did not make it fail —
  as long as every gate that passes there still passes: *it must not fail worse*. Both facts
  are told to the agent;
- a failing turn's effect, the sum of its calls' (before, after) steps, is taken back on top of
  the current state (`effect.py`): the user's and other sessions' changes stay.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from git_atomic.agents import turnleft, turnop
from git_atomic.agents.turncaller import OPENED_IN_TURN
from git_atomic.agents.turnstate import REBUILT, Record
from git_atomic.core import failpoints, records
from git_atomic.core.errors import AtomicError, BusyError
from git_atomic.core.journalrows import OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import EventKind, FailedPhase, HistoryMode, OpStatus
from git_atomic.engine import git
from git_atomic.ops.context import Context, refuse_if_interrupted, refuse_index_lock
from git_atomic.ops.gates import GateResult

if TYPE_CHECKING:
    from git_atomic.core.config import GateSpec
    from git_atomic.engine.checkpoint import Snapshot

Held: TypeAlias = Context


class Outcome(enum.StrEnum):
    COMMITTED = "committed"  # the gates passed (or there are none)
    KEPT = "kept"  # gates fail as they already did where the turn started: not made worse
    ROLLED_BACK = "rolled_back"  # a gate the turn broke: its effect was taken back
    CONFLICT = "conflict"  # a gate failed, but its effect cannot be taken back cleanly
    CLOSED = "closed"  # it ended without its end event: recorded, not judged
    NOT_JUDGED = "not_judged"  # something stood in the way (said in `message`)
    # An operation the turn's own call opened (`git atomic begin`) is open: the turn waits,
    # its record kept, and the model is sent back to finish it (`message` names it).
    OWN_OPEN = "own_operation_open"


@dataclass(frozen=True)
class GateLine:
    name: str
    passed: bool
    exit_code: int | None
    message: str | None
    output_tail: str
    passed_at_start: bool | None = None  # None: not looked up (it passes now)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    op_id: str
    root: str
    calls: tuple[str, ...] = ()
    gates: tuple[GateLine, ...] = ()
    rescue: str | None = None
    message: str = ""
    unprotected: tuple[str, ...] = ()
    background: tuple[str, ...] = ()
    commit: str | None = None  # commits mode: the turn's commit on the branch
    not_committed: str = ""  # commits mode: why the turn made no commit
    cause: str = ""  # why it failed when no gate did (an index git cannot read)
    notice: str = ""  # what else the person should know (a turn rebuilt from its refs)

    @property
    def failed(self) -> tuple[GateLine, ...]:
        return tuple(g for g in self.gates if not g.passed)


def judge(
    repo: git.Repo,
    ctx: Held,
    record: Record,
    *,
    ending: str | None,
    history: HistoryMode = HistoryMode.SHADOW,
    unreadable: str = "",
    held_up: str = "",
    listed: bytes | None = None,
) -> Verdict:
    """Record the turn as an operation, run the gates, keep or take back its effect; in commits
    mode a kept turn becomes one commit (`turncommit.py`). `unreadable`: why the state the
    turn left cannot be kept (an index git cannot read): taken back without gates. `held_up`:
    why git's own state stops judging it (a merge the turn left half way): recorded as it
    is, not judged. `listed`: the turn's refs as `Repo.refs_listing` listed them just before
    (with other refs: those under refs/atomic/turns/<op>/ are taken), not listed again."""
    # git's locks its calls' git left (it died half way), first: the turn's own ref updates
    # (packed-refs.lock) and a take-back's (HEAD.lock, a branch's) need them.
    unlocked = turnleft.locks_left(repo, record)
    if unlocked:
        said = record.extra.get("said")  # turnbeside.SAID (not imported on this path)
        told = [*(said if isinstance(said, list) else []), *unlocked]
        record = records.replace(record, extra={**record.extra, "said": told})
    try:
        return _judge(
            repo,
            ctx,
            record,
            ending=ending,
            history=history,
            unreadable=unreadable,
            held_up=held_up,
            listed=listed,
        )
    except AtomicError as exc:
        # Refused after the locks went (a live git's index.lock met by its take-back): they
        # are said with the refusal (turnend.py reads the notes), not lost with the verdict.
        for line in unlocked:
            exc.add_note(line)
        raise


def _judge(
    repo: git.Repo,
    ctx: Held,
    record: Record,
    *,
    ending: str | None,
    history: HistoryMode,
    unreadable: str,
    held_up: str,
    listed: bytes | None,
) -> Verdict:
    refs = turnop.adopt_refs(repo, record, listed)
    failpoints.hit("judge:refs-adopted")  # its refs moved, no operation row yet
    why = held_up or _in_the_way(ctx)
    if why:
        turnop.record_op(ctx, record, refs, detail={"not_judged": why})
        turnop.close(ctx, record.op_id, OpStatus.COMMITTED)
        said = why if held_up else f"{why} in this worktree"
        return not_judged(record, repo, f"{said}; it is recorded as operation {record.op_id}")
    if ending is not None:
        turnop.record_op(ctx, record, refs, detail={"ended": ending, "judged": False})
        turnop.close(ctx, record.op_id, OpStatus.COMMITTED)
        return _verdict(Outcome.CLOSED, record, message=ending)
    if unreadable:
        turnop.record_op(ctx, record, refs, detail={"cause": unreadable}, history=history)
        return _take_back(ctx, record, (), cause=unreadable)
    from git_atomic.core.config import gates_to_run, load_config

    specs = gates_to_run(load_config(repo.root), [], no_gates=False)
    turnop.record_op(ctx, record, refs, detail={}, history=history)
    results = _run_gates(ctx, record.op_id, specs)
    failing = [r for r in results if not r.passed]
    if not failing and len(results) < len(specs):
        # SIGINT or SIGTERM (a platform's hook timeout) came before a gate ran, which then ran
        # none, or between two gates: an unjudged turn is not kept as a passing one; taken
        # back, as a turn whose gate was interrupted is (and as an interrupted `run` is).
        cause, phase = _interrupted(len(results), len(specs)), FailedPhase.INTERRUPT
        return _take_back(ctx, record, _lines(results, {}), cause=cause, phase=phase)
    if not failing:
        return _keep(ctx, record, Outcome.COMMITTED, _lines(results, {}), history=history)
    from git_atomic.agents import baseline

    without = _without_the_turn(ctx, record)
    at_start = baseline.results_of(repo, without, [s for s in specs if _fails(s, failing)])
    # A failure there counts only for a gate a private worktree can run at all.
    asked = [s for s in specs if at_start.get(s.name) is False]
    for name, can in baseline.runnable(repo, asked).items():
        if not can:
            del at_start[name]
    lines = _lines(results, at_start)
    if all(at_start.get(r.name) is False for r in failing):
        return _keep(ctx, record, Outcome.KEPT, lines, history=history)
    return _take_back(ctx, record, lines)


def _keep(
    ctx: Held,
    record: Record,
    outcome: Outcome,
    lines: tuple[GateLine, ...],
    *,
    history: HistoryMode,
) -> Verdict:
    """POST-OP: the state the turn left; in commits mode also its one commit."""
    turnop.close(ctx, record.op_id, OpStatus.COMMITTED, post_op=record.steps[-1][1])
    if history != HistoryMode.COMMITS:
        return _verdict(outcome, record, gates=lines)
    from git_atomic.agents import turncommit

    name = f"{record.platform}-turn-{turnop.short(record.session)}"
    calls = ", ".join(record.labels)
    subject = f"POST-OP: {name} - {calls}"
    subject = subject if len(subject) <= 72 else subject[:71] + "…"
    done = turncommit.commit_turn(ctx.repo, ctx.journal, record.op_id, record.steps, subject)
    # A turn's mode is its hooks' (no command of the turn takes `--history`): said so.
    hooks = f"install the hooks with `git atomic hooks install {record.platform} --history shadow`"
    why = done.why.replace("use --history shadow", hooks)
    return _verdict(outcome, record, gates=lines, commit=done.commit, not_committed=why)


def own_open(record: Record, repo: git.Repo, op: OpRow) -> Verdict:
    return Verdict(
        Outcome.OWN_OPEN,
        record.op_id,
        str(repo.root),
        record.labels,
        message=f"{op.name} [{op.id}]",
    )


def own_open_op(ctx: Held, record: Record) -> OpRow | None:
    """The operation open in this worktree when a call of this turn opened it (its journal
    detail names the turn: commands/session.py), else None."""
    op = ctx.journal.open_op(ctx.worktree)
    opened = op.details.get(OPENED_IN_TURN) if op is not None else None
    if isinstance(opened, dict) and opened.get("op_id") == record.op_id:
        return op
    return None


def not_judged(record: Record, repo: git.Repo, why: str) -> Verdict:
    return Verdict(
        Outcome.NOT_JUDGED,
        record.op_id,
        str(repo.root),
        record.labels,
        message=why,
        notice=_notice(record),
    )


def _run_gates(ctx: Held, op_id: str, specs: Sequence[GateSpec]) -> list[GateResult]:
    from git_atomic.ops import gates

    results = gates.run_gates(
        specs,
        root=ctx.repo.root,
        log_dir=ctx.repo.state_dir / "logs" / op_id,
        journal=ctx.journal,
        worktree=ctx.worktree,
        all_gates=True,  # "not worse" needs every gate's answer
    )
    gates.record(ctx.journal, op_id, results)
    return results


def _interrupted(ran: int, of: int) -> str:
    """Why a turn whose gates the signal cut short is taken back: `ran` of the `of` gates ran
    (and passed) before it."""
    import signal

    from git_atomic.core.children import INTERRUPTS

    name = "SIGINT" if INTERRUPTS.received == signal.SIGINT else "SIGTERM"
    if not ran:
        return f"interrupted by {name} before its gates ran"
    return f"interrupted by {name} before all its gates ran ({ran} of {of} ran, and passed)"


def _take_back(
    ctx: Held,
    record: Record,
    lines: tuple[GateLine, ...],
    *,
    cause: str = "",
    phase: FailedPhase | None = None,
) -> Verdict:
    """Take the turn's own effect back on top of the state now; on an overlap, change nothing.
    `cause`: why, when no gate failed; `phase`: the failed phase recorded then (else EXEC)."""
    from git_atomic.ops import effect, effectsteps, movefacts, moves
    from git_atomic.ops.operation import Engine

    steps = [effect.Step(before, after) for before, after in record.steps]
    found = effect.take_back(ctx.repo, steps, moves.probe(ctx.repo, since=record.started_at))
    # and the calls that are no step: what a rule hid of what they made is the turn's too
    found = effectsteps.within_windows(found, turnleft.quiet(record))
    if found.conflicts:
        overlaps = "; ".join(effect.conflict_lines(found))
        message = f"they overlap with later changes ({overlaps}); nothing was changed"
        turnop.close(ctx, record.op_id, OpStatus.COMMITTED, failed_phase=FailedPhase.VALIDATE)
        return _verdict(Outcome.CONFLICT, record, gates=lines, message=message, cause=cause)
    rescue = None
    message = ""
    # What its calls did beside the trees (a file over the budget moved, bits opened): taken
    # back too, by a move of its own where that is all (effectbeside.py).
    beside = _beside_trees(ctx, record, found.current)
    if found.changes_something or beside:
        try:
            refuse_index_lock(ctx.repo)  # a live git's index write, as for `rollback --op`
        except BusyError as exc:
            turnop.close(
                ctx,
                record.op_id,
                OpStatus.COMMITTED,
                failed_phase=FailedPhase.VALIDATE,
                why=exc.message,
            )
            return _verdict(Outcome.CONFLICT, record, gates=lines, message=exc.message, cause=cause)
        done = effect.carry_out(Engine(ctx), found, op_id=record.op_id, event=EventKind.ROLLBACK)
        rescue = done.rescue
        # Another writer's (left as they are), what the system refused, and what it did that
        # no checkpoint shows (a file over the budget the calls moved, moved back): said as a
        # rollback warns of them, never only when something was left.
        message = "; ".join(done.outcome.problems)
        # A branch (or the stash) others moved since stays, said as `rollback --op` says it.
        kept = movefacts.kept_lines(
            ctx.repo, found.kept, checked_out=found.checked_out, left_on=found.left_on
        )
        # A commit a remote holds that the take-back took off a branch (ops/published.py):
        # said to the agent and to you, as `rollback --op` says it.
        message = "; ".join(m for m in (message, *kept, *done.outcome.notes) if m)
        if record.steps and rescue is not None:
            from git_atomic.ops import effectbeside, gitdirredo

            ends = (record.steps[0][0], record.steps[-1][1])
            did = effectbeside.take_back(
                ctx.repo, ends, rescue, named=done.outcome.failed, calls=record.steps
            )
            bits = effectbeside.noted(did.changed, did.made, did.taken)
            gitdirredo.remember(ctx.journal, ctx.worktree, rescue, bits)  # for `undo`
            warned = [w for w in did.warned if w not in done.outcome.problems]  # not twice
            message = "; ".join(m for m in (message, *did.said, *warned) if m)
    if record.steps:
        # What its checkpoints do not hold, as a rollback puts it back: the reflogs its calls
        # rewrote (`git reflog expire --all`), ORIG_HEAD, a header-only packed-refs, a
        # submodule they de-initialised; a linked worktree they removed is named.
        from git_atomic.ops.gitdirback import put_back_beside

        problems: list[str] = []
        changed: dict[str, object] = {}
        said = put_back_beside(
            ctx.repo,
            turnop.beside(ctx.repo, record),
            pre_op=record.steps[0][0],
            op_id=record.op_id,
            own=False,
            problems=problems,
            end=record.steps[-1][1],
            worktrees=True,
            changed=changed,
        )[1]
        if rescue is not None:  # for `undo`, as a rollback's (gitdirredo.py)
            from git_atomic.ops import gitdirredo

            gitdirredo.remember(ctx.journal, ctx.worktree, rescue, changed)
        # What its calls wrote that you moved or removed since: left, named (effectleft.py).
        from git_atomic.ops import effectleft

        said += effectleft.lines(ctx.repo, record.steps, found.current)
        said += turnleft.hooks_made(ctx.repo, turnleft.call_windows(ctx.repo, record))
        said += turnleft.config_made(ctx.repo, record)
        message = "; ".join(m for m in (message, *said) if m)
    failed_phase = (phase or FailedPhase.EXEC) if cause else FailedPhase.VALIDATE
    turnop.close(ctx, record.op_id, OpStatus.ROLLED_BACK, failed_phase=failed_phase)
    return _verdict(
        Outcome.ROLLED_BACK, record, gates=lines, rescue=rescue, message=message, cause=cause
    )


def _beside_trees(ctx: Held, record: Record, current: Snapshot) -> bool:
    """Whether the turn's calls did anything beside the trees to take back (effectbeside.py)."""
    if not record.steps:
        return False
    from git_atomic.engine import checkpoint
    from git_atomic.ops import effectbeside

    pre, end = (checkpoint.load(ctx.repo, record.steps[i][j]) for i, j in ((0, 0), (-1, 1)))
    calls = effectbeside.loaded(ctx.repo, record.steps)
    return effectbeside.find(ctx.repo, pre, end, current, calls=calls).anything


def _without_the_turn(ctx: Held, record: Record) -> Snapshot:
    """The tree as it is now with the turn's own changes taken back (yours and other
    sessions' stay): where a failing gate is run again, to tell a gate the turn broke from
    one broken anyway. Where the turn's changes cannot be taken back cleanly, the state the
    turn started from."""
    from git_atomic.engine import checkpoint
    from git_atomic.ops import effect, moves

    steps = [effect.Step(before, after) for before, after in record.steps]
    found = effect.take_back(ctx.repo, steps, moves.probe(ctx.repo, since=record.started_at))
    if found.target is not None:
        return found.target
    return checkpoint.load(ctx.repo, record.steps[0][0])


# --- small helpers ---------------------------------------------------------------------------


def _in_the_way(ctx: Held) -> str:
    """Why the turn cannot be judged now ('' when it can): an operation someone opened."""
    try:
        open_op = refuse_if_interrupted(ctx)
    except AtomicError as exc:
        return str(exc)
    return f"operation {open_op.id} ({open_op.name}) is open" if open_op is not None else ""


def _fails(spec: object, failing: Sequence[GateResult]) -> bool:
    return getattr(spec, "name", None) in {r.name for r in failing}


def _lines(results: Sequence[GateResult], at_start: dict[str, bool]) -> tuple[GateLine, ...]:
    return tuple(
        GateLine(
            r.name,
            r.passed,
            r.exit_code,
            r.message,
            r.output_tail,
            None if r.passed else at_start.get(r.name),
        )
        for r in results
    )


def _verdict(outcome: Outcome, record: Record, **fields: object) -> Verdict:
    return Verdict(
        outcome,
        record.op_id,
        record.root,
        record.labels,
        unprotected=record.unprotected,
        background=record.background,
        notice=_notice(record),
        **fields,  # type: ignore[arg-type]
    )


def _notice(record: Record) -> str:
    """What the person should know beside the verdict: a turn rebuilt from its refs, and what
    its windows wrote back to be checkpointed at all (turnbeside.SAID)."""
    rebuilt = record.extra.get(REBUILT)
    said = record.extra.get("said")  # turnbeside.SAID (not imported on this path)
    lines = [rebuilt] if isinstance(rebuilt, str) and rebuilt else []
    lines += [str(line) for line in said] if isinstance(said, list) else []
    return "; ".join(lines)
