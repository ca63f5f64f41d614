"""An index file's entries as git lays them out (versions 2, 3, 4), read without a process, and
a key for what git reads of them.

git's index holds, for each entry, the stat data it last took of the file (times, device,
inode, owner, size) beside what the entry is (mode, object, flags, path). A `git status` (yours,
an editor's) that takes stat data again writes the index anew with the same entries: its bytes
and its checksum change, what `write-tree` and `ls-files` make of it does not. `entries_key`
names an index by what they read: its version, its entries without their stat data, and its
extensions but those that hold no entry (the cache tree, the untracked cache, the fsmonitor's
bitmap, the offset tables). So a capture that remembered the staged side of an index
(staged.py) or git's answer about rule files (ignores.py) under one key finds it again after
such a refresh. A split index has no key (its entries are in its shared index), nor does an
index this cannot read whole.
"""

from __future__ import annotations

import itertools
import os
import stat
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple

from git_atomic.core import envnumbers
from git_atomic.engine import objectformat
from git_atomic.engine.git import Repo, worktree_key

_SIGNATURE: Final = b"DIRC"
# Extensions that hold no entry and no flag git's `write-tree` or `ls-files` reads: the cache
# tree (write-tree makes the same tree from the same entries), the untracked cache, the
# fsmonitor's bitmap of entries it vouches for, the offset tables of a threaded read.
_NOT_ENTRIES: Final = frozenset({b"TREE", b"UNTR", b"FSMN", b"EOIE", b"IEOT"})
_SPLIT: Final = b"link"
# Read in Python before a capture's scan starts (about 1 ms at 1,000 entries, 3-6 at 10,000,
# 60-120 at 100,000): past this size an index is named by comparing its bytes with the last
# large one's (indexmemo.py), up to MEMO_AT_MOST_BYTES (about 700,000 entries); past that it
# has no key, and git is asked as before.
AT_MOST_BYTES: Final = 4 << 20
MEMO_AT_MOST_BYTES: Final = 64 << 20


def starts(data: bytes | bytearray, width: int) -> list[int] | None:
    """The offset of each entry, then of what follows the last (its extensions); None for what
    is not an index of version 2, 3 or 4. An index cut short raises IndexError or ValueError.
    `width`: the object id's bytes (20 for SHA-1, 32 for SHA-256)."""
    if len(data) < 12 + width or data[:4] != _SIGNATURE:
        return None
    version = int.from_bytes(data[4:8], "big")
    if version not in (2, 3, 4):
        return None
    count = int.from_bytes(data[8:12], "big")
    end = len(data) - width
    flags_at = 40 + width  # after ten 32-bit stat fields and the object id
    found = [12]
    at = 12
    for _ in range(count):
        flags = data[at + flags_at]
        name = at + flags_at + 2
        if flags & 0x40:
            if version < 3:
                return None
            name += 2  # extended flags
        if version == 4:  # the name: a varint (bytes to drop from the last one), then NUL-ended
            while data[name] & 0x80:
                name += 1
            at = data.index(0, name + 1) + 1
        else:  # the name, then 1 to 8 NULs to a multiple of 8 bytes
            length = ((flags & 0x0F) << 8) | data[at + flags_at + 1]
            if length == 0xFFF:
                length = data.index(0, name) - name
            at += (name - at + length + 8) & ~7
        if at > end:
            return None
        found.append(at)
    return found


def open_index(path: Path | str) -> BinaryIO | None:
    """An index file opened for reading, never through a link and never waiting on a FIFO (an
    operation may leave either at `.git/index`): None for anything but a regular file.
    FileNotFoundError where there is none."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError:
        return None  # a link (ELOOP), or nothing to read
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


# One index is read once per process, whoever asks (the rule files' answer asks of your index,
# the staged side of its hard link, whose ctime the link changed): found by its bytes, compared
# whole (a memcmp: 1 ms at 100,000 files, where a hash of them took 5). The last few only.
_keys: list[tuple[int, bytes, str | None]] = []
_KEYS_KEPT: Final = 2


class Memo(NamedTuple):
    """Where a worktree's large index is kept to compare the next one with (indexmemo.py)."""

    file: Path
    scratch: Path | None  # where a new one is written first; None: none is kept (a dry run)


def memo_of(repo: Repo) -> Memo:
    scratch = None if repo.quarantine is not None else repo.scratch_path("entries-memo")
    return Memo(repo.state_dir / f"entries-memo-{worktree_key(repo)}", scratch)


def entries_key(path: Path, *, sha256: bool, memo: Memo | None = None) -> str | None:
    """A key for two index files equal only when git reads the same entries, flags and
    extensions (their stat data and caches aside) from them; None for a split index, an index
    this cannot read whole, one over AT_MOST_BYTES without a `memo` (indexmemo.py), one over
    MEMO_AT_MOST_BYTES, or none at all."""
    width = 32 if sha256 else 20
    most = memo_at() if memo is None else MEMO_AT_MOST_BYTES
    try:
        fh = open_index(path)
        if fh is None:
            return None
        with fh:
            size = os.fstat(fh.fileno()).st_size
            if size > most:
                return None
            # As many bytes as it has (a read of `most` costs as much as that many: 3.5 ms
            # against 0.3 at 100,000 files), then the rest if it grew since.
            data = fh.read(size + 1)
            if len(data) > size:
                data += fh.read(most + 1 - len(data))
    except OSError:
        return None
    if len(data) > most:
        return None
    for kept_width, kept, found in _keys:
        if kept_width == width and kept == data:
            return found
    try:
        if len(data) <= memo_at():
            key = _key(data, width)
        else:
            from git_atomic.engine import indexmemo

            assert memo is not None
            key = indexmemo.key(data, width, starts, _extensions_digest, *memo)
    except (IndexError, ValueError):
        key = None
    _keys.insert(0, (width, data, key))
    del _keys[_KEYS_KEPT:]
    return key


