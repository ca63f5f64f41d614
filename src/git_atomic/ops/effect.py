"""Effects: take back (or re-apply) what a sequence of checkpoint pairs changed, on top of now.

An effect is the change between two checkpoints, `Step(before, after)`. An operation's effect is
one step, from its PRE-OP to the state it left; an agent turn's is the sum of its tool calls'
steps, each from the checkpoint before the call to the one after it, in chronological order
(what happened between two calls is not the turn's): `operation_steps` gives either, so a later
`rollback --op` of a turn takes back its calls only.

How to use it (rollback, undo and the agent-turn engine all do this, under the worktree lock):

    from git_atomic.ops import effect, moves
    current = moves.probe(repo)                      # the state now (a capture with no ref)
    found = effect.take_back(repo, steps, current)   # or effect.reapply(repo, steps, current)
    if found.conflicts:                              # no clean result: change nothing, exit 3
        for line in effect.conflict_lines(found): print(line)
    elif not found.changes_something:                # the effect is not there (any more)
        ...
    else:
        done = effect.carry_out(engine, found, op_id=op_id_or_None, event="rollback")
        # done.rescue: the checkpoint `undo` goes back to; done.outcome.changed: the paths

`take_back` answers, as an `Outcome`:
- **exact** when the steps are contiguous (each one starts where the one before ended) and
  the state now is exactly the last step's end (files, index, HEAD, every branch): the target
  is the first step's `before` checkpoint itself, HEAD, branches, index and files exactly;
- otherwise a target merged on top of the state now: per step, newest first, a three-way merge
  (git's `merge-tree --write-tree`: per path, per hunk for text) with base = the step's
  `after`, ours = the state so far, theirs = the step's `before`, for the files and, separately,
  for the index's entries. A branch (and a detached HEAD) the step moved goes back only if it
  still points where the step left it (it may be the step's own commits); one that moved since
  stays, and is listed in `kept`: the step's change is then taken back in the files and the
  index only, on top of the later commits. HEAD switches back to the branch it was on only if
  it is still on the branch the step switched to. Index flags (intent-to-add, skip-worktree,
  assume-unchanged) the step set or cleared are cleared or set again, the others kept as now;
- or, where the effect and later changes overlap (the same hunk, a file one side deleted and
  the other changed, ...), no target and the `conflicts`.

`reapply` is the same with each step reversed (`undo` of a rollback is `take_back` of the
rollback's own step, from its rescue to its target: both give the same answer).

`carry_out` writes the target the only way this project writes a worktree: `Engine.rollback_to`
(the journal intent first, a rescue checkpoint of the state now, then `restoreplan.plan` and
`restore.apply` from the state now to the target, writing only what differs), after keeping the
synthesized target reachable by a ref under `refs/atomic/commits/` (the intent names it;
`recover` needs it). Nothing here writes to the worktree, the index or a ref otherwise:
computing an outcome makes git objects only, so a refused outcome changed nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from git_atomic.core import records
from git_atomic.core.records import dataclass, field
from git_atomic.core.vocab import EventKind
from git_atomic.engine import checkpoint, emptyfolders, folderids, infoexclude
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.ops import (
    bigleft,
    effectconflict,
    effectfolders,
    effectswitch,
    effecttarget,
    indexformat,
    intents,
    moves,
    treemerge,
)

# The names imported `as` themselves are importable from here as before the split (dryrun.py,
# rollback.py, moving.py, recover.py, render.py, turnothers.py use them): effectsteps.py's.
from git_atomic.ops.effectconflict import STATE as STATE
from git_atomic.ops.effectconflict import Conflict as Conflict
from git_atomic.ops.effectsteps import Step as Step
from git_atomic.ops.effectsteps import before_apply as before_apply
from git_atomic.ops.effectsteps import end_state as end_state
from git_atomic.ops.effectsteps import operation_steps as operation_steps
from git_atomic.ops.effectsteps import turn_steps as turn_steps
from git_atomic.ops.operation import Engine, RollbackResult
from git_atomic.ops.refsafter import RefsAfter


@dataclass(frozen=True)
class Outcome:
    current: Snapshot  # the state the outcome was computed against
    target: Snapshot | None  # where the worktree goes; None when there are conflicts
    exact: bool = False  # the target is the first step's `before` checkpoint itself
    conflicts: tuple[Conflict, ...] = ()
    kept: tuple[str, ...] = ()  # refs the effect moved that moved since: left where they are
    # Of `kept`: branches checked out here since the effect, which it moved while HEAD was
    # elsewhere (refsafter.py): left, the checkout with them.
    checked_out: tuple[str, ...] = ()
    # Of `kept`: branches the effect had switched HEAD to and you committed on since; HEAD
    # goes back without your commits, which stay on the branch
    # (effectswitch.without_commits_since).
    # "HEAD": the effect switched it and you took it elsewhere since; it stays, and so do the
    # files the switch checked out (effectswitch.ends_beside_a_switch).
    left_on: tuple[str, ...] = ()
    # When the effect was made (checkpoint.Parts.made_within): what was made outside these
    # windows in a folder the effect's rules hide is not the effect's (unseen.py).
    made_within: tuple[tuple[float, float], ...] = ()
    # The conflicts are your uncommitted changes against a switch taken back: (the branch you
    # are on and committed on since, what HEAD would go back to)
    # (effectswitch.without_commits_since).
    switch: tuple[str, str] | None = None
    # The folders the effect moved that go back (effectfolders.py: where each goes), and a
    # line for each that stays. A move of them alone is a change (holding only ignored files,
    # `mv F out` changes no tree).
    folders: Mapping[bytes, tuple[int, int]] = field(default_factory=dict)
    folders_left: tuple[str, ...] = ()

    @property
    def changes_something(self) -> bool:
        if self.target is None:
            return False
        # git's leftovers count too: an operation whose only trace is the AUTO_MERGE a `git
        # stash pop` left (or a SQUASH_MSG) has that to take back, not "nothing".
        return (
            _state(self.target) != _state(self.current)
            or not _same_rules(self.target, self.current)
            or self.target.shared_differs(self.current)
            or self.target.git_state != self.current.git_state
            or bool(self.folders)
        )


def take_back(
    repo: Repo, steps: Sequence[Step], current: Snapshot, *, ended: float | None = None
) -> Outcome:
    """The state now without the steps' effect (see the module's docstring). `ended`: when
    the effect ended (the operation's end: a folder it moved written into since is not moved
    back, effectfolders.py); else when its last step's end was captured."""
    return _apply_changes(repo, [(s.after, s.before) for s in reversed(steps)], current, ended)


