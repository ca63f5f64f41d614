"""Git LFS content that a checkpoint holds without a second copy in `.git/objects`.

A clone made with git-lfs has each LFS file's content twice already: on disk and in the LFS
store (`.git/lfs/objects/<aa>/<bb>/<sha256>`). A checkpoint holds the bytes on disk
(conversion.py), so it used to copy that content into `.git/objects` a third time. Now, when a
file's bytes are exactly an object of the LFS store (same SHA-256, same size, and the same bytes,
compared, never trusted by name), the checkpoint holds a small *marker* blob in its place, and
the content is kept by a hard link into `.git/atomic/lfs/objects/<sha256>`: a `git lfs prune`
that removes the store's name leaves ours, so nothing a checkpoint holds can go. Where no hard
link can be made (another file system), the content is stored as any other blob.

A marker names the content's SHA-256 and size and a key of this repository, made at random
once (`.git/atomic/lfs/key`): no file of yours holds those bytes unless copied from one. Every
marker is recorded in `.git/atomic/lfs/markers` before any checkpoint names it. A restore
(restorefiles.py), its check that a file is still what the rescue saw (unchanged.py), a commit
of commits mode (commitview.py) and an agent turn's commit (`without_markers`) read
the kept content for it (or the LFS store's, where our link is gone), checked against its
SHA-256; a merge of trees sees a marker and the blob of the same bytes alike (`alike`).
`git atomic gc` removes the links that no marker still stored names.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import patterns, wholefile
from git_atomic.core.errors import AtomicError
from git_atomic.core.records import dataclass
from git_atomic.engine.git import Repo

# Smaller files cost little to store twice, and every file read would be hashed once more.
MIN_SIZE: Final = 16 << 10
_CHUNK: Final = 1 << 20
_HEX64: Final = re.compile(rb"[0-9a-f]{64}")
_OID: Final = patterns.keep(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_MAGIC: Final = b"git-atomic: Git LFS content kept outside .git/objects (.git/atomic/lfs)\n"


@dataclass(frozen=True)
class Kept:
    """Content kept by a hard link: its SHA-256 (hex) and size."""

    sha256: str
    size: int


class DamagedContent(AtomicError):
    """Kept content whose bytes are no longer the ones it was kept for."""


def _folder(repo: Repo) -> Path:
    return repo.state_dir / "lfs"


def _linked(repo: Repo) -> bool:
    """Whether our folder, or a name in it read or written by name, is a symbolic link (an
    operation's): never read or written through, so no marker is made (the content is stored
    as a blob, as without a store)."""
    folder = _folder(repo)
    for path in (folder, folder / "objects", folder / "key", folder / "markers"):
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return True
    return False


def lfs_objects(repo: Repo) -> Path | None:
    """The LFS store's objects folder (`lfs.storage`, relative to the git dir, or `.git/lfs`),
    or None when there is none: then a capture does nothing of this module's."""
    storage = repo.config("lfs.storage")
    base = repo.common_dir / os.path.expanduser(storage) if storage else repo.common_dir / "lfs"
    objects = base / "objects"
    return objects if objects.is_dir() else None


