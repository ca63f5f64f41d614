"""The index as a checkpoint keeps it: the staged tree plus the few entry flags a tree cannot hold.

A checkpoint used to keep the raw index file (9 MB at 100,000 files, stored again whenever git
refreshed its stat cache). What a user means by "the index" is its entries, which `write-tree`
keeps, plus three flags it drops (git-facts 3): intent-to-add, skip-worktree and
assume-unchanged. So a checkpoint stores those flags in a small blob, usually none at all.

Here: those flags as a checkpoint keeps them (`IndexFlags`), read from an index beside its
`write-tree` (`start_listing`, `read_listing`), and an index file's version, copy and sizes.
To put an index back, the worktree's *current* index is copied and only the entries that differ
are rewritten (indexbuild.py); every other entry keeps its stat data, so the next `git status`
re-reads only the files a rollback wrote (git-facts 4). git writes the result itself, so
entries that are racily clean are smudged as git always does (git-facts 1).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.core.records import dataclass, field
from git_atomic.engine import safefs, splitindex
from git_atomic.engine.git import Repo

_ITA: Final = b"intent-to-add"
_SKIP: Final = b"skip-worktree"
_ASSUME: Final = b"assume-unchanged"
_RESOLVE_UNDO: Final = b"resolve-undo"  # a record: `<mode> <object> <stage>`, as ls-files says


@dataclass(frozen=True)
class IndexFlags:
    intent_to_add: Mapping[bytes, str] = field(default_factory=dict)  # path -> mode
    skip_worktree: frozenset[bytes] = frozenset()
    assume_unchanged: frozenset[bytes] = frozenset()
    # The index's resolve-undo record (its REUC extension: what `git checkout -m PATH` and
    # `git update-index --unresolve` make a conflict you resolved from): path -> the stages
    # it had, each `<mode> <object> <stage>`, sorted.
    resolve_undo: Mapping[bytes, tuple[bytes, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.intent_to_add or self.skip_worktree or self.assume_unchanged or self.resolve_undo
        )

    def encode(self) -> bytes:
        """NUL-terminated records `<flag> <mode>\t<path>`, sorted: equal flags, equal blob."""
        records = [
            _ITA + b" " + mode.encode() + b"\t" + p for p, mode in self.intent_to_add.items()
        ]
        records += [_SKIP + b" 0\t" + p for p in self.skip_worktree]
        records += [_ASSUME + b" 0\t" + p for p in self.assume_unchanged]
        records += [
            _RESOLVE_UNDO + b" " + stage + b"\t" + p
            for p, stages in self.resolve_undo.items()
            for stage in stages
        ]
        return b"".join(r + b"\0" for r in sorted(records))

    @classmethod
    def decode(cls, data: bytes) -> IndexFlags:
        ita: dict[bytes, str] = {}
        skip: set[bytes] = set()
        assume: set[bytes] = set()
        undo: dict[bytes, list[bytes]] = {}
        for record in data.split(b"\0"):
            if not record:
                continue
            head, _, path = record.partition(b"\t")
            flag, _, mode = head.partition(b" ")
            if flag == _ITA:
                ita[path] = mode.decode()
            elif flag == _SKIP:
                skip.add(path)
            elif flag == _ASSUME:
                assume.add(path)
            elif flag == _RESOLVE_UNDO:
                undo.setdefault(path, []).append(mode)
        return cls(
            ita, frozenset(skip), frozenset(assume), {p: tuple(sorted(s)) for p, s in undo.items()}
        )


@dataclass(frozen=True)
class Listing:
    """What a capture needs of the index besides its tree: flags and `.gitattributes` entries."""

    flags: IndexFlags = field(default_factory=IndexFlags)
    attribute_files: tuple[bytes, ...] = ()

    def encode(self) -> str:
        return json.dumps(
            {
                "flags": self.flags.encode().decode("latin-1"),
                "attributes": [p.decode("latin-1") for p in self.attribute_files],
                "resolve_undo": True,  # one remembered before the record was read: not used
            }
        )

    @classmethod
    def decode(cls, text: str) -> Listing:
        data = json.loads(text)
        if data.get("resolve_undo") is not True:
            raise KeyError("resolve_undo")
        return cls(
            IndexFlags.decode(data["flags"].encode("latin-1")),
            tuple(p.encode("latin-1") for p in data["attributes"]),
        )


def _attribute_files(tags: bytes) -> tuple[bytes, ...]:
    """The `.gitattributes` entries of an `ls-files -z -v` listing, found at C speed."""
    found, name = [], b".gitattributes\0"
    at = tags.find(name)
    while at != -1:
        path = tags[tags.rfind(b"\0", 0, at) + 3 : at + len(name) - 1]
        if path == b".gitattributes" or path.endswith(b"/.gitattributes"):
            found.append(path)
        at = tags.find(name, at + 1)
    return tuple(found)


def start_listing(repo: Repo, env: Mapping[str, str]) -> process.Background:
    """Start reading the tags of the index `env` points at (`ls-files -v`), and its
    resolve-undo record (`U` lines, after the entries: none, usually), at a low priority: a
    capture runs it beside its scan of the tree, which it must not slow."""
    return repo.start(
        "ls-files", "-z", "-v", "--cached", "--resolve-undo", env=env, low_priority=True
    )


def read_listing(
    repo: Repo, env: Mapping[str, str], staged_tree: str, tagging: process.Background
) -> Listing:
    """The flags of the index `env` points at, whose `write-tree` is `staged_tree`; `tagging`:
    its `start_listing()`.

    Two cheap reads: `diff-index` against the index's own tree walks the cache-tree that
    write-tree just completed, so it lists only the intent-to-add entries (the tree lacks them;
    an index of version 2 cannot hold one, so it is not even asked); `ls-files -v` tags every
    entry (`h`: assume-unchanged, `S`: skip-worktree, `s`: both), and a count tells at C speed
    whether any tag is not `H`.
    A split index (`core.splitIndex`) is asked whatever its version: its file holds only the
    entries changed since its shared index, which may be of version 3 and hold intent-to-add
    entries where the file says 2. Only an index that is one (splitindex.py): the shared
    indexes of our own scan index, in the git dir past 40,000 files, say nothing of yours.
    """
    ita: dict[bytes, str] = {}
    index = Path(env["GIT_INDEX_FILE"])
    if version(index) != 2 or splitindex.shared_of(repo, index) is not None:
        raw = repo.out(
            "diff-index",
            "--cached",
            "-z",
            "--raw",
            "--no-renames",
            "--ita-visible-in-index",
            "--diff-filter=A",
            staged_tree,
            env=env,
            low_priority=True,
        )
        items = raw.split(b"\0")
        for head, path in zip(items[::2], items[1::2], strict=False):
            if head.startswith(b":"):
                ita[path] = head[1:].split(b" ")[1].decode()
    tags = tagging.wait().stdout
    plain = tags.count(b"\0H ") + (1 if tags.startswith(b"H ") else 0)
    if plain == tags.count(b"\0"):
        return Listing(IndexFlags(ita), _attribute_files(tags))
    flagged = [r for r in tags.split(b"\0") if r and r[:1] != b"H"]
    skip = frozenset(r[2:] for r in flagged if r[:1] in (b"S", b"s"))
    assume = frozenset(r[2:] for r in flagged if r[:1].islower())
    undo: dict[bytes, list[bytes]] = {}
    for r in flagged:
        if r[:2] == b"U ":
            stage, _, path = r[2:].partition(b"\t")
            undo.setdefault(path, []).append(stage)
    if undo:  # (its paths are no entries: no `.gitattributes` of the index)
        tags = tags[: tags.index(b"U ") if tags.startswith(b"U ") else tags.index(b"\0U ") + 1]
    resolve_undo = {p: tuple(sorted(s)) for p, s in undo.items()}
    return Listing(IndexFlags(ita, skip, assume, resolve_undo), _attribute_files(tags))


def version(index: Path) -> int | None:
    """The index file's format version. git writes version 2 unless an entry has an extended
    flag (intent-to-add, skip-worktree), or the user asked for another one."""
    try:
        with open(index, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    return int.from_bytes(head[4:8], "big") if head[:4] == b"DIRC" else None


def copy_index(source: Path, dest: Path) -> None:
    """A copy of an index file with its times, as `shutil.copy2` makes one (without importing
    shutil: 3 ms of a command). git judges an entry racily clean by the index file's mtime:
    entries git trusted stay trusted, racy ones stay racy."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(source, "rb") as src, open(os.open(dest, flags, 0o644), "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
        out.flush()
        st = os.fstat(src.fileno())
        os.utime(out.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))  # (a link: never followed)


