"""An isolated run's record (what `run --isolate` learns as it goes, commands/isolate.py) and
its endings: closing the operation, keeping the private worktree's state when it failed, saying
which shared branches it moved, removing the private worktree, and telling the user (text, or
the JSON result with the recipes to apply a result by hand)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from git_atomic.core.errors import AtomicError, RefusedError
from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.records import dataclass, field
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpStatus, Phase
from git_atomic.engine import checkpoint, git, infoexclude, isolation, snapshot
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.ops import commandresults, output, phasecommit, results
from git_atomic.ops.context import Context
from git_atomic.ops.isolation_apply import NotApplied
from git_atomic.ops.operation import Engine, op_ref


@dataclass(frozen=True)
class PhaseState:
    """The private worktree right after a phase (and its commit, in commits mode)."""

    row: CheckpointRow
    files_tree: str
    staged_tree: str
    head_oid: str | None


@dataclass
class IsolatedRun:
    """One `run --isolate`: where its private worktree is, what came of each phase, and how it
    ends (applied, merged, or why not)."""

    ctx: Context
    op_id: str
    name: str
    history: HistoryMode
    argv: tuple[str, ...]
    path: Path
    pre: Snapshot
    base: phasecommit.Base | None  # commits mode: what its commits are measured from
    private: git.Repo | None = None
    result: PhaseState | None = None
    coverage: float | None = None
    applied: bool = False
    merged: bool = False
    reason: NotApplied | None = None
    why: str | None = None
    conflicts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def commits(self) -> bool:
        return self.history == HistoryMode.COMMITS


def file_checkpoint(
    run: IsolatedRun, captured: Snapshot, kind: CheckpointKind, subject: str, message: str
) -> int:
    """File a capture of the private worktree as a checkpoint of the user's worktree (HEAD on
    the user's branch, the user's paths), under the operation's ref and in the journal; its
    number in the operation."""
    assert run.private is not None
    journal = run.ctx.journal
    seq = len(journal.checkpoints(run.op_id)) + 1
    ref = op_ref(run.op_id, kind, seq)
    snap = isolation.as_user_checkpoint(
        run.private,
        captured,
        head_ref=run.pre.head_ref,
        root=run.ctx.repo.root,
        private_root=run.private.root,
        message=subject,
    )
    run.private.update_refs([f"create {ref} {snap.commit}"], message=f"git-atomic: {kind.label}")
    journal.add_checkpoint(run.op_id, kind, snap.commit, ref, message)
    return seq


# --- endings -------------------------------------------------------------------------------------
def close_unless_applying(run: IsolatedRun) -> None:
    """After an error: before the apply started the user's worktree was never touched, so the
    operation is closed here. A half-done apply stays open for `recover` (its intent names
    rescue and target)."""
    op = run.ctx.journal.op(run.op_id)
    applying = op is not None and op.phase == Phase.APPLY
    if op is not None and op.status == OpStatus.OPEN and (not applying or op.pending is None):
        close(
            run,
            status=OpStatus.ROLLED_BACK,
            failed_phase=FailedPhase.VALIDATE if applying else FailedPhase.EXEC,
        )


def fail(run: IsolatedRun, failed_phase: FailedPhase, *, keep: bool = True) -> OpRow:
    """The user's worktree was never touched; keep what the private one holds, then close."""
    if keep and run.private is not None:
        try:
            captured = snapshot.capture(run.private, message="git-atomic probe", ref=None)
            file_checkpoint(
                run,
                captured.snapshot,
                CheckpointKind.RESCUE,
                f"git-atomic rescue: {run.name} [{run.op_id}] as it failed",
                "the private worktree when the operation failed",
            )
        except AtomicError as exc:  # e.g. the command left unmerged paths: nothing to keep
            run.problems.append(f"its private worktree could not be kept: {exc.message}")
    run.problems += shared_files_back(run)
    run.problems += branches_moved(run)
    return close(run, status=OpStatus.ROLLED_BACK, failed_phase=failed_phase)


