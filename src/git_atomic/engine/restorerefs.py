"""A restore's moves of HEAD and the branches (restore.py calls them last, after the files and
the index), and how it names what it left: branches another worktree has checked out or may
have moved, paths another writer changed."""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.core.errors import GitError
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import LaterWrites, Outcome, Plan, head_key


def move_head(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    the_plan: Plan,
    reason: str,
    outcome: Outcome,
) -> None:
    if the_plan.head_changes and not repo.set_head(
        target.head_ref, target.head_oid, message=reason, was=head_key(current)
    ):
        outcome.refs_left.append("HEAD")
        outcome.problems.append("HEAD was moved by someone else; left as it is")


def report_left(the_plan: Plan, outcome: Outcome, current: Snapshot, target: Snapshot) -> None:
    """The problems of what the restore left as it is: branches checked out elsewhere (each
    with the commit it stays at and the one it would have gone to), and paths another writer
    changed."""
    for name in the_plan.branches_left:
        outcome.problems.append(
            f"branch {name.removeprefix('refs/heads/')} is checked out in "
            f"another worktree; left as it is{left_where(current, target, name)}"
        )
    for name in the_plan.branches_not_ours:
        where = left_where(current, target, name)
        outcome.problems.append(
            f"branch {name.removeprefix('refs/heads/')} changed meanwhile, and another worktree "
            f"of this repository may have changed it; left as it is{where}"
        )
    for name, now, then in the_plan.symrefs_not_ours:
        outcome.problems.append(
            f"branch {name.removeprefix('refs/heads/')} is a symbolic ref (to {now}) that "
            "changed meanwhile, and another worktree of this repository may have changed it; "
            f"left as it is ({f'it named {then}' if then else 'it was no symbolic ref'})"
        )
    if the_plan.stash_not_ours:
        outcome.problems.append(
            "your stash list changed meanwhile, and another worktree of this repository may "
            "have changed it; left as it is (the checkpoints hold every stash it had)"
        )
    for path in outcome.left:
        outcome.problems.append(
            f"{show(path)} was changed by another writer after the rescue was taken; "
            "left as it is (no checkpoint holds it)"
        )


def tell_later_writes(later: LaterWrites, outcome: Outcome) -> None:
    """What someone changed between a kill and `recover` that finished its restore
    (restoreplan.without_later_writes), left as it is: named as a live restore names a path
    written while it ran."""
    for path in later.paths:
        outcome.left.append(path)
        outcome.problems.append(
            f"{show(path)} was changed after the interrupted restore began; left as it is"
        )
    for name in later.refs:
        outcome.refs_left.append(name)
        shown = name.removeprefix("refs/heads/")
        outcome.problems.append(
            f"{'HEAD' if name == 'HEAD' else 'branch ' + shown} was moved after the interrupted "
            "restore began; left as it is"
        )
    if later.index:
        outcome.index_left = True
        outcome.problems.append(
            "the index was changed after the interrupted restore began; left as it is"
        )


def move_branches(repo: Repo, lines: Sequence[str], reason: str, outcome: Outcome) -> None:
    """Deletions first, then the rest: git refuses to make `outer` in the transaction that
    deletes `outer/inner` (a name and a folder of it cannot both be refs)."""
    deletions = [line for line in lines if not line.split()[2].strip("0")]
    for batch in (deletions, [line for line in lines if line not in deletions]):
        if batch:
            _move_batch(repo, batch, reason, outcome)


def _move_batch(repo: Repo, lines: Sequence[str], reason: str, outcome: Outcome) -> None:
    # A branch made again gets its reflog as an operation's PRE-OP kept it (reflogkeep.py),
    # before git appends this move's line to it.
    made = [line.split()[1:3] for line in lines if not line.split()[3].strip("0")]
    written: list[str] = []
    if made:
        from git_atomic.engine import reflogkeep

        written = [name for name, oid in made if reflogkeep.put_back(repo, name, oid)]
    try:
        repo.update_refs(lines, message=reason)
        return
    except GitError:
        pass  # the transaction is refused as a whole when one branch moved meanwhile
    # Someone moved a branch meanwhile: move the others, report the ones that failed.
    for line in lines:
        res = repo.run(
            "update-ref",
            "-m",
            reason,
            "--stdin",
            input=(line + "\n").encode("utf-8", "surrogateescape"),
            check=False,
        )
        if res.returncode != 0:
            ref = line.split()[1]
            outcome.refs_left.append(ref)
            name = ref.removeprefix("refs/heads/")
            outcome.problems.append(f"branch {name} was moved by someone else; left as it is")
    _forget_unmade(repo, written)


def _forget_unmade(repo: Repo, written: Sequence[str]) -> None:
    """The reflogs written back for branches that were not made after all (someone made one
    meanwhile, with a reflog of its own, is not among them: `put_back` writes none over)."""
    if not written:
        return
    from git_atomic.engine import reflogkeep

    now = repo.refs("refs/heads/")
    for name in written:
        if name not in now:
            reflogkeep.forget(repo, name)


def show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


def left_where(current: Snapshot, target: Snapshot, name: str) -> str:
    """`, at 1a2b3c4d5e6f (it would have gone to 5d6e7f8a9b0c)`: where a branch left as it is
    stays, and where the move would have put it (a commit it named then is in the target's
    checkpoint: `git branch -f` to it is yours to decide)."""
    now, was = current.branches.get(name), target.branches.get(name)
    here = f", at {now[:12]}" if now else ", not there"
    return here + (f" (it would have gone to {was[:12]})" if was else " (it would have gone)")
