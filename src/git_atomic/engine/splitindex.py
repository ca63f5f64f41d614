"""A split index (`core.splitIndex`, `update-index --split-index`): which shared index an index
file uses. Our scan index is written split past 40,000 files (scanindex.py), and yours may be:
its own file then holds only the entries changed since its shared index, so what it says of
itself (its version, say) is not all of it (indexstate.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO, Final

from git_atomic.engine.git import Repo

SHARED: Final = "sharedindex."
_EXTENSIONS_AT_MOST: Final = 64  # git writes fewer than ten kinds


def shared_of(repo: Repo, index: Path) -> str | None:
    """The name of the shared index a split index file uses, None for a whole one. The "link"
    extension of a split index holds its shared index's object name, which names the file."""
    try:
        names = [n for n in os.listdir(repo.git_dir) if n.startswith(SHARED)]
        if not names:
            return None
        width = 32 if repo.sha256 else 20
        oids: dict[str, bytes] = {}
        for name in names:
            try:
                oid = bytes.fromhex(name[len(SHARED) :])
            except ValueError:
                continue
            if len(oid) == width:
                oids[name] = oid
        return _found(index, oids, width)
    except OSError:
        return None


def _found(index: Path, oids: dict[str, bytes], width: int) -> str | None:
    """The first of `oids` (names -> object names) in `index` but its last `width` bytes (its
    own checksum, which a shared index written from the same entries has for its name). Read a
    chunk at a time into one buffer, not whole (2 ms for a 9 MB index of 100,000 entries,
    against 7 ms), and not mapped: a file another program writes over in place (`cp`) would
    end a mapped read with SIGBUS. Only a regular file is read, never through a link: a FIFO
    put at an index's name (an operation's `mkfifo`) would have the open wait for a writer for
    ever, so it is opened without waiting and is no split index."""
    if not oids:
        return None
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(index, flags), "rb", buffering=0) as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        end = st.st_size - width
        buf = bytearray(_CHUNK + width)
        view = memoryview(buf)
        held = at = 0  # bytes kept from the last chunk (a name across two), bytes read
        while at < end:
            n = fh.readinto(view[held : held + min(_CHUNK, end - at)])
            if not n:
                break
            at += n
            length = held + n
            for name, oid in oids.items():
                if buf.find(oid, 0, length) != -1:
                    return name
            held = min(width - 1, length)
            buf[:held] = buf[length - held : length]
    return None


_CHUNK: Final = 1 << 20


def named(repo: Repo, index: Path) -> str | None:
    """The shared index (`sharedindex.<hex>`) the "link" extension of `index` names, there or
    not; None for a whole index, or a file this cannot read as an index."""
    from git_atomic.engine import indexentries

    width = 32 if repo.sha256 else 20
    try:
        fh = indexentries.open_index(index)
        if fh is None:
            return None
        with fh:
            data = fh.read()
        # No "link" followed by a small size anywhere: no split index (a find, 1 ms at 100,000
        # entries, where reading them is 50). A path that holds them is read whole.
        if data.find(b"link\0\0", 12) == -1:
            return None
        found = indexentries.starts(data, width)
    except (OSError, IndexError, ValueError):
        return None
    if not found:
        return None
    at, end = found[-1], len(data) - width
    while at + 8 <= end:
        size = int.from_bytes(data[at + 4 : at + 8], "big")
        if data[at : at + 4] == b"link":
            oid = data[at + 8 : at + 8 + width]
            return SHARED + oid.hex() if len(oid) == width and any(oid) else None
        at += 8 + size
    return None