class Keeper:
    """The capture's side: markers for content the LFS store holds (`markers_for`), recorded
    (`record`) before a checkpoint names them."""

    def __init__(self, repo: Repo, objects: Path) -> None:
        self.repo = repo
        self.objects = objects
        self.folder = _folder(repo)
        self._key: bytes | None = None
        self.made: dict[bytes, Kept] = {}  # marker bytes -> content, made by this capture

    @classmethod
    def open(cls, repo: Repo) -> Keeper | None:
        objects = lfs_objects(repo)
        return None if objects is None or _linked(repo) else cls(repo, objects)

    def held(self, data: bytes, st: os.stat_result | None = None) -> str | None:
        """The SHA-256 of `data` when the LFS store holds exactly these bytes and they are
        kept by a hard link now; None: they must be stored as they are. `st`: the file they
        were read from, which must not be that link's file itself (a file a dedup tool linked
        to the store's: a write into it would change the kept bytes too)."""
        if len(data) < MIN_SIZE:
            return None
        digest = hashlib.sha256(data).hexdigest()
        store = self.objects / digest[:2] / digest[2:4] / digest
        ours = self._kept(store, digest, data)
        if ours is None or (
            st is not None and (ours.st_dev, ours.st_ino) == (st.st_dev, st.st_ino)
        ):
            return None
        return digest

    def markers_for(
        self, contents: Sequence[bytes], stats: Sequence[os.stat_result | None]
    ) -> dict[int, bytes]:
        """Of `contents` (with the stat data of the files read), those to hold as a marker:
        index -> the marker. Bytes git stores already are held as their blob, never as a
        marker: the same bytes then have one id in every checkpoint, and an operation's
        effect is never a change from one to the other."""
        found: dict[int, bytes] = {}
        for i, (data, st) in enumerate(zip(contents, stats, strict=True)):
            digest = self.held(data, st)
            if digest is not None:
                found[i] = self._marker(digest, len(data))
        if found:
            ids = {i: _blob_id(contents[i], sha256=self.repo.sha256) for i in found}
            stored = _stored(self.repo, list(ids.values()))
            found = {i: m for i, m in found.items() if ids[i] not in stored}
        return found

    def _marker(self, digest: str, size: int) -> bytes:
        marker = b"%skey %s\noid sha256:%s\nsize %d\n" % (
            _MAGIC,
            self.key(),
            digest.encode(),
            size,
        )
        self.made[marker] = Kept(digest, size)
        return marker

    def _kept(self, store: Path, digest: str, data: bytes) -> os.stat_result | None:
        """Our hard link's status data when it holds exactly `data` (made from the store's
        file if need be); None when it cannot."""
        ours = self.folder / "objects" / digest
        seen = _same(ours, data)
        if seen is not None:
            return seen
        if ours.exists() or ours.is_symlink():
            return None  # other bytes: damaged; never trusted, never replaced
        if self.repo.quarantine is not None:  # a dry run links nothing: the store's file, seen
            return _same(store, data)
        try:
            if not stat.S_ISREG(store.lstat().st_mode):
                return None
            ours.parent.mkdir(parents=True, exist_ok=True)
            os.link(store, ours, follow_symlinks=False)
        except FileExistsError:
            return _same(ours, data)  # linked by another capture meanwhile
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK):
                return None  # not in the store, or no link possible: the blob is stored
            raise
        seen = _same(ours, data)
        if seen is None:
            ours.unlink()  # the store's file does not hold what its name says
        return seen

    def key(self) -> bytes:
        """This repository's key, made at random once: written whole under another name, then
        linked to its own (never seen half written, never made twice)."""
        if self._key is None:
            path = self.folder / "key"
            try:
                self._key = path.read_bytes().strip()
            except FileNotFoundError:
                if self.repo.quarantine is not None:  # a dry run's, made for it alone
                    self._key = secrets.token_hex(16).encode()
                    return self._key
                self.folder.mkdir(parents=True, exist_ok=True)
                scratch = self.folder / f"key.{os.getpid()}.tmp"
                wholefile.write_new(scratch, secrets.token_hex(16).encode() + b"\n")
                try:
                    os.link(scratch, path)
                except FileExistsError:
                    pass  # made by another capture meanwhile: that one is the key
                finally:
                    scratch.unlink(missing_ok=True)
                self._key = path.read_bytes().strip()
        return self._key

    def record(self, oids: Mapping[bytes, str]) -> None:
        """Record the markers written (marker bytes -> blob id), before a checkpoint names
        them: one appended write, whole lines, flushed to disk."""
        known = markers(self.repo)
        lines = b"".join(
            b"%s %s %d\n" % (oids[m].encode(), k.sha256.encode(), k.size)
            for m, k in self.made.items()
            if m in oids and oids[m] not in known
        )
        if not lines or self.repo.quarantine is not None:  # (a dry run's are not kept)
            return
        fd = os.open(self.folder / "markers", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines)
            os.fsync(fd)
        finally:
            os.close(fd)


