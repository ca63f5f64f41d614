"""A restore's writes to the worktree's files: what the target lacks removed, what it has
written, modes changed, FIFOs and the target's empty folders made again.

Every path is reached from the top of the worktree without following a link (safefs.py), and
nothing is removed, written over or chmodded unless it is still what the state the restore
starts from (its rescue) holds (unchanged.py): another writer's bytes are left there."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from git_atomic.core import failpoints
from git_atomic.engine import (
    blobsahead,
    nestedrepos,
    restorefolders,
    restorespecials,
    safefs,
    unchanged,
)
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.nestedrepos import inside
from git_atomic.engine.restoreplan import GITLINK, SYMLINK, Outcome, folders_on_the_way
from git_atomic.engine.restorespecials import Specials

if TYPE_CHECKING:
    from git_atomic.engine import lfskeep

Kept_ = Mapping[str, "lfskeep.Kept"]  # marker blob id -> the LFS content it stands for


def apply_files(
    repo: Repo,
    changes: Sequence[RawChange],
    outcome: Outcome,
    *,
    folders: Sequence[bytes] = (),
    gone_folders: Sequence[bytes] = (),
    specials: Specials,
    repositories: Sequence[bytes] = (),
) -> None:
    """Carry out `changes` on the files: the old ones removed (a link where a folder was is
    removed as itself, never written through), then the new ones written, the target's FIFOs
    and its empty `folders` made again."""
    # Blobs that stand for LFS content kept outside .git/objects (lfskeep.py): {} mostly.
    from git_atomic.engine import lfskeep  # read only by a restore

    kept = lfskeep.markers(repo)
    # The bytes it writes, read beside the removals (a large restore's: blobsahead.py).
    ahead = blobsahead.start(repo, _blobs_wanted(changes, kept))
    # What it removes is moved aside first, into our folder of the git dir (unchanged.py).
    # What it removes for good goes into the trash, emptied after the restore (trash.py).
    with safefs.Tree(
        os.fsencode(repo.root),
        aside=os.fsencode(repo.state_dir / "tmp"),
        trash=os.fsencode(repo.state_dir / "trash"),
    ) as tree:
        # The operation may have made a repository where a folder was (`git init sub`, a
        # clone): git still lists its files as the folder's (the index holds paths under it),
        # but they are that repository's own. Nothing is removed from it or written into it.
        # Where the target has a nested repository (a submodule, a repository inside the
        # worktree, a linked worktree kept there) its files are its own, never captured: one
        # whose `.git` the operation removed shows them as files, still not the operation's.
        # (nestedrepos.py: the plan finds the same, for a dry run to say what this does.)
        nested = nestedrepos.find(tree, changes, repositories)
        outcome.problems += [nestedrepos.files_left(root) for root in nested.aside]
        if nested.now:
            outcome.problems += [nestedrepos.there_now(root) for root in nested.now]
            outcome.in_repositories += [c.path for c in changes if inside(c.path, nested.now)]
        all_changes, changes = changes, [c for c in changes if not inside(c.path, nested.now)]
        removals = [
            c
            for c in changes
            if c.status in ("D", "T")
            and c.old_mode != GITLINK
            and not nested.holds(c.path)
            and not (c.status == "D" and nested.keeps(c.path))
        ]
        writes = [c for c in changes if c.status in ("A", "M", "T") and c.new_mode != GITLINK]
        emptied = _remove(tree, removals, outcome, kept)
        # An empty folder the target lacks goes, and so do the folders it leaves empty (the
        # target's own empty folders are made again below). Never one a file is written into
        # next, nor one of the target's: removed and made again, it would be another folder
        # (a shell or editor in it left in a deleted one, its mode the umask's).
        needed = {p for c in writes for p in folders_on_the_way(c.path)} | set(folders)
        # A nested repository the target lacks is never removed (its files are its own, never
        # captured); the folder goes when it is empty (one a rollback made again for it).
        left_empty = {c.path for c in changes if c.status == "D" and c.old_mode == GITLINK}
        restorefolders.prune_empty_dirs(
            tree, emptied | set(gone_folders) | left_empty, keep=needed, outcome=outcome
        )
        staying = nestedrepos.staying(repo, tree, all_changes, nested)
        moved_back: list[str] = []
        if removals:
            failpoints.hit("restore:after-removals")
        left = set(outcome.left)
        writing = [c for c in writes if c.path not in left]
        _write(repo, tree, writing, outcome, specials, kept, ahead)
        if outcome.kept_here:
            restorefolders.gone_here(tree, outcome)
        if staying and nested.targets:  # a submodule `git mv` moved: moved back
            from git_atomic.engine import submodulemoves

            found = submodulemoves.moved(repo, tree, staying, nested.targets, all_changes)
            moved_back = submodulemoves.move_back(repo, tree, found)
            back = {root for root, to, _ in found if tree.kind(root) is None}
            staying = [root for root in staying if root not in back]
            parents = {os.path.dirname(root) for root in back} - {b""}
            restorefolders.prune_empty_dirs(tree, parents, keep=needed, outcome=outcome)
        for root in staying:
            outcome.in_repositories.append(root)
            outcome.problems.append(nestedrepos.stays(tree, root))
        outcome.problems += moved_back
        # Those the target does not hold, and the folders they leave empty (not the target's
        # own, nor one its FIFOs are made again in).
        emptied = specials.take_away(tree, outcome, {c.path for c in writes} | needed)
        if emptied:
            needed |= {p for f in specials.fifos for p in folders_on_the_way(f)}
            restorefolders.prune_empty_dirs(tree, emptied, keep=needed, outcome=outcome)
        specials.remake(tree, outcome)
        # Nor is an empty folder of the target's made in a repository there now (the folders
        # of a `.git_disabled` the operation renamed back to `.git`): its folders are its own.
        made = [f for f in folders if not inside(f, nested.now)] if nested.now else folders
        _make_target_folders(tree, made, outcome, specials)
        restorefolders.nested_repositories(tree, nested.targets, changes, outcome)
        specials.give_bits(tree, outcome)
        outcome.problems += [nestedrepos.checkout_moved(c) for c in nestedrepos.moved(changes)]


def _remove(
    tree: safefs.Tree, removals: Sequence[RawChange], outcome: Outcome, kept: Kept_
) -> set[bytes]:
    """Remove the old files and links, deepest first; the folders they were in."""
    emptied: set[bytes] = set()
    for c in sorted(removals, key=lambda c: c.path, reverse=True):
        try:
            there = tree.lstat(c.path)
            if there is None:
                continue  # not there, or beyond a link (the link has its own entry)
            if stat.S_ISDIR(there.st_mode):
                outcome.cannot(c.path, "it is a folder now")
                continue
            found = unchanged.remove(tree, c.path, _was(c, kept), there=there)
        except OSError as exc:  # the system refuses (a read-only folder, an immutable file)
            outcome.cannot(c.path, _why(exc))
            continue
        if found is unchanged.Found.CHANGED:
            outcome.left.append(c.path)
        elif found is unchanged.Found.SAME:
            emptied.add(os.path.dirname(c.path))
    return emptied


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _write(
    repo: Repo,
    tree: safefs.Tree,
    writes: Sequence[RawChange],
    outcome: Outcome,
    specials: Specials,
    kept: Kept_,
    ahead: blobsahead.Blobs | None = None,
) -> None:
    """Write the new files and links, or only change a file's mode where that is all. `ahead`:
    their bytes, being read already (those it lacks are read here)."""
    blobs = ahead.taken() if ahead is not None else None
    if blobs is None:
        blobs = dict(repo.cat_blobs(_blobs_wanted(writes, kept)))
    umask = restorespecials.umask()
    modes = specials.modes_for(repo, writes)
    for c in writes:
        try:
            _write_one(repo, tree, c, umask, blobs, outcome, specials, kept, modes)
        except OSError as exc:  # the system refuses (a read-only folder, a full disk)
            outcome.cannot(c.path, _why(exc))
            continue
        failpoints.hit("restore:after-write")


def _blobs_wanted(changes: Sequence[RawChange], kept: Kept_) -> list[str]:
    """The blobs whose bytes `changes` write (not a mode changed alone, nor LFS content)."""
    return [
        c.new_oid
        for c in changes
        if c.status in ("A", "M", "T")
        and c.new_mode != GITLINK
        and (c.old_oid != c.new_oid or c.status != "M")
        and c.new_oid not in kept
    ]


def _write_one(
    repo: Repo,
    tree: safefs.Tree,
    c: RawChange,
    umask: int,
    blobs: dict[str, bytes],
    outcome: Outcome,
    specials: Specials,
    kept: Kept_,
    modes: Mapping[bytes, int],
) -> None:
    from git_atomic.engine import lfskeep

    there = tree.lstat(c.path)  # what is there now (looked at again before it is changed)
    st = there if c.status == "M" and c.new_mode != SYMLINK else None
    mode = _new_mode(c, umask, st, modes.get(c.path))
    if _chmodded(tree, c, mode, outcome, kept):
        return
    # The bytes first: a file whose bytes cannot be had is left as it is, never removed.
    try:
        data = _bytes_of(repo, c, blobs, kept)
    except lfskeep.DamagedContent as exc:
        outcome.cannot(c.path, str(exc))
        return
    # The file written over is held aside until the new one is written whole: where it cannot
    # be (a full disk), it is given back, and nothing is cut short at its name.
    held: list[safefs.Taken] = []
    # Its extended attributes (an ACL, a label): in no checkpoint, they stay with the file.
    attributes = tree.attributes(c.path) if st is not None and stat.S_ISREG(st.st_mode) else ()
    # A file made again, or one whose file written over has none (a rename put a new file
    # there): those the target's capture kept, where it kept any.
    attributes = attributes or specials.attributes.get(c.path, ())
    try:
        if not _made_way(tree, c, outcome, specials, kept, held, there=there):
            return
        if c.new_mode == SYMLINK:
            tree.symlink(c.path, data)
        else:
            tree.write(c.path, data, mode, owner=_owner_kept(st), attributes=attributes)
    except FileExistsError:  # made since the look above: never written over
        outcome.left.append(c.path)
    except BaseException:
        for taken in held:
            tree.give_back(taken)
        held.clear()
        raise
    finally:
        for taken in held:
            tree.drop(taken)


def _bytes_of(repo: Repo, c: RawChange, blobs: dict[str, bytes], kept: Kept_) -> bytes:
    """What `c` writes: its blob's bytes, or the LFS content a marker stands for (lfskeep.py),
    also one whose record is lost. Raises DamagedContent when that content is nowhere."""
    if c.new_mode == SYMLINK:
        return blobs[c.new_oid] if c.new_oid in blobs else repo.cat_blob(c.new_oid)
    from git_atomic.engine import lfskeep

    if c.new_oid in kept:
        return lfskeep.content(repo, kept[c.new_oid])
    if c.new_oid not in blobs:
        blobs[c.new_oid] = repo.cat_blob(c.new_oid)
    data = blobs[c.new_oid]
    lost = lfskeep.parse_marker(data) if data[:10] == b"git-atomic" else None
    return data if lost is None else lfskeep.content(repo, lost)


def _new_mode(c: RawChange, umask: int, st: os.stat_result | None, was: int | None) -> int:
    """The mode of the file `c` writes; `st`: the file it writes over (None: none); `was`: its
    permission bits the target knows (Specials.modes_for), which come back whole."""
    mode = (0o777 if c.new_mode == "100755" else 0o666) & ~umask
    if was is not None and bool(was & 0o100) == bool(mode & 0o100):
        return was
    return mode if st is None else _permissions_kept(st, mode)


def _owner_kept(st: os.stat_result | None) -> tuple[int, int] | None:
    """Who the file written over the regular file `st` belongs to: its owner and group (a
    rollback run as root over a user's worktree leaves the user's files the user's)."""
    return (st.st_uid, st.st_gid) if st is not None and stat.S_ISREG(st.st_mode) else None


def _chmodded(tree: safefs.Tree, c: RawChange, mode: int, outcome: Outcome, kept: Kept_) -> bool:
    """Whether `c` changes only the mode and was dealt with by a chmod (or left, changed by
    another writer). A file with other names (an operation's hard link to a file elsewhere) is
    written anew, as one whose bytes changed: chmod would change the other file too."""
    if c.status != "M" or c.old_oid != c.new_oid:
        return False
    chmodded = unchanged.chmod(tree, c.path, _was(c, kept), mode)
    if chmodded in (unchanged.Found.CHANGED, unchanged.Found.GONE):
        outcome.left.append(c.path)
    return chmodded is not None


def _made_way(
    tree: safefs.Tree,
    c: RawChange,
    outcome: Outcome,
    specials: Specials,
    kept: Kept_,
    held: list[safefs.Taken] | None = None,
    *,
    there: os.stat_result | None,
) -> bool:
    """Make way for the write of `c`: its folders, and nothing of ours where it goes. False
    (the path left as it is) when something that is not ours is in the way. `there`: the
    caller's `lstat` of the path, looked at again only where a special file on its way was
    taken away (what is removed or written over is compared once more just before)."""
    if c.status == "M" and tree.reachable(c.path) and there is None:
        outcome.left.append(c.path)  # removed since: someone else's change too
        return False
    if specials.make_way(tree, c.path, outcome):
        there = tree.lstat(c.path)
    if not restorefolders.make_parents(tree, c.path, outcome):
        return False
    kind = None if there is None else stat.S_IFMT(there.st_mode)
    # A folder of nothing but empty folders holds nothing to lose (a checkpoint keeps
    # those that stood where files were): it makes way. One with files in it does not.
    if kind == stat.S_IFDIR and not tree.remove_empty_folders(c.path):
        outcome.cannot(
            c.path,
            "a folder is in the way, holding files no checkpoint holds (a repository of its "
            "own, or files past the size budget)",
        )
        return False
    # What the plan starts from holds nothing here for an added path (or for one whose
    # old kind was removed above): anything there now is someone else's.
    return kind is None or kind == stat.S_IFDIR or _removed(tree, c, outcome, kept, held, there)


def _make_target_folders(
    tree: safefs.Tree, folders: Sequence[bytes], outcome: Outcome, specials: Specials
) -> None:
    """The target's empty folders, made again after its files."""
    for folder in folders:
        try:
            specials.make_way(tree, folder, outcome)
            tree.make_folders(folder)
        except safefs.Blocked as exc:
            outcome.cannot(folder + b"/", f"{_show(exc.path)} is in the way")
        except OSError as exc:
            outcome.cannot(folder + b"/", _why(exc))


def _permissions_kept(st: os.stat_result | None, mode: int) -> int:
    """The mode of a file written over the regular file `st`: its read and write permissions
    (a 0600 key stays 0600, never readable by others after a rollback), executable where
    `mode` is."""
    if st is None or not stat.S_ISREG(st.st_mode):
        return mode
    kept = st.st_mode & 0o666
    return kept | (kept & 0o444) >> 2 if mode & 0o100 else kept


def _was(c: RawChange, kept: Kept_) -> unchanged.Expected:
    return unchanged.Expected(
        c.old_mode, c.old_oid, kept.get(c.old_oid) if c.old_mode != SYMLINK else None
    )


def _removed(
    tree: safefs.Tree,
    c: RawChange,
    outcome: Outcome,
    kept: Kept_,
    held: list[safefs.Taken] | None = None,
    there: os.stat_result | None = None,
) -> bool:
    """Make way for the write of `c` over what is there: only a modified path's old file or
    link, still as the plan's start holds it. `there`: the caller's `lstat` of it."""
    if c.status == "M":
        found = unchanged.remove(tree, c.path, _was(c, kept), hold=held, there=there)
        if found is not unchanged.Found.CHANGED:
            return True
    outcome.left.append(c.path)
    return False


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