def reapply(
    repo: Repo, steps: Sequence[Step], current: Snapshot, *, ended: float | None = None
) -> Outcome:
    """The state now with the steps' effect made again, by the same rules as `take_back`."""
    return _apply_changes(repo, [(s.before, s.after) for s in steps], current, ended)


def carry_out(
    engine: Engine, found: Outcome, *, op_id: str | None, event: EventKind
) -> RollbackResult:
    """Move the worktree to `found.target`: rescue first, intent written, only what differs.

    `op_id`: the open operation the move belongs to (its journal row holds the intent and the
    rescue), or None outside any operation. `event`: the events row it writes (`rollback`,
    `undo`, ...); `git atomic undo` reverses the newest one.
    """
    assert found.target is not None, "an outcome with conflicts is not carried out"
    target = found.target.commit
    if not found.exact:
        moves.keep(engine.repo, target)
    return engine.rollback_to(
        op_id,
        target,
        event=event,
        own_branches=True,
        probe=found.current,
        made_within=found.made_within,
        folders_effect=(found.folders, found.folders_left),
    )


def conflict_lines(found: Outcome) -> list[str]:
    """One line per overlap, for people: `src/app.py: content (near line 3), in the files`."""
    out = []
    for c in found.conflicts:
        if c.where == STATE:
            out.append(c.kind)
            continue
        where = ""
        if c.lines:
            where = " (near line " + ", ".join(str(a) for a, _ in c.lines) + ")"
        place = "the files" if c.where == "files" else "the index"
        out.append(f"{c.path.decode('utf-8', 'backslashreplace')}: {c.kind}{where}, in {place}")
    return out


