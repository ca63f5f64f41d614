"""Typed git plumbing for one worktree: discovery, config, refs, trees, commits, objects."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core import process
from git_atomic.core.errors import GitError, NotARepository, UsageError
from git_atomic.engine import safefs

ZERO_OID: Final = "0" * 40
EMPTY_TREE: Final = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FALLBACK_IDENTITY: Final = ("git-atomic", "git-atomic@localhost")
_BATCH: Final = 1000  # paths per command line (argument lists have a limit)
_scratch_names = itertools.count()


# Records are named tuples and plain classes, not dataclasses, in every module the scan needs
# (the hot path, tests/test_hot_path.py): the dataclasses module costs 4 ms to import and each
# class a fraction more, all before the scan can start.
class TreeEntry(NamedTuple):
    mode: str
    kind: str  # blob | tree | commit
    oid: str
    path: bytes


class RawChange(NamedTuple):
    """One line of `diff-tree -r --raw`: how `path` differs from side A to side B."""

    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    status: str  # A, D, M, T
    path: bytes


# Up to these, blobs are written loose by us (no process); past them, one fast-import packs them.
_LOOSE_AT_MOST: Final = 64
_LOOSE_BYTES: Final = 8 << 20


class Repo:
    """A worktree and its git dirs; equal when they name the same ones."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root  # the worktree's top folder
        self.git_dir = git_dir  # this worktree's git dir (.git, or .git/worktrees/<id>)
        self.common_dir = common_dir  # the repository's shared git dir
        self._config: dict[str, list[str]] = {}
        self._no_filters: tuple[str, ...] | None = None
        self._text_merges: tuple[str, ...] | None = None
        # Every call names the repository: never the one git would find from a folder (a
        # `.git` file, GIT_DIR from `git --git-dir=... atomic`, a command run from elsewhere).
        self._where = {"GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(root)}
        self._diffs: dict[tuple[str, str, tuple[bytes, ...]], list[RawChange]] = {}

    def _key(self) -> tuple[Path, Path, Path]:
        return self.root, self.git_dir, self.common_dir

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Repo) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Repo(root={self.root!r}, git_dir={self.git_dir!r}, common_dir={self.common_dir!r})"

    @property
    def worktree_id(self) -> str:
        if self.git_dir == self.common_dir:
            return "main"
        return self.git_dir.name

    @property
    def index_path(self) -> Path:
        return self.git_dir / "index"

    @property
    def state_dir(self) -> Path:
        """Our folder inside the common git dir: journal, logs, temporary indexes."""
        return self.common_dir / "atomic"

    def scratch_path(self, stem: str) -> Path:
        """A name for a temporary file of this process in our folder (the caller removes it)."""
        tmp = self.state_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / f"{stem}-{os.getpid()}-{next(_scratch_names)}"

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        low_priority: bool = False,
        filters: bool = False,
    ) -> process.Result:
        """`filters`: your clean/smudge filters run (never required), for commits mode's
        commits only; every other call has none (`no_filters`)."""
        return process.git(
            (*(self.lenient_filters() if filters else self.no_filters()), *args),
            cwd=self.root,
            input=input,
            env={**self._where, **env} if env else self._where,
            check=check,
            low_priority=low_priority,
        )

    def start(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        low_priority: bool = False,
    ) -> process.Background:
        """Start a git command that runs while this process does other work."""
        return process.Background(
            (*self.no_filters(), *args),
            cwd=self.root,
            env={**self._where, **env} if env else self._where,
            input=input,
            low_priority=low_priority,
        )

    def out(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        low_priority: bool = False,
    ) -> bytes:
        return self.run(*args, input=input, env=env, low_priority=low_priority).stdout

    def line(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        return self.out(*args, input=input, env=env).decode().strip()

    # --- configuration -------------------------------------------------------------------
    def read_config(self) -> None:
        """Read the configuration now (one process), not when a first key is looked up."""
        self._all_config()

    def take_config(self, raw: bytes) -> None:
        """The configuration as `config -z --list` printed it (read beside discovery)."""
        parsed: dict[str, list[str]] = {"": []}
        for item in raw.split(b"\0"):
            if not item:
                continue
            key, _, value = item.decode("utf-8", "replace").partition("\n")
            parsed.setdefault(config_key(key), []).append(value)
        self._config.update(parsed)

    def filter_names(self) -> list[str]:
        """The filter drivers configured (`filter.<name>.*`)."""
        names = {
            key[7:].rsplit(".", 1)[0]
            for key in self._all_config()
            if key.startswith("filter.") and key.count(".") >= 2
        }
        return sorted(names)

    def no_filters(self) -> tuple[str, ...]:
        """`-c` options that turn every configured clean/smudge filter into no filter at all.
        Every call of ours has them: a checkpoint holds the bytes on disk, and any index write
        may run a clean filter (git compares a racily clean entry's content), so a filter that
        fails or is missing (git-lfs not installed) would fail a capture or a restore."""
        if self._no_filters is None:
            options: list[str] = []
            for name in self.filter_names():
                for field in ("clean", "smudge", "process"):
                    options += ["-c", f"filter.{name}.{field}="]
                options += ["-c", f"filter.{name}.required=false"]
            self._no_filters = tuple(options)
        return self._no_filters

    def text_merges(self) -> tuple[str, ...]:
        """`-c` options for `merge-tree` that merge every file as text, whatever the attributes
        (`merge=union`, a configured driver, `merge.default`) or the config say: a driver that
        "resolves" an overlap (union, "keep ours") would leave an effect in place while we
        report it taken back, or commit your work in progress. A user-defined driver of a name
        wins over git's built-in one, so `union` is redefined too; directory renames are
        reported as overlaps, never applied to your files."""
        if self._text_merges is not None:
            return self._text_merges
        # Read here, not from _all_config: a driver's name keeps its case (`merge.Keep.driver`).
        found = process.git(
            ["config", "-z", "--name-only", "--get-regexp", r"^merge\..+\.driver$"],
            cwd=self.root,
            env=self._where,
            check=False,
        ).stdout
        names = {k.decode("utf-8", "surrogateescape")[6:-7] for k in found.split(b"\0") if k}
        text = "git merge-file --marker-size=%L %A %O %B"
        options = ["-c", "merge.directoryRenames=conflict", "-c", "merge.renormalize=false"]
        for name in sorted(names | {"union"}):
            options += ["-c", f"merge.{name}.driver={text}"]
        self._text_merges = tuple(options)
        return self._text_merges

    def lenient_filters(self) -> tuple[str, ...]:
        """Your filters as configured, except that none is required (a missing one is no
        error). An empty `process` would turn `clean` off too, so the two cannot be mixed."""
        return tuple(a for n in self.filter_names() for a in ("-c", f"filter.{n}.required=false"))

    def config(self, key: str) -> str | None:
        values = self._all_config().get(config_key(key))
        return values[-1] if values else None

    def config_keys(self, prefix: str) -> list[str]:
        return [k for k in self._all_config() if k.startswith(prefix)]

    def _all_config(self) -> dict[str, list[str]]:
        if not self._config:
            listing = process.git(
                ["config", "-z", "--list"], cwd=self.root, env=self._where, check=False
            )
            self.take_config(listing.stdout)
        return self._config

    def identity_env(self, *, required: bool) -> dict[str, str]:
        """Author/committer for our commits: the user's identity, else a fixed one."""
        env: dict[str, str] = {}
        name = os.environ.get("GIT_AUTHOR_NAME") or self.config("user.name")
        email = os.environ.get("GIT_AUTHOR_EMAIL") or self.config("user.email")
        cname = os.environ.get("GIT_COMMITTER_NAME") or self.config("user.name")
        cemail = os.environ.get("GIT_COMMITTER_EMAIL") or self.config("user.email")
        if not (name and email and cname and cemail):
            if required:
                from git_atomic.core.errors import UsageError

                raise UsageError(
                    "commits mode needs your git identity: set user.name and user.email "
                    "(git config user.email you@example.com), or use --history shadow"
                )
            name, email = name or FALLBACK_IDENTITY[0], email or FALLBACK_IDENTITY[1]
            cname, cemail = cname or FALLBACK_IDENTITY[0], cemail or FALLBACK_IDENTITY[1]
        env.update(
            GIT_AUTHOR_NAME=name,
            GIT_AUTHOR_EMAIL=email,
            GIT_COMMITTER_NAME=cname,
            GIT_COMMITTER_EMAIL=cemail,
        )
        return env

    # --- refs ----------------------------------------------------------------------------
    def read_head(self, branches: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
        """(symbolic ref or None when detached, commit or None when unborn). `branches`: every
        local branch, just read (`refs("refs/heads/")`), which saves a `rev-parse`."""
        text = (self.git_dir / "HEAD").read_text("utf-8").strip()
        if text.startswith("ref: "):
            ref = text[5:]
            if branches is not None and ref.startswith("refs/heads/"):
                return ref, branches.get(ref)
            return ref, self.rev_parse(ref)
        return None, text

    def rev_parse(self, rev: str) -> str | None:
        res = self.run(
            "rev-parse", "-q", "--verify", "--end-of-options", rev + "^{commit}", check=False
        )
        return res.stdout.decode().strip() if res.returncode == 0 else None

    def refs(self, *prefixes: str) -> dict[str, str]:
        return _parse_refs(self.out("for-each-ref", "--format=%(objectname) %(refname)", *prefixes))

    def update_refs(self, commands: Iterable[str], *, message: str) -> None:
        """One transaction of `update-ref --stdin` lines (update/create/delete/verify)."""
        payload = "".join(c + "\n" for c in commands)
        if payload:
            self.run("update-ref", "-m", message, "--stdin", input=payload.encode())

    def set_head(
        self,
        ref: str | None,
        oid: str | None,
        *,
        message: str,
        was: tuple[str | None, str | None] | None = None,
    ) -> bool:
        """Point HEAD at the branch `ref`, or detach it at `oid`. With `was`, what HEAD named
        when the move was planned (a branch: `(ref, None)`; detached: `(None, oid)`), only if
        HEAD still names it: False, and HEAD left alone, when someone moved it since. A
        detached HEAD moves by compare-and-swap (`update-ref --no-deref HEAD new old`); git
        before 2.46 has none for a symbolic one (`symref-verify`), so that is read just before
        it is written."""
        if was is not None and self.head_names() != was:
            return False
        if ref is not None:
            self.run("symbolic-ref", "-m", message, "HEAD", ref)
        elif oid is not None:
            old: list[str] = []
            if was is not None:
                # On a branch, git compares the commit the branch names: read it now.
                old = [(was[1] if was[0] is None else self.rev_parse(was[0])) or ZERO_OID]
            argv = ["update-ref", "--no-deref", "-m", message, "HEAD", oid, *old]
            res = self.run(*argv, check=False)
            if res.returncode != 0:
                if was is not None and self.head_names() != was:
                    return False
                raise GitError(["git", *argv], res.returncode, res.stdout, res.stderr)
        return True

    def head_names(self) -> tuple[str | None, str | None]:
        """What the HEAD file says: `(branch ref, None)`, or `(None, commit)` when detached."""
        text = (self.git_dir / "HEAD").read_text("utf-8").strip()
        return (text[5:], None) if text.startswith("ref: ") else (None, text)

    def other_worktree_heads(self) -> dict[str, Path]:
        """Branches checked out in the other worktrees of this repository, read from their git
        dirs (`git worktree list` names a `--separate-git-dir` repository's worktree by its git
        dir, which would make your own branch look checked out elsewhere)."""
        heads: dict[str, Path] = {}
        dirs: list[tuple[Path, Path]] = []
        bare = (self.config("core.bare") or "false").lower() in ("true", "yes", "on", "1")
        if self.git_dir != self.common_dir and not bare:
            main = self.common_dir.parent if self.common_dir.name == ".git" else self.common_dir
            dirs.append((self.common_dir, main))
        with contextlib.suppress(OSError):
            for entry in sorted(os.listdir(self.common_dir / "worktrees")):
                git_dir = self.common_dir / "worktrees" / entry
                if git_dir == self.git_dir:
                    continue
                try:
                    where = Path((git_dir / "gitdir").read_text("utf-8").strip()).parent
                except OSError:
                    where = git_dir
                dirs.append((git_dir, where))
        for git_dir, where in dirs:
            try:
                text = (git_dir / "HEAD").read_text("utf-8").strip()
            except OSError:
                continue
            if text.startswith("ref: refs/heads/"):
                heads.setdefault(text[5:], where)
        return heads

    # --- objects -------------------------------------------------------------------------
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

    def write_blobs(self, contents: Sequence[bytes]) -> list[str]:
        """Store each of `contents` as a blob, as it is, and return their ids: one
        `fast-import` for them all, fed what we read ourselves (`hash-object --stdin-paths`
        would read files by name; one `hash-object --stdin` per file costs a process each);
        a few are written loose without any process (`_write_loose`)."""
        if not contents:
            return []
        if len(contents) <= _LOOSE_AT_MOST and sum(map(len, contents)) <= _LOOSE_BYTES:
            return [self._write_loose(data) for data in contents]
        marks = self.state_dir / "tmp" / f"marks-{os.getpid()}-{id(contents)}"
        marks.parent.mkdir(parents=True, exist_ok=True)
        stream = bytearray()
        for i, data in enumerate(contents, 1):
            stream += b"blob\nmark :%d\ndata %d\n" % (i, len(data))
            stream += data
            stream += b"\n"
        try:
            self.run("fast-import", "--quiet", f"--export-marks={marks}", input=bytes(stream))
            by_mark = dict(line.split(" ", 1) for line in marks.read_text().splitlines())
        finally:
            marks.unlink(missing_ok=True)
        return [by_mark[f":{i}"] for i in range(1, len(contents) + 1)]

    def _write_loose(self, data: bytes) -> str:
        """One blob written as git writes a loose object (`hash-object -w`): no process for the
        few a capture stores. An object already there is only freshened (its mtime), as git
        does, so that a `gc` running now does not take it for old."""
        import hashlib
        import zlib

        sha256 = (self.config("extensions.objectformat") or "sha1").lower() == "sha256"
        raw = b"blob %d\0" % len(data) + data
        oid = (hashlib.sha256 if sha256 else hashlib.sha1)(raw).hexdigest()
        folder = self.common_dir / "objects" / oid[:2]
        final = folder / oid[2:]
        try:
            os.utime(final)
            return oid
        except FileNotFoundError:
            pass
        folder.mkdir(exist_ok=True)
        tmp = folder / f"tmp_obj_atomic_{os.getpid()}_{oid[:8]}"
        try:
            with open(tmp, "wb") as fh:
                fh.write(zlib.compress(raw, 1))  # core.looseCompression's default
            os.chmod(tmp, 0o444)
            with contextlib.suppress(FileExistsError):  # written meanwhile: the same bytes
                os.link(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return oid

    def mktree(self, entries: Iterable[TreeEntry]) -> str:
        data = b"".join(f"{e.mode} {e.kind} {e.oid}\t".encode() + e.path + b"\0" for e in entries)
        return self.line("mktree", "-z", input=data)

    def tree_without(self, tree: str, paths: Iterable[bytes]) -> str:
        """`tree` with the given files left out (a folder left empty goes too, as in any tree)."""
        return self.tree_edit(tree, dict.fromkeys(paths))

    def tree_edit(self, tree: str, changes: Mapping[bytes, tuple[str, str] | None]) -> str:
        """`tree` with files set to (mode, object) or left out (None). A folder left empty goes,
        as in any tree; a file where a folder was (or the other way round) takes its place.

        Only the folders on the way to those files are read (`ls-tree`) and written again
        (`mktree --batch`, one call per depth, deepest first): no index, however big the tree.
        """
        if not changes:
            return tree
        dirs: set[bytes] = {b""}
        for path in changes:
            while b"/" in path:
                path = path.rsplit(b"/", 1)[0]
                dirs.add(path)
        listing = self.out("ls-tree", "-z", "--full-tree", tree)
        listing += self._ls_tree_at(tree, [d + b"/" for d in sorted(dirs) if d])
        children: dict[bytes, dict[bytes, bytes]] = {d: {} for d in dirs}
        for item in listing.split(b"\0"):
            head, _, path = item.partition(b"\t")
            parent, _, name = path.rpartition(b"/")
            if item and parent in children and path not in dirs and path not in changes:
                children[parent][name] = head
        for path, new in changes.items():
            if new is not None:
                parent, _, name = path.rpartition(b"/")
                mode, oid = new
                kind = "commit" if mode == "160000" else "blob"
                children[parent][name] = f"{mode} {kind} {oid}".encode()
        return _write_trees(self, dirs, children)

    def ls_tree(self, treeish: str, *, recursive: bool = False) -> list[TreeEntry]:
        args = ["ls-tree", "-z", "--full-tree"]
        if recursive:
            args.append("-r")
        return _tree_entries(self.out(*args, treeish))

    def ls_tree_at(self, tree: str, paths: Sequence[bytes]) -> list[TreeEntry]:
        """The entries of `tree` at `paths` (literal, from its top; one ending in `/` lists that
        folder's entries), however many paths there are."""
        return _tree_entries(self._ls_tree_at(tree, paths))

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
        if key not in self._diffs:
            args = ["diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index", a, b]
            if paths:
                args += ["--", *[os.fsdecode(p) for p in paths]]
            # diff-tree reads the index although two trees are all it compares: 7 ms at
            # 100,000 files. Pointing it at no index at all gives the same answer.
            raw = self.out(*args, env={"GIT_INDEX_FILE": str(self.state_dir / "no-index")})
            self._diffs[key] = parse_raw_diff(raw)
        return list(self._diffs[key])

    def remember_diff(self, a: str, b: str, changes: Sequence[RawChange]) -> None:
        """What `diff_trees(a, b)` answers, known from elsewhere (scan.py keeps it on disk)."""
        self._diffs[a, b, ()] = list(changes)

    def cat_blobs(self, oids: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Contents of many blobs through one `cat-file --batch`."""
        wanted = list(dict.fromkeys(oids))
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
        return len(oid) == 40 and (self.common_dir / "objects" / oid[:2] / oid[2:]).is_file()

    def cat_blob(self, oid: str) -> bytes:
        return self.out("cat-file", "blob", oid)


def _write_trees(repo: Repo, dirs: set[bytes], children: dict[bytes, dict[bytes, bytes]]) -> str:
    """Write the folders `dirs` (their entries in `children`: name -> b"mode kind oid"), deepest
    first, and return the root's tree. Each tree's id is computed here from git's tree format
    before it is written, so its parent can name it at once: one `mktree --batch` writes them
    all. git's answer is checked against every id computed; should one differ, the trees are
    written again one depth at a time, each depth naming what git answered for the one below."""

    def depth(d: bytes) -> int:
        return d.count(b"/") + 1 if d else 0

    levels = sorted({depth(d) for d in dirs}, reverse=True)
    known: list[str] = []
    batch, root = b"", EMPTY_TREE.encode()
    for level in levels:
        for folder in sorted(x for x in dirs if depth(x) == level):
            entries = children[folder]
            if not entries and folder:
                continue  # an empty folder is no folder
            batch += b"".join(h + b"\t" + n + b"\0" for n, h in entries.items()) + b"\0"
            known.append(_tree_id(entries))
            if not folder:
                root = known[-1].encode()
                continue
            parent, _, name = folder.rpartition(b"/")
            if name in children[parent]:
                raise ValueError(f"tree_edit: {folder!r} is both a file and a folder")
            children[parent][name] = b"040000 tree " + known[-1].encode()
    if not known:
        return root.decode()
    made = repo.out("mktree", "-z", "--missing", "--batch", input=batch).decode().split()
    if made == known:
        return root.decode()
    for folder in dirs:  # back to the entries as they were: each depth names git's answer
        for name, head in list(children[folder].items()):
            if head.startswith(b"040000 tree ") and folder + b"/" * bool(folder) + name in dirs:
                del children[folder][name]
    root = EMPTY_TREE.encode()
    for level in levels:
        batch, order = b"", list[bytes]()
        for folder in sorted(x for x in dirs if depth(x) == level):
            entries = children[folder]
            if not entries and folder:
                continue
            batch += b"".join(h + b"\t" + n + b"\0" for n, h in entries.items()) + b"\0"
            order.append(folder)
        if order:
            answer = repo.out("mktree", "-z", "--missing", "--batch", input=batch).split()
            for folder, tree_oid in zip(order, answer, strict=True):
                if not folder:
                    root = tree_oid
                    continue
                parent, _, name = folder.rpartition(b"/")
                children[parent][name] = b"040000 tree " + tree_oid
    return root.decode()


def _tree_id(entries: Mapping[bytes, bytes]) -> str:
    """The id git gives the tree of these entries (name -> b"mode kind oid"): its entries
    sorted as git sorts them (a folder as if its name ended in "/"), modes without leading
    zeros, ids in binary; SHA-1 or SHA-256 by the length of the ids."""
    import hashlib

    items = []
    size = 40
    for name, head in entries.items():
        mode, kind, oid = head.split(b" ")
        size = len(oid)
        key = name + b"/" if kind == b"tree" else name
        items.append((key, mode.lstrip(b"0") + b" " + name + b"\0" + bytes.fromhex(oid.decode())))
    body = b"".join(entry for _, entry in sorted(items))
    digest = hashlib.sha256() if size == 64 else hashlib.sha1()
    digest.update(b"tree %d\0" % len(body) + body)
    return digest.hexdigest()


def config_key(key: str) -> str:
    """A configuration key as git compares them: its section and variable name in any letter
    case, the subsection between them as written (`filter.MyFilter.clean` is not
    `filter.myfilter.clean`: a `-c` that turns the second off leaves the first running)."""
    section, _, rest = key.partition(".")
    subsection, dot, name = rest.rpartition(".")
    if not dot:
        return key.lower()
    return f"{section.lower()}.{subsection}.{name.lower()}"


def _tree_entries(listing: bytes) -> list[TreeEntry]:
    entries = []
    for item in listing.split(b"\0"):
        if item:
            head, _, path = item.partition(b"\t")
            mode, kind, oid = head.decode().split()
            entries.append(TreeEntry(mode, kind, oid, path))
    return entries


def parse_raw_diff(raw: bytes) -> list[RawChange]:
    changes: list[RawChange] = []
    items = raw.split(b"\0")
    i = 0
    while i < len(items) - 1:
        head = items[i]
        if not head.startswith(b":"):
            i += 1
            continue
        old_mode, new_mode, old_oid, new_oid, status = head[1:].decode().split()
        changes.append(RawChange(old_mode, new_mode, old_oid, new_oid, status[0], items[i + 1]))
        i += 2
    return changes


# The variables with which git tells a command it runs (`git --git-dir=X --work-tree=Y atomic`,
# the dotfiles pattern) which repository it is about: discovery honours them, as git does.
_LOCATION: Final = ("GIT_DIR", "GIT_WORK_TREE")


class _Discovery:
    """`discover(start)`: the repository of `start` (default: the current folder), with
    GIT_DIR/GIT_WORK_TREE. Kept per folder and variables: after a `chdir` it is a new question."""

    def __call__(self, start: str | None = None) -> Repo:
        if start is not None:  # a folder of ours (a private worktree): only the folder counts
            return _discover_cached(start, (None, None), ())
        where = tuple(os.environ.get(name) for name in _LOCATION)
        checked = tuple(os.environ.get(name) for name in _ENVIRONMENT)
        return _discover_cached(os.getcwd(), where, checked)

    def private(self, folder: str) -> Repo:
        """A private worktree of ours: the caller's GIT_INDEX_FILE & co. name the user's
        worktree, were checked at the door, and are pointed at this one before any child runs
        (isolation.point_git_variables_at), so they are not held against it."""
        return _discover(folder, located=False, check=False)

    def cache_clear(self) -> None:
        _discover_cached.cache_clear()


discover: Final = _Discovery()


@functools.lru_cache(maxsize=8)
def _discover_cached(
    cwd: str, where: tuple[str | None, ...], checked: tuple[str | None, ...]
) -> Repo:
    del checked  # part of the key only: the answer depends on them (check_environment)
    return _discover(cwd, located=any(where))


def discover_with_refs(prefix: str) -> tuple[Repo, dict[str, str]]:
    """`discover()`, the refs under `prefix` (refname -> object) and the configuration, read
    side by side by three processes started at once (`rev-parse --glob` would read every loose
    ref of the repository; the scan needs the filters configured before it starts)."""
    env = _discovery_env(located=True)
    listing = process.Background(
        ["for-each-ref", "--format=%(objectname) %(refname)", prefix], cwd=os.getcwd(), env=env
    )
    config = process.Background(["config", "-z", "--list"], cwd=os.getcwd(), env=env)
    try:
        repo = _discover(os.getcwd(), located=bool(env))
    finally:
        res = listing.wait(check=False)
        settings = config.wait(check=False)
    if res.returncode != 0:
        raise GitError(["git", "for-each-ref", prefix], res.returncode, res.stdout, res.stderr)
    repo.take_config(settings.stdout)
    return repo, _parse_refs(res.stdout)


def discover_with_config(start: str) -> Repo:
    """`discover(start)` and the configuration, read side by side (two processes at once): a
    hook call needs both, and would otherwise read the configuration only once it is known
    where the repository is."""
    config = process.Background(["config", "-z", "--list"], cwd=start)
    try:
        repo = discover(start)
    finally:
        settings = config.wait(check=False)
    if settings.returncode == 0 and not repo._config:
        repo.take_config(settings.stdout)
    return repo


def _location_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _LOCATION if os.environ.get(name)}


_ENVIRONMENT: Final = (
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


# Where git stops looking for a repository: honoured by discovery as by git (every later call
# names the repository, so they matter nowhere else).
_DISCOVERY: Final = ("GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def _discovery_env(*, located: bool) -> dict[str, str]:
    env = {name: os.environ[name] for name in _DISCOVERY if name in os.environ}
    return {**env, **_location_env()} if located else env


def check_environment(repo: Repo, cwd: str) -> None:
    """Refuse (exit 2, nothing changed) a variable that would have git use another index,
    object store, git dir or refs than this worktree's own: honouring one would split a
    checkpoint between two repositories, and dropping it would act on what you did not name.
    One that names the part git would use without it is no different, and passes."""

    def names(value: str, own: Path) -> bool:
        here = [os.path.join(base, value) for base in (cwd, str(repo.root))]
        return any(os.path.realpath(p) == os.path.realpath(own) for p in here)

    own = {
        "GIT_INDEX_FILE": (repo.index_path, "the index"),
        "GIT_OBJECT_DIRECTORY": (repo.common_dir / "objects", "the object store"),
        "GIT_COMMON_DIR": (repo.common_dir, "the shared git dir"),
    }
    for name, (path, what) in own.items():
        value = os.environ.get(name)
        if value and not names(value, path):
            raise UsageError(
                f"{name}={value} names another {what.split(' ', 1)[1]} than this worktree's "
                f"({path}): git-atomic checkpoints and restores the repository's own; "
                f"unset {name} to use it"
            )
    if os.environ.get("GIT_NAMESPACE"):
        raise UsageError(
            f"GIT_NAMESPACE={os.environ['GIT_NAMESPACE']}: git-atomic works on the repository's "
            "own branches, not a namespace's; unset GIT_NAMESPACE to use it"
        )


def _discover(cwd: str, *, located: bool, check: bool = True) -> Repo:
    """`located`: GIT_DIR/GIT_WORK_TREE (as git sets them for `git --git-dir=... atomic`) say
    where the repository is; otherwise the folder does."""
    res = process.git(
        ["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-dir", "--git-common-dir"],
        cwd=cwd,
        env=_discovery_env(located=located) or None,
        check=False,
    )
    if res.returncode != 0:
        if b"must be run in a work tree" in res.stderr:
            raise NotARepository(
                f"{cwd} is in a bare repository or a git dir: git-atomic needs a working tree "
                "(run it in a clone or a `git worktree add` of this repository, or with "
                "git --work-tree=...)"
            )
        if b"not a git repository" in res.stderr:
            raise NotARepository(f"not a git repository (or any parent): {cwd}")
        raise NotARepository(
            "cannot use this folder as a git worktree: "
            + res.stderr.decode("utf-8", "replace").strip().splitlines()[-1:][0]
            if res.stderr.strip()
            else f"cannot use {cwd} as a git worktree"
        )
    lines = res.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) != 3:
        raise NotARepository(f"not inside a git working tree: {cwd}")
    root, git_dir, common = (Path(x) for x in lines)
    repo = Repo(root=root, git_dir=git_dir, common_dir=common)
    if check:
        check_environment(repo, cwd)
    return repo


def _parse_refs(raw: bytes) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        oid, _, name = line.partition(" ")
        result[name] = oid
    return result


def worktree_key(repo: Repo) -> str:
    """The worktree's name in the files and refs of the state dir (the scan's, the raw record's)."""
    name = repo.worktree_id
    if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name) and not name.startswith("."):
        return name
    import hashlib  # only for such names: its import alone costs 2 ms of every start

    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
