"""Typed git plumbing for one worktree: discovery, config, refs, trees, commits, objects.

What git prints is read into records by gitoutput.py."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from git_atomic.core import patterns, process
from git_atomic.core.errors import GitError
from git_atomic.engine import objectformat, safefs, treediff
from git_atomic.engine.gitconfig import RepoConfig
from git_atomic.engine.gitoutput import REFS_FORMAT, parse_raw_diff, parse_refs, tree_entries

# The records of git's output, importable from here as before (gitoutput.py parses them).
from git_atomic.engine.gitoutput import RawChange as RawChange
from git_atomic.engine.gitoutput import TreeEntry as TreeEntry

if TYPE_CHECKING:
    import threading

    from git_atomic.engine.quarantine import Quarantine

ZERO_OID: Final = "0" * 40  # SHA-1's; Repo.zero_oid is the repository's own


def is_zero(oid: str) -> bool:
    """Whether `oid` is the id of nothing (all zeros), in either object format."""
    return bool(oid) and not oid.strip("0")


EMPTY_TREE: Final = objectformat.EMPTY_TREE
_BATCH: Final = 1000  # paths per command line (argument lists have a limit)
_scratch_names = itertools.count()


# Up to these, blobs are written loose by us (no process); past them, one fast-import packs them.
_LOOSE_AT_MOST: Final = 64
_LOOSE_BYTES: Final = 8 << 20


def head_text(git_dir: Path) -> str:
    """What a HEAD file says, never read through a link: the link git makes itself under
    `core.preferSymlinkRefs` (to `refs/heads/<branch>`) says `ref: <its target>`, as git reads
    it; any other link says nothing (gitlinks.py sets such a HEAD aside before git is asked)."""
    head = git_dir / "HEAD"
    if head.is_symlink():
        target = os.readlink(head)
        parts = target.split("/")
        return f"ref: {target}" if parts[0] == "refs" and ".." not in parts else ""
    # A branch's name may hold bytes that are not UTF-8: kept as surrogates (parse_refs).
    return head.read_bytes().decode("utf-8", "surrogateescape").strip()


# The git dirs (this worktree's, the shared one) of each repository this process opened: the
# command line gives what it made there as root to their owner when it ends (handback.py).
OPENED: Final[set[tuple[Path, Path]]] = set()


class Repo(RepoConfig):
    """A worktree and its git dirs; equal when they name the same ones."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root  # the worktree's top folder
        self.git_dir = git_dir  # this worktree's git dir (.git, or .git/worktrees/<id>)
        self.common_dir = common_dir  # the repository's shared git dir
        OPENED.add((git_dir, common_dir))
        super().__init__()
        # Every call names the repository: never the one git would find from a folder (a
        # `.git` file, GIT_DIR from `git --git-dir=... atomic`, a command run from elsewhere).
        self.git_env = {"GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(root)}
        # Where the git dir really was when found: a `.git` link an operation points at
        # another repository must not have our calls write there (discovery.check_layout).
        self.real_git_dir = os.path.realpath(git_dir)
        # And where the worktree's folder really was: one an operation replaced by a link
        # (elsewhere) or removed must not have a rollback write or delete there.
        self.real_root = os.path.realpath(root)
        self._diffs: dict[tuple[str, str, tuple[bytes, ...]], list[RawChange]] = {}
        self._diffing: dict[tuple[str, str], threading.Thread] = {}  # `diff_trees_beside`
        self.quarantine: Quarantine | None = None  # a dry run's object store (`quarantined`)

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
        # A linked worktree's folder name, as git made its id, may hold bytes that are not UTF-8
        # (`git worktree add $'../wt\\351'`): the journal keeps text, so those are written
        # `\\xe9`, a name git's ids never have (a backslash is not allowed in them).
        return os.fsencode(self.git_dir.name).decode("utf-8", "backslashreplace")

    @property
    def index_path(self) -> Path:
        return self.git_dir / "index"

    @property
    def state_dir(self) -> Path:
        """Our folder inside the common git dir: journal, logs, temporary indexes."""
        return self.common_dir / "atomic"

    @contextlib.contextmanager
    def quarantined(self) -> Iterator[None]:
        """A dry run: every object written (by git or by us) and every scratch file go into a
        temporary folder outside the repository, removed as it ends, and git refuses to move a
        ref meanwhile (quarantine.py)."""
        from git_atomic.engine.quarantine import Quarantine

        held = Quarantine(
            self.common_dir / "objects", [self.git_dir, self.common_dir], outside=self.root
        )
        plain = self.git_env
        self.quarantine, self.git_env = held, {**plain, **held.env()}
        try:
            yield
        finally:
            self.quarantine, self.git_env = None, plain
            held.close()

    @property
    def objects_out(self) -> Path:
        """The object store our own writers write into: the repository's, or a dry run's."""
        if self.quarantine is not None:
            return self.quarantine.objects
        return self.common_dir / "objects"

    def scratch_dir(self) -> Path:
        """Our folder of temporary files (made): a dry run's own, outside the repository."""
        tmp = self.quarantine.tmp if self.quarantine is not None else self.state_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def scratch_path(self, stem: str) -> Path:
        """A name for a temporary file of this process in our folder (the caller removes it)."""
        return self.scratch_dir() / f"{stem}-{os.getpid()}-{next(_scratch_names)}"

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
            env=self._env(env),
            check=check,
            low_priority=low_priority,
        )

    def _env(self, env: Mapping[str, str] | None) -> Mapping[str, str]:
        """A call's environment: ours, with `env` over it. One that names another git dir (a
        submodule's) is given no dry run's store: that store lends ours, not the other's, so
        the other's objects would not be found there."""
        if not env:
            return self.git_env
        if (
            self.quarantine is not None
            and env.get("GIT_DIR", self.git_env["GIT_DIR"]) != (self.git_env["GIT_DIR"])
        ):
            lent = self.quarantine.env()
            return {**{k: v for k, v in self.git_env.items() if k not in lent}, **env}
        return {**self.git_env, **env}

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
            env=self._env(env),
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

    def ignored(
        self,
        paths: Iterable[bytes],
        *,
        by_rules_alone: bool = True,
        work_tree: str | None = None,
    ) -> set[bytes] | None:
        """Those of `paths` (from the top) that git's ignore rules match; None when git could not
        say. `by_rules_alone`: whatever the index says (`--no-index`); otherwise a tracked path
        is never ignored. `work_tree`: by the `.gitignore` files of that folder instead (with
        this repository's `info/exclude` and `core.excludesFile`). Each path is asked as
        `./path`: check-ignore reads one that starts with `:` as a pathspec with magic (`:x`
        asks for `x`; `:!x` fails the whole call) and takes no literal pathspecs."""
        asked = b"".join(b"./" + p + b"\0" for p in paths)
        if not asked:
            return set()
        res = self.run(
            *((f"--work-tree={work_tree}",) if work_tree is not None else ()),
            "check-ignore",
            "-z",
            "--stdin",
            *(("--no-index",) if by_rules_alone else ()),
            input=asked,
            check=False,
        )
        if res.returncode not in (0, 1):
            return None
        return {p[2:] for p in res.stdout.split(b"\0") if p.startswith(b"./")}

    # --- refs ----------------------------------------------------------------------------
    def read_head(self, branches: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
        """(symbolic ref or None when detached, commit or None when unborn). `branches`: every
        local branch, just read (`refs("refs/heads/")`), which saves a `rev-parse` where HEAD
        names one of them (an unborn branch, or a symbolic ref, is asked)."""
        text = head_text(self.git_dir)
        if text.startswith("ref: "):
            ref = text[5:]
            if branches is not None and ref.startswith("refs/heads/") and ref in branches:
                return ref, branches[ref]
            return ref, self.rev_parse(ref)
        return None, text

    def branch_of(self, ref: str, branches: Mapping[str, str]) -> str:
        """The branch a commit on `ref` moves: `ref` itself, or, for a symbolic ref among the
        branches (HEAD on `refs/heads/alias` naming `refs/heads/main`), the one it leads to.
        `branches`: as `refs("refs/heads/")` reads them, which leaves symbolic refs out."""
        for _ in range(5):  # git follows as few
            if ref in branches:
                break
            res = self.run("symbolic-ref", "-q", ref, check=False)
            if res.returncode != 0:
                break  # an unborn branch, or a ref that is no symbolic one
            ref = res.stdout.decode("utf-8", "surrogateescape").strip()
        return ref

    def rev_parse(self, rev: str) -> str | None:
        res = self.run(
            "rev-parse", "-q", "--verify", "--end-of-options", rev + "^{commit}", check=False
        )
        return res.stdout.decode().strip() if res.returncode == 0 else None

    def refs(self, *prefixes: str) -> dict[str, str]:
        return parse_refs(self.refs_listing(*prefixes))

    def refs_listing(self, *prefixes: str) -> bytes:
        """The refs under `prefixes` as `for-each-ref --format=REFS_FORMAT` lists them (symbolic
        ones too): `parse_refs` reads it."""
        return self.out("for-each-ref", f"--format={REFS_FORMAT}", *prefixes)

    def update_refs(self, commands: Iterable[str], *, message: str) -> None:
        """One transaction of `update-ref --stdin` lines (update/create/delete/verify). A ref's
        name may hold bytes that are not UTF-8 (`git branch $'lat\\351n'`): parse_refs keeps
        them as surrogates, given back here as the bytes they were."""
        payload = "".join(c + "\n" for c in commands)
        if payload:
            data = payload.encode("utf-8", "surrogateescape")
            self.run("update-ref", "-m", message, "--stdin", input=data)

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
                old = [(was[1] if was[0] is None else self.rev_parse(was[0])) or self.zero_oid]
            argv = ["update-ref", "--no-deref", "-m", message, "HEAD", oid, *old]
            res = self.run(*argv, check=False)
            if res.returncode != 0:
                if was is not None and self.head_names() != was:
                    return False
                raise GitError(["git", *argv], res.returncode, res.stdout, res.stderr)
        return True

    def head_names(self) -> tuple[str | None, str | None]:
        """What the HEAD file says: `(branch ref, None)`, or `(None, commit)` when detached."""
        text = head_text(self.git_dir)
        return (text[5:], None) if text.startswith("ref: ") else (None, text)

    def other_worktree_heads(self) -> dict[str, Path]:
        """Branches checked out in the other worktrees of this repository, read from their git
        dirs (`git worktree list` names a `--separate-git-dir` repository's worktree by its git
        dir, which would make your own branch look checked out elsewhere)."""
        return {branch: where for branch, _, where in self._other_heads()}

    def other_head_git_dirs(self) -> dict[str, Path]:
        """As other_worktree_heads, each branch with the git dir of the worktree that has it."""
        return {branch: git_dir for branch, git_dir, _ in self._other_heads()}

    def _other_heads(self) -> list[tuple[str, Path, Path]]:
        """(branch, git dir, folder) of each other worktree whose HEAD names a branch; a branch
        checked out in two (git refuses that, but a hand-edited HEAD may) counted once."""
        heads: dict[str, tuple[str, Path, Path]] = {}
        for git_dir, where in self._other_worktrees():
            try:
                text = head_text(git_dir)
            except OSError:
                continue
            if text.startswith("ref: refs/heads/"):
                heads.setdefault(text[5:], (text[5:], git_dir, where))
        return list(heads.values())

    def linked_worktrees(self) -> dict[str, str]:
        """Each other linked worktree of this repository whose git dir is there (under the
        common dir's `worktrees/`): its folder, as text, and what its HEAD says. An operation
        records them (worktreesgone.py), to name one it removed (`git worktree remove`)."""
        found: dict[str, str] = {}
        for git_dir, where in self._other_worktrees():
            if git_dir == self.common_dir:
                continue
            try:
                found[os.fsdecode(where)] = head_text(git_dir)
            except OSError:
                continue
        return found

    def linked_worktree_names(self) -> dict[str, str]:
        """Each other linked worktree's folder, as text, and the name of its git dir under the
        common dir's `worktrees/`: a worktree keeps that name when `git worktree move` moves
        its folder (worktreesgone.py tells a move from a removal by it)."""
        return {
            os.fsdecode(where): git_dir.name
            for git_dir, where in self._other_worktrees()
            if git_dir != self.common_dir
        }

    def other_worktree_folders(self) -> dict[str, Path]:
        """Each other worktree of this repository (the main one too, from a linked one): its
        id, as `worktree_id` names it there, and its folder as git lists it."""
        return {
            "main"
            if git_dir == self.common_dir
            else os.fsencode(git_dir.name).decode("utf-8", "backslashreplace"): where
            for git_dir, where in self._other_worktrees()
        }

    def has_other_worktrees(self) -> bool:
        """Whether this repository has a worktree besides this one (its git dir still there)."""
        return any(git_dir.is_dir() for git_dir, _ in self._other_worktrees())

    def _other_worktrees(self) -> list[tuple[Path, Path]]:
        """(git dir, folder) of each other worktree of this repository."""
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
                    # A path, any bytes (a worktree added at $'../wt\\351'), not UTF-8 text.
                    where = Path(os.fsdecode((git_dir / "gitdir").read_bytes()).strip()).parent
                except OSError:
                    where = git_dir
                dirs.append((git_dir, where))
        return dirs

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
        if len(contents) <= _LOOSE_AT_MOST and sum(map(len, contents)) <= _LOOSE_BYTES:
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

    @property
    def sha256(self) -> bool:
        """Whether this repository's object ids are SHA-256 (else SHA-1)."""
        return (self.config("extensions.objectformat") or "sha1").lower() == "sha256"

    @property
    def zero_oid(self) -> str:
        """The id of nothing in this repository's object format (40 or 64 zeros)."""
        return "0" * (64 if self.sha256 else 40)

    @property
    def empty_tree(self) -> str:
        """The empty tree's id in this repository's object format."""
        return objectformat.EMPTY_TREE_SHA256 if self.sha256 else objectformat.EMPTY_TREE

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
            return self.line("commit-tree", tree, *args, "-m", message, env=dict(identity))
        return objectformat.write_loose(self.objects_out, b"commit", body, sha256=self.sha256)

    def writes_loose(self) -> bool:
        """Whether objects may be written loose here without git: not in a repository shared
        by a group (`core.sharedRepository`), whose folders and objects git makes writable and
        readable by it (we would make them as our umask says)."""
        shared = (self.config("core.sharedrepository") or "false").lower()
        return shared in ("false", "umask", "0", "no", "off")

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
        folder was or the other way round.
        """
        if not changes:
            return tree
        dirs = _folders_on_the_way(changes)
        listed = self._listing(tree, dirs)
        replaced = treediff.entries_at(listed, changes, dirs) if remember else None
        children = _children(listed, dirs)
        _set_entries(children, changes)
        # A few trees (a checkpoint's edit of the scan's tree) cost no process.
        loose = len(dirs) <= _LOOSE_AT_MOST and self.writes_loose() and _nameable(children)
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
        on the way to all of them read once, and every tree they need written by one `mktree
        --batch` whose answer is checked against the ids computed here. Should one differ, each
        edit is made on its own."""
        if len(edits) < 2:
            return [self.tree_edit(tree, edit) for edit in edits]
        every = _folders_on_the_way(p for e in edits for p in e)
        # A folder some edits go into and others do not: git lists its entries, not its own
        # entry in its parent, so it is written again as listed (its id, and the tree itself,
        # are then known whatever git's own tree looked like).
        listed = _children(self._listing(tree, every), every, trees_only=True)
        roots: list[str] = []
        try:
            _, batch, known = objectformat.planned_trees(every, listed)
            for edit in edits:
                dirs = _folders_on_the_way(edit)
                children = _children(listed, dirs)
                _set_entries(children, edit)
                root, more, ids = objectformat.planned_trees(dirs, children)
                roots.append(root)
                batch, known = batch + more, known + ids
        except ValueError:
            return [self.tree_edit(tree, edit) for edit in edits]
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
        return listed

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

    def _loose_tree(self, treeish: str) -> list[tuple[str, str, str, bytes]] | None:
        """The entries of a tree (or of a commit's tree) stored loose; None: ask git."""
        read = self._read_loose(treeish)
        if read is not None and read[0] == b"commit":
            first = read[1].split(b"\n", 1)[0]
            if not first.startswith(b"tree "):
                return None
            read = self._read_loose(first[5:].decode())
        if read is None or read[0] != b"tree":
            return None
        try:
            return objectformat.parse_tree(read[1], sha256=len(treeish) == 64)
        except ValueError:
            return None

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


_PLAIN_NAME: Final = patterns.keep(r"[A-Za-z0-9._-]{1,64}")


def worktree_key(repo: Repo) -> str:
    """The worktree's name in the files and refs of the state dir (the scan's, the raw record's)."""
    name = repo.worktree_id
    if re.fullmatch(_PLAIN_NAME, name) and not name.startswith("."):
        return name
    import hashlib  # only for such names: its import alone costs 2 ms of every start

    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _nameable(children: Mapping[bytes, Mapping[bytes, bytes]]) -> bool:
    """Whether every entry's name is one git holds in a tree (else git's `mktree` is asked,
    and says what it says)."""
    return not any(
        name in (b"", b".", b"..") or b"\0" in name or b"/" in name
        for entries in children.values()
        for name in entries
    )


def _folders_on_the_way(paths: Iterable[bytes]) -> set[bytes]:
    """The folders on the way to `paths`, the top ("") included."""
    dirs: set[bytes] = {b""}
    for path in paths:
        while b"/" in path:
            path = path.rsplit(b"/", 1)[0]
            dirs.add(path)
    return dirs


def _children(
    listed: Mapping[bytes, Mapping[bytes, bytes]], dirs: set[bytes], *, trees_only: bool = False
) -> dict[bytes, dict[bytes, bytes]]:
    """The entries of the folders `dirs` as listed, less those folders themselves: they are
    written again (a file where one of them must be goes, unless `trees_only`)."""
    return {
        d: {
            n: h
            for n, h in listed[d].items()
            if (d + b"/" + n if d else n) not in dirs or (trees_only and b" tree " not in h)
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