# --- the computation ---------------------------------------------------------------------------
def _state(snap: Snapshot) -> tuple[object, ...]:
    """Everything a user can see of a state: files, index, HEAD, every branch (and, as far as
    both sides know them, the rest: `_same_rules`)."""
    head = (snap.head_ref, snap.head_oid)
    folders = snap.empty_folders if snap.all_empty_folders else None
    branches = tuple(sorted(snap.branches.items()))
    return (snap.files_tree, snap.index_key(), head, branches, folders)


def _contiguous_from(current: Snapshot, pairs: Sequence[tuple[Snapshot, Snapshot]]) -> bool:
    """Whether each change starts where the one before ended, the first where the state is
    now: then the last change's end is the answer, exactly."""
    ends = [(current, pairs[0][0])] + [(pairs[i - 1][1], pairs[i][0]) for i in range(1, len(pairs))]
    return all(_state(a) == _state(b) and _same_rules(a, b) for a, b in ends)


def _as_left(repo: Repo, current: Snapshot, frm: Snapshot, to: Snapshot) -> Snapshot:
    """The state now as the first change's start saw it, where the restore that went there
    left something where it was, as the change's end holds it (named then): no change since.
    The exact move to the change's end writes nothing there, as the worked-out one would not.
    - the files over the size budget that start does not hold (restorekeeps.within_budget):
      a capture now may hold such a file (a scan that saw it tracked remembers it);
    - the stash list, where the repository has other worktrees (`refs/stash` is shared: a
      list that changed while the operation ran is left as it is);
    - the list of files over the budget, where only the restore made it differ (bigleft.py)."""
    known = current.stash_known and frm.stash_known and to.stash_known
    if known and current.stash != frm.stash and current.stash == to.stash:
        current = records.replace(current, stash=frm.stash)
    current = bigleft.as_left(repo, current, frm, to)
    if current.files_tree == frm.files_tree or frm.too_large is None:
        return current
    changes = repo.diff_trees(frm.files_tree, current.files_tree)
    big = checkpoint.load_too_large(repo, frm)
    left = [c for c in changes if c.status == "A" and c.path in big]
    if len(left) != len(changes):
        return current
    ends = {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(to.files_tree, [c.path for c in left])}
    if any(ends.get(c.path) != (c.new_mode, c.new_oid) for c in left):
        return current
    return records.replace(current, files_tree=repo.tree_without(current.files_tree, ends))


def _same_rules(a: Snapshot, b: Snapshot) -> bool:
    """The same `.git/info/exclude` and `info/attributes`, sparse-checkout patterns, stashes,
    symbolic branches and index split or whole, as far as both know them (a state worked out
    from trees, or written before one was recorded, does not)."""
    exclude = (
        not (a.info_exclude.known and b.info_exclude.known) or a.info_exclude == b.info_exclude
    )
    sparse = a.sparse_checkout, b.sparse_checkout
    same_sparse = not (sparse[0].known and sparse[1].known) or sparse[0] == sparse[1]
    same_stash = not (a.stash_known and b.stash_known) or a.stash == b.stash
    same_shallow = not (a.shallow.known and b.shallow.known) or a.shallow == b.shallow
    attributes = a.info_attributes, b.info_attributes
    same_attributes = not (attributes[0].known and attributes[1].known) or (
        attributes[0] == attributes[1]
    )
    # The files over the budget, which no tree holds: one you moved between the changes
    # (`mv data.db mine.db`) makes the states differ, as a file of the trees would.
    same_big = None in (a.too_large, b.too_large) or a.too_large == b.too_large
    # The index split on a shared index or whole (`update-index --split-index`), which its key
    # does not show: an operation that only made your split index whole has that to take back.
    same_split = not a.split_differs(b)
    # The branches that are symbolic refs, and the ref each names (`git symbolic-ref`).
    same_symrefs = None in (a.symrefs, b.symrefs) or a.symrefs == b.symrefs
    return (
        same_symrefs
        and exclude
        and same_sparse
        and same_stash
        and same_shallow
        and same_attributes
        and same_big
        and same_split
    )


