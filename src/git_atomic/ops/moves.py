"""A move of the worktree to a checkpoint (rollback, emergency, undo): planned and carried out;
what it does is told by movefacts.py.

Every move goes through `Engine.rollback_to`, so it saves a rescue checkpoint first and writes an
`events` row; a dry run only probes (a capture with no ref) and plans. This module also turns a
plain commit into a checkpoint, for `emergency` to go to HEAD's commit or `--to COMMIT`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping

from git_atomic.core import records
from git_atomic.core.records import dataclass, field
from git_atomic.core.vocab import EventKind
from git_atomic.engine import checkpoint, restoreplan, scan, snapshot, unseen
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
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
    # What the restore leaves of the files over the budget, as it would warn of it
    # (restorekeeps.within_budget): said also where the move has nothing else to do.
    left: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing a person could see would change (the index may differ in stat data, not in
        its entries' flags or its format)."""
        p = self.plan
        return not (
            p.path_changes()
            or p.ref_lines
            or p.symref_changes
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
    left: list[str] = []
    within = restorekeeps.within_budget(repo, the_plan.files, target, left, current)
    if len(within) != len(the_plan.files):
        the_plan = records.replace(the_plan, files=tuple(within))
    kept = restorekeeps.foreseen(repo, the_plan.files, target)
    if kept:  # ignored files the restore leaves: no change to list
        files = tuple(c for c in the_plan.files if not (c.status == "D" and c.path in kept))
        the_plan = records.replace(the_plan, files=files)
    staged = repo.diff_trees(current.staged_tree, target.staged_tree, move.paths)
    return Preview(current, target, the_plan, tuple(c.path for c in staged), tuple(left))


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
    # The FIFOs it made again and the special files it took away, and the permission bits it
    # put back: paths it changed too, though no tree lists them (restorespecials.py), as its
    # dry run lists them.
    listed = {c.path for c in outcome.changed}
    specials = [
        *(restoreplan.PathChange(p, restoreplan.Action.CREATE) for p in outcome.fifos_made),
        *(restoreplan.PathChange(p, restoreplan.Action.DELETE) for p in outcome.specials_removed),
        *(restoreplan.PathChange(p, restoreplan.Action.MODE) for p in outcome.bits),
    ]
    return Done(
        result.rescue,
        (*outcome.changed, *(c for c in specials if c.path not in listed)),
        tuple(outcome.problems),
        tuple(outcome.left),
        tuple(outcome.refs_left),
        tuple(outcome.failed),
        tuple(outcome.in_repositories),
        tuple(outcome.kept_here),
        tuple(outcome.notes),
    )


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