def gone(repo: Repo, index: Path) -> bool:
    """Whether `index` is a split index whose shared index is not in the git dir: expired by
    git (`splitIndex.sharedIndexExpire`: a write of another index file, `GIT_INDEX_FILE`, under
    `core.splitIndex` makes a shared index of its own and expires the others), or removed.
    git reads no such index ("index file open failed"): its entries are lost to it.

    Told without reading the entries where it can be (`_linked`): a path ending in `link`
    (a `symlink` file, say) put "link" and two NULs in a whole index of 100,000 entries, and
    every restore read them all in Python to find no extension there (10 ms)."""
    try:
        fh = _open(index)
        if fh is None:
            return False
        with fh:
            data = fh.read()
    except OSError:
        return False
    width = 32 if repo.sha256 else 20
    linked = _linked(data, width)
    if linked is not None and (not linked or any(usable(repo, shared) for shared in linked)):
        return False
    shared = named(repo, index)  # (a rare case: read as before)
    return shared is not None and not usable(repo, shared)


def _open(index: Path) -> BinaryIO | None:
    from git_atomic.engine import indexentries

    return indexentries.open_index(index)


def may_be_split(data: bytes, width: int) -> bool:
    """Whether the index file `data` may be a split one: False only where no place in it
    could be its "link" extension (`_linked`), as in a whole index whose paths end in `link`."""
    linked = _linked(data, width)
    return linked is None or bool(linked)


def _linked(data: bytes, width: int) -> list[str] | None:
    """The shared indexes named by every place in `data` (an index) that could be its "link"
    extension: "link", a size, and after it a run of extensions ending exactly where the
    index's checksum starts, as the extensions of an index do. Every split index's own
    "link" is among them (it is one of its extensions); in a whole index, bytes of its entries
    rarely make such a run, and what they name is then no shared index of the git dir but by
    a hash collision (an entry's object name would have to be a shared index's checksum). So
    none found: no split index; one found that names a shared index there: not gone. None:
    a run too long to be extensions (read as before)."""
    end = len(data) - width
    out: list[str] = []
    at = data.find(b"link\0\0", 12)
    while at != -1 and at + 8 <= end:
        size = int.from_bytes(data[at + 4 : at + 8], "big")
        oid = data[at + 8 : at + 8 + width]
        step, hops = at, 0
        while step + 8 <= end:  # the extensions from here on, header by header
            step += 8 + int.from_bytes(data[step + 4 : step + 8], "big")
            hops += 1
            if hops > _EXTENSIONS_AT_MOST:
                return None  # no index has that many: read as before
        if step == end and size >= width and len(oid) == width and any(oid):
            out.append(SHARED + oid.hex())
        at = data.find(b"link\0\0", at + 1)
    return out


def usable(repo: Repo, shared: str) -> bool:
    """Whether `shared` (`sharedindex.<hex>`) is a shared index file in the git dir still (git
    expires one two weeks after its last use; never one reached through a link)."""
    if not shared.startswith(SHARED) or "/" in shared:
        return False
    try:
        return stat.S_ISREG(os.lstat(repo.git_dir / shared).st_mode)
    except OSError:
        return False


def link_only(repo: Repo, shared: str, dest: Path) -> None:
    """Write at `dest` an index file of no entries of its own on the shared index `shared`: git
    reads it as that shared index's entries, and a write of it after a change stays split on
    it (git's own rule, `splitIndex.maxPercentChange`, may make a new one). Its "link"
    extension holds the shared index's object name and two empty EWAH bitmaps (entries deleted,
    entries replaced: none; each its size in bits, 0, one run-length word, 0, and that word's
    position, 0), as git writes them: without them git 2.39 crashes reading the file."""
    import hashlib  # a restore's only: not among the imports of `begin` (test_hot_path.py)

    oid = bytes.fromhex(shared[len(SHARED) :])
    empty = (0).to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes(8) + (0).to_bytes(4, "big")
    link = oid + empty + empty
    body = b"DIRC" + (2).to_bytes(4, "big") + bytes(4) + b"link" + len(link).to_bytes(4, "big")
    body += link
    digest = hashlib.sha256(body) if repo.sha256 else hashlib.sha1(body)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(dest, flags, 0o644), "wb") as fh:
        fh.write(body + digest.digest())
