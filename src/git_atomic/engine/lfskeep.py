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
(restorefiles.py), its check that a file is still what the rescue saw (unchanged.py) and a
commit of commits mode (conversion.as_git_commits) read the kept content for it, checked
against its SHA-256. `git atomic gc` removes the links that no marker still stored names.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.core.records import dataclass
from git_atomic.engine.git import Repo

# Smaller files cost little to store twice, and every file read would be hashed once more.
MIN_SIZE: Final = 16 << 10
_CHUNK: Final = 1 << 20
_HEX64: Final = re.compile(rb"[0-9a-f]{64}")
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


def lfs_objects(repo: Repo) -> Path | None:
    """The LFS store's objects folder (`lfs.storage`, relative to the git dir, or `.git/lfs`),
    or None when there is none: then a capture does nothing of this module's."""
    storage = repo.config("lfs.storage")
    base = repo.common_dir / os.path.expanduser(storage) if storage else repo.common_dir / "lfs"
    objects = base / "objects"
    return objects if objects.is_dir() else None


class Keeper:
    """The capture's side: markers for content the LFS store holds (`marker_for`), recorded
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
        return None if objects is None else cls(repo, objects)

    def held(self, data: bytes) -> str | None:
        """The SHA-256 of `data` when the LFS store holds exactly these bytes and they are
        kept by a hard link now; None: they must be stored as they are."""
        if len(data) < MIN_SIZE:
            return None
        digest = hashlib.sha256(data).hexdigest()
        store = self.objects / digest[:2] / digest[2:4] / digest
        return digest if self._kept(store, digest, data) else None

    def marker_for(self, data: bytes) -> bytes | None:
        """The marker to hold instead of `data` (see `held`); None: hold `data` itself."""
        digest = self.held(data)
        if digest is None:
            return None
        kept = Kept(digest, len(data))
        marker = b"%skey %s\noid sha256:%s\nsize %d\n" % (
            _MAGIC,
            self.key(),
            digest.encode(),
            len(data),
        )
        self.made[marker] = kept
        return marker

    def _kept(self, store: Path, digest: str, data: bytes) -> bool:
        """Whether our hard link holds exactly `data`: made from the store's file if need be."""
        ours = self.folder / "objects" / digest
        if _same(ours, data):
            return True
        if ours.exists() or ours.is_symlink():
            return False  # other bytes: damaged; never trusted, never replaced
        try:
            if not stat.S_ISREG(store.lstat().st_mode):
                return False
            ours.parent.mkdir(parents=True, exist_ok=True)
            os.link(store, ours, follow_symlinks=False)
        except FileExistsError:
            return _same(ours, data)  # linked by another capture meanwhile
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK):
                return False  # not in the store, or no link possible: the blob is stored
            raise
        if _same(ours, data):
            return True
        ours.unlink()  # the store's file does not hold what its name says
        return False

    def key(self) -> bytes:
        if self._key is None:
            path = self.folder / "key"
            try:
                self._key = path.read_bytes().strip()
            except FileNotFoundError:
                self.folder.mkdir(parents=True, exist_ok=True)
                fresh = secrets.token_hex(16).encode()
                try:
                    with open(path, "xb") as fh:
                        fh.write(fresh + b"\n")
                        fh.flush()
                        os.fsync(fh.fileno())
                    self._key = fresh
                except FileExistsError:  # made by another capture meanwhile
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
        if not lines:
            return
        fd = os.open(self.folder / "markers", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines)
            os.fsync(fd)
        finally:
            os.close(fd)


def _same(path: Path, data: bytes) -> bool:
    """Whether the file at `path` (not a link) holds exactly `data`, read in chunks."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    view = memoryview(data)
    with open(fd, "rb") as fh:
        if os.fstat(fh.fileno()).st_size != len(data):
            return False
        pos = 0
        while chunk := fh.read(_CHUNK):
            if view[pos : pos + len(chunk)] != chunk:
                return False
            pos += len(chunk)
        return pos == len(data)


def markers(repo: Repo) -> dict[str, Kept]:
    """Every marker recorded (blob id -> content): {} in a repository without them, at the
    cost of one failed open."""
    try:
        raw = (_folder(repo) / "markers").read_bytes()
    except FileNotFoundError:
        return {}
    found: dict[str, Kept] = {}
    for line in raw.split(b"\n"):
        fields = line.split(b" ")
        # A line cut by a crash is left out; a name is only ever 64 hex digits.
        if len(fields) == 3 and fields[2].isdigit() and _HEX64.fullmatch(fields[1]):
            found[fields[0].decode()] = Kept(fields[1].decode(), int(fields[2]))
    return found


def content(repo: Repo, kept: Kept) -> bytes:
    """The kept bytes, checked against their SHA-256 and size."""
    path = _folder(repo) / "objects" / kept.sha256
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DamagedContent(f"the LFS content {kept.sha256} kept at {path} is gone") from exc
    if len(data) != kept.size or hashlib.sha256(data).hexdigest() != kept.sha256:
        raise DamagedContent(f"the LFS content kept at {path} is not what it was kept for")
    return data


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
            if name not in named and st.st_ctime > day_ago:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        if st.st_nlink == 1:  # the store's name is gone too: the bytes are freed
            freed += st.st_size
    return freed
