"""After a crash: the private worktrees of `run --isolate` runs whose git-atomic died.

An isolated run's journal row names its private worktree before the folder exists, and its
command's process group is recorded in that worktree's git dir, so whatever instant it was
killed at, this finds both: the command is ended, the worktree removed (`git worktree remove`,
then our own entry in .git/worktrees by name — never a global `git worktree prune`, which would
also forget the user's worktrees on an unmounted disk), the operation closed as recovered.
"""

from __future__ import annotations

from pathlib import Path

from git_atomic.core import children
from git_atomic.core.journalrows import OpRow, Owner
from git_atomic.core.lock import process_alive
from git_atomic.core.vocab import EventKind, FailedPhase, IntentAction, OpStatus
from git_atomic.engine import git, isolation
from git_atomic.ops import output
from git_atomic.ops.context import CHILD_RECORD
from git_atomic.ops.operation import Engine


def cleanup_stale_isolated(*, engine: Engine, finish_applies: bool = True) -> list[OpRow]:
    """Isolated runs whose git-atomic died: private worktrees removed, operations closed as
    recovered. An apply a crash stopped half way in this worktree is finished, as `recover`
    finishes any interrupted restore (its intent names the rescue and the target). `recover`
    calls this; every isolated run calls it first with `finish_applies=False` (no user worktree
    is touched then)."""
    repo, journal = engine.repo, engine.journal
    closed: list[OpRow] = []
    for op in journal.ops(status=OpStatus.OPEN):
        details = op.details
        if not details.get("isolated") or _alive(op):
            continue
        in_private = op.worktree.startswith(isolation.PRIVATE_PREFIX)
        if not in_private and not (finish_applies and op.worktree == engine.ctx.worktree):
            continue  # a half-done apply in another worktree: its own `recover` finishes it
        path = Path(details.get("private_worktree") or isolation.worktree_path(repo, op.id))
        _stop_command(repo, path)
        isolation.remove_worktree(repo, path)
        said = "its private worktree is removed; your worktree was not touched"
        intent = op.pending_intent or {}
        if not in_private and intent.get("action") == IntentAction.RESTORE and intent.get("target"):
            journal.set_owner(op.id, Owner.this_process())
            engine.rollback_to(
                op.id, str(intent["target"]), event=EventKind.APPLY, rescue_sha=intent.get("rescue")
            )
            said = (
                "the interrupted apply of its result to your worktree is finished "
                "(`git atomic undo` reverses it)"
            )
        detail = dict(details, recovered="isolated", applied=not in_private and bool(intent))
        closed.append(
            engine.close(
                op.id,
                status=OpStatus.RECOVERED,
                failed_phase=FailedPhase.INTERRUPT,
                worktree=details.get("user_worktree", op.worktree),
                detail=detail,
            )
        )
        output.say(f"git-atomic: isolated run {op.name} [{op.id}] was interrupted: {said}")
    _remove_orphans(engine)
    return closed


def _stop_command(repo: git.Repo, path: Path) -> None:
    """The command (or gate) a killed isolated run left running would go on writing there."""
    for admin in isolation.admin_dirs(repo, path):
        children.stop_orphaned_child(admin / CHILD_RECORD)


def _alive(op: OpRow) -> bool:
    return op.owner_pid is not None and process_alive(op.owner_pid, op.owner_start)


def _remove_orphans(engine: Engine) -> None:
    """Private worktrees that no live operation owns (its row is written before its folder)."""
    repo, journal = engine.repo, engine.journal
    try:
        entries = list((repo.state_dir / isolation.ISOLATED_DIR).iterdir())
    except OSError:
        entries = []
    for entry in entries:
        row = journal.op(entry.name)
        if row is not None and row.status == OpStatus.OPEN and _alive(row):
            continue
        _stop_command(repo, entry)
        isolation.remove_worktree(repo, entry)
    for admin in isolation.stale_admin_dirs(repo):
        row = journal.op(admin.name)
        if row is None or row.status != OpStatus.OPEN or not _alive(row):
            isolation.remove_admin_dir(admin)
