"""The entries of a tree at a few paths, read from loose objects without a process.

A checkpoint's trees and commit are written loose (by Python or by git's plumbing) and stay so
until a `git gc` packs them; an agent's file-tool call asks what its last checkpoint holds at
the files the tool named (agents/turnsteps.py), on every call. Each object read here is checked
against its id (objectformat.read_loose), so an answer is git's own; where a tree on the way is
not stored loose (packed, in an alternate store) the answer is None and git is asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.engine import git, objectformat

# (mode, kind, id, name) of a tree's entries, as objectformat.parse_tree gives them.
_Entries = list[tuple[str, str, str, bytes]]


def modes_at(repo: git.Repo, treeish: str, paths: Sequence[bytes]) -> dict[bytes, str] | None:
    """{path: mode} for each of `paths` (from the top of `treeish`: a tree, a commit, or
    `commit:folder`) that the tree holds, its mode as `ls-tree` prints it; a path through a
    file or a submodule is not held. None when an object on the way is not stored loose."""
    reader = _Reader(repo)
    top = reader.top(treeish)
    if top is None:
        return None
    found: dict[bytes, str] = {}
    for path in paths:
        entry = reader.lookup(top, path)
        if entry is None:
            return None
        if entry:
            found[path] = entry[0]
    return found


class _Reader:
    def __init__(self, repo: git.Repo) -> None:
        self.stores = [repo.common_dir / "objects"]
        if repo.quarantine is not None:  # a dry run's own store (quarantine.py)
            self.stores.append(repo.quarantine.objects)
        self.trees: dict[str, _Entries | None] = {}

    def read(self, oid: str) -> tuple[bytes, bytes] | None:
        for store in self.stores:
            read = objectformat.read_loose(store, oid)
            if read is not None:
                return read
        return None

    def tree(self, oid: str) -> _Entries | None:
        if oid not in self.trees:
            read = self.read(oid)
            entries = None
            if read is not None and read[0] == b"tree":
                try:
                    entries = objectformat.parse_tree(read[1], sha256=len(oid) == 64)
                except ValueError:
                    entries = None
            self.trees[oid] = entries
        return self.trees[oid]

    def top(self, treeish: str) -> str | None:
        """The tree `treeish` names (its commit's, and the folder after `:`), when loose."""
        rev, colon, folder = treeish.partition(":")
        read = self.read(rev)
        if read is None:
            return None
        tree = rev
        if read[0] == b"commit":
            first = read[1].split(b"\n", 1)[0]
            if not first.startswith(b"tree "):
                return None
            tree = first[5:].decode("ascii", "replace")
        elif read[0] != b"tree":
            return None
        if colon and folder:
            entry = self.lookup(tree, folder.encode("utf-8", "surrogateescape"))
            if not entry or entry[1] != "tree":
                return None  # (a missing folder: git says so, not here)
            return entry[2]
        return tree

    def lookup(self, top: str, path: bytes) -> tuple[str, str, str, bytes] | tuple[()] | None:
        """The entry (mode, kind, id, name) at `path` below the tree `top`; () where the tree
        holds nothing there (a name on the way missing, or a file or a submodule where a
        folder would be); None when a tree on the way is not stored loose."""
        oid = top
        *folders, name = path.split(b"/")
        for folder in folders:
            entries = self.tree(oid)
            if entries is None:
                return None
            match = next((e for e in entries if e[3] == folder), None)
            if match is None or match[1] != "tree":
                return ()
            oid = match[2]
        entries = self.tree(oid)
        if entries is None:
            return None
        return next((e for e in entries if e[3] == name), ())
