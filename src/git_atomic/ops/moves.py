"""A move of the worktree to a checkpoint (rollback, emergency, undo): planned, shown, carried out.

Every move goes through `Engine.rollback_to`, so it saves a rescue checkpoint first and writes an
`events` row; a dry run only probes (a capture with no ref) and plans. This module also turns a
plain commit into a checkpoint, for `emergency` to go to HEAD's commit or `--to COMMIT`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence

from git_atomic.core import records
from git_atomic.core.errors import AtomicError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.records import dataclass, field
from git_atomic.core.vocab import EventKind, HistoryMode
from git_atomic.engine import checkpoint, gitstate, restoreplan, scan, snapshot, unseen
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo, is_zero
from git_atomic.ops import moveresults, output, results
from git_atomic.ops.operation import Engine


@dataclass(frozen=True)
class Move:
    event: EventKind  # rollback | emergency | undo: the events row it writes
    target: str  # the checkpoint commit the tree goes to
    label: str  # the target for people: "OP-EXEC stage 2 of fmt [ab12cd34ef56]"
    engine_op: str | None  # the open operation it runs under; None outside any operation
    paths: tuple[bytes, ...] = ()  # selective: only these paths' files and index entries
    with_refs: bool = True
    synthesized: bool = False  # the target is an effect's result (effect.py): kept by a ref first
    kept: tuple[str, ...] = ()  # refs the effect moved that moved since: left where they are
    checked_out: tuple[str, ...] = ()  # of `kept`: checked out here since (effect.Outcome)
    left_on: tuple[str, ...] = ()  # of `kept`: HEAD goes back, your commits stay on them
    made_within: tuple[tuple[float, float], ...] = ()  # an effect's windows (effect.Outcome)
    # Where folders were in the target that its capture could not see (foldermoves.known_from)
    folders_known: Mapping[bytes, tuple[int, int]] = field(default_factory=dict)
    # An effect taken back (or made again): the folders it moved, where each goes, and the
    # lines for those that stay (effectfolders.py); None: a whole state, its folders all.
    folders_effect: tuple[Mapping[bytes, tuple[int, int]], tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Preview:
    current: Snapshot
    target: Snapshot
    plan: restoreplan.Plan
    staged: tuple[bytes, ...]  # index entries whose content would change (within the paths)

    @property
    def empty(self) -> bool:
        """Nothing a person could see would change (the index may differ in stat data, not in
        its entries' flags or its format)."""
        p = self.plan
        return not (
            p.path_changes()
            or p.ref_lines
            or p.head_changes
            or self.staged
            or p.git_state_changes
            or p.exclude_changes
            or p.attributes_changes
            or p.stash_changes
            or p.sparse_changes
            or p.shallow_changes
            or p.dot_git_changes
            or self.index_shape_changes
            # A repository of its own it meets: its folder to make again, or its files to
            # leave, said by the restore (nestedrepos.py)
            or p.nested_said
        )

    @property
    def index_shape_changes(self) -> bool:
        """The index's flags or format would change (not only its entries' contents), or it
        would be split again, made whole or moved to another shared index (`update-index
        --split-index`)."""
        shapes = _index_shape(self.current), _index_shape(self.target)
        return self.plan.index_changes and (
            shapes[0] != shapes[1] or self.current.shared_differs(self.target)
        )


def _index_shape(snap: Snapshot) -> tuple[object, ...]:
    """What of an index a person can see beyond its entries' contents: whether there is one,
    its entries' flags (skip-worktree, assume-unchanged, intent-to-add), its format."""
    return (snap.index_present, snap.index_flags, snap.index_version == 4)


@dataclass(frozen=True)
class Done:
    rescue: str | None  # None for a dry run
    changes: tuple[restoreplan.PathChange, ...]
    problems: tuple[str, ...]
    # Written by someone else after the rescue: left as they are (restore.Outcome.left).
    left: tuple[bytes, ...] = ()
    refs_left: tuple[str, ...] = ()  # HEAD and branches moved by someone else meanwhile
    failed: tuple[bytes, ...] = ()  # not put back, for a reason `problems` gives
    in_repositories: tuple[bytes, ...] = ()  # in a repository of its own now: left (problems)
    kept_here: tuple[bytes, ...] = ()  # the folder the command runs in, empty: left (problems)
    notes: tuple[str, ...] = ()  # said, not failures (restoreplan.Outcome.notes)


def probe(repo: Repo, *, since: float | None = None) -> Snapshot:
    """The state now, captured without a ref: objects only, and the scan cache (scan.py, like
    the stat data `git status` refreshes); nothing of the user's state changes. `since`: when
    the operation whose effect a move takes back (or brings again) began: a folder of ours
    git cannot list that was made so at or after it is refused by name (unreadable.py), as
    by the operation's own rollback (rescue.py), not left as a folder nobody captured."""
    # The refs listing its rollback takes (rescue.load_target) is this probe's own, never one
    # an earlier command of this process listed (an MCP server's: discovery keeps its Repo).
    repo.listed = None
    mark = scan.UNLISTABLE_SINCE.set(since)
    try:
        return snapshot.capture(
            repo, message="git-atomic probe", ref=None, allow_unmerged=True
        ).snapshot
    finally:
        scan.UNLISTABLE_SINCE.reset(mark)


def preview(repo: Repo, move: Move, *, current: Snapshot | None = None) -> Preview:
    """What the move would change, from a probe capture that creates no ref. Made here for a
    whole move (`rollback --to`), the probe refuses a folder of yours git cannot list that was
    made so since the target was captured: it becomes the move's rescue, which then does not
    look for one itself (a selective move touches nothing there)."""
    target = checkpoint.load(repo, move.target)
    current = current or probe(repo, since=None if move.paths else target.captured_at)
    if move.made_within:  # as Engine.rollback_to sees it
        windows = tuple(dict.fromkeys((*target.made_within, *move.made_within)))
        target = records.replace(target, made_within=windows)
    if unseen.overwritten_ignored(repo, current.files_tree, target, move.paths):
        # Files on disk git does not list now that the move would write over (a folder that
        # became a repository of its own, ignored files): its rescue holds them (rescue.py),
        # and so does the state this plan starts from, so a dry run says what the move does.
        current = snapshot.capture(
            repo,
            message="git-atomic probe",
            ref=None,
            allow_unmerged=True,
            also_capture=lambda tree: unseen.overwritten_ignored(repo, tree, target, move.paths),
        ).snapshot
    the_plan = restoreplan.plan(repo, current, target, with_refs=move.with_refs, paths=move.paths)
    from git_atomic.engine import restorekeeps

    # Files over the budget the restore leaves where they are (restorekeeps.within_budget):
    # no change to list either. It reads the disk alone.
    within = restorekeeps.within_budget(repo, the_plan.files, target, [], current)
    if len(within) != len(the_plan.files):
        the_plan = records.replace(the_plan, files=tuple(within))
    kept = restorekeeps.foreseen(repo, the_plan.files, target)
    if kept:  # ignored files the restore leaves: no change to list
        files = tuple(c for c in the_plan.files if not (c.status == "D" and c.path in kept))
        the_plan = records.replace(the_plan, files=files)
    staged = repo.diff_trees(current.staged_tree, target.staged_tree, move.paths)
    return Preview(current, target, the_plan, tuple(c.path for c in staged))


def carry_out(
    engine: Engine,
    move: Move,
    *,
    detail: Mapping[str, object] | None = None,
    probe: Snapshot | None = None,
) -> Done:
    """`probe`: the preview's capture of this instant; it becomes the rescue (one scan)."""
    if move.synthesized:
        keep(engine.repo, move.target)
    result = engine.rollback_to(
        move.engine_op,
        move.target,
        event=move.event,
        paths=move.paths,
        with_refs=move.with_refs,
        probe=probe,
        made_within=move.made_within,
        folders_known=move.folders_known,
        folders_effect=move.folders_effect,
    )
    if detail:
        event = engine.journal.events(engine.ctx.worktree, limit=1)
        if event and event[0].rescue == result.rescue:
            merged = json.loads(event[0].detail) if event[0].detail else {}
            merged.update(detail)
            engine.journal.set_event_detail(event[0].id, merged)
    outcome = result.outcome
    return Done(
        result.rescue,
        tuple(outcome.changed),
        tuple(outcome.problems),
        tuple(outcome.left),
        tuple(outcome.refs_left),
        tuple(outcome.failed),
        tuple(outcome.in_repositories),
        tuple(outcome.kept_here),
        tuple(outcome.notes),
    )


# --- reporting ---------------------------------------------------------------------------------
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
        git_dir=tuple(_branch_config_lines(repo, p, prev.current, prev.target) if foresee else ()),
    )


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
        listed = repo.out("log", "--format=%H %s", old, "--not", *tips, "--")
        for row in listed.decode("utf-8", "replace").splitlines():
            sha, _, subject = row.partition(" ")
            found.setdefault(sha, moveresults.DroppedCommit(sha, subject, name))
    return list(found.values())


