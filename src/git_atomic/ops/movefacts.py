"""What a move of the worktree (rollback, emergency, undo) does, told: the facts of a planned
move (`describe`: paths, HEAD, branches, git's state, the commits it drops), a line each for
people (`listing`), the JSON result (`result`), and why a take-back leaves a ref where it is
(`kept_lines`). moves.py plans and carries out; commands/movetell.py and the agent turn's
judge print what this says."""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.core import records
from git_atomic.core.errors import AtomicError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import HistoryMode
from git_atomic.engine import gitstate, restoreplan
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo, is_zero
from git_atomic.ops import moveresults, output, results
from git_atomic.ops.moves import Move, Preview


def describe(
    repo: Repo,
    prev: Preview,
    changes: Sequence[restoreplan.PathChange] | None = None,
    *,
    kept: Sequence[str] = (),
    checked_out: Sequence[str] = (),
    left_on: Sequence[str] = (),
    left: Sequence[str] = (),
    refs_left: Sequence[str] = (),
    failed: Sequence[str] = (),
    foresee: bool = False,
) -> moveresults.MoveFacts:
    """What the move changes: paths (and how), HEAD, branches, index, the commits that would
    no longer be on any branch (or a detached HEAD) afterwards, and git's unfinished command (a
    merge, rebase... in progress: `from` what is cleared, `to` what comes back). `foresee` (a
    dry run): the branch sections of .git/config it would write back or remove too."""
    p = prev.plan
    git_state = None
    if p.git_state_changes:
        git_state = moveresults.FromTo(
            gitstate.describe(repo, prev.current.git_state),
            gitstate.describe(repo, prev.target.git_state),
        )
    listed = list(changes) if changes is not None else p.path_changes()
    if foresee and p.stash_changes:  # `stash --all`'s files it writes back or takes away
        from git_atomic.engine import stashfiles

        written, removed = stashfiles.bring_back(
            repo, prev.current, prev.target, None, dry_run=True
        )
        listed += [restoreplan.PathChange(f, restoreplan.Action.CREATE) for f in written]
        listed += [restoreplan.PathChange(f, restoreplan.Action.DELETE) for f in removed]
    head = None
    if p.head_changes:
        head = moveresults.FromTo(_head_text(prev.current), _head_text(prev.target))
    branches = []
    for line in p.ref_lines:
        _verb, name, new, old = line.split()
        branches.append(
            moveresults.BranchMove(
                name.removeprefix("refs/heads/"),
                None if is_zero(old) else old,
                None if is_zero(new) else new,
            )
        )
    for _where, name, _back in p.renamed_back:  # off the worktree that has it, then gone
        was = prev.current.branches.get(name)
        branches.append(moveresults.BranchMove(name.removeprefix("refs/heads/"), was, None))
    return moveresults.MoveFacts(
        changes=tuple(
            moveresults.ChangedPath(c.path.decode("utf-8", "surrogateescape"), c.action.value)
            for c in listed
        ),
        head=head,
        branches=tuple(branches),
        index=tuple(p.decode("utf-8", "surrogateescape") for p in prev.staged),
        branches_left=tuple(b.removeprefix("refs/heads/") for b in p.branches_left),
        dropped_commits=tuple(dropped_commits(repo, prev)),
        git_state=git_state,
        kept=tuple(kept),
        changed_since_rescue=tuple(left),
        refs_moved_since_rescue=tuple(refs_left),
        not_restored=tuple(failed),
        checked_out=tuple(checked_out),
        left_on=tuple(left_on),
        git_dir=(
            *(_branch_config_lines(repo, p, prev.current, prev.target) if foresee else ()),
            *_symref_lines(p),
        ),
    )


def _symref_lines(p: restoreplan.Plan) -> list[str]:
    """The symbolic branches the move points back, makes again or removes, for people."""
    out = []
    for name, now, then in p.symref_changes:
        shown = name.removeprefix("refs/heads/")
        if then is None:
            out.append(f"branch {shown}: no longer a symbolic ref to {now}")
        else:
            out.append(
                f"branch {shown}: a symbolic ref to {then} again" + (f" (now {now})" if now else "")
            )
    return out


def _branch_config_lines(
    repo: Repo, p: restoreplan.Plan, current: Snapshot, target: Snapshot
) -> list[str]:
    """The branch sections of .git/config the move writes back or removes (branchconfig.py),
    for people: asked only where a branch comes or goes."""
    if not p.ref_lines and not p.renamed_back:
        return []
    from git_atomic.engine import branchconfig

    made, gone = branchconfig.foresee(repo, current, target)
    return [f'[branch "{n}"] in .git/config: written back' for n in made] + [
        f'[branch "{n}"] in .git/config: removed with the branch' for n in gone
    ]


