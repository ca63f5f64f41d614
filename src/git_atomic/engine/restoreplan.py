"""What a restore will do, worked out before anything changes: the files that differ, the
branches and HEAD to move (by compare-and-swap), the empty folders to make or remove, and the
paths refused outright (one git never checks out); and, once it is done, what it did (Outcome)."""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Mapping, Sequence

from git_atomic.core import records
from git_atomic.core.errors import RefusedError
from git_atomic.core.records import dataclass, field
from git_atomic.engine import changedtimes, checkpoint, infoexclude, reconcile, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import ZERO_OID, RawChange, Repo
from git_atomic.engine.gittrees import folders_on_the_way as folders_on_the_way

GITLINK = "160000"
SYMLINK = "120000"


class Action(enum.StrEnum):
    CREATE = "create"
    DELETE = "delete"
    MODIFY = "modify"
    MODE = "mode"
    TYPE = "type"  # file <-> symlink


@dataclass(frozen=True)
class PathChange:
    path: bytes
    action: Action


@dataclass
class Outcome:
    """What a restore did: the paths it changed, and what it left as it is, and why."""

    changed: list[PathChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Paths another writer changed since the state the restore started from (its rescue) was
    # captured: left as they are, in no checkpoint (unchanged.py).
    left: list[bytes] = field(default_factory=list)
    refs_left: list[str] = field(default_factory=list)  # HEAD, branches: the same, for refs
    # Paths the restore could not put back, for a reason `problems` gives (a folder holding
    # files no checkpoint holds in the way, a file the system refuses to remove): left as they
    # are, and the command exits 3.
    failed: list[bytes] = field(default_factory=list)
    index_left: bool = False  # the index another writer changed since the rescue: left
    # Paths under a folder that holds a repository of its own now: left, as `problems` says.
    in_repositories: list[bytes] = field(default_factory=list)
    # The folder the command runs in, empty, which the target lacks: left (restorefolders.py).
    kept_here: list[bytes] = field(default_factory=list)
    # What the move did that a careful user is told, not a failure: a commit a remote-tracking
    # ref holds taken off a branch (ops/published.py). Said, and in `--json` as `notes`.
    notes: list[str] = field(default_factory=list)
    # Permission bits it closed again (restorebits.closed_again): path -> (as they were, as
    # written), kept in its event for `undo` to open again (effectbeside.reverse).
    bits: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    # The FIFOs it made again (path -> st_mode): kept in its event for `undo` to remove again
    # (effectfifos.MADE).
    fifos_made: dict[bytes, int] = field(default_factory=dict)
    # The FIFOs, sockets and devices it took away that its target does not hold (path ->
    # st_mode; restorespecials.Specials.gone): kept in its event for `undo` to make a FIFO again.
    specials_removed: dict[bytes, int] = field(default_factory=dict)
    # The folders moved back before it (foldermoves.py), where each was in the state it
    # replaced: kept in its event for `undo` to find where to move each again.
    folders_moved: dict[bytes, tuple[int, int]] = field(default_factory=dict)

    @property
    def left_anything(self) -> bool:
        """Whether something another writer changed was left as it is (exit 3)."""
        return bool(self.left or self.refs_left or self.index_left)

    def cannot(self, path: bytes, why: str) -> None:
        """`path` could not be put back, because `why`: left as it is."""
        shown = path.decode("utf-8", "backslashreplace")
        self.problems.append(f"cannot restore {shown}: {why}; left as it is")
        self.failed.append(path)


@dataclass(frozen=True)
class Plan:
    files: tuple[RawChange, ...]
    ref_lines: tuple[str, ...]
    branches_left: tuple[str, ...]  # branches checked out in another worktree: left alone
    head_changes: bool
    index_changes: bool
    folders: tuple[bytes, ...] = ()  # the target's empty folders: made where missing
    new_folders: tuple[bytes, ...] = ()  # those of them that are not there now as they will be
    gone_folders: tuple[bytes, ...] = ()  # empty folders now that the target does not have
    git_state_changes: bool = False  # a merge, rebase... in progress to clear or bring back
    exclude_changes: bool = False  # .git/info/exclude to write back (infoexclude.py)
    # Branches changed meanwhile that an operation's rollback cannot tell were its own: left.
    branches_not_ours: tuple[str, ...] = ()
    stash_changes: bool = False  # your stashes to put back (stashstate.py)
    sparse_changes: bool = False  # the worktree's sparse-checkout patterns to write back
    dot_git_changes: bool = False  # the worktree's `.git` file to write back (dotgit.py)
    # Your stashes changed meanwhile, beside another worktree (refs/stash is shared): left
    stash_not_ours: bool = False
    shallow_changes: bool = False  # .git/shallow to write back (infoexclude.SHALLOW)
    # The repositories of their own the restore meets (nestedrepos.py): it leaves their files,
    # so they are no change it makes; and what it will say of them (a dry run says it too).
    nested_now: tuple[bytes, ...] = ()  # nestedrepos.Found.now
    nested_targets: tuple[bytes, ...] = ()  # nestedrepos.Found.targets
    nested_said: tuple[str, ...] = ()
    # Branches renamed while another worktree had them checked out, renamed back there
    # (renamedback.py): (that worktree's git dir, the branch now, the one it comes back as).
    renamed_back: tuple[tuple[str, str, str], ...] = ()
    attributes_changes: bool = False  # .git/info/attributes to write back (ATTRIBUTES)
    # Folders of repositories the target read as folders, without a `.git` now: the restore
    # removes nothing from them (nestedrepos.Found.aside).
    nested_aside: tuple[bytes, ...] = ()
    # Branches that are symbolic refs to point back, make again or remove (symrefs.py):
    # (branch, the ref it names now, the one at the target; None: no symbolic ref).
    symref_changes: tuple[tuple[str, str | None, str | None], ...] = ()
    # Of them, those another worktree may have changed meanwhile (as `branches_not_ours`): left.
    symrefs_not_ours: tuple[tuple[str, str | None, str | None], ...] = ()

    def path_changes(self) -> list[PathChange]:
        out = [PathChange(f + b"/", Action.CREATE) for f in self.new_folders]
        out += [PathChange(f + b"/", Action.DELETE) for f in self.gone_folders]
        for c in self.files:
            if GITLINK in (c.old_mode, c.new_mode) or self._in_a_repository(c.path):
                continue
            if c.status == "D" and any(c.path.startswith(r + b"/") for r in self.nested_aside):
                continue
            if c.status == "A":
                action = Action.CREATE
            elif c.status == "D":
                action = Action.DELETE
            elif c.status == "T":
                action = Action.TYPE
            elif c.old_oid == c.new_oid:
                action = Action.MODE
            else:
                action = Action.MODIFY
            out.append(PathChange(c.path, action))
        return out

    def _in_a_repository(self, path: bytes) -> bool:
        roots = (*self.nested_now, *self.nested_targets)
        return any(path.startswith(root + b"/") for root in roots)


def plan(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    *,
    with_refs: bool = True,
    paths: Sequence[bytes] = (),
    own_branches: bool = False,
) -> Plan:
    """How to go from `current` to `target`. `own_branches` (an operation's rollback, not a
    whole state asked for by name): in a repository with other worktrees, a branch other than
    this worktree's own (the one HEAD names now or at the target, or one HEAD was on here and
    left where it still is: headleft.py) that changed since the target may have been changed
    from another worktree; it is left as it is, and named."""
    changes = tuple(repo.diff_trees(current.files_tree, target.files_tree, paths))
    if target.made_within:
        changes = _not_over_unseen_files(repo, current, target, changes)
    unsafe = [c.path for c in changes if _unsafe(c.path)]
    if unsafe:
        shown = unsafe[0].decode("utf-8", "backslashreplace")
        raise RefusedError(f"{shown}: the target holds a path git never checks out")
    ref_lines: list[str] = []
    symref_lines = _symref_changes(current, target) if with_refs and not paths else ()
    symrefs_not_ours: tuple[tuple[str, str | None, str | None], ...] = ()
    renamed_back: list[tuple[str, str, str]] = []
    left: list[str] = []
    not_ours: list[str] = []
    head_changes = False
    stash_changes = (
        with_refs
        and not paths
        and current.stash_known
        and target.stash_known
        and current.stash != target.stash
    )
    stash_not_ours = False
    if with_refs:
        others = repo.other_worktree_heads()
        moved_elsewhere = [b for b in others if current.branches.get(b) != target.branches.get(b)]
        left = sorted(moved_elsewhere)
        if own_branches and repo.has_other_worktrees():
            # Shared by every worktree: another may have pushed or dropped a stash meanwhile.
            stash_not_ours, stash_changes = stash_changes, False
            mine = {current.head_ref, target.head_ref}
            # (and the branch HEAD's symbolic branch names: HEAD on `alias`, naming `side`)
            mine |= {through(current.head_ref, current.symrefs)}
            mine |= {through(target.head_ref, target.symrefs)}
            # A branch this worktree's HEAD was on and left, still where it left it.
            from git_atomic.engine import headleft  # only where other worktrees are

            here = headleft.left_here(repo.git_dir)
            mine |= {b for b, oid in here.items() if current.branches.get(b) == oid}
            not_ours = sorted(
                b
                for b in set(current.branches) | set(target.branches)
                if current.branches.get(b) != target.branches.get(b)
                and b not in mine
                and b not in left
            )
            # A symbolic branch made again loses nothing, as a branch: whoever's it is.
            symrefs_not_ours = tuple(c for c in symref_lines if c[0] not in mine and c[1])
            symref_lines = tuple(c for c in symref_lines if c not in symrefs_not_ours)
        # A branch not there now that the target has is made again whoever's it is: making a
        # ref that is not there loses nothing, and another worktree checked out on it (whose
        # branch an operation's `update-ref -d` took) is on it again, not on an unborn branch.
        gone = {b for b in target.branches if b not in current.branches}
        left = [b for b in left if b not in gone]
        if left and not paths:
            from git_atomic.engine import renamedback  # only where a branch is left so

            renamed_back = renamedback.find(repo, left, current.branches, target.branches)
            left = [b for b in left if b not in {r[1] for r in renamed_back}]
        not_ours = [b for b in not_ours if b not in gone]
        renamed = [r[1] for r in renamed_back]  # removed once that worktree is off them
        ref_lines = ref_changes(
            current.branches, target.branches, skip=[*left, *not_ours, *renamed]
        )
        ref_lines += head_ref_moved(current, target, now=_off_branch_now(repo, current, target))
        head_changes = head_key(current) != head_key(target)
    index_changes = not paths and (
        current.index_key() != target.index_key() or current.shared_differs(target)
    )
    folders = _folders(repo, target, paths)
    git_state_changes = not paths and current.git_state != target.git_state
    nested: tuple[tuple[bytes, ...], tuple[bytes, ...]] = ((), ())
    aside: tuple[bytes, ...] = ()
    nested_said: list[str] = []
    if changes:
        from git_atomic.engine import nestedrepos  # a restore's, not a checkpoint's

        with safefs.Tree(os.fsencode(repo.root)) as tree:
            found = nestedrepos.find(tree, changes, checkpoint.paths_of(repo, target.repositories))
            nested = found.now, found.targets
            aside = found.aside
            nested_said = nestedrepos.foreseen(repo, tree, changes, found)
        folders = _outside(folders, found.now)  # none made in a repository there now
    return Plan(
        changes,
        tuple(ref_lines),
        tuple(left),
        head_changes,
        index_changes,
        folders,
        _new_folders(repo, folders, changes),
        _outside(
            _gone_folders(repo, current, target, folders, paths), (*nested[0], *nested[1], *aside)
        ),
        git_state_changes,
        not paths and infoexclude.changes(current.info_exclude, target.info_exclude),
        tuple(not_ours),
        stash_changes,
        with_refs
        and not paths
        and infoexclude.changes(current.sparse_checkout, target.sparse_checkout),
        with_refs and target.dot_git is not None and current.dot_git != target.dot_git,
        stash_not_ours,
        with_refs and not paths and infoexclude.changes(current.shallow, target.shallow),
        *nested,
        tuple(nested_said),
        tuple(renamed_back),
        not paths and infoexclude.changes(current.info_attributes, target.info_attributes),
        aside,
        symref_lines,
        symrefs_not_ours,
    )


def _symref_changes(
    current: Snapshot, target: Snapshot
) -> tuple[tuple[str, str | None, str | None], ...]:
    """The branches that are symbolic refs and differ between the two, where both know them:
    (branch, the ref it names now, the one at the target; None: no symbolic ref there)."""
    now, then = current.symrefs, target.symrefs
    if now is None or then is None:
        return ()
    return tuple(
        (name, now.get(name), then.get(name))
        for name in sorted(set(now) | set(then))
        if now.get(name) != then.get(name)
    )


@dataclass(frozen=True)
class LaterWrites:
    """What someone changed after a killed restore began (between the kill and `recover`):
    paths, branches, HEAD, the index. Not the restore's own: left as it is."""

    paths: tuple[bytes, ...] = ()
    refs: tuple[str, ...] = ()
    index: bool = False


def without_later_writes(
    repo: Repo, the_plan: Plan, rescue: Snapshot, current: Snapshot
) -> tuple[Plan, LaterWrites]:
    """The plan of a restore a crash interrupted, less what changed since `rescue` (the state
    it started from: its rescue, or what its target was worked out from) other than by the
    restore: it finishes its own work and never writes over another's. A path the
    restore already put back is the target's, so not in the plan; one it took away and had not
    written yet (a kill between the two) is missing, and is written; one that holds what the
    rescue does is the restore's to change. Anything else there is someone else's."""
    held = {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(rescue.files_tree, _old(the_plan))}
    later = {
        c.path
        for c in the_plan.files
        if c.status != "A" and held.get(c.path) != (c.old_mode, c.old_oid)
    }
    names = [line.split()[1] for line in the_plan.ref_lines]
    refs = [n for n in names if current.branches.get(n) != rescue.branches.get(n)]
    head = the_plan.head_changes and head_key(current) != head_key(rescue)
    index = the_plan.index_changes and current.index_key() != rescue.index_key()
    if not (later or refs or head or index):
        return the_plan, LaterWrites()
    return records.replace(
        the_plan,
        files=tuple(c for c in the_plan.files if c.path not in later),
        ref_lines=tuple(line for line in the_plan.ref_lines if line.split()[1] not in refs),
        head_changes=the_plan.head_changes and not head,
        index_changes=the_plan.index_changes and not index,
    ), LaterWrites(tuple(sorted(later)), tuple([*refs, *(["HEAD"] if head else [])]), index)


def _old(the_plan: Plan) -> list[bytes]:
    return [c.path for c in the_plan.files if c.status != "A"]


def _not_over_unseen_files(
    repo: Repo, current: Snapshot, target: Snapshot, changes: tuple[RawChange, ...]
) -> tuple[RawChange, ...]:
    """An effect taken back writes over no file its captures could not see: an untracked file
    git ignores now, last changed outside every window in which the effect was made (the
    operation hid it behind a rule it added, and you edited it since; it deleted it and you
    made it again). Taking the effect back takes the rule back; the file stays as you left it
    (the rescue holds it all the same)."""
    written = [c.path for c in changes if c.status != "D" and c.new_mode != GITLINK]
    outside = changedtimes.changed_outside(repo, written, target.made_within) if written else set()
    if not outside:
        return changes
    tracked = {e.path for e in repo.ls_tree_at(current.staged_tree, sorted(outside))}
    unseen = set(reconcile.ignored(repo, sorted(outside - tracked)))
    return tuple(c for c in changes if c.path not in unseen)


def _unsafe(path: bytes) -> bool:
    """A path git never checks out (its `verify_path`): a `.git` component in any letter case,
    `.` or `..`. A tree made by hand (`git mktree`; git fetches one unchecked by default) can
    hold `.git/hooks/post-commit`: `emergency --to` that commit must not write a hook into the
    repository's own git dir. The plan refuses such a target before anything changes."""
    return any(part in (b"", b".", b"..") or part.lower() == b".git" for part in path.split(b"/"))


def _folders(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> tuple[bytes, ...]:
    wanted = frozenset(f for f in checkpoint.load_empty_folders(repo, target) if not _unsafe(f))
    if paths and b"." not in paths:
        wanted = frozenset(
            f for f in wanted if any(f == p or f.startswith(p + b"/") for p in paths)
        )
    return tuple(sorted(wanted))


def _gone_folders(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    folders: Sequence[bytes],
    paths: Sequence[bytes],
) -> tuple[bytes, ...]:
    """The empty folders now that the target does not have (an operation's `mkdir`): only
    when both list every empty folder (checkpoints written before did not)."""
    if not (current.all_empty_folders and target.all_empty_folders):
        return ()
    kept = {f for f in folders for f in [f, *folders_on_the_way(f)]}
    gone = set(checkpoint.load_empty_folders(repo, current)).difference(kept)
    if paths and b"." not in paths:
        gone = {f for f in gone if any(f == p or f.startswith(p + b"/") for p in paths)}
    if gone and target.captured_at is not None:
        # One nothing touched since the target was captured was there then, and the target
        # did not list it only because a rule ignored it (the operation took the rule away:
        # `rm .gitignore`, a line of info/exclude): yours, not the operation's `mkdir`. It
        # stays, as a file of yours does (restorekeeps.untouched_where_it_was).
        gone -= changedtimes.untouched_since(repo, sorted(gone), target.captured_at, folders=True)
    return tuple(sorted(f for f in gone if not _unsafe(f)))


def _outside(folders: tuple[bytes, ...], roots: Sequence[bytes]) -> tuple[bytes, ...]:
    """`folders` less those inside a repository of its own the restore meets: its folders are
    its own, as its files are (a nested repository whose `.git` the operation renamed aside,
    `.git_disabled`, lists that folder's empty ones, `refs/tags/`, as the operation's)."""
    if not roots:
        return folders
    return tuple(f for f in folders if not any(f.startswith(root + b"/") for root in roots))


def _new_folders(
    repo: Repo, folders: Sequence[bytes], changes: Sequence[RawChange]
) -> tuple[bytes, ...]:
    """The target's empty folders that are not empty folders now: missing, or holding files
    the restore takes out."""
    if not folders:
        return ()
    touched = {os.path.dirname(c.path) for c in changes if c.status in ("D", "T")}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        return tuple(
            f
            for f in folders
            if tree.kind(f) != stat.S_IFDIR
            or any(t == f or t.startswith(f + b"/") for t in touched)
        )


def ref_changes(
    current: Mapping[str, str], target: Mapping[str, str], *, skip: Sequence[str] = ()
) -> list[str]:
    """`update-ref --stdin` lines that move branches from `current` to `target`, by CAS."""
    lines: list[str] = []
    for name in sorted(set(current) | set(target)):
        old, new = current.get(name), target.get(name)
        if old == new or name in skip:
            continue
        zero = "0" * len(new or old or ZERO_OID)  # the ids' own format (SHA-1 or SHA-256)
        lines.append(f"update {name} {new or zero} {old or zero}")
    return lines


def head_ref_moved(
    current: Snapshot, target: Snapshot, *, now: tuple[str | None] | None = None
) -> list[str]:
    """HEAD on a ref that is no branch at the target (`git symbolic-ref HEAD
    refs/remotes/origin/main`, or through a branch that names it: `through`): a commit there
    moved that ref, which the branches do not hold.
    HEAD's commit comes back by moving it, compare-and-swap, as a branch's would: where HEAD
    is on it now, from HEAD's commit now; where HEAD left it since (a `checkout --detach`),
    from `now`, the ref's commit read now (`_off_branch_now`), never deleted so. An unborn
    target there (HEAD on a ref that was not there: `git symbolic-ref HEAD refs/wip/x` in a
    new repository) deletes the commit HEAD has on it now, as an unborn branch's goes."""
    ref = through(target.head_ref, target.symrefs)
    if ref is None or not off_branches(ref):
        return []
    if ref == through(current.head_ref, current.symrefs):
        was = {ref: current.head_oid} if current.head_oid else {}
        return ref_changes(was, {ref: target.head_oid} if target.head_oid else {})
    if now is None or now[0] is None or target.head_oid is None:
        return []
    return ref_changes({ref: now[0]}, {ref: target.head_oid})


def _off_branch_now(repo: Repo, current: Snapshot, target: Snapshot) -> tuple[str | None] | None:
    """The commit of the ref HEAD is on at the target where that is no branch and HEAD is not
    on it now (head_ref_moved): read with the other refs, (None,) where it is not there;
    None where there is none to read."""
    ref = through(target.head_ref, target.symrefs)
    if ref is None or not off_branches(ref) or ref == through(current.head_ref, current.symrefs):
        return None
    if target.head_oid is None:
        return None
    return (repo.refs(ref).get(ref),)


def through(ref: str | None, symrefs: Mapping[str, str] | None) -> str | None:
    """The ref HEAD's `ref` leads to through the branches that are symbolic refs (HEAD on
    `alias`, naming `refs/remotes/origin/main`: that one); `ref` where it is no such branch,
    or they are not known."""
    for _ in range(5):  # git follows as few
        if ref is None or symrefs is None or ref not in symrefs:
            break
        ref = symrefs[ref]
    return ref


def off_branches(ref: str | None) -> bool:
    """Whether HEAD's `ref` is a ref that is no branch (nor one of ours, refused elsewhere)."""
    return ref is not None and not ref.startswith(("refs/heads/", "refs/atomic/"))


def head_key(snap: Snapshot) -> tuple[str | None, str | None]:
    """What HEAD says: the branch it names, or the commit when detached."""
    return snap.head_ref, (snap.head_oid if snap.head_ref is None else None)


def named_modes(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> set[bytes] | None:
    """The files and folders (a slash at the end) whose bits `target` kept that a selective
    restore's `paths` name, each a file or a folder (None: not selective, every one): `rollback
    --to X key` brings back the 0600 of a key whose bytes are as they were."""
    if not paths:
        return None
    tops = [p.rstrip(b"/") for p in paths]
    return {
        p
        for p in checkpoint.load_modes(repo, target)
        if any(p.rstrip(b"/") == q or p.startswith(q + b"/") for q in tops)
    }