def _apply_changes(
    repo: Repo, changes: Sequence[tuple[str, str]], current: Snapshot, ended: float | None
) -> Outcome:
    """Apply each change `frm -> to` on top of the state, in order, and the folders the
    changes moved (effectfolders.py) with them."""
    if not changes:
        return Outcome(current, current, exact=True)
    snaps = {sha: checkpoint.load(repo, sha) for pair in changes for sha in pair}
    pairs = [(snaps[frm], snaps[to]) for frm, to in changes]
    folders = effectfolders.moved_back(repo, current, pairs, ended)
    found = _worked_out(repo, changes, current, snaps, folders)
    if found.target is None or not (folders.ids or folders.left):
        return found
    return records.replace(found, folders=folders.ids, folders_left=folders.left)


def _worked_out(
    repo: Repo,
    changes: Sequence[tuple[str, str]],
    current: Snapshot,
    snaps: Mapping[str, Snapshot],
    folders: effectfolders.Folders,
) -> Outcome:
    """`_apply_changes` but for the folders (the target keeps where they go, for the move
    that takes it back again)."""
    first = snaps[changes[0][0]], snaps[changes[0][1]]
    pairs = [(snaps[frm], snaps[to]) for frm, to in changes]
    if _contiguous_from(_as_left(repo, current, *first), pairs) and (
        # git's leftovers made since (your `git stash pop`'s AUTO_MERGE) are no change of
        # the steps: where the last step's end would drop them, the target is worked out. A
        # state exactly as the last step left it (a bisect the operation ran in) is exact.
        current.git_state is None
        or current.git_state == pairs[-1][1].git_state
        or effecttarget.git_state_after(repo, current, pairs) == pairs[-1][1].git_state
    ):
        windows = effecttarget.windows(pairs)
        return Outcome(current, snaps[changes[-1][1]], exact=True, made_within=windows)
    last = snaps[changes[-1][1]]
    if (
        _state(current) == _state(last)
        and _same_rules(current, last)
        and effectconflict.halfway(repo, current, {}) == effectconflict.NONE_HALFWAY
    ):
        # Where the changes go is where the tree is already (a merge, cherry-pick... that
        # `undo` brought back and you aborted since): nothing to do, not a half-way state
        # to make again.
        return Outcome(current, current)
    halfway = effectconflict.halfway_conflicts(
        repo, current, [(snaps[frm], snaps[to]) for frm, to in changes]
    )
    if halfway:
        return Outcome(current, None, conflicts=halfway)
    files, staged = current.files_tree, current.staged_tree
    refs = RefsAfter(current)
    stash = effecttarget.StashAfter(current)
    for frm_sha, to_sha in changes:
        frm, to = snaps[frm_sha], snaps[to_sha]
        stash.move(frm, to, refs.kept)
        files, staged, overlaps = effectswitch.without_commits_since(
            repo, refs, frm, to, files, staged
        )
        if overlaps:
            back = to.head_ref or (to.head_oid or "")[:12]
            switch = (refs.head_ref or "HEAD", back)
            return Outcome(current, None, conflicts=overlaps, switch=switch)
        beside = effectswitch.ends_beside_a_switch(repo, refs, frm, to)
        if beside is not None:
            refs.left_on.append("HEAD")  # it stays, and so do the files the switch checked out
        ends = (
            effectswitch.ends_on_the_checkout(repo, refs, frm, to)
            or beside
            or (
                frm.files_tree,
                frm.staged_tree,
                to.files_tree,
                to.staged_tree,
            )
        )
        merged_files = treemerge.merge(repo, base=ends[0], ours=files, theirs=ends[2])
        merged_index = treemerge.merge(repo, base=ends[1], ours=staged, theirs=ends[3])
        conflicts = [
            *(Conflict(c.path, "files", c.kind, c.lines) for c in merged_files.conflicts),
            *(Conflict(c.path, "index", c.kind, c.lines) for c in merged_index.conflicts),
        ]
        if merged_files.tree is None or merged_index.tree is None:
            return Outcome(current, None, conflicts=tuple(conflicts))
        files, staged = merged_files.tree, merged_index.tree
        refs.move(frm, to)
    clashes = refs.name_clashes(current)
    if clashes:  # a branch made again where a later one holds its name: git cannot hold both
        return Outcome(current, None, conflicts=tuple(Conflict(b"", STATE, c) for c in clashes))
    # An empty folder the changes make where a later file stands (`e/f/` made again where you
    # wrote a file `e`): an overlap, as a file of the changes there would be.
    blob, every, blocked = emptyfolders.folders_after(repo, current, pairs, files)
    if blocked:
        return Outcome(
            current,
            None,
            # Named as a folder (`e/f/`): no file stands on either side at that path.
            conflicts=tuple(Conflict(p + b"/", "files", "file/directory") for p in blocked),
        )
    flags = effecttarget.flags_after(repo, current, pairs)
    # An intent-to-add entry kept where the changes take its file away (you ran `git add -N`
    # on the operation's new file), or made again where the index holds entries of yours now:
    # an overlap, not an index only its bytes could hold.
    clash = intents.overlaps(repo, flags, current.files_tree, files, staged, pairs)
    if clash:
        return Outcome(current, None, conflicts=tuple(Conflict(p, "index", k) for p, k in clash))
    times = [snaps[to].captured_at for _, to in changes]
    target = effecttarget.write_target(
        repo,
        files_tree=files,
        staged_tree=staged,
        refs=refs,
        flags=flags,
        folders=(blob, every),
        # What each change goes back to was on disk then: a file the target lacks that was
        # born before it and that the target's rules ignore is the user's (restorekeeps.py); one
        # the effect made goes, whatever the rules say once the effect is taken back.
        captured_at=None if None in times else min(t for t in times if t is not None),
        made_within=effecttarget.windows(pairs),
        index_version=indexformat.version_after(current, pairs),
        index_shared=indexformat.shared_after(current, pairs),
        info_exclude=infoexclude.after(
            repo, current.info_exclude, [(a.info_exclude, b.info_exclude) for a, b in pairs]
        ),
        info_attributes=infoexclude.after(
            repo,
            current.info_attributes,
            [(a.info_attributes, b.info_attributes) for a, b in pairs],
        ),
        sparse_checkout=infoexclude.after(
            repo,
            current.sparse_checkout,
            [(a.sparse_checkout, b.sparse_checkout) for a, b in pairs],
        ),
        shallow=infoexclude.after(
            repo, current.shallow, [(a.shallow, b.shallow) for a, b in pairs]
        ),
        # A branch the changes make again gets the sections it had where they go back to
        # (branchconfig.py: only a branch that comes or goes is written).
        branch_config=next(
            (b.branch_config for _, b in reversed(pairs) if b.branch_config.known),
            infoexclude.UNKNOWN,
        ),
        # Files over the budget where a change goes back to: no checkpoint holds them, so the
        # target lacking them does not mean they go (restorekeeps.within_budget).
        too_large=checkpoint.paths_blob(
            repo, (p for _, to in pairs for p in checkpoint.load_too_large(repo, to))
        ),
        # Where they were, of those a change took from their names only (largegone.py moves
        # these back): one you moved between the changes is yours.
        too_large_ids=effecttarget.displaced_ids(repo, pairs),
        stash=stash,
        git_state=effecttarget.git_state_after(repo, current, pairs),
        folder_ids=folderids.blob(repo, folders.ids),
        # The permission bits a tree cannot keep of the files where the changes go back to (a
        # 0600 key the effect deleted comes back 0600).
        modes=checkpoint.modes_blob(
            repo, {p: m for _, to in pairs for p, m in checkpoint.load_modes(repo, to).items()}
        ),
        # The repositories git read as folders where the changes go back to: a restore removes
        # nothing from one whose `.git` the effect renamed aside (nestedrepos.Found.aside).
        repositories=checkpoint.paths_blob(
            repo, (p for _, to in pairs for p in checkpoint.paths_of(repo, to.repositories))
        ),
    )
    kept = tuple(dict.fromkeys([*refs.kept, *refs.left_on]))
    return Outcome(
        current,
        target,
        kept=kept,
        checked_out=tuple(dict.fromkeys(refs.checked_out)),
        left_on=tuple(dict.fromkeys(refs.left_on)),
        made_within=target.made_within,
    )