def with_modes(facts: moveresults.MoveFacts, paths: Sequence[bytes]) -> moveresults.MoveFacts:
    """`facts` with a `mode` change of each of `paths` (permission bits a move sets beside
    the trees, which hold none of them) that it does not list already."""
    listed = {c.path for c in facts.changes}
    extra = [
        moveresults.ChangedPath(name, restoreplan.Action.MODE.value)
        for name in dict.fromkeys(p.decode("utf-8", "surrogateescape") for p in paths)
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


def _head_text(snap: Snapshot) -> str:
    if snap.head_ref is not None:
        return snap.head_ref.removeprefix("refs/heads/")
    return f"detached at {output.short(snap.head_oid)}"


# --- a commit as a checkpoint ------------------------------------------------------------------
def commit_checkpoint(repo: Repo, commit: str) -> str:
    """A checkpoint of `commit` checked out cleanly where HEAD stands.

    HEAD keeps pointing where it does (its branch, or detached) and moves to `commit`; no other
    branch moves; the index holds `commit`'s tree (stat data kept for unchanged entries, so the
    next `git status` stays fast: indexstate.py); the files are `commit`'s tree, so untracked
    files go (they are in the rescue taken before any move). Only objects are written: `keep`
    makes it reachable.
    """
    head_ref, head_oid = repo.read_head()
    branches = repo.refs("refs/heads/")
    if head_ref is not None:
        branches[repo.branch_of(head_ref, branches)] = commit
        head_oid = commit
    else:
        head_oid = commit
    tree = repo.line("rev-parse", f"{commit}^{{tree}}")
    parts = checkpoint.Parts(
        files_tree=tree,
        staged_tree=tree,
        head_ref=head_ref,
        head_oid=head_oid,
        branches=branches,
        origin={"from_commit": commit},
    )
    message = f"git-atomic commit {commit[:12]} as a checkpoint"
    return checkpoint.write(repo, parts, message=message).commit


def keep(repo: Repo, sha: str) -> str:
    """A ref under refs/atomic/ for a checkpoint made from a commit, before a move uses it."""
    ref = f"refs/atomic/commits/{int(time.time() * 1000):x}-{os.urandom(2).hex()}-{os.getpid()}"
    repo.update_refs([f"create {ref} {sha}"], message="git-atomic: commit as a checkpoint")
    return ref


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
    for name in kept:
        if name != "HEAD" and not name.startswith("refs/heads/") and name != "refs/stash":
            continue  # (one of our own refs HEAD was made a symbolic ref to: set aside)
        if name == "refs/stash":
            lines.append(
                "your stash list changed since; it stays as it is (the stashes the change "
                "took away are held by its checkpoints)"
            )
            continue
        shown = "HEAD" if name == "HEAD" else "branch " + name.removeprefix("refs/heads/")
        if name == "HEAD" and name in left_on:
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
            lines.append(
                f"{shown} has moved since (later commits); it stays where it is, {instead}"
            )
    return lines