def not_applied(
    run: IsolatedRun, reason: NotApplied, why: str, *, conflicts: Sequence[str] = ()
) -> OpRow:
    run.reason, run.why, run.conflicts = reason, why, list(conflicts)
    return close(run, status=OpStatus.ROLLED_BACK, failed_phase=FailedPhase.VALIDATE)


def close(run: IsolatedRun, *, status: OpStatus, failed_phase: FailedPhase | None = None) -> OpRow:
    journal = run.ctx.journal
    op = journal.op(run.op_id) or gone(run)
    detail: dict[str, object] = dict(op.details)
    detail.update(applied=run.applied, merged=run.merged)
    if run.reason is not None:
        detail.update(not_applied=run.reason, why=run.why, conflicts=run.conflicts)
    if run.problems:
        detail["problems"] = op.details.get("problems", []) + run.problems
    return Engine(run.ctx).close(
        run.op_id,
        status=status,
        failed_phase=failed_phase,
        worktree=run.ctx.worktree,
        detail=detail,
        coverage=run.coverage,
    )


def gone(run: IsolatedRun) -> OpRow:
    raise RefusedError(f"operation {run.op_id} vanished from the journal while it ran")


def shared_files_back(run: IsolatedRun) -> list[str]:
    """The repository's own files the private worktree shares with yours (`info/exclude`,
    `info/attributes`, `shallow`, in the common git dir): what the failed command wrote there
    is put back as PRE-OP had it, where it is still as the command left it (its last
    checkpoint); one changed again since is left as it is, and named."""
    rows = run.ctx.journal.checkpoints(run.op_id)
    if not rows:
        return []
    repo = run.ctx.repo
    left = checkpoint.load(repo, rows[-1].sha)
    said = []
    for file, was, then in (
        (infoexclude.EXCLUDE, left.info_exclude, run.pre.info_exclude),
        (infoexclude.ATTRIBUTES, left.info_attributes, run.pre.info_attributes),
        (infoexclude.SHALLOW, left.shallow, run.pre.shallow),
    ):
        moved = was.known and then.known and was != then
        if moved and not infoexclude.put(repo, then, was=was, file=file):
            name = file.path.decode()
            said.append(f".git/{name}: changed by the command and again since: left as it is")
    return said


def branches_moved(run: IsolatedRun) -> list[str]:
    """Worktrees share their branches: the private one's command reaches yours. A branch it
    deleted is made again where it was (creating a ref loses nothing, as every rollback does);
    one it created or moved is left as it is and said (moving it back could undo what you did
    meanwhile in another worktree), your own checked-out branch too, with its way back."""
    repo = run.ctx.repo
    now = repo.refs("refs/heads/")
    private = os.path.normpath(repo.state_dir / isolation.ISOLATED_DIR)
    checked_out = {
        b
        for b, where in repo.other_worktree_heads().items()
        if os.path.dirname(os.path.normpath(where)) != private
    }
    made_again = []
    for ref in sorted(set(run.pre.branches) - set(now) - checked_out):
        try:
            repo.update_refs(
                [f"create {ref} {run.pre.branches[ref]}"],
                message="git-atomic: made again after a failed isolated run",
            )
        except AtomicError:  # made meanwhile (or refused by git): said below as changed
            continue
        made_again.append(ref)
    out = []
    if made_again:
        names = ", ".join(b.removeprefix("refs/heads/") for b in made_again)
        out.append(f"branches deleted while it ran are made again where they were: {names}")
    moved = sorted(
        b
        for b in set(now) | set(run.pre.branches)
        if now.get(b) != run.pre.branches.get(b)
        and b not in checked_out | {run.pre.head_ref}
        and b not in made_again
    )
    if moved:
        names = ", ".join(b.removeprefix("refs/heads/") for b in moved)
        out.append(
            "branches changed while it ran are left as they are (worktrees share branches): "
            + names
        )
    yours, was = run.pre.head_ref, run.pre.head_oid
    if yours is not None and was is not None and now.get(yours) != was and yours not in made_again:
        back = f"git update-ref {shlex.quote(yours)} {was}" + (
            f" {now[yours]}" if yours in now else ""
        )
        out.append(
            f"your branch {yours.removeprefix('refs/heads/')} changed while it ran (it was at "
            f"{was[:12]}): left as it is (a commit of yours meanwhile stays); where the command "
            f"moved it, `{back}` puts it back"
        )
    return out