def dropped_commits(repo: Repo, prev: Preview) -> list[moveresults.DroppedCommit]:
    """Commits a branch (or a detached HEAD) holds now that no branch nor HEAD would hold after
    the move: what a whole-state move drops from history (they stay in the rescue)."""
    p, current, target = prev.plan, prev.current, prev.target
    tips = [t for t in [*target.branches.values(), target.head_oid] if t]
    leaving: list[tuple[str, str]] = []
    for line in p.ref_lines:
        _verb, name, _new, old = line.split()
        if not is_zero(old):
            leaving.append((name.removeprefix("refs/heads/"), old))
    if p.head_changes and current.head_ref is None and current.head_oid:
        leaving.append(("HEAD", current.head_oid))
    found: dict[str, moveresults.DroppedCommit] = {}
    for name, old in leaving:
        # (`log.showSignature` would have git run your gpg.program and print its lines)
        listed = repo.out("log", "--no-show-signature", "--format=%H %s", old, "--not", *tips, "--")
        for row in listed.decode("utf-8", "replace").splitlines():
            sha, _, subject = row.partition(" ")
            found.setdefault(sha, moveresults.DroppedCommit(sha, subject, name))
    return list(found.values())


def with_modes(
    facts: moveresults.MoveFacts,
    paths: Sequence[bytes],
    specials: Sequence[restoreplan.PathChange] = (),
) -> moveresults.MoveFacts:
    """`facts` with a `mode` change of each of `paths` (permission bits a move sets beside
    the trees, which hold none of them), and `specials` (FIFOs made again, special files taken
    away: no tree holds them either), that it does not list already."""
    listed = {c.path for c in facts.changes}
    pairs = [(c.path, c.action) for c in specials]
    pairs += [(p, restoreplan.Action.MODE) for p in paths]
    shown = {p.decode("utf-8", "surrogateescape"): action for p, action in reversed(pairs)}
    extra = [
        moveresults.ChangedPath(name, action.value)
        for name, action in shown.items()
        if name not in listed
    ]
    if not extra:
        return facts
    changes = tuple(sorted([*facts.changes, *extra], key=lambda c: c.path))
    return records.replace(facts, changes=changes)


def listing(facts: moveresults.MoveFacts) -> list[str]:
    """One line per change, for people: `modify  src/x.py`, `branch  main  1a2b.. -> 3c4d..`."""
    lines = [f"{c.action:<7} {output.quote_path(c.path)}" for c in facts.changes]
    if facts.head:
        lines.append(f"{'HEAD':<7} {facts.head.before} -> {facts.head.after}")
    for b in facts.branches:
        old = output.short(b.before) if b.before else "(none)"
        new = output.short(b.after) if b.after else "(deleted)"
        lines.append(f"{'branch':<7} {b.name} {old} -> {new}")
    if facts.git_state:
        was, comes = facts.git_state.before, facts.git_state.after
        waits = {what for _, what in gitstate.IN_PROGRESS}  # the others are no command's
        was, comes = (f"{t} in progress" if t in waits else t for t in (was, comes))
        said = f"{was}: saved, cleared" if was else ""
        if comes:
            said += ("; " if said else "") + f"{comes} comes back"
        lines.append(f"{'git':<7} {said}")
    if facts.index:
        n = len(facts.index)
        lines.append(f"{'index':<7} {n} staged entr{'ies' if n != 1 else 'y'} restored")
    for c in facts.dropped_commits:
        lines.append(f"{'drop':<7} commit {output.short(c.sha)} {c.subject} ({c.branch})")
    for name in facts.kept:
        why = "checked out here since" if name in facts.checked_out else "moved since"
        if name == "HEAD" and name in facts.checked_out:
            why = "it left the branch since; the branch moves alone"
        if name in facts.left_on:
            why = "committed on since the change checked it out"
            if name == "HEAD":
                why = "it or its branch moved since the change switched it; with the files "
                why += "it checked out"
        lines.append(f"{'keep':<7} {name.removeprefix('refs/heads/')} ({why}: stays)")
    for name in facts.branches_left:
        lines.append(f"{'keep':<7} {name} (checked out in another worktree: stays)")
    lines += [f"{'git':<7} {line}" for line in facts.git_dir]
    return lines


def result(
    journal: Journal,
    op: OpRow | None,
    *,
    status: str,
    move: Move,
    rescue: str | None,
    facts: moveresults.MoveFacts,
    dry_run: bool,
    problems: Sequence[str] = (),
    history: HistoryMode | None = None,
    notes: Sequence[str] = (),
) -> moveresults.MoveResult:
    """The result of a move (docs/reference.md): the operation concerned (or none), plus what
    moved."""
    return moveresults.MoveResult(
        operation=(
            results.operation(journal, op)
            if op is not None
            else results.no_operation(
                status=None, rescue=None, duration_s=0.0, name=move.event, history=history
            )
        ),
        status=status,
        event=move.event,
        dry_run=dry_run,
        target=moveresults.Target(move.target, move.label),
        rescue=rescue,
        paths=tuple(p.decode("utf-8", "surrogateescape") for p in move.paths),
        facts=facts,
        problems=tuple(problems),
        notes=tuple(notes),
    )


