"""Byte-exactness under line-ending conversion and clean/smudge filters (git-facts 7).

`git add` stores the *filtered* blob. A checkpoint must hold the bytes on disk, so where a
conversion may apply, the raw bytes of the files that may have changed since the last capture
are hashed with `--no-filters` (`raw_tree`).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core import wholefile
from git_atomic.engine import rulefiles, safefs, systemattributes
from git_atomic.engine.git import OURS_UNLOGGED, Repo, worktree_key

# Our own `git add` never converts line endings; .gitattributes rules are handled below.
NO_AUTOCRLF: Final = ("-c", "core.autocrlf=false", "-c", "core.safecrlf=false")
# The capture's own git calls (the scan's `status` and `update-index`, `add -A`) see the disk as
# it is, whatever your settings tell git to overlook (docs/design.md, "Settings the capture does
# not trust"): the executable bit, symbolic links as links, a change that only the ctime or the
# inode shows. (fsmonitor, hooks and core.ignoreStat are off for every call of ours:
# process.py; so are filters: Repo.no_filters.)
AS_ON_DISK: Final = (
    *NO_AUTOCRLF,
    "-c",
    "core.fileMode=true",
    "-c",
    "core.symlinks=true",
    "-c",
    "core.trustctime=true",
    "-c",
    "core.checkStat=default",
)
_ATTRS: Final = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")
_WORDS: Final = tuple(a.encode() for a in _ATTRS)
_EDIT_AT_MOST: Final = 300  # files past which update-index and write-tree are cheaper
_RACY_NS: Final = 1_000_000_000
_REGULAR_MODES: Final = (b"100644", b"100755")
RAW_REFS: Final = "refs/atomic/raw/"
_RECORD_V2: Final = b"v2 "
_MARKER: Final = b" m"  # a raw record entry whose blob is a marker for kept LFS content
_HELD_AT_MOST: Final = 64 << 20  # bytes read before they are handed to git
_PATHS_AT_MOST: Final = 1000  # paths per command line (argument lists have a limit)
# in_ignored_folders's answers, by staged tree and ignored folders (trees never change)
_IN_IGNORED: dict[tuple[str, tuple[bytes, ...]], list[bytes]] = {}
_KEPT_AT_MOST: Final = 16


class Settled(NamedTuple):
    """What a scan says of the files since the capture before it (scanbits.Brought): `since`,
    the second that capture's scan began; `looked`, the files that may have changed since, or
    whose stat data it took anew (the rest have the stat data they had then); `now`, the second
    this scan began."""

    since: int | None  # None: no record of that capture's was trusted, every file looked at
    looked: frozenset[bytes]
    now: int


class Rule(NamedTuple):
    every_file: bool  # core.autocrlf is on: the stat cache's blobs may all be converted ones
    attributes: bool  # some attributes file may ask for a conversion

    @property
    def active(self) -> bool:
        return self.every_file or self.attributes


def detect(repo: Repo, attribute_files: Sequence[bytes], *, staged: Sequence[bytes] = ()) -> Rule:
    """`attribute_files`: every `.gitattributes` of the capture (the caller finds them in the
    listings it has, without another scan of the tree). `staged`: those of them the index
    holds: git reads one gone from the disk from the index, so one that cannot be read here
    counts as asking for a conversion. Every attributes file git reads counts: the system's
    too; and where git is told to read the `.gitattributes` from a tree, a conversion is
    counted as possible (systemattributes.py)."""
    autocrlf = repo.autocrlf()
    mention = (
        systemattributes.from_tree(repo)
        or _attribute_files_mention_conversion(repo, attribute_files, frozenset(staged))
        or systemattributes.mentions(repo, _WORDS)
    )
    return Rule(every_file=autocrlf, attributes=mention)


def in_ignored_folders(repo: Repo, staged_tree: str, ignored: Sequence[bytes]) -> list[bytes]:
    """The `.gitattributes` that may stand beside tracked files in folders a rule ignores (a
    `git add -f build/keep.txt`, a `build/.gitattributes` that says `eol=crlf`): git applies
    them to those files, and the walk never looks into such a folder, so a capture took a CRLF
    file there for the stat cache's LF blob. Each folder the index holds at or under one of
    `ignored` (one `ls-tree` for them all), its `.gitattributes` named whether it is there or
    not (`detect` reads the ones that are). Kept per tree and folders: a capture of the same
    index (PRE-OP's, then the state an operation that staged nothing left) asks git once."""
    key = (staged_tree, tuple(ignored))
    if key in _IN_IGNORED:
        return list(_IN_IGNORED[key])
    found: list[bytes] = []
    literal = {"GIT_LITERAL_PATHSPECS": "1"}
    for at in range(0, len(ignored), _PATHS_AT_MOST):
        names = [os.fsdecode(p) for p in ignored[at : at + _PATHS_AT_MOST]]
        listing = repo.out(
            "ls-tree", "-r", "-d", "-z", "--full-tree", staged_tree, "--", *names, env=literal
        )
        found += [item.partition(b"\t")[2] + b"/.gitattributes" for item in listing.split(b"\0")]
    if len(_IN_IGNORED) >= _KEPT_AT_MOST:
        _IN_IGNORED.clear()
    _IN_IGNORED[key] = [path for path in found if path != b"/.gitattributes"]
    return list(_IN_IGNORED[key])


def _attribute_files_mention_conversion(
    repo: Repo, paths: Sequence[bytes], staged: frozenset[bytes]
) -> bool:
    candidates: list[Path] = [repo.common_dir / "info" / "attributes"]
    # One in the worktree is read as its other files are, never through a link (a link, a
    # path through one, or one that cannot be read, counts as mentioning a conversion: the
    # exact way then); one elsewhere is your configuration. A relative one from the top, its
    # way worked out as the kernel's (rulefiles.py).
    named = rulefiles.configured(repo, "core.attributesFile", "attributes")
    if named.linked:
        return True
    in_tree = named.in_tree
    if in_tree is None:
        candidates.append(Path(named.path))
    for path in candidates:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(word in data for word in _WORDS):
            return True
    with safefs.Tree(os.fsencode(repo.root)) as tree:  # never read through a link
        if in_tree is not None:
            found = tree.read(in_tree)
            if found is None and tree.lstat(in_tree) is not None:
                return True
            if any(w in (found or b"") for w in _WORDS):
                return True
        for name in dict.fromkeys(paths):
            found = tree.read(name)
            if (found is None and name in staged) or any(w in (found or b"") for w in _WORDS):
                return True
    return False


def raw_tree(
    repo: Repo,
    filtered_index: Path,
    filtered_tree: str,
    scratch: Path,
    *,
    leave_out: frozenset[bytes] = frozenset(),
    listed: Mapping[str, str] | None = None,
    settled: Settled | None = None,
    index_current: bool = True,
) -> str:
    """The tree of the files' raw bytes: `filtered_tree` (the scan's, git's filtered blobs)
    with each regular file's blob replaced by its raw bytes' blob where they differ.
    `leave_out`: files the index names that the tree left out (over the budget): never read,
    never in the raw tree. `listed`: the capture's refs, the raw record's among them when
    there is one (`raw_ref_name`: else git is asked).

    `git status` cannot say which raw bytes changed: a file re-read because its stat data
    changed is clean to it when its *filtered* bytes are the same (`a\r\n` for `a\n` under
    `eol=lf`). So the raw side keeps a record of its own (`RawRecord`): each file's stat data
    when its raw bytes were last hashed. A file whose stat data is the recorded one keeps the
    recorded blob; every other file is hashed again. The first capture hashes every file.

    `settled`: where the capture that checked the record began its scan in `settled.since`
    or later (its stamp says so), a file the scan did not look at again (`settled.looked`)
    has the stat data it had when the record's entry was checked: it keeps that entry, not
    lstat again (scanbits.py argues the same of the files' bits). A change since has a ctime
    of that second or later, a file that came to its path without one (a folder renamed in)
    has its stat data taken anew against the scan index the scan started from: both are
    looked at. That scan index took its stat data before the record was checked: each capture
    that keeps one either checks the record (a rule applies) or takes the stamp away
    (capturedisk.py), and a later stamp is a rescue's, whose scan started from the scan index
    its restore goes back to and is not kept (an abort, a failed run: the next capture trusts
    the record it checked, though it ran in a later second).

    `index_current=False`: `filtered_index` does not have `filtered_tree`'s entries (a rescue's
    scan, whose index is not brought up to date: scan.goes_back). The files and their filtered
    blobs are then read from the tree, through an index of it made for this: an older blob of
    the scan index's, the raw one, would hide that the tree holds a file's converted bytes
    (a rule added since converts a file nobody changed)."""
    if not index_current:
        made = repo.scratch_path("rawtree")
        try:
            repo.run("read-tree", filtered_tree, env={"GIT_INDEX_FILE": str(made)})
            return raw_tree(
                repo,
                made,
                filtered_tree,
                scratch,
                leave_out=leave_out,
                listed=listed,
                settled=settled,
            )
        finally:
            made.unlink(missing_ok=True)
    listing = repo.out("ls-files", "-z", "-s", env={"GIT_INDEX_FILE": str(filtered_index)})
    # (mode, blob, path), kept as bytes: ten thousand decodes are most of a trusted capture
    regular: list[tuple[bytes, bytes, bytes]] = []
    for item in listing.split(b"\0"):
        if not item:
            continue
        head, _, path = item.partition(b"\t")
        mode, oid, _ = head.split(b" ", 2)
        if mode in _REGULAR_MODES and path not in leave_out:
            regular.append((mode, oid, path))
    record = RawRecord.load(repo, listed)
    width = len(filtered_tree)  # an object id's, in hex: SHA-1 or SHA-256
    fresh = time.time_ns() - _RACY_NS
    kept: dict[bytes, bytes] = {}  # path -> the record's entry, its stat data unchanged
    again: list[bytes] = []
    paths = [path for _, _, path in regular]
    marked: list[bytes] = []  # kept entries that are markers for LFS content (lfskeep.py)
    since = settled.since if settled is not None else None
    stamped = record.stamped(repo) if since is not None else None
    trusted = since is not None and stamped is not None and stamped >= since
    if trusted:
        assert settled is not None
        looked, entries = settled.looked, record.entries
        paths = [p for p in paths if p in looked or p not in entries]
        kept = {p: entries[p] for _, _, p in regular if p not in looked and p in entries}
        marked = [p for p, known in kept.items() if known.endswith(_MARKER)]
        if os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1":  # under test: the disk agrees
            _verify_kept(repo, kept, width)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, st in zip(paths, tree.lstat_many(paths), strict=True):
            known = record.entries.get(path)
            if known is None or st is None:
                again.append(path)
                continue
            key = known[width + 1 :]
            if key.endswith(_MARKER):
                key = key[: -len(_MARKER)]
                marked.append(path)
            if key == _stat_key(st):
                kept[path] = known
            else:
                again.append(path)
        if marked:
            unkept = _unkept(repo, {p: kept[p][:width].decode() for p in marked if p in kept})
            again += unkept
            for path in unkept:
                del kept[path]
        hashed = _hash_copies(repo, tree, again, fresh, scratch)
    raw = {path: entry[:width] for path, entry in kept.items()}
    raw.update((path, oid.encode()) for path, (_, oid) in hashed.items())
    edits: dict[bytes, tuple[str, str] | None] = {
        path: (mode.decode(), raw[path].decode())
        for mode, oid, path in regular
        if raw.get(path, oid) != oid
    }
    # A file gone since the scan keeps the scan's entry, its bytes then: not where that entry
    # is git-lfs's pointer of them (scanindex.lfs_pointers), which are not its bytes.
    unread = {path: oid for _, oid, path in regular if path not in raw}
    if unread and "lfs" in repo.filter_names():
        from git_atomic.engine import lfspointer

        asked = [oid.decode() for oid in unread.values()]
        pointers = {
            oid.encode() for oid, data in repo.cat_blobs(asked) if lfspointer.is_pointer(data)
        }
        edits.update((path, None) for path, oid in unread.items() if oid in pointers)
    if len(edits) <= _EDIT_AT_MOST:
        result = repo.tree_edit(filtered_tree, edits)
    else:
        result = _written_tree(repo, filtered_index, edits, scratch)
        gone = [path for path, entry in edits.items() if entry is None]
        if leave_out or gone:  # written from the index, which still names them
            result = repo.tree_without(result, [*leave_out, *gone])
    kept.update((p, oid.encode() + b" " + key) for p, (key, oid) in hashed.items() if key)
    # (Else the record stands as it is; a dry run's tree is in its own store: kept nowhere.)
    if repo.quarantine is None:
        if result != record.tree or kept != record.entries:
            RawRecord(result, kept).save(repo)
        RawRecord.stamp(repo, result, settled.now if settled is not None else None)
    return result


def _verify_kept(repo: Repo, kept: Mapping[bytes, bytes], width: int) -> None:
    """Each entry kept without a look has the stat data of the file on disk: else the trust
    (`Settled`) was wrong, and the test that made it so fails here."""
    paths = list(kept)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, st in zip(paths, tree.lstat_many(paths), strict=True):
            key = kept[path][width + 1 :].removesuffix(_MARKER)
            if key != _stat_key(st):
                raise AssertionError(f"raw record trusted for a changed file: {path!r}")


def _unkept(repo: Repo, marked: dict[bytes, str]) -> list[bytes]:
    """Of the files the raw record holds as markers (path -> marker blob), those whose marker
    is no longer recorded or whose content is no longer kept: read again."""
    from git_atomic.engine import lfskeep

    recorded = lfskeep.markers(repo)
    folder = repo.state_dir / "lfs" / "objects"
    return [
        path
        for path, oid in marked.items()
        if oid not in recorded or not (folder / recorded[oid].sha256).is_file()
    ]


def _stat_key(st: os.stat_result | None) -> bytes:
    """A regular file's device, inode, size, mtime, ctime and mode, as the record holds them;
    b"" for anything else."""
    if st is None or not stat.S_ISREG(st.st_mode):
        return b""
    return b"%d %d %d %d %d %d" % (
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_mode,
    )


def _hash_copies(
    repo: Repo, tree: safefs.Tree, paths: list[bytes], fresh: int, scratch: Path
) -> dict[bytes, tuple[bytes, str]]:
    """Blobs of the files' raw bytes, each read from its folder's descriptor (never through a
    link) and fed to git as read (Repo.write_blobs), with the stat data they were read under:
    b"" when a write may have come between (the stat data changed while reading), or when it
    is within the last second (a timestamp's granularity: the same stat data could yet hold
    other bytes), so that the next capture reads them again."""
    del scratch
    found: dict[bytes, tuple[bytes, str]] = {}
    read: list[tuple[bytes, bytes, bytes, os.stat_result]] = []
    held = 0
    # Content the LFS store holds is held as a marker, kept by a hard link (lfskeeper.py).
    from git_atomic.engine import lfskeeper  # only where a rule converts files

    keeper = lfskeeper.Keeper.open(repo)

    def store() -> None:
        contents = [data for _, _, data, _ in read]
        markers = keeper.markers_for(contents, [st for *_, st in read]) if keeper else {}
        for i, marker in markers.items():
            contents[i] = marker
        oids = repo.write_blobs(contents)
        if keeper is not None:
            keeper.record({marker: oids[i] for i, marker in markers.items()})
        found.update(
            (path, (key + _MARKER if i in markers and key else key, oid))
            for i, ((path, key, _, _), oid) in enumerate(zip(read, oids, strict=True))
        )
        read.clear()

    for path in paths:
        before = tree.lstat(path)
        if before is None or not stat.S_ISREG(before.st_mode):
            continue  # gone, or no longer a file, since the scan: left as git saw it
        data = tree.read(path)
        if data is None:
            continue
        key = _stat_key(before)
        steady = _stat_key(tree.lstat(path)) == key
        steady = steady and before.st_mtime_ns < fresh and before.st_ctime_ns < fresh
        read.append((path, key if steady else b"", data, before))
        held += len(data)
        if held > _HELD_AT_MOST:  # the first capture reads every file: not all in memory
            store()
            held = 0
    store()
    return found


def _written_tree(
    repo: Repo, filtered_index: Path, edits: dict[bytes, tuple[str, str] | None], scratch: Path
) -> str:
    """Past a few hundred files, a copy of the scan index edited and written is cheaper."""
    from git_atomic.engine import indexstate  # not before the scan starts (early.py)

    indexstate.copy_index(filtered_index, scratch)
    env = {"GIT_INDEX_FILE": str(scratch)}
    try:
        info = b"".join(
            f"{new[0]} {new[1]}\t".encode() + path + b"\0"
            for path, new in edits.items()
            if new is not None
        )
        repo.run("update-index", "-z", "--index-info", input=info, env=env)
        return repo.line("write-tree", env=env)
    finally:
        scratch.unlink(missing_ok=True)


def _stamp_path(repo: Repo) -> Path:
    path = RawRecord._names(repo)[0]
    return path.with_name(path.name + ".since")


def raw_ref_name(repo: Repo) -> str:
    return RawRecord._names(repo)[1]


def retire_raw(repo: Repo, *, unused_since: int) -> bool:
    """`gc`: the raw record and its ref go when no capture wrote the record since
    `unused_since` (ns: gc's own capture, just made, found no rule asking for it); True if
    they went. Its blobs are then unreachable, and go at git's prune horizon."""
    path, ref = RawRecord._names(repo)
    try:
        if path.stat().st_mtime_ns >= unused_since:
            return False
    except FileNotFoundError:
        pass
    old = repo.refs(ref).get(ref)
    _stamp_path(repo).unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    if old is None:
        return False
    repo.run("update-ref", "--no-deref", "-d", ref, old, check=False)
    return True


class RawRecord(NamedTuple):
    """Each file's stat data (device, inode, size, mtime, ctime and mode) when its raw bytes
    were hashed, and their blob: `.git/atomic/raw-<worktree>`. Trusted only while
    `refs/atomic/raw/<worktree>` names its tree, which keeps those blobs from `git gc`.
    The file: `v2 <tree>` on a line, then `<path> NUL <blob> <stat data> NUL` for each file,
    read with one split (a capture reads it whole: 10,000 files in a few milliseconds)."""

    tree: str | None
    entries: dict[bytes, bytes]  # path -> b"<blob> <stat data>"

    @staticmethod
    def _names(repo: Repo) -> tuple[Path, str]:
        key = worktree_key(repo)
        return repo.state_dir / f"raw-{key}", RAW_REFS + key

    @classmethod
    def load(cls, repo: Repo, listed: Mapping[str, str] | None = None) -> RawRecord:
        """The record, trusted while its ref names its tree (`listed`: the refs listed with
        its own, `raw_ref_name`, or None to ask git)."""
        path, ref = cls._names(repo)
        empty = cls(None, {})
        try:  # never through a link, never waiting on a fifo (a state file: wholefile.py)
            data = wholefile.read(path, limit=1 << 34)
        except OSError:
            return empty
        header, _, body = data.partition(b"\n")
        if not header.startswith(_RECORD_V2):  # an older format: read every file once more
            return empty
        tree = header[len(_RECORD_V2) :]
        if listed is not None:
            named = listed.get(ref, "").encode()
        else:
            named = repo.run("rev-parse", "-q", "--verify", ref, check=False).stdout.strip()
        fields = body.split(b"\0")
        if not tree or named != tree or len(fields) % 2 != 1 or fields[-1]:
            return empty
        return cls(tree.decode(), dict(zip(fields[0:-1:2], fields[1:-1:2], strict=True)))

    def stamped(self, repo: Repo) -> int | None:
        """The second the scan of the capture that last checked every entry began (`stamp`),
        while the record is the one it checked; else None."""
        try:
            body = wholefile.read(_stamp_path(repo), limit=256)
        except OSError:
            return None
        tree, _, since = body.partition(b" ")
        if self.tree is None or tree.decode(errors="replace") != self.tree:
            return None
        return int(since) if since.isdigit() else None

    @classmethod
    def stamp(cls, repo: Repo, tree: str, since: int | None) -> None:
        """Say every entry of the record of `tree` held when the scan that began in `since`
        looked (None: no scan said when; the stamp goes). A cache: not written, the next
        capture looks at every file."""
        path = _stamp_path(repo)
        try:
            if since is None:
                path.unlink(missing_ok=True)
            else:
                wholefile.replace(path, f"{tree} {since}".encode(), durable=False)
        except OSError:
            pass

    def save(self, repo: Repo) -> None:
        path, ref = self._names(repo)
        assert self.tree is not None
        body = b"".join(rel + b"\0" + entry + b"\0" for rel, entry in self.entries.items())
        try:  # the aside name made anew, the name replaced: never written through a link
            wholefile.replace(path, _RECORD_V2 + self.tree.encode() + b"\n" + body, durable=False)
        except OSError:
            return  # a cache: losing it costs time, never exactness
        repo.run(
            *OURS_UNLOGGED,
            "update-ref",
            "--no-deref",
            "-m",
            "git-atomic: raw files",
            ref,
            self.tree,
        )
