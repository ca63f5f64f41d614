"""A finished or failing operation's rollback: back to its PRE-OP state, with what its command
left in the git dir noted, put back or named, and the operation closed (ops/operation.py's
`Engine` does the restore itself)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import EventKind, FailedPhase, OpStatus
from git_atomic.engine import gitlinks, layoutcheck
from git_atomic.ops import gitdirback, gitdirnoted, output
from git_atomic.ops.operation import Engine

# What a rollback after a failure can itself meet: git, the disk, the journal. The operation then
# stays open with its intent recorded, the next command reports it interrupted and `recover`
# finishes it. Anything else is a bug, left to reach the error log.
ROLLBACK_FAILURES: Final = (AtomicError, OSError, sqlite3.Error)


def rollback_op(
    engine: Engine,
    op: OpRow,
    *,
    failed_phase: FailedPhase | None,
    event: EventKind = EventKind.ROLLBACK,
) -> OpRow:
    """Return the tree to the operation's PRE-OP state and close the operation."""
    # What it leaves in the git dir, noted before its rollback puts it back: where an `undo`
    # of the rollback makes it again, a later `rollback --op` takes it back as it would have.
    from git_atomic.engine import safefs  # (a rollback's, never a checkpoint's)

    # Before git reads a ref for the notes below: a `packed-refs` (or a `commondir`...) the
    # command made a FIFO would keep it waiting for ever (gitdirfiles.py): refused, exit 3,
    # the operation left for `recover`, with the rollback's intent recorded as a refusal
    # met later in the rollback records it: `recover` then saves the operation's work as the
    # rescue and finishes the rollback, rather than finding an operation that never got to it.
    try:
        if os.path.realpath(engine.repo.git_dir) == engine.repo.real_git_dir:
            # A commondir it made no file of git's: every git would wait on it, read through
            # it or fail; set aside and written again before git runs (gitlinks.py).
            gitlinks.commondir_back(engine.repo.git_dir, engine.repo.common_dir)
        layoutcheck.check_layout(engine.repo, aside=True)  # a packed-refs of its: set aside below
    except AtomicError:
        pre_op = engine.pre_op(op.id).sha
        engine.intend_restore(op.id, pre_op, event=event, own_branches=True)
        raise
    # (Its git dir replaced, `.git` now a file or a link: noted after the rollback, as before.)
    # A packed-refs it made no file of git's (a link git would read every ref it left through,
    # a FIFO it would wait on, a folder): the rescue sets it aside unread (gitlinks.py) and
    # holds it, and what it left is not noted.
    detail, noted = dict(op.details), False
    repo, unread = engine.repo, None
    if gitlinks.packed_refs_unread(repo.git_dir, repo.common_dir):  # said (imported only then)
        from git_atomic.engine import packedrefs

        unread = packedrefs.unchecked(repo.git_dir, repo.common_dir, since=op.started_at)
    if not gitlinks.packed_refs_foreign(engine.repo.common_dir):
        with contextlib.suppress(OSError, AtomicError, safefs.Blocked):
            detail, noted = (
                dict(gitdirnoted.note_at_close(engine.repo, op.details, op_id=op.id)),
                True,
            )
    first = gitdirback.alternates_first(engine.repo, op.details)
    # git's locks its git left (HEAD.lock, a branch's, packed-refs.lock...), first: the
    # restore's own ref updates need them (a branch it moved stayed where it left it).
    first += _locks_left(engine, op)
    with output.told_if_refused(first):
        result = engine.rollback_to(op.id, engine.pre_op(op.id).sha, event=event, own_branches=True)
    problems = [*first, *result.outcome.problems, *([unread] if unread else [])]
    end = engine.journal.checkpoints(op.id)[-1].sha  # the state it left (its rescue)
    changed: dict[str, object] = {}
    put_back: list[str] = []  # the lines that only say what was put back as it was
    mended, lines = gitdirback.put_back_beside(
        engine.repo,
        op.details,
        pre_op=engine.pre_op(op.id).sha,
        op_id=op.id,
        own=True,
        problems=problems,
        end=end,
        worktrees=True,
        changed=changed,
        done=put_back,
    )
    if changed:  # for an `undo` of this rollback to write back (gitdirredo.py)
        from git_atomic.ops import gitdirredo

        gitdirredo.remember(engine.journal, engine.ctx.worktree, result.rescue, changed)
    from git_atomic.ops import configmade, hooksmade  # a rollback's, never a checkpoint's

    problems += hooksmade.lines(engine.repo, op.started_at)
    problems += configmade.lines(engine.repo, op.details)
    if mended:
        detail["reflogs_mended"] = mended
    problems += lines
    if problems:
        detail["problems"] = problems
    if put_back:  # no exception to "as before" (output.summary_line)
        detail[output.PUT_BACK] = put_back
    if result.outcome.left:
        detail["changed_since_rescue"] = [
            p.decode("utf-8", "surrogateescape") for p in result.outcome.left
        ]
    if result.outcome.refs_left:
        detail["refs_moved_since_rescue"] = result.outcome.refs_left
    if result.outcome.failed:
        detail["not_restored"] = [
            p.decode("utf-8", "surrogateescape") for p in result.outcome.failed
        ]
    if result.outcome.notes:  # a commit a remote holds taken off a branch (published.py)
        detail["notes"] = list(result.outcome.notes)
    return engine.close(
        op.id, status=OpStatus.ROLLED_BACK, failed_phase=failed_phase, detail=detail, noted=noted
    )


def _locks_left(engine: Engine, op: OpRow) -> list[str]:
    """git's locks a git of the operation left that no git holds (it died half way), removed
    and said (gitlocks.py): a few lstat calls where there are none."""
    from git_atomic.engine import gitlocks

    return gitlocks.removed(engine.repo, lambda: [(op.started_at, None)])