class Sizes:
    """The sizes the index's status data says for `paths`, read by git while the caller does
    other work (a restore writes its files meanwhile: the index is not touched by that)."""

    def __init__(self, repo: Repo, paths: Sequence[bytes]) -> None:
        self.repo = repo
        env = {"GIT_LITERAL_PATHSPECS": "1"}
        self._asked = [
            repo.start(
                "ls-files", "-z", "--debug", "--", *map(os.fsdecode, paths[i : i + 1000]), env=env
            )
            for i in range(0, len(paths), 1000)
        ]

    def differing(self) -> list[bytes]:
        """Those of the paths whose file now has another size than their status data says
        (not 0, which git takes for "read it")."""
        recorded: dict[bytes, int] = {}
        for asked in self._asked:
            done = asked.wait(check=False)
            if done.returncode != 0:  # a cache of git's, not the restore's: those taken as they are
                continue
            listing = done.stdout.split(b"\0")
            path = listing[0]
            for chunk in listing[1:]:
                # Five lines of status data, each ending in a newline, then the next path.
                *lines, following = chunk.split(b"\n", 5)
                line = next((ln for ln in lines if ln.lstrip().startswith(b"size:")), b"")
                digits = line.split(b":", 1)[-1].split(b"\t", 1)[0].strip()
                if digits.isdigit():
                    recorded[path] = int(digits)
                path = following
        found = []
        with safefs.Tree(os.fsencode(self.repo.root)) as tree:
            for p, was in recorded.items():
                st = tree.lstat(p)
                if was and st is not None and st.st_size != was:
                    found.append(p)
        return found