def memo_at() -> int:
    """Bytes past which an index is named through its memo (tests set GIT_ATOMIC_INDEX_MEMO_AT
    to have small ones named so too)."""
    return envnumbers.whole("GIT_ATOMIC_INDEX_MEMO_AT", AT_MOST_BYTES)


def _key(data: bytes, width: int) -> str | None:
    offsets = starts(data, width)
    if offsets is None:
        return None
    view = memoryview(data)
    pieces = [view[4:12]]  # the version and the number of entries
    for at, following in itertools.pairwise(offsets):
        pieces.append(view[at + 24 : at + 28])  # the mode
        pieces.append(view[at + 40 : following])  # the object, the flags, the path
    extensions = _extensions(view, offsets[-1], len(data) - width)
    if extensions is None:
        return None
    joined = b"".join(pieces + extensions)
    return "entries-" + objectformat.checksum(joined, sha256=False).hex()


def _extensions(view: memoryview, at: int, end: int) -> list[memoryview] | None:
    """The extensions from `at` (after the last entry) that hold entries or flags; None for a
    split index or extensions cut short."""
    pieces = []
    while at < end:
        if at + 8 > end:
            return None
        signature = bytes(view[at : at + 4])
        following = at + 8 + int.from_bytes(view[at + 4 : at + 8], "big")
        if following > end or signature == _SPLIT:
            return None
        if signature not in _NOT_ENTRIES:
            pieces.append(view[at:following])
        at = following
    return pieces


def _extensions_digest(data: bytes, at: int, width: int) -> bytes | None:
    pieces = _extensions(memoryview(data), at, len(data) - width)
    return None if pieces is None else objectformat.checksum(b"".join(pieces), sha256=False)


class Walked(NamedTuple):
    """An index file's own entries, read in place (`walk`)."""

    starts: list[int]  # each entry's offset, then where the last ends (its extensions)
    # Each entry's path (empty: one a split index's part replaces); a list, or read where it
    # is when asked (sharedmemo.Names)
    names: Sequence[bytes]
    found: list[int]  # the regular files whose ctime second is `since` or later (every one)


_HEAD: Final = struct.Struct(">I20xI32xH")  # ctime seconds, mode, flags (SHA-1)
_HEAD256: Final = struct.Struct(">I20xI44xH")  # (SHA-256)
_REGULAR: Final = 0o100000


def walk(data: bytes, width: int, since: int | None) -> Walked:
    """Each entry's offset and path, and which are regular files whose ctime second is `since`
    or later (every one for None). ValueError (or IndexError) for what is not an index of
    version 2, 3 or 4, or is cut short."""
    if len(data) < 12 + width or data[:4] != _SIGNATURE:
        raise ValueError("not an index")
    version = int.from_bytes(data[4:8], "big")
    if version not in (2, 3, 4):
        raise ValueError("index version")
    count = int.from_bytes(data[8:12], "big")
    end = len(data) - width
    flags_at = 40 + width
    head = _HEAD.unpack_from if width == 20 else _HEAD256.unpack_from
    starts: list[int] = []
    paths: list[bytes] = []
    found: list[int] = []
    at = 12
    last = b""
    for i in range(count):
        starts.append(at)
        ctime, mode, flags = head(data, at)
        name = at + flags_at + 2
        if flags & 0x4000:
            name += 2
        if version == 4:
            drop, name = varint(data, name)
            stop = data.index(0, name)
            last = (last[: len(last) - drop] if drop else last) + data[name:stop]
            path = last
            at = stop + 1
        else:
            length = flags & 0xFFF
            if length == 0xFFF:
                length = data.index(0, name) - name
            path = data[name : name + length]
            at += (name - at + length + 8) & ~7
        paths.append(path)
        if mode & 0o170000 == _REGULAR and (since is None or ctime >= since):
            found.append(i)
        if at > end:
            raise ValueError("truncated")
    starts.append(at)
    return Walked(starts, paths, found)


def regular_since(data: bytes, starts: list[int], width: int, since: int | None) -> list[int]:
    """What `walk` finds of the entries at `starts` (then where the last ends): those of
    regular files whose ctime second is `since` or later (every one for None)."""
    head = _HEAD.unpack_from if width == 20 else _HEAD256.unpack_from
    found: list[int] = []
    for i in range(len(starts) - 1):
        ctime, mode, _ = head(data, starts[i])
        if mode & 0o170000 == _REGULAR and (since is None or ctime >= since):
            found.append(i)
    return found


def varint(data: bytes | bytearray, at: int) -> tuple[int, int]:
    """git's offset varint at `at` (varint.c's decode_varint: how much of the path before a
    version 4 entry's path drops, the untracked cache's counts), and where what follows it
    starts."""
    byte = data[at]
    at += 1
    value = byte & 0x7F
    while byte & 0x80:
        byte = data[at]
        at += 1
        value = ((value + 1) << 7) | (byte & 0x7F)
    return value, at
