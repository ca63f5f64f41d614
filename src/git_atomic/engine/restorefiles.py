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
from git_atomic.core.records import dataclass, field
from git_atomic.engine import blobsahead, checkpoint, nestedrepos, safefs, unchanged
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.nestedrepos import inside
from git_atomic.engine.restoreplan import GITLINK, SYMLINK, Outcome, folders_on_the_way

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
        nested = nestedrepos.find(tree, changes)
        if nested.now:
            outcome.problems += [nestedrepos.there_now(root) for root in nested.now]
            outcome.in_repositories += [c.path for c in changes if inside(c.path, nested.now)]
        all_changes, changes = changes, [c for c in changes if not inside(c.path, nested.now)]
        removals = [
            c
            for c in changes
            if c.status in ("D", "T") and c.old_mode != GITLINK and not nested.holds(c.path)
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
        _prune_empty_dirs(
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
            _gone_here(tree, outcome)
        if staying and nested.targets:  # a submodule `git mv` moved: moved back
            from git_atomic.engine import submodulemoves

            found = submodulemoves.moved(repo, tree, staying, nested.targets, all_changes)
            moved_back = submodulemoves.move_back(repo, tree, found)
            back = {root for root, to, _ in found if tree.kind(root) is None}
            staying = [root for root in staying if root not in back]
            parents = {os.path.dirname(root) for root in back} - {b""}
            _prune_empty_dirs(tree, parents, keep=needed, outcome=outcome)
        for root in staying:
            outcome.in_repositories.append(root)
            outcome.problems.append(nestedrepos.stays(tree, root))
        outcome.problems += moved_back
        specials.remake(tree, outcome)
        _make_target_folders(tree, folders, outcome, specials)
        _nested_repositories(tree, nested.targets, changes, outcome)
        specials.give_bits(tree, outcome)
        outcome.problems += [nestedrepos.checkout_moved(c) for c in nestedrepos.moved(changes)]


def _nested_repositories(
    tree: safefs.Tree, nested: Sequence[bytes], changes: Sequence[RawChange], outcome: Outcome
) -> None:
    """Say what a restore cannot do where the target has a nested repository: make its
    contents again (its folder is made, for `git submodule update`), or its `.git`."""
    for root in nested:
        if tree.kind(root) is None:
            try:
                tree.make_folders(root)
            except safefs.Blocked as exc:
                outcome.cannot(root + b"/", f"{_show(exc.path)} is in the way")
                continue
            except OSError as exc:
                outcome.cannot(root + b"/", _why(exc))
                continue
            outcome.problems.append(nestedrepos.folder_made(root))
        elif nestedrepos.git_gone(root, changes):
            outcome.problems.append(nestedrepos.files_left(root))


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
    umask = _umask()
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
    if not _make_parents(tree, c.path, outcome):
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


def _make_parents(tree: safefs.Tree, path: bytes, outcome: Outcome) -> bool:
    parent = os.path.dirname(path)
    try:
        tree.make_folders(parent)
    except safefs.Blocked as exc:
        # An ignored file or a link stands where a folder must be; the snapshot says the
        # folder is ours, the ignored file is not captured: move nothing, report it.
        outcome.cannot(path, f"{_show(exc.path)} is in the way")
        return False
    return True


def _prune_empty_dirs(
    tree: safefs.Tree, dirs: set[bytes], *, keep: set[bytes], outcome: Outcome
) -> None:
    """Remove the folders `dirs` that are empty, and those they leave empty, but those in
    `keep`. One the system refuses to remove (an immutable or read-only folder above it) is
    reported: the target does not have it."""
    refused: list[tuple[bytes, OSError]] = []
    here = _where_you_are(tree.root)
    for d in sorted(dirs, key=len, reverse=True):
        while d and d not in keep:
            if here is not None and (d == here or here.startswith(d + b"/")):
                # The folder this command runs in (your shell's, or a tool's): left, empty,
                # as git leaves its own (t2501); removed, every later command from it fails.
                if here not in outcome.kept_here:
                    outcome.kept_here.append(here)
                    shown = here.decode("utf-8", "backslashreplace")
                    outcome.problems.append(_kept_words(shown))
                break
            if not tree.rmdir(d, refused=refused):
                break
            d = os.path.dirname(d)
    for folder, exc in dict(refused).items():
        outcome.cannot(folder + b"/", _why(exc))


def _kept_words(shown: str) -> str:
    return f"kept {shown}/, empty: this command runs in it (remove it once you have left it)"


def _gone_here(tree: safefs.Tree, outcome: Outcome) -> None:
    """The folder this command runs in, kept above, that a file or link of the target took
    the place of (a file the operation made a folder, the command started in it, t2501): it is
    gone, and the state is the target's. Said so, as a note, never "kept, empty"."""
    for here in list(outcome.kept_here):
        if tree.kind(here) == stat.S_IFDIR:
            continue
        shown = here.decode("utf-8", "backslashreplace")
        outcome.kept_here.remove(here)
        outcome.problems.remove(_kept_words(shown))
        outcome.notes.append(
            f"{shown}/, the folder this command runs in, is gone: the state put back has a file "
            "there (`cd` out of it: your shell is in a folder that is no more)"
        )


def _where_you_are(root: bytes) -> bytes | None:
    """The folder this process runs in, as a path in the worktree at `root` (None: the
    worktree itself, a folder outside it, or one that cannot be told)."""
    try:
        here = os.fsencode(os.getcwd())
        top = os.fsencode(os.path.realpath(root))
    except OSError:
        return None
    if not here.startswith(top.rstrip(b"/") + b"/"):
        return None
    return here[len(top.rstrip(b"/")) + 1 :] or None


@dataclass(frozen=True)
class Specials:
    """FIFOs, sockets and devices (path -> st_mode; git holds none of them): those the state
    the restore starts from saw, which it may take away where the target has a file or a
    folder, and the target's FIFOs, which it makes again where nothing is."""

    seen: Mapping[bytes, int]
    fifos: Mapping[bytes, int]
    # The target's sockets and devices: none can be made again, so one not there as it was
    # once the restore is done is named, never passed over.
    others: Mapping[bytes, int] = field(default_factory=dict)
    # And the permission bits a tree cannot keep (a 0600 key) that the target's capture saw
    # (checkpoint.load_modes): a file written comes back with them.
    modes: Mapping[bytes, int] = field(default_factory=dict)
    # And their extended attributes (checkpoint.load_attributes): a file made again gets them.
    attributes: Mapping[bytes, tuple[tuple[str, bytes], ...]] = field(default_factory=dict)
    # The target's files and staged trees, where its capture looked at the disk: a file it
    # holds otherwise than your index did was looked at, and its bits are known.
    looked: tuple[str, str] | None = None

    @classmethod
    def read(
        cls, repo: Repo, current: Snapshot, target: Snapshot, paths: Sequence[bytes]
    ) -> Specials:
        """Those of the restore from `current` to `target` (a selective one's under `paths`)."""
        wanted = _wanted(repo, target, paths)
        return cls(
            checkpoint.load_specials(repo, current),
            {p: m for p, m in wanted.items() if stat.S_ISFIFO(m)},
            others={p: m for p, m in wanted.items() if not stat.S_ISFIFO(m)},
            modes=checkpoint.load_modes(repo, target),
            attributes=checkpoint.load_attributes(repo, target),
            looked=None if target.captured_at is None else (target.files_tree, target.staged_tree),
        )

    def modes_for(self, repo: Repo, writes: Sequence[RawChange]) -> dict[bytes, int]:
        """The permission bits the files `writes` makes come back with, where not git's own:
        those the target's capture saw; and, for a file it made again that `protect` names
        (a secret: a key, a `.env`) whose bits no capture saw (tracked, and clean by your
        index: its bits were not looked at), the owner's alone, never more open than it was."""
        found = {c.path: self.modes[c.path] for c in writes if c.path in self.modes}
        made = {c.path: c.new_mode for c in writes if c.path not in found}
        unknown = sorted(p for p, mode in made.items() if mode in ("100644", "100755"))
        if not unknown:
            return found
        from git_atomic.core.config import capture_settings
        from git_atomic.engine import restorekeeps

        _, protect = capture_settings(repo.root)
        if not protect:
            return found  # (asked first: the trees' listing below costs a git process or two)
        named = restorekeeps.protected(repo, unknown, protect)
        unknown = [p for p in unknown if named is not None and p in named]
        if unknown and self.looked is not None:
            # Those clean by the index alone: any other was looked at (0644 or 0755 then).
            files = {e.path: e.oid for e in repo.ls_tree_at(self.looked[0], unknown)}
            staged = {e.path: e.oid for e in repo.ls_tree_at(self.looked[1], unknown)}
            unknown = [p for p in unknown if p in staged and staged[p] == files.get(p)]
        mask = _umask()
        for path in unknown:
            found[path] = (0o700 if made[path] == "100755" else 0o600) & ~mask
        return found

    def give_bits(self, tree: safefs.Tree, outcome: Outcome) -> None:
        """The folders this restore made again (mkdir: the umask's bits, 0755) given the bits
        the target's capture saw, opened as well as closed (a team's 2775 folder, a 1777 drop
        box): made by us, they hold no bit of anyone else's to keep. One found there is only
        ever closed (restore.closed_again)."""
        for folder in tree.made:
            bits = self.modes.get(folder + b"/")
            fd = None if bits is None else tree.folder(folder)
            if fd is None or bits is None:
                continue
            try:
                os.fchmod(fd, bits)
            except OSError as exc:
                outcome.cannot(folder + b"/", _why(exc))

    def make_way(self, tree: safefs.Tree, path: bytes, outcome: Outcome) -> bool:
        """Take away what the start saw at `path` or on its way, if still of that kind. True
        where the start saw one there (what is at `path` may be another now)."""
        if not self.seen:
            return False
        met = False
        for where in [*folders_on_the_way(path), path]:
            if where in self.seen:
                met = True
                mode = self.seen[where]
                found = unchanged.remove_special(tree, where, mode)
                # A FIFO holds no data, and `undo` makes it again; a socket or a device
                # cannot be made again.
                if found is unchanged.Found.SAME and not stat.S_ISFIFO(mode):
                    outcome.problems.append(
                        f"{_show(where)} was a {_special_kind(mode)} where a file or folder "
                        "comes back; removed (it held no data; `undo` cannot make it again)"
                    )
        return met

    def remake(self, tree: safefs.Tree, outcome: Outcome) -> None:
        """The target's FIFOs made again where nothing is, with their bits."""
        for path, mode in sorted(self.fifos.items()):
            try:
                if tree.kind(path) is not None or not _make_parents(tree, path, outcome):
                    continue
                tree.mkfifo(path, mode)
                outcome.fifos_made[path] = mode
            except FileExistsError:
                outcome.left.append(path)
            except OSError as exc:
                outcome.cannot(path, _why(exc))

    def name_missing(self, repo: Repo, outcome: Outcome) -> None:
        """Once the files are written: each of the target's FIFOs that something else stands
        in place of, and each of its sockets and devices not there as it was, named (a socket
        or a device cannot be made again). A restore never passes over one it did not bring
        back. Those it named already (could not make, left to another writer) aside."""
        if not (self.fifos or self.others):
            return
        told = {*outcome.left, *outcome.failed}
        with safefs.Tree(os.fsencode(repo.root)) as tree:
            for path, mode in sorted({**self.fifos, **self.others}.items()):
                if path in told:
                    continue
                there = tree.kind(path)
                if there == stat.S_IFMT(mode):
                    continue
                outcome.problems.append(special_not_back(path, mode, there))


def special_not_back(path: bytes, mode: int, there: int | None) -> str:
    """The line naming the FIFO, socket or device (`mode`) at `path` that is not back: nothing
    is there now, or something of the kind `there` (stat.S_IFMT)."""
    now = "is gone" if there is None else f"is {_kind_words(there)} now"
    if stat.S_ISFIFO(mode):
        return f"{_show(path)} was a FIFO and {now} (left as it is): the FIFO is not made again"
    kind = _special_kind(mode)
    return (
        f"{_show(path)} was a {kind} and {now}: a {kind} cannot be made again (it held no "
        "data; what made it must make it anew)"
    )


def _wanted(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> dict[bytes, int]:
    """The target's FIFOs, sockets and devices (a selective restore's under `paths`)."""
    found = checkpoint.load_specials(repo, target)
    if paths:
        found = {
            p: m
            for p, m in found.items()
            if any(p == q or p.startswith(q.rstrip(b"/") + b"/") for q in paths)
        }
    return found


def _kind_words(kind: int) -> str:
    """What a `stat.S_IFMT` kind is, in a few words."""
    words = {
        stat.S_IFREG: "a file",
        stat.S_IFDIR: "a folder",
        stat.S_IFLNK: "a symbolic link",
        stat.S_IFIFO: "a FIFO",
        stat.S_IFSOCK: "a socket",
    }
    return words.get(kind, "a device")


def _special_kind(mode: int) -> str:
    return "socket" if stat.S_ISSOCK(mode) else "device"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