def _same(path: Path, data: bytes) -> os.stat_result | None:
    """The status data of the file at `path` (not a link) when it holds exactly `data`, read
    in chunks; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    view = memoryview(data)
    with open(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return None
        pos = 0
        while chunk := fh.read(_CHUNK):
            if view[pos : pos + len(chunk)] != chunk:
                return None
            pos += len(chunk)
        return st if pos == len(data) else None


def _blob_id(data: bytes, *, sha256: bool) -> str:
    digest = hashlib.sha256() if sha256 else hashlib.sha1()
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def _stored(repo: Repo, oids: list[str]) -> set[str]:
    """Those of `oids` git stores (loose: one stat each; else one `cat-file --batch-check`)."""
    found = {oid for oid in oids if repo.is_loose(oid)}
    rest = [oid for oid in oids if oid not in found]
    if rest:
        answer = repo.out(
            "cat-file", "--batch-check", input="".join(o + "\n" for o in rest).encode()
        )
        found |= {
            line.split()[0] for line in answer.decode().splitlines() if not line.endswith("missing")
        }
    return found


def markers(repo: Repo) -> dict[str, Kept]:
    """Every marker recorded (blob id -> content): {} in a repository without them, at the
    cost of one failed open."""
    folder = _folder(repo)
    try:  # never through a link (`_linked`)
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            return {}
        fd = os.open(folder / "markers", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb") as fh:
            raw = fh.read()
    except OSError:  # none, or unreadable: no marker is known (a restore reads one anyway)
        return {}
    found: dict[str, Kept] = {}
    for line in raw.split(b"\n"):
        fields = line.split(b" ")
        # A line cut by a crash is left out; ids and names are only ever hex digits.
        if (
            len(fields) == 3
            and re.fullmatch(_OID, fields[0])
            and _HEX64.fullmatch(fields[1])
            and fields[2].isdigit()
        ):
            found[fields[0].decode()] = Kept(fields[1].decode(), int(fields[2]))
    return found


def parse_marker(data: bytes) -> Kept | None:
    """The content a blob's bytes stand for, when they are a marker whose record is lost (a
    removed `.git/atomic/lfs`, whose key went with it: any key then). None for other bytes."""
    if not data.startswith(_MAGIC) or len(data) > 512:
        return None
    fields = dict(line.split(b" ", 1) for line in data[len(_MAGIC) :].splitlines() if b" " in line)
    digest = fields.get(b"oid", b"").removeprefix(b"sha256:")
    size = fields.get(b"size", b"")
    if not _HEX64.fullmatch(digest) or not size.isdigit() or b"key" not in fields:
        return None
    return Kept(digest.decode(), int(size))


def content(repo: Repo, kept: Kept) -> bytes:
    """The kept bytes, checked against their SHA-256 and size: from our hard link, else from
    the LFS store itself."""
    places = [_folder(repo) / "objects" / kept.sha256]
    store = lfs_objects(repo)
    if store is not None:
        places.append(store / kept.sha256[:2] / kept.sha256[2:4] / kept.sha256)
    for path in places:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) == kept.size and hashlib.sha256(data).hexdigest() == kept.sha256:
            return data
    raise DamagedContent(
        f"the Git LFS content {kept.sha256} is neither kept in {places[0].parent} nor in the "
        "LFS store (or not with those bytes)"
    )


def noted_blobs(repo: Repo, contents: Sequence[bytes]) -> list[str]:
    """Blobs of `contents` (files an agent turn notes without a capture), each held as the
    captures hold those bytes: the marker recorded for them when there is one, its content
    kept and git not storing the bytes themselves; else the bytes, stored."""
    recorded = markers(repo)
    by_digest = {k.sha256: (oid, k) for oid, k in recorded.items()}
    folder = _folder(repo) / "objects"
    chosen: dict[int, str] = {}
    for i, data in enumerate(contents):
        if len(data) >= MIN_SIZE:
            found = by_digest.get(hashlib.sha256(data).hexdigest())
            size = found[1].size if found is not None else -1
            if found is not None and size == len(data) and (folder / found[1].sha256).is_file():
                chosen[i] = found[0]
    if chosen:
        ids = {i: _blob_id(contents[i], sha256=repo.sha256) for i in chosen}
        stored = _stored(repo, [*ids.values(), *chosen.values()])
        chosen = {i: m for i, m in chosen.items() if m in stored and ids[i] not in stored}
    rest = [i for i in range(len(contents)) if i not in chosen]
    written = dict(zip(rest, repo.write_blobs([contents[i] for i in rest]), strict=True))
    return [chosen[i] if i in chosen else written[i] for i in range(len(contents))]


def alike(repo: Repo, base: str, *others: str) -> tuple[str, ...]:
    """The trees `base` and `others`, to be merged, with each marker where they differ that
    stands for bytes git also stores as a blob replaced by that blob: the same bytes then have
    the same id on every side, and a file one side holds as a marker and another as its blob
    is no change. (A tree holds a blob only when git stores it.)"""
    trees = (base, *others)
    kept = markers(repo)
    if not kept:
        return trees
    paths = sorted(
        {
            c.path
            for other in others
            for c in repo.diff_trees(base, other)
            if c.old_oid in kept or c.new_oid in kept
        }
    )
    if not paths:
        return trees
    entries = {tree: repo.ls_tree_at(tree, paths) for tree in set(trees)}
    ids: dict[str, str] = {}
    for oid in {e.oid for found in entries.values() for e in found if e.oid in kept}:
        try:
            ids[oid] = _blob_id(content(repo, kept[oid]), sha256=repo.sha256)
        except DamagedContent:
            continue
    stored = _stored(repo, list(ids.values()))
    swap = {marker: blob for marker, blob in ids.items() if blob in stored}
    if not swap:
        return trees
    alike_trees = []
    for tree in trees:
        edits = {e.path: (e.mode, swap[e.oid]) for e in entries[tree] if e.oid in swap}
        alike_trees.append(repo.tree_edit(tree, edits) if edits else tree)
    return tuple(alike_trees)


def without_markers(repo: Repo, base: str, tree: str) -> str:
    """`tree` with each marker it holds where it differs from `base` replaced by the blob of
    the content: a visible commit holds the bytes, never a marker."""
    kept = markers(repo)
    if not kept:
        return tree
    changes = [
        c
        for c in repo.diff_trees(base, tree)
        if c.new_oid in kept and c.new_mode in ("100644", "100755")
    ]
    if not changes:
        return tree
    oids = repo.write_blobs([content(repo, kept[c.new_oid]) for c in changes])
    return repo.tree_edit(
        tree, {c.path: (c.new_mode, oid) for c, oid in zip(changes, oids, strict=True)}
    )


def retire(repo: Repo, still_stored: Iterable[str]) -> int:
    """`gc`: remove the links that no marker git still stores names (`still_stored`: the
    recorded marker ids git has), and those no marker was recorded for a day after they were
    made (a capture killed in between). The record itself only grows, by one line per
    content: a capture in another worktree may be adding to it. Returns the bytes freed."""
    recorded = markers(repo)
    needed = {recorded[oid].sha256 for oid in still_stored if oid in recorded}
    named = {k.sha256 for k in recorded.values()}
    folder = _folder(repo) / "objects"
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return 0
    freed = 0
    day_ago = time.time() - 86400
    for name in names:
        if name in needed:
            continue
        path = folder / name
        try:
            st = path.lstat()
            # A link's ctime is when it was made (making it changes the file's ctime).
            if (name not in named and st.st_ctime > day_ago) or not stat.S_ISREG(st.st_mode):
                continue
            path.unlink()
        except OSError:
            continue
        if st.st_nlink == 1:  # the store's name is gone too: the bytes are freed
            freed += st.st_size
    return freed
