"""Trees written for one worktree: a new tree from its entries, and a tree edited (files set or
left out) by reading and writing only the folders on the way to them, loose without a process
for a few, else by one `mktree --batch`. `git.Repo` is built on it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set

from git_atomic.engine import objectformat, treediff
from git_atomic.engine.gitobjects import LOOSE_AT_MOST, RepoObjects


class RepoTrees(RepoObjects):
    """The tree-writing side of `git.Repo`."""

    def tree_of(self, entries: Mapping[bytes, tuple[str, str]]) -> str:
        """A new tree of `entries` (path -> (mode, object), at any depth), with the folders on
        the way; the objects they name must exist. Written loose without a process where
        `writes_loose`, else by one `mktree --batch`. ValueError: a path both a file and a
        folder, or a name git cannot hold in a tree."""
        if not entries:  # the empty tree, of this repository's format, written: a commit names it
            if not self.writes_loose():
                return self.line("mktree", "-z", input=b"")
            return objectformat.write_loose(self.objects_out, b"tree", b"", sha256=self.sha256)
        dirs = _folders_on_the_way(entries)
        children: dict[bytes, dict[bytes, bytes]] = {d: {} for d in dirs}
        for path, (mode, oid) in entries.items():
            parent, _, name = path.rpartition(b"/")
            if name in (b"", b".", b"..") or b"\0" in name or path in dirs:
                raise ValueError(f"tree_of: {path!r} cannot be a tree entry")
            kind = {"040000": "tree", "160000": "commit"}.get(mode, "blob")
            children[parent][name] = f"{mode} {kind} {oid}".encode()
        return self._write_trees(dirs, children, loose=self.writes_loose())

    def _write_trees(
        self, dirs: set[bytes], children: dict[bytes, dict[bytes, bytes]], *, loose: bool
    ) -> str:
        """The folders `dirs` written (their entries in `children`), and the root's tree: loose
        by Python where `loose`, else by one `mktree --batch`, checked (write_trees)."""
        if not loose:
            return objectformat.write_trees(
                lambda batch: self.out("mktree", "-z", "--missing", "--batch", input=batch),
                dirs,
                children,
            )
        root, _, _ = objectformat.planned_trees(dirs, children)
        for folder in dirs:
            if children[folder]:
                objectformat.write_loose_tree(self.objects_out, children[folder])
        return root

    def tree_without(self, tree: str, paths: Iterable[bytes]) -> str:
        """`tree` with the given files left out (a folder left empty goes too, as in any tree)."""
        return self.tree_edit(tree, dict.fromkeys(paths))

    def tree_edit(
        self,
        tree: str,
        changes: Mapping[bytes, tuple[str, str] | None],
        *,
        remember: bool = False,
    ) -> str:
        """`tree` with files set to (mode, object) or left out (None). A folder left empty goes,
        as in any tree; a file where a folder was (or the other way round) takes its place.

        Only the folders on the way to those files are read (`ls-tree`) and written again
        (`mktree --batch`, or loose by Python for a few): no index, however big the tree.
        `remember`: how the two trees differ, either way, is known from the entries replaced
        (`diff_trees` then runs no `diff-tree` for them), where no change puts a file where a
        folder was or the other way round; and where every entry is already what it is set to,
        the tree is `tree` itself, no tree written again (the scan's tree, the caller with
        `remember`, is git's `write-tree` or such an edit: canonical, so the same entries are
        the same tree).
        """
        if not changes:
            return tree
        dirs = _folders_on_the_way(changes)
        listed = self._listing(tree, dirs)
        replaced = treediff.entries_at(listed, changes, dirs) if remember else None
        if replaced is not None and all(replaced[p] == new for p, new in changes.items()):
            return tree  # (files written again with the same bytes: nothing written, see above)
        # A file on the way of paths only left out stays (nothing is below it to leave out).
        written = _folders_on_the_way(p for p, new in changes.items() if new is not None)
        children = _children(listed, dirs, files_kept=dirs - written)
        _set_entries(children, changes)
        # A few trees (a checkpoint's edit of the scan's tree) cost no process.
        loose = len(dirs) <= LOOSE_AT_MOST and self.writes_loose() and _nameable(children)
        edited = self._write_trees(dirs, children, loose=loose)
        if replaced is not None and edited != tree:
            forward = treediff.raw_changes(replaced, changes, self.zero_oid)
            self.remember_diff(tree, edited, forward)
            self.remember_diff(edited, tree, [treediff.inverse(c) for c in forward])
        return edited

    def tree_edits(
        self, tree: str, edits: Sequence[Mapping[bytes, tuple[str, str] | None]]
    ) -> list[str]:
        """`tree_edit(tree, edit)` for each of `edits` (each made on `tree` itself): the folders
        on the way to all of them read once, and every tree they need written loose by Python
        where they are few (`LOOSE_AT_MOST`, as `tree_edit` writes them: a turn's pending
        steps settled at its end), else by one `mktree --batch` whose answer is checked against
        the ids computed here. Should one differ, each edit is made on its own."""
        if len(edits) < 2:
            return [self.tree_edit(tree, edit) for edit in edits]
        every = _folders_on_the_way(p for e in edits for p in e)
        # A folder some edits go into and others do not: git lists its entries, not its own
        # entry in its parent, so it is written again as listed (its id, and the tree itself,
        # are then known whatever git's own tree looked like).
        listed = _children(self._listing(tree, every), every, trees_only=True)
        roots: list[str] = []
        planned = [listed]
        try:
            _, batch, known = objectformat.planned_trees(every, listed)
            for edit in edits:
                dirs = _folders_on_the_way(edit)
                written = _folders_on_the_way(p for p, new in edit.items() if new is not None)
                children = _children(listed, dirs, files_kept=dirs - written)
                _set_entries(children, edit)
                root, more, ids = objectformat.planned_trees(dirs, children)
                roots.append(root)
                planned.append(children)
                batch, known = batch + more, known + ids
        except ValueError:
            return [self.tree_edit(tree, edit) for edit in edits]
        if len(known) <= LOOSE_AT_MOST and self.writes_loose() and all(map(_nameable, planned)):
            for children in planned:  # (each folder's entries complete: planned_trees)
                for entries in children.values():
                    if entries:
                        objectformat.write_loose_tree(self.objects_out, entries)
            return roots
        if known and self.out("mktree", "-z", "--missing", "--batch", input=batch).split() != [
            k.encode() for k in known
        ]:
            return [self.tree_edit(tree, edit) for edit in edits]
        return roots

    def _listing(self, tree: str, dirs: set[bytes]) -> dict[bytes, dict[bytes, bytes]]:
        """Every entry of each of the folders `dirs` in `tree` (name -> b"mode kind oid"), but
        a folder itself among `dirs`, which is looked into, not named in its parent (the top's
        too): its callers write those again."""
        loose = self._loose_listing(tree, dirs)
        if loose is not None:
            return loose
        # One process: `./` lists the top, each `d/` a folder's entries (whose own entry in
        # its parent git then leaves out).
        below = [d + b"/" for d in sorted(dirs) if d]
        if below:
            listing = self._ls_tree_at(tree, [b"./", *below])
        else:
            listing = self.out("ls-tree", "-z", "--full-tree", tree)
        listed: dict[bytes, dict[bytes, bytes]] = {d: {} for d in dirs}
        for item in listing.split(b"\0"):
            head, _, path = item.partition(b"\t")
            parent, _, name = path.rpartition(b"/")
            if item and parent in listed:
                listed[parent][name] = head
        if len(dirs) <= LOOSE_AT_MOST and self.writes_loose() and not self._borrows():
            self._keep_loose(tree, dirs, listed)
        return listed

    def _borrows(self) -> bool:
        """Whether this repository reads objects from another store (a `clone --shared`'s
        `objects/info/alternates`, GIT_ALTERNATE_OBJECT_DIRECTORIES): the trees git listed may
        be that store's, and copies of them here would let a checkpoint be taken where the
        store was removed and HEAD's objects are gone with it (a turn then kept the repository
        broken instead of writing the store back: turnbeside.stores_back)."""
        import os

        return bool(os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES")) or os.path.lexists(
            self.common_dir / "objects" / "info" / "alternates"
        )

    def _keep_loose(
        self, tree: str, dirs: set[bytes], listed: Mapping[bytes, Mapping[bytes, bytes]]
    ) -> None:
        """The trees git just listed (packed: `_loose_listing` could not read them) written
        loose as they are, so that the next edit on the same way (the next capture after the
        same change, a rollback's rescue in the next round) reads them without a process. Each
        folder's entries are those git listed, its folders among `dirs` named by the ids
        worked out from theirs; nothing is written unless the top's id so worked out is `tree`
        itself: a tree's id names its entries, and each of theirs below, so only git's own
        trees are ever written (a listing this read otherwise, a mode git would not write,
        leaves them packed, as before)."""
        ids: dict[bytes, str] = {}
        written: list[dict[bytes, bytes]] = []
        for folder in sorted(dirs, key=lambda d: d.count(b"/") if d else -1, reverse=True):
            entries = dict(listed.get(folder, {}))
            prefix = folder + b"/" if folder else b""
            for path, oid in ids.items():  # (git named none of them: it looked into them)
                if path.startswith(prefix) and b"/" not in path[len(prefix) :]:
                    entries[path[len(prefix) :]] = b"040000 tree " + oid.encode()
            if folder and not entries:
                continue  # no folder of `tree` there (a tree is never empty but the top)
            if not _nameable({folder: entries}):
                return
            ids[folder] = objectformat.tree_id(entries)
            written.append(entries)
        if ids.get(b"") != tree:
            return
        try:
            for entries in written:
                objectformat.write_loose_tree(self.objects_out, entries)
        except OSError:
            return  # (a cache: the next edit asks git again)

    def _loose_listing(self, tree: str, dirs: set[bytes]) -> dict[bytes, dict[bytes, bytes]] | None:
        """`_listing` read from loose objects, when every tree on the way is one; else None."""
        every: dict[bytes, dict[bytes, bytes]] = {}  # each folder's entries
        for folder in sorted(dirs):  # parents first
            if not folder:
                entries = self._loose_tree(tree)
            else:
                parent, _, name = folder.rpartition(b"/")
                head = every[parent].get(name) if parent in every else None
                if head is None and parent not in every:
                    head = self._loose_entry(tree, folder)
                if head is None or not head.startswith(b"040000 tree "):
                    every[folder] = {}  # not a folder of `tree`: git lists nothing there
                    continue
                entries = self._loose_tree(head.rsplit(b" ", 1)[1].decode())
            if entries is None:
                return None
            every[folder] = {
                name: f"{mode} {kind} {oid}".encode() for mode, kind, oid, name in entries
            }
        # As git lists them: a folder itself among `dirs` is looked into, not named in its
        # parent.
        return {
            folder: {
                name: head
                for name, head in entries.items()
                if not head.startswith(b"040000 tree ")
                or (folder + b"/" + name if folder else name) not in dirs
            }
            for folder, entries in every.items()
        }

    def _loose_entry(self, tree: str, path: bytes) -> bytes | None:
        """The entry of `path` in `tree` (b"mode kind oid"), from loose trees; None when not
        there."""
        *folders, name = path.split(b"/")
        oid = tree
        for folder in folders:
            entries = self._loose_tree(oid) or []
            found = [e for e in entries if e[3] == folder and e[1] == "tree"]
            if not found:
                return None
            oid = found[0][2]
        for mode, kind, entry_oid, entry_name in self._loose_tree(oid) or []:
            if entry_name == name:
                return f"{mode} {kind} {entry_oid}".encode()
        return None


def _nameable(children: Mapping[bytes, Mapping[bytes, bytes]]) -> bool:
    """Whether every entry's name is one git holds in a tree (else git's `mktree` is asked,
    and says what it says)."""
    return not any(
        name in (b"", b".", b"..") or b"\0" in name or b"/" in name
        for entries in children.values()
        for name in entries
    )


def folders_on_the_way(path: bytes) -> list[bytes]:
    """a, a/b for a/b/c: the folders on the way to one path, in order, the top ("") not among
    them. The one helper for it (restoreplan.py, the restore's, and turnfiles.py, a hook
    call's, import it from here: this module is on every command's path)."""
    parts = path.split(b"/")[:-1]
    return [b"/".join(parts[: i + 1]) for i in range(len(parts))]


def _folders_on_the_way(paths: Iterable[bytes]) -> set[bytes]:
    """The folders on the way to `paths`, the top ("") included: a set for many paths at once,
    as a tree is written (not `folders_on_the_way`'s list for one path, without the top)."""
    dirs: set[bytes] = {b""}
    for path in paths:
        while b"/" in path:
            path = path.rsplit(b"/", 1)[0]
            dirs.add(path)
    return dirs


def _children(
    listed: Mapping[bytes, Mapping[bytes, bytes]],
    dirs: set[bytes],
    *,
    trees_only: bool = False,
    files_kept: Set[bytes] = frozenset(),
) -> dict[bytes, dict[bytes, bytes]]:
    """The entries of the folders `dirs` as listed, less those folders themselves: they are
    written again (a file where one of them must be goes, unless `trees_only`, or it is at
    one of `files_kept`)."""
    return {
        d: {
            n: h
            for n, h in listed[d].items()
            if (p := d + b"/" + n if d else n) not in dirs
            or ((trees_only or p in files_kept) and b" tree " not in h)
        }
        for d in dirs
    }


def _set_entries(
    children: dict[bytes, dict[bytes, bytes]], changes: Mapping[bytes, tuple[str, str] | None]
) -> None:
    """Each changed path's entry in its folder's `children`: set to (mode, object), or gone."""
    for path, new in changes.items():
        parent, _, name = path.rpartition(b"/")
        if new is None:
            children[parent].pop(name, None)
            continue
        mode, oid = new
        kind = "commit" if mode == "160000" else "blob"
        children[parent][name] = f"{mode} {kind} {oid}".encode()
