"""The capture's side of Git LFS content kept outside `.git/objects` (lfskeep.py says how): a
file's bytes that are exactly an object of the LFS store are held as a marker, the content kept
by a hard link into `.git/atomic/lfs/objects`, and every marker recorded before a checkpoint
names it. Imported only where a rule converts files (conversion.py). Split from lfskeep.py,
which keeps the markers' record and reads the content back.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import wholefile
from git_atomic.engine.git import Repo
from git_atomic.engine.lfskeep import (
    MAGIC,
    MIN_SIZE,
    Kept,
    blob_id,
    git_stores,
    kept_folder,
    lfs_objects,
    markers,
)

_CHUNK: Final = 1 << 20


def _linked(repo: Repo) -> bool:
    """Whether our folder, or a name in it read or written by name, is a symbolic link (an
    operation's): never read or written through, so no marker is made (the content is stored
    as a blob, as without a store)."""
    folder = kept_folder(repo)
    for path in (folder, folder / "objects", folder / "key", folder / "markers"):
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return True
    return False


class Keeper:
    """The capture's side: markers for content the LFS store holds (`markers_for`), recorded
    (`record`) before a checkpoint names them."""

    def __init__(self, repo: Repo, objects: Path) -> None:
        self.repo = repo
        self.objects = objects
        self.folder = kept_folder(repo)
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
            ids = {i: blob_id(contents[i], sha256=self.repo.sha256) for i in found}
            stored = git_stores(self.repo, list(ids.values()))
            found = {i: m for i, m in found.items() if ids[i] not in stored}
        return found

    def _marker(self, digest: str, size: int) -> bytes:
        marker = b"%skey %s\noid sha256:%s\nsize %d\n" % (
            MAGIC,
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
