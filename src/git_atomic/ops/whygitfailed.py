"""What to say when git failed inside a command because a checkpoint it needed is gone."""

from __future__ import annotations

import os
import time

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import OpStatus
from git_atomic.engine import git


def raise_if_gone(repo: git.Repo, journal: Journal) -> None:
    """After git failed inside a command: where a checkpoint of the worktree's newest
    operations is no longer whole in the object store (an operation deleted our refs and
    pruned, or removed an alternate), that is the line to say, not git's failure."""
    from git_atomic.engine import checkpointgone

    ops = journal.ops(worktree=repo.worktree_id, limit=3)
    if (
        ops
        and ops[0].details.get("alternates")
        and not os.path.lexists(repo.common_dir / "objects" / "info" / "alternates")
    ):  # (a clone --shared's) what took its objects away, by name
        from git_atomic.engine import alternates

        why = alternates.removed(repo, ops[0].details)
        if why is not None:
            found = checkpointgone.first_gone(repo, [c.sha for c in journal.checkpoints(ops[0].id)])
            what = f"a checkpoint of {ops[0].name} [{ops[0].id}]"
            raise checkpointgone.CheckpointGone(
                why
                + (f"; {checkpointgone.describe(*found, what=what, cause=False)}" if found else ""),
                hint=_alternates_back(journal.op(ops[0].id)),
            ) from None
    for op in ops:
        found = checkpointgone.first_gone(repo, [c.sha for c in journal.checkpoints(op.id)])
        if found is not None:
            raise checkpointgone.CheckpointGone(
                checkpointgone.describe(*found, what=f"a checkpoint of {op.name} [{op.id}]"),
                hint="`git atomic emergency --to COMMIT` goes back to a commit of yours instead",
            ) from None
    # The states the worktree's newest moves went to and replaced (an `emergency --to`'s commit,
    # a take-back's made state: held by refs no row names, refs/atomic/commits/).
    for event in journal.events(repo.worktree_id, limit=3):
        for sha, what in ((event.target, "went to"), (event.rescue, "replaced")):
            gone = checkpointgone.missing(repo, sha) if sha else []
            if sha and gone:
                rescue = event.rescue if what == "went to" and event.rescue else None
                raise checkpointgone.CheckpointGone(
                    checkpointgone.describe(
                        sha, gone, what=f"the state the {event.kind} of {_ago(event.at)} {what}"
                    ),
                    hint=(
                        f"`git atomic rollback --to {rescue[:12]} --whole` goes back to what it "
                        "replaced"
                        if rescue is not None and not checkpointgone.missing(repo, rescue)
                        else "`git atomic emergency --to COMMIT` goes back to a commit of yours"
                    ),
                ) from None


def _ago(at: float) -> str:
    """When, for people: "12:34:56" (today's clock; the event's own day is in `log`)."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def _alternates_back(op: OpRow | None) -> str:
    """How the alternates file an operation removed is written back: by its rollback."""
    if op is not None and op.status == OpStatus.OPEN:
        if op.pending:  # a run stopped half way (interrupted)
            return "`git atomic recover` writes it back and returns to PRE-OP"
        return "`git atomic abort` writes it back and rolls the operation back"
    return "write it back as it was before the operation (its path above)"
