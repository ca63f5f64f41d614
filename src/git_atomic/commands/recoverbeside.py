"""What a checkpoint does not hold, put back or named when `recover` takes an interrupted
operation back (as its own rollback would: ops/rollbackop.py): reflogs it rewrote, git hooks
and config it made, locks its git left, linked worktrees it added or removed."""

from __future__ import annotations

from typing import Any

from git_atomic.agents import turnkeys
from git_atomic.commands.recoverdone import Action, Recovery
from git_atomic.core.errors import AtomicError
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import OpKind
from git_atomic.engine import checkpoint, git
from git_atomic.ops import output
from git_atomic.ops.operation import Engine


def tell_history(
    engine: Engine, op: OpRow, pre_op: str, detail: dict[str, Any], done: Recovery
) -> None:
    """What a checkpoint does not hold, as the operation's own rollback has it (rollback_op):
    the reflogs it rewrote written back (not where the tree is kept as it is: `--accept`), and
    each linked worktree it removed or added named, with the command that makes or removes it."""
    if done.action not in (Action.ACCEPT, Action.OVERLAP):
        from git_atomic.ops.gitdirback import put_back_beside

        end = engine.journal.checkpoints(op.id)[-1].sha
        changed: dict[str, object] = {}
        mended, lines = put_back_beside(
            engine.repo,
            detail,
            pre_op=pre_op,
            op_id=op.id,
            # An agent turn's effect is its calls' alone: an ORIG_HEAD your reset wrote between
            # them stays, as its take-back at Stop leaves it (judge.py).
            own=op.kind != OpKind.AGENT_TURN,
            problems=done.problems,
            end=end,
            changed=changed,
        )
        if changed and done.rescue is not None:  # for an `undo` of the recovery (gitdirredo)
            from git_atomic.ops import gitdirredo

            gitdirredo.remember(engine.journal, engine.ctx.worktree, done.rescue, changed)
        done.problems += _hooks_made(engine.repo, op)
        from git_atomic.ops import configmade

        if op.kind != OpKind.AGENT_TURN:
            done.problems += configmade.lines(engine.repo, op.details)
        else:  # a turn's: those its calls added and removed (turnbeside.py)
            done.problems += configmade.later_lines(engine.repo, op.details)
        done.problems += lines
        if mended:
            detail["reflogs_mended"] = mended
            done.notes.append(output.mended_words(mended))
    if detail.get("worktrees") or engine.repo.has_other_worktrees():
        from git_atomic.ops import worktreesgone

        done.problems += worktreesgone.said(engine.repo, detail)


def _hooks_made(repo: git.Repo, op: OpRow) -> list[str]:
    """The git hooks made or changed while the operation ran (hooksmade.py); an agent turn's,
    within its calls' steps alone, as its take-back at Stop names them (judge.py)."""
    from git_atomic.ops import hooksmade

    turn = op.details.get("turn") if op.kind == OpKind.AGENT_TURN else None
    steps = turn.get("steps") if isinstance(turn, dict) else None
    if not isinstance(steps, list):
        return hooksmade.lines(repo, op.started_at)
    windows: list[tuple[float, float | None]] = []
    for step in steps:
        if not (isinstance(step, list) and len(step) == 2):
            continue
        try:
            start = checkpoint.load(repo, str(step[0])).captured_at
            end = checkpoint.load(repo, str(step[1])).captured_at
        except AtomicError:
            continue
        if start is not None:
            windows.append((start, end))
    # and the calls that changed nothing a checkpoint holds (a hook installed, alone)
    windows += turnkeys.quiet_windows(turn.get(turnkeys.QUIET_DETAIL) if turn else None)
    return hooksmade.lines_within(repo, windows)


def locks_left(engine: Engine, op: OpRow) -> list[str]:
    """git's locks (HEAD.lock, a branch's, packed-refs.lock...) a git of the interrupted
    operation left that no git holds, removed before `recover` puts its refs back, as its own
    rollback removes them (ops/rollbackop.py); a turn's are its calls' (judge.py)."""
    if op.kind == OpKind.AGENT_TURN:
        return []
    from git_atomic.engine import gitlocks

    return gitlocks.removed(engine.repo, lambda: [(op.started_at, None)])
