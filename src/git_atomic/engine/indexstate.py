"""The index as a checkpoint keeps it: the staged tree plus the few entry flags a tree cannot hold.

A checkpoint used to keep the raw index file (9 MB at 100,000 files, stored again whenever git
refreshed its stat cache). What a user means by "the index" is its entries, which `write-tree`
keeps, plus three flags it drops (git-facts 3): intent-to-add, skip-worktree and
assume-unchanged. So a checkpoint stores those flags in a small blob, usually none at all.

To put an index back, the worktree's *current* index is copied and only the entries that differ
are rewritten (`update-index --index-info`); every other entry keeps its stat data, so the next
`git status` re-reads only the files a rollback wrote (git-facts 4). git writes the result
itself, so entries that are racily clean are smudged as git always does (git-facts 1).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence, Set
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.core.records import dataclass, field
from git_atomic.engine import objectformat, safefs, splitindex
from git_atomic.engine.git import Repo

_ITA: Final = b"intent-to-add"
_SKIP: Final = b"skip-worktree"
_ASSUME: Final = b"assume-unchanged"
_RESOLVE_UNDO: Final = b"resolve-undo"  # a record: `<mode> <object> <stage>`, as ls-files says
# An index a restore builds from nothing (you had no index file) is written whole, never split
# by your `core.splitIndex`: each of its writes would make a shared index of its own, which the
# next one leaves unused in your git dir. (Your git splits it at its next write.) One built on a
# copy of your split index stays split, on its shared index.
_WHOLE: Final = ("-c", "core.splitIndex=false")
_INTENT_TO_ADD: Final = 1 << 29  # an entry's flag, as `ls-files --debug` shows it


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


def rebuild(
    repo: Repo,
    *,
    current_tree: str | None,
    current_flags: IndexFlags,
    target_tree: str,
    target_flags: IndexFlags,
    scratch: Path,
    restat: Sequence[bytes] = (),
    base: Path | None = None,
) -> Path:
    """An index holding `target_tree`'s entries and `target_flags`, built on a copy of the real
    index, or of `base` (whose entries are `current_tree` and `current_flags`; None: there is
    no index file).
    `restat`: paths whose files were just written: their entries, even unchanged, lose their
    status data, so that git compares their bytes again (those bytes may differ from what the
    status data was taken of with the same id: CRLF and LF under a line-ending rule, and git
    takes a file whose size differs from its entry's for changed, unread).
    Returns `scratch`, ready for `indexfile.install_index`."""
    env = {"GIT_INDEX_FILE": str(scratch)}
    source = base or repo.index_path
    if current_tree is None or not source.exists() or splitindex.gone(repo, source):
        whole: tuple[str, ...] = _WHOLE
        repo.run(*whole, "read-tree", target_tree, env=env)
        current_flags = IndexFlags()
        changes = []
    else:
        whole = ()
        copy_index(source, scratch)
        changes = repo.diff_trees(current_tree, target_tree)
    removed = {c.path for c in changes if c.status in ("D", "T")}
    removed |= set(current_flags.intent_to_add) | set(target_flags.intent_to_add)
    added = {c.path: (c.new_mode, c.new_oid) for c in changes if c.status != "D"}
    again = [p for p in restat if p not in added and p not in removed]
    if again:
        entries = repo.ls_tree_at(target_tree, again)
        added.update((e.path, (e.mode, e.oid)) for e in entries if e.kind == "blob")
    info = b"".join(f"0 {repo.zero_oid}\t".encode() + p + b"\0" for p in sorted(removed))
    info += b"".join(
        f"{mode} {oid}\t".encode() + p + b"\0" for p, (mode, oid) in sorted(added.items())
    )
    if info:
        repo.run(*whole, "update-index", "-z", "--index-info", input=info, env=env)
    # Its entries written again, which drops their flags: set again below, as rewritten.
    undone = current_flags.resolve_undo != target_flags.resolve_undo
    if undone:
        _put_resolve_undo(repo, env, whole, target_tree, target_flags.resolve_undo)
    intents = target_flags.intent_to_add
    rewritten = removed | set(added) | (set(target_flags.resolve_undo) if undone else set())
    flags = (
        ("skip-worktree", current_flags.skip_worktree, target_flags.skip_worktree),
        ("assume-unchanged", current_flags.assume_unchanged, target_flags.assume_unchanged),
    )
    for flag, now, wanted in flags:
        _set_flag(
            repo,
            env,
            flag,
            clear=now - wanted - rewritten,
            mark=wanted - (now - rewritten),
            config=whole,
        )
    if target_flags.skip_worktree and sparse_index(repo):
        _collapse(repo, env, whole)
    if info or undone:
        # Each entry written dropped git's cached tree of its folders and above (the index's
        # TREE extension): same entries, but the user's next `git status` and `git commit`
        # would hash those folders again, and the file's bytes were not PRE-OP's. Made again
        # as git makes it, on the scratch index alone (trees it already has: nothing new).
        repo.run(*whole, "write-tree", env=env, check=False)
    if intents:
        # Only `git add -N` makes an intent-to-add entry (add_intents: whatever is on disk,
        # with the mode it had). `--sparse`: one outside the sparse-checkout patterns too
        # (yours, or those the operation set), which git would otherwise refuse to add.
        # Last: git (2.39) writes a
        # sparse index that holds one back wrong (every entry named as the first) once it has
        # expanded it, which the collapse above and write-tree do; `add -N` keeps git's cached
        # trees as git's own `add -N` leaves them (those of the entry's folders dropped).
        add_intents(repo, intents, env, config=whole)
        for flag, _now, wanted in flags:  # those of the entries made just now
            _set_flag(repo, env, flag, clear=set(), mark=wanted & intents.keys(), config=whole)
    return scratch


def _put_resolve_undo(
    repo: Repo,
    env: Mapping[str, str],
    config: Sequence[str],
    target_tree: str,
    wanted: Mapping[bytes, tuple[bytes, ...]],
) -> None:
    """The index's resolve-undo record made `wanted`, its entries left as they are: git has no
    command that writes one, but records it whenever an entry's stages go (read-cache.c,
    remove_index_entry_at). So: the record cleared, then each path's stages put in and
    resolved again as its entry is (or removed, where it has none: resolved by `git rm`)."""
    repo.run(*config, "update-index", "--clear-resolve-undo", env=env)
    if not wanted:
        return
    paths = sorted(wanted)
    entries = {e.path: e for e in repo.ls_tree_at(target_tree, paths)}
    zero = f"0 {repo.zero_oid}\t".encode()
    info = b""
    for path in paths:
        info += zero + path + b"\0"
        info += b"".join(stage + b"\t" + path + b"\0" for stage in wanted[path])
        entry = entries.get(path)
        if entry is not None and entry.kind in ("blob", "commit"):
            info += f"{entry.mode} {entry.oid} 0\t".encode() + path + b"\0"
        else:
            info += zero + path + b"\0"
    repo.run(*config, "update-index", "-z", "--index-info", input=info, env=env)


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


def add_intents(
    repo: Repo, intents: Mapping[bytes, str], env: Mapping[str, str], *, config: Sequence[str] = ()
) -> None:
    """Intent-to-add entries for `intents` (path -> mode), whatever is on disk at those paths.

    Only git's `add -N` makes one, and it takes the entry's mode from the file it finds: run
    on your worktree, it could make none whose file is gone, and one you `chmod`ed since would
    come back with the new mode. So it is run on a scratch work tree holding, at each path, an
    empty file or link of the entry's mode, or an embedded repository's bare bones for a
    gitlink's (intenttree.py; an entry made by `add -N` holds no bytes or status data, only its
    mode), your index (or `env`'s) its index: nothing of yours is read or written but the
    index. Forced past the ignore rules and the sparse-checkout patterns; names, never
    patterns; the settings that would read the scratch tree for anything else off."""
    if not intents:
        return
    import shutil  # (not on a checkpoint's path: tests/test_hot_path.py)

    from git_atomic.engine import intenttree

    scratch = repo.scratch_path("intents")
    try:
        intenttree.plant(scratch, intents, objectformat.object_id(b"blob", b"", sha256=repo.sha256))
        repo.run(
            *config,
            "-c",
            "core.fileMode=true",
            "-c",
            "core.symlinks=true",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.untrackedCache=keep",
            f"--work-tree={scratch}",
            "add",
            "-N",
            "-f",
            "--sparse",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            input=b"".join(p + b"\0" for p in sorted(intents)),
            env={**env, "GIT_LITERAL_PATHSPECS": "1"},
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _collapse(repo: Repo, env: Mapping[str, str], config: Sequence[str]) -> None:
    """The index as git writes a sparse one: an entry put inside a sparse folder (040000)
    expands only that folder, and git never collapses an index read with such entries again
    (`git sparse-checkout reapply` would, writing files). Written whole once, then written as
    git's settings and the patterns on disk say (the target's: restore.py writes them first);
    no file is read or written."""
    repo.run(*config, "-c", "index.sparse=false", "update-index", "--force-write-index", env=env)
    repo.run(*config, "update-index", "--force-write-index", env=env)


def _set_flag(
    repo: Repo,
    env: Mapping[str, str],
    flag: str,
    *,
    clear: Set[bytes],
    mark: Set[bytes],
    config: Sequence[str] = (),
) -> None:
    if not clear and not mark:
        return
    present = {p for p in repo.out("ls-files", "-z", env=env).split(b"\0") if p}
    for option, wanted in ((f"--no-{flag}", clear), (f"--{flag}", mark)):
        paths = sorted(p for p in wanted if p in present)
        if paths:
            repo.run(
                *config,
                "update-index",
                option,
                "-z",
                "--stdin",
                input=b"".join(p + b"\0" for p in paths),
                env=env,
            )


def sparse_again(repo: Repo) -> None:
    """The index written sparse where the sparse settings came back after it was put back
    under the operation's (coreplace.py: a `git sparse-checkout disable` taken back), so that
    it is whole: git would make it sparse as it reads it, which git 2.39 does wrong where it
    holds an intent-to-add entry (every entry named as the first). Those entries are taken out
    first, the index read whole; then it is written sparse, and they are made again."""
    whole = ("-c", "index.sparse=false")
    listing = repo.run(*whole, "ls-files", "-z", "-s", "--debug", check=False)
    if listing.returncode != 0:
        return  # an index git cannot read: left as it is
    chunks = listing.stdout.split(b"\0")
    intents: dict[bytes, str] = {}
    entry = chunks[0]  # `<mode> <object> <stage>\t<path>`
    for chunk in chunks[1:]:
        at = chunk.find(b"\n", chunk.find(b"flags:"))
        if at < 0:
            break  # (the end)
        if int(chunk[:at].rsplit(b"flags:", 1)[1].strip(), 16) & _INTENT_TO_ADD:
            info, path = entry.split(b"\t", 1)
            intents[path] = info.split(b" ", 1)[0].decode()
        entry = chunk[at + 1 :]
    if not intents:
        return  # git makes it sparse itself, as it reads it
    listed = b"".join(p + b"\0" for p in intents)
    repo.run(*whole, "update-index", "--force-remove", "-z", "--stdin", input=listed)
    repo.run("update-index", "--force-write-index")
    add_intents(repo, intents, {})
