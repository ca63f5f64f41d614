"""Git's objects for one worktree: blobs written (loose without a process for a few, else one
`fast-import`) and read (loose ones without a process), a small tree, a commit, trees listed,
and how two trees differ (remembered: trees never change). `git.Repo` is built on it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from git_atomic.core.errors import GitError
from git_atomic.engine import objectformat, safefs
from git_atomic.engine.gitoutput import RawChange, TreeEntry, parse_raw_diff, tree_entries
from git_atomic.engine.gitrunner import RepoRunner

if TYPE_CHECKING:
    import threading

_BATCH: Final = 1000  # paths per command line (argument lists have a limit)


# Up to these, blobs are written loose by us (no process); past them, one fast-import packs them.
LOOSE_AT_MOST: Final = 64
_LOOSE_BYTES: Final = 8 << 20
# A loose object's kind is read here (the whole object, checked against its id) up to this many
# bytes on disk; a larger one is asked of git.
_KIND_READ_AT_MOST: Final = 1 << 20
# The loose trees read by one Repo, kept by id (a tree never changes): a capture looks up the
# paths a watcher reported, then edits the folders on the way to them (the same trees). At most
# this many; past it the memo starts again.
_TREES_KEPT: Final = 4096


def as_utf8(message: str) -> tuple[str, ...]:
    """git's options for `commit-tree -m message`: a message that is UTF-8 text (ours, and a
    name you gave in UTF-8) labelled UTF-8 whatever `i18n.commitEncoding` says, which would
    name its encoding in the header over these bytes (a log in it shows them garbled); one
    holding bytes that are not UTF-8 (a name typed in a Latin-1 terminal) is left to the
    setting, which then names them."""
    try:
        message.encode("utf-8")
    except UnicodeEncodeError:
        return ()
    return ("-c", "i18n.commitEncoding=UTF-8")


class RepoObjects(RepoRunner):
    """The objects side of `git.Repo`: blobs, trees and commits, read and written."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        super().__init__(root, git_dir, common_dir)
        self._diffs: dict[tuple[str, str, tuple[bytes, ...]], list[RawChange]] = {}
        self._diffing: dict[tuple[str, str], threading.Thread] = {}  # `diff_trees_beside`
        self._trees: dict[str, Sequence[tuple[str, str, str, bytes]]] = {}  # `_loose_tree`

    def hash_worktree_files(self, rels: Sequence[bytes]) -> dict[bytes, str]:
        """Store the raw bytes of worktree files (paths from the top) as blobs, each read
        without following a link (safefs.py): git never reads them by name, where a folder
        swapped for a link would send it elsewhere. The ids of those that are regular files."""
        found: list[tuple[bytes, bytes]] = []
        with safefs.Tree(os.fsencode(self.root)) as tree:
            for rel in rels:
                data = tree.read(rel)
                if data is not None:
                    found.append((rel, data))
        oids = self.write_blobs([data for _, data in found])
        return {rel: oid for (rel, _), oid in zip(found, oids, strict=True)}

    def write_blob(self, data: bytes) -> str:
        """Store `data` as a blob and return its id (`write_blobs` of one: loose, without a
        process, where that is allowed)."""
        return self.write_blobs([data])[0]

    def write_blobs(self, contents: Sequence[bytes]) -> list[str]:
        """Store each of `contents` as a blob, as it is, and return their ids: one
        `fast-import` for them all, fed what we read ourselves (`hash-object --stdin-paths`
        would read files by name; one `hash-object --stdin` per file costs a process each);
        a few are written loose without any process (`_write_loose`)."""
        if not contents:
            return []
        if len(contents) <= LOOSE_AT_MOST and sum(map(len, contents)) <= _LOOSE_BYTES:
            if self.writes_loose():
                return [self._write_loose(data) for data in contents]
            return [self.line("hash-object", "-w", "--stdin", input=data) for data in contents]
        # fast-import leaves out only what a pack holds: a blob stored loose (the scan's
        # `update-index` writes the bytes it reads so) would be written again, in the pack.
        objects, sha256 = self.objects_out, self.sha256
        oids: list[str | None] = [
            objectformat.freshen_loose(objects, b"blob", data, sha256=sha256) for data in contents
        ]
        missing = [i for i, oid in enumerate(oids) if oid is None]
        if not missing:
            return [oid for oid in oids if oid is not None]
        marks = self.scratch_path("marks")
        stream = bytearray()
        for i in missing:
            data = contents[i]
            stream += b"blob\nmark :%d\ndata %d\n" % (i + 1, len(data))
            stream += data
            stream += b"\n"
        try:
            self.run("fast-import", "--quiet", f"--export-marks={marks}", input=bytes(stream))
            by_mark = dict(line.split(" ", 1) for line in marks.read_text().splitlines())
        finally:
            marks.unlink(missing_ok=True)
        return [oid if oid is not None else by_mark[f":{i + 1}"] for i, oid in enumerate(oids)]

    def _write_loose(self, data: bytes) -> str:
        return objectformat.write_loose_blob(self.objects_out, data, sha256=self.sha256)

    def mktree(self, entries: Iterable[TreeEntry]) -> str:
        """A small tree of one level (a checkpoint's own), written loose as `git mktree` would
        write it, without a process; the objects it names were just written by the caller."""
        named = {e.path: f"{e.mode} {e.kind} {e.oid}".encode() for e in entries}
        if self.writes_loose():
            return objectformat.write_loose_tree(self.objects_out, named)
        data = b"".join(head + b"\t" + path + b"\0" for path, head in named.items())
        return self.line("mktree", "-z", input=data)

    def commit_tree(
        self, tree: str, parents: Sequence[str], message: str, *, identity: Mapping[str, str]
    ) -> str:
        """A commit of `tree`, as `git commit-tree -m` writes it with `identity` (the four
        GIT_AUTHOR/COMMITTER_NAME/EMAIL variables): written loose without a process where
        nothing in it is git's to work out (`_commit_body`), else by git itself."""
        from git_atomic.engine import commitbody  # a checkpoint's, not every command's

        body = (
            commitbody.body(self.config, tree, parents, message, identity)
            if self.writes_loose()
            else None
        )
        if body is None:
            args = [a for p in parents for a in ("-p", p)]
            return self.line(
                *as_utf8(message), "commit-tree", tree, *args, "-m", message, env=dict(identity)
            )
        return objectformat.write_loose(self.objects_out, b"commit", body, sha256=self.sha256)

    def _loose_tree(self, treeish: str) -> Sequence[tuple[str, str, str, bytes]] | None:
        """The entries of a tree (or of a commit's tree) stored loose; None: ask git."""
        kept = self._trees.get(treeish)
        if kept is not None:
            return kept
        read = self._read_loose(treeish)
        if read is not None and read[0] == b"commit":
            first = read[1].split(b"\n", 1)[0]
            if not first.startswith(b"tree "):
                return None
            read = self._read_loose(first[5:].decode())
        if read is None or read[0] != b"tree":
            return None
        try:
            entries = tuple(objectformat.parse_tree(read[1], sha256=len(treeish) == 64))
        except ValueError:
            return None
        if len(self._trees) >= _TREES_KEPT:
            self._trees.clear()
        self._trees[treeish] = entries
        return entries

    def kinds_at(self, tree: str, paths: Sequence[bytes]) -> dict[bytes, bytes]:
        """The kind of the entry at each of `paths` in `tree`, by its mode (b"blob", b"tree",
        b"commit" for a submodule; b"missing" where there is none, a file or a submodule on
        the way too): from the loose trees on the way where they are (`loose_kinds_at`), else
        git's `ls-tree` (`told_kinds_at`)."""
        kinds = self.loose_kinds_at(tree, paths)
        return kinds if kinds is not None else self.told_kinds_at(tree, paths)

    def told_kinds_at(self, tree: str, paths: Sequence[bytes]) -> dict[bytes, bytes]:
        """`kinds_at` as git lists them: `ls-tree -t` of the paths (literal), trees on the way
        shown, each path's own entry taken (every folder on the way to one is among them)."""
        env = {"GIT_LITERAL_PATHSPECS": "1", "GIT_INDEX_FILE": str(self.state_dir / "no-index")}
        found: dict[bytes, bytes] = {}
        for i in range(0, len(paths), _BATCH):
            batch = [os.fsdecode(p) for p in paths[i : i + _BATCH]]
            listing = self.out(
                "ls-tree",
                "-z",
                "-t",
                "--full-tree",
                "--format=%(objecttype)%x09%(path)",
                tree,
                "--",
                *batch,
                env=env,
            )
            for item in listing.split(b"\0"):
                kind, _, path = item.partition(b"\t")
                found[path] = kind
        return {p: found.get(p, b"missing") for p in paths}

    def loose_kinds_at(self, tree: str, paths: Iterable[bytes]) -> dict[bytes, bytes] | None:
        """`kinds_at` read from the loose trees on the way without a process (each checked
        against its id: objectformat.read_loose). None where one of them is not stored loose:
        ask git."""
        listed: dict[bytes, dict[bytes, tuple[str, str]] | None] = {}  # None: not a folder

        def listing(folder: bytes) -> dict[bytes, tuple[str, str]] | None:
            if folder in listed:
                return listed[folder]
            oid: str | None = tree
            if folder:
                parent, _, name = folder.rpartition(b"/")
                above = listing(parent)
                entry = above.get(name) if above is not None else None
                oid = entry[1] if entry is not None and entry[0] == "tree" else None
            entries = self._loose_tree(oid) if oid is not None else ()
            if entries is None:
                raise LookupError(oid)  # not loose
            found = listed[folder] = (
                {name: (kind, eoid) for _, kind, eoid, name in entries} if oid else None
            )
            return found

        kinds = {}
        try:
            for path in paths:
                parent, _, name = path.rpartition(b"/")
                entries = listing(parent)
                entry = entries.get(name) if entries is not None else None
                kinds[path] = entry[0].encode() if entry is not None else b"missing"
        except LookupError:
            return None
        return kinds

    def ls_tree(self, treeish: str, *, recursive: bool = False) -> list[TreeEntry]:
        if not recursive:
            entries = self._loose_tree(treeish)
            if entries is not None:
                return [TreeEntry(*entry) for entry in entries]
        args = ["ls-tree", "-z", "--full-tree"]
        if recursive:
            args.append("-r")
        return tree_entries(self.out(*args, treeish))

    def ls_tree_at(self, tree: str, paths: Sequence[bytes]) -> list[TreeEntry]:
        """The entries of `tree` at `paths` (literal, from its top; one ending in `/` lists that
        folder's entries), however many paths there are."""
        return tree_entries(self._ls_tree_at(tree, paths))

    def _ls_tree_at(self, tree: str, paths: Sequence[bytes]) -> bytes:
        env = {"GIT_LITERAL_PATHSPECS": "1", "GIT_INDEX_FILE": str(self.state_dir / "no-index")}
        listing = b""
        for i in range(0, len(paths), _BATCH):
            batch = [os.fsdecode(p) for p in paths[i : i + _BATCH]]
            listing += self.out("ls-tree", "-z", "--full-tree", tree, "--", *batch, env=env)
        return listing

    def diff_trees(self, a: str, b: str, paths: Sequence[bytes] = ()) -> list[RawChange]:
        """How tree `a` becomes tree `b` (trees are immutable, so the answer is kept)."""
        key = (a, b, tuple(paths))
        running = None if paths else self._diffing.pop((a, b), None)
        if running is not None:
            running.join()  # what it found is kept; where git failed, asked again here
        if key not in self._diffs:
            self._diffs[key] = self.diff_trees_told(a, b, paths)
        return list(self._diffs[key])

    def diff_trees_told(self, a: str, b: str, paths: Sequence[bytes] = ()) -> list[RawChange]:
        """`diff_trees` as git tells it now, whatever is remembered (checks use it)."""
        args = ["diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index", a, b]
        if paths:
            args += ["--", *[os.fsdecode(p) for p in paths]]
        # diff-tree reads the index although two trees are all it compares: 7 ms at 100,000
        # files, and a failure where git cannot read yours. Pointing it at no index at all gives
        # the same answer. `paths` are names (a file called `c.*` or `:x`), never patterns.
        env = {"GIT_INDEX_FILE": str(self.state_dir / "no-index"), "GIT_LITERAL_PATHSPECS": "1"}
        return parse_raw_diff(self.out(*args, env=env))

    def diff_trees_beside(self, a: str, b: str) -> None:
        """Start `diff_trees(a, b)` in a thread of its own, for a caller that asks for it after
        other work (git's diff of two other trees, say: two cores)."""
        if (a, b, ()) in self._diffs or (a, b) in self._diffing:
            return
        import threading  # only then: not on a hook call's way

        def diff() -> None:
            with contextlib.suppress(GitError, OSError):
                self._diffs[a, b, ()] = self.diff_trees_told(a, b, ())

        self._diffing[a, b] = threading.Thread(target=diff, daemon=True)
        self._diffing[a, b].start()

    def remember_diff(self, a: str, b: str, changes: Sequence[RawChange]) -> None:
        """What `diff_trees(a, b)` answers, known from elsewhere (scan.py keeps it on disk)."""
        self._diffs[a, b, ()] = list(changes)

    def known_diff(self, a: str, b: str) -> list[RawChange] | None:
        """What `diff_trees(a, b)` answers where it is known without a process; else None."""
        known = self._diffs.get((a, b, ()))
        return None if known is None else list(known)

    def cat_blobs(self, oids: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Contents of many blobs: those stored loose read here, the rest through one
        `cat-file --batch`."""
        wanted = []
        for oid in dict.fromkeys(oids):
            read = self._loose_blob(oid)
            if read is not None:
                yield oid, read
            else:
                wanted.append(oid)
        if not wanted:
            return
        raw = self.out("cat-file", "--batch", input="".join(o + "\n" for o in wanted).encode())
        pos = 0
        for oid in wanted:
            nl = raw.index(b"\n", pos)
            header = raw[pos:nl].decode().split()
            if len(header) < 3:
                raise GitError(["git", "cat-file", oid], 1, b"", b"missing object " + oid.encode())
            size = int(header[2])
            yield oid, raw[nl + 1 : nl + 1 + size]
            pos = nl + 1 + size + 1

    def is_loose(self, oid: str) -> bool:
        """Whether the object is stored loose (so it exists): one `stat`, where `cat-file -e`
        is a process. False says nothing: the object may be packed, or gone."""
        if len(oid) not in (40, 64):
            return False
        if (self.common_dir / "objects" / oid[:2] / oid[2:]).is_file():
            return True
        dry = self.quarantine  # a dry run's own store (quarantine.py)
        return dry is not None and (dry.objects / oid[:2] / oid[2:]).is_file()

    def loose_kinds(self, oids: Sequence[str]) -> dict[str, str]:
        """The kind (`commit`, `tree`, `blob`, `tag`) of each of `oids` stored loose and not
        large, read without a process and checked against its id, as `cat-file --batch-check`
        says it (our git reads no replacement: GIT_NO_REPLACE_OBJECTS). Those left out: ask
        git (packed, in another store, large, missing, or not what their name says)."""
        kinds = {}
        for oid in oids:
            if len(oid) not in (40, 64) or oid.strip("0123456789abcdef"):
                continue
            try:
                size = os.lstat(f"{self.common_dir}/objects/{oid[:2]}/{oid[2:]}").st_size
            except OSError:
                size = 0  # not in our store: a dry run's own, or none (_read_loose says)
            read = self._read_loose(oid) if size <= _KIND_READ_AT_MOST else None
            if read is not None:
                kinds[oid] = read[0].decode("ascii", "replace")
        return kinds

    def cat_blob(self, oid: str) -> bytes:
        read = self._loose_blob(oid)
        return read if read is not None else self.out("cat-file", "blob", oid)

    def _read_loose(self, oid: str) -> tuple[bytes, bytes] | None:
        """(kind, content) of an object stored loose: in the repository's store, or in a dry
        run's own (quarantine.py)."""
        read = objectformat.read_loose(self.common_dir / "objects", oid)
        if read is None and self.quarantine is not None:
            read = objectformat.read_loose(self.quarantine.objects, oid)
        return read

    def _loose_blob(self, oid: str) -> bytes | None:
        read = self._read_loose(oid)
        return read[1] if read is not None and read[0] == b"blob" else None