def skip_follows_disk(repo: Repo) -> bool:
    """Whether git takes a skip-worktree entry whose path is on disk for an ordinary one, as it
    reads the index (a sparse checkout: `core.sparseCheckout`, unless
    `sparse.expectFilesOutsideOfPatterns`; git's clear_skip_worktree_from_present_files): a
    file written outside the patterns is then yours to see, stage and commit."""
    sparse = repo.config_bool("core.sparseCheckout")
    return sparse and not repo.config_bool("sparse.expectFilesOutsideOfPatterns")


def none_on_disk(root: str | os.PathLike[str], paths: Iterable[bytes]) -> bool:
    """Whether none of `paths` (skip-worktree entries) is on disk, as git's reading of the index
    looks for them (git's path_found: an lstat of each): then `skip_follows_disk` clears no
    flag, and the flags are the index's alone. Each path, or a folder on its way, must be
    missing; a folder on the way that is a link or a file answers False (git would look through
    the link: it is asked instead), as does any path there. One lstat per folder on the way,
    once: the entries of a sparse checkout's folders left out are found missing at the first."""
    top = os.fsencode(root)
    seen: dict[bytes, bool] = {}  # a prefix -> a real folder (True) or missing (False)
    for path in paths:
        parts = path.rstrip(b"/").split(b"/")
        prefix = b""
        for i, part in enumerate(parts):
            prefix = prefix + b"/" + part if prefix else part
            folder = seen.get(prefix)
            if folder is None:
                try:
                    st = os.lstat(top + b"/" + prefix)
                except FileNotFoundError:
                    seen[prefix] = False
                    break
                except OSError:
                    return False
                if i == len(parts) - 1 or not stat.S_ISDIR(st.st_mode):
                    return False  # on disk, or a link or a file on its way
                seen[prefix] = folder = True
            if not folder:
                break  # missing: so is everything below it
            if i == len(parts) - 1:
                return False  # a folder (a sparse index's entry) that is on disk
    return True


def sparse_index(repo: Repo) -> bool:
    """Whether git keeps this worktree's index sparse (`git sparse-checkout init --cone
    --sparse-index`): folders outside the patterns, all skip-worktree, as one entry each."""
    keys = ("index.sparse", "core.sparseCheckout", "core.sparseCheckoutCone")
    return all(repo.config_bool(k) for k in keys)