def _off_branch_line(repo: Repo, name: str) -> str:
    """A ref that is no branch, which HEAD was on when the change moved it, left as it is: it
    moved since, or HEAD left it (then it is not known where the change left it)."""
    now = repo.refs(name).get(name)
    where = f"now {output.short(now)}" if now else "not there now"
    return (
        f"ref {name} (no branch) has moved since, or HEAD left it since; it stays where it is "
        f"({where}), with what the change did to it"
    )


def _moved_how(repo: Repo, name: str) -> str:
    """How a ref a take-back leaves moved since, as far as it shows now: a branch by later
    commits; HEAD also by your checkout elsewhere (`git checkout --detach`, `git switch -c`),
    which is named (it may hold the change's own commits: effectswitch.py)."""
    if name != "HEAD":
        return "later commits"
    try:
        ref, oid = repo.head_names()
    except OSError:  # (its HEAD unreadable now): as a branch's
        return "later commits"
    if ref is None:
        return f"now detached at {output.short(oid)}"
    return f"now on branch {ref.removeprefix('refs/heads/')}"


def _head_text(snap: Snapshot) -> str:
    if snap.head_ref is not None:
        return snap.head_ref.removeprefix("refs/heads/")
    return f"detached at {output.short(snap.head_oid)}"


def _symbolic_now(repo: Repo) -> dict[str, str]:
    """The branches that are symbolic refs now (`git symbolic-ref refs/heads/alias ...`)."""
    from git_atomic.engine.gitoutput import REFS_FORMAT, parse_symrefs

    return parse_symrefs(repo.out("for-each-ref", f"--format={REFS_FORMAT}", "refs/heads/"))


def kept_lines(
    repo: Repo,
    kept: Sequence[str],
    *,
    checked_out: Sequence[str] = (),
    left_on: Sequence[str] = (),
) -> list[str]:
    """One line per ref a take-back leaves as it is (an effect's `kept`): why, and what that
    means for the files (`rollback --op`, `undo`, an agent turn's take-back say them)."""
    here = repo.head_names()[0] if kept else None
    if here is not None:  # HEAD on a symbolic ref among the branches: the branch it leads to
        here = repo.branch_of(here, repo.refs("refs/heads/"))
    lines = []
    symbolic = _symbolic_now(repo) if any(n.startswith("refs/heads/") for n in kept) else {}
    for name in kept:
        if restoreplan.off_branches(name) and name not in ("HEAD", "refs/stash"):
            lines.append(_off_branch_line(repo, name))
            continue
        if name != "HEAD" and not name.startswith("refs/heads/") and name != "refs/stash":
            continue  # (one of our own refs HEAD was made a symbolic ref to: set aside)
        if name in symbolic:
            lines.append(
                f"branch {name.removeprefix('refs/heads/')} is a symbolic ref, to "
                f"{symbolic[name].removeprefix('refs/heads/')}, that changed since the change "
                "(or leads HEAD to your commits since); it stays as it is"
            )
            continue
        if name == "refs/stash":
            lines.append(
                "your stash list changed since; it stays as it is (the stashes the change "
                "took away are held by its checkpoints)"
            )
            continue
        shown = "HEAD" if name == "HEAD" else "branch " + name.removeprefix("refs/heads/")
        if name == "HEAD" and name in checked_out:  # (effectswitch.ends_on_the_checkout)
            lines.append(
                f"HEAD has left the branch the change moved since ({_moved_how(repo, name)}); "
                "the branch moves alone, and your checkout keeps its files: only what the "
                "change did beside the branch is made here"
            )
        elif name == "HEAD" and name in left_on:
            lines.append(
                "HEAD or its branch has moved since the change switched it; HEAD stays where "
                "it is, and so do the files the switch checked out: only what the change did "
                "on top of the checkout is taken back"
            )
        elif name in left_on:
            try:
                tip = repo.line("log", "-1", "--no-show-signature", "--format=%h %s", name, "--")
            except AtomicError:  # (gone since): named as it is
                tip = ""
            lines.append(
                f"{shown} has commits since the change checked it out (now {tip or name}); "
                "they stay on it, and HEAD goes back without them"
            )
        elif name in checked_out:
            lines.append(
                f"{shown} is checked out here since the change moved it; it stays where it "
                "is, and what the change did to it stays"
            )
        else:
            if name in ("HEAD", here):
                instead = "and the change is made in the files and the index instead"
            else:  # not checked out here: none of its files are this worktree's
                instead = "and what the change did to it stays"
            how = _moved_how(repo, name)
            lines.append(f"{shown} has moved since ({how}); it stays where it is, {instead}")
    return lines