def drop_private(run: IsolatedRun) -> None:
    if run.private is None and not run.path.exists():
        return
    if not isolation.remove_worktree(run.ctx.repo, run.path):
        run.problems.append(
            f"could not remove its private worktree {run.path}; `git atomic recover` tries again"
        )
    run.private = None


# --- telling -------------------------------------------------------------------------------------
def as_json(run: IsolatedRun, op: OpRow) -> commandresults.IsolatedResult:
    isolated = commandresults.Isolated(
        applied=run.applied,
        merged=run.merged,
        not_applied=run.reason,
        why=run.why,
        conflicts=tuple(run.conflicts),
        result=run.result.row.sha if run.result else None,
        private_worktree=str(run.path),
        apply_by_hand=tuple(recipes(run)),
    )
    return commandresults.IsolatedResult(results.operation(run.ctx.journal, op), isolated)


def tell(run: IsolatedRun, op: OpRow) -> None:
    journal = run.ctx.journal
    for gate in journal.gates(op.id):
        if not gate.passed:
            output.say(f"git-atomic: gate {gate.name} failed: {gate.message}")
            if gate.output_tail:
                output.say_lines("  " + gate.output_tail.replace("\n", "\n  "))
            output.say(f"  full output: {gate.log_path}")
    for problem in run.problems:
        output.say(f"git-atomic: warning: {problem}")
    head = f"git-atomic: {op.name} [{op.id}]"
    if op.status == OpStatus.COMMITTED:
        output.say(output.summary_line(journal, op))
        output.say(
            f"{head}: applied to your worktree"
            + (", merged with the changes made there meanwhile" if run.merged else "")
            + " (`git atomic undo` reverses the apply)"
        )
    elif run.reason == NotApplied.CONFLICT:
        output.say(
            f"{head} passed its gates but conflicts with changes made in your worktree "
            f"meanwhile ({run.why}): " + ", ".join(run.conflicts)
        )
        output.say("  your worktree was not touched; to apply the result by hand:")
        output.say_lines("\n".join(f"    {line}" for line in recipes(run)))
    elif run.reason is not None:
        output.say(f"{head} passed its gates but was not applied: {run.why}")
        output.say("  your worktree was not touched; to apply the result by hand:")
        output.say_lines("\n".join(f"    {line}" for line in recipes(run)))
    else:
        why = output.failure_words(op, otherwise="failed")
        output.say(
            f"{head} rolled back ({why}) in its private worktree; your worktree was not "
            f"touched. What it did is kept: `git atomic show {op.id} --diff`"
        )


def recipes(run: IsolatedRun) -> list[str]:
    if run.reason is None or run.result is None:
        return []
    pre, res = run.pre.commit, run.result.row.sha
    stage = " ".join(shlex.quote(p) for p in run.conflicts[:20]) or "PATH..."
    lines = [
        f"git atomic rollback --to {res} --whole   # take the result as it is (your state is "
        "saved first; `git atomic undo` brings it back)",
        f"git add -- {stage} && git diff --binary {pre}:files {res}:files | git apply -3"
        "   # merge it into your files, from the top of the worktree",
    ]
    if run.result.head_oid and run.result.head_oid != run.pre.head_oid:
        lines.append(f"git log {run.pre.head_oid}..{run.result.head_oid}   # its commits")
    return lines
