"""A large index's entries found equal to the last one's by comparing bytes, not by reading
each entry in Python (indexentries.py).

At 100,000 files an index is about 9 MB: naming it by its entries (each entry's mode, object,
flags and path, without its stat data) costs 130-200 ms of Python, more than the processes it
spares. But a `git status` that took stat data anew writes the same entries at the same
offsets, with other bytes only inside their stat fields. So the first index of a kind is
read whole once: its entries' offsets and its entries' bytes are kept in one file per
worktree (`entries-memo-<worktree>`, the size of the index), with the key it was given. A later
index is compared with those bytes a block at a time (memcmp); only in a block that differs are
its entries looked at, and the difference must lie in their stat fields. The extensions that
hold entries or flags (indexentries._key's) are compared whole.

Equal keys, equal entries: a key names the entries of the first index that had them (the
SHA-1 of their bytes and of its extensions'); the memo carries the CRC-32 of its own bytes, as
every state file does, checked when it is read back, so a damaged memo is no memo. (It carried
their SHA-1: 5-16 ms of processor time at each read and each write of a 9.6 MB memo at 100,000
files, where a CRC-32 takes 2-3; issue 17, stop 60.) Two indexes with the same entries
may still get two keys (one compared with a memo of other entries): that only costs what a key
spares.
"""

from __future__ import annotations

import array
import bisect
import hashlib
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Final

from git_atomic.core import wholefile

_MAGIC: Final = b"git-atomic entries memo 2\n"
# The entries' end, their number, the key's digest, the extensions' digest, and the CRC-32 of
# the rest of the memo (a damaged memo is no memo).
_HEAD: Final = struct.Struct(">QI20s20sI")
_BLOCK: Final = 1 << 16
# Runs of entries compared whole in a block that differs, before one entry is looked at alone.
_RUNS: Final = (64, 8)
# A later index whose stat data differs in more blocks than this is kept in the memo's place
# (same key, same offsets): the next comparison looks at fewer entries.
_REKEEP_BLOCKS: Final = 16
# A memo larger than this is not one of ours (indexentries.MEMO_AT_MOST_BYTES of entries, with
# their offsets: at least 62 bytes an entry, 4 of offset).
_LARGEST: Final = (64 << 20) * 17 // 16 + 4096


Offsets = Callable[[bytes, int], "list[int] | None"]
Extensions = Callable[[bytes, int, int], "bytes | None"]


def key(
    data: bytes,
    width: int,
    offsets_of: Offsets,
    extensions_of: Extensions,
    memo: Path,
    scratch: Path | None,
) -> str | None:
    """The key of the index `data`: the memo's when its entries are the memo's, else a new one
    (kept in the memo, written first at `scratch`; none is kept without one: a dry run). None
    where indexentries has none.
    `offsets_of(data, width)`: indexentries.starts; `extensions_of(data, end, width)`: the
    digest of the extensions that hold entries or flags, None for a split index."""
    kept = _load(memo)
    if kept is not None:
        end, count, digest, ext, offsets, old = kept
        if len(data) >= end + width and data.startswith(old[:12]):
            same = _same_entries(data, old, offsets)
            if same is not None and extensions_of(data, end, width) == ext:
                if scratch is not None and same > _REKEEP_BLOCKS:
                    # (its bytes written from where they are: no 9 MB copy)
                    _store(memo, scratch, end, count, digest, ext, offsets, memoryview(data)[:end])
                return "entries-big-" + digest.hex()
    found = offsets_of(data, width)
    if found is None:
        return None
    end = found[-1]
    extensions = extensions_of(data, end, width)
    if extensions is None or end >= 1 << 32:
        return None
    entries = data[:end]
    digest = hashlib.sha1(entries + extensions, usedforsecurity=False).digest()
    if scratch is not None:
        offsets = array.array("I", found)
        _store(memo, scratch, end, len(found) - 1, digest, extensions, offsets, entries)
    return "entries-big-" + digest.hex()


def _same_entries(data: bytes, old: memoryview, offsets: array.array[int]) -> int | None:
    """The number of blocks that differ when `data`'s entries are `old`'s but for their stat
    data; None when one differs otherwise. Bytes are compared in place (`startswith` at an
    offset: a memcmp, no copy), and in a block that differs, runs of entries that do not are
    passed over whole: a refresh changes the stat data of a few entries in a block, not of
    every one."""
    end = len(old)
    last = len(offsets) - 1
    differ = 0
    for start in range(12, end, _BLOCK):
        stop = min(start + _BLOCK, end)
        if data.startswith(old[start:stop], start):
            continue
        differ += 1
        i = bisect.bisect_right(offsets, start) - 1
        while i < last and offsets[i] < stop:
            at = offsets[i]
            for run in _RUNS:
                j = min(i + run, last)
                if data.startswith(old[at : offsets[j]], at):
                    break
            else:
                following = offsets[i + 1]
                # (ctime, mtime, device, inode: [0, 24); owner, group, size: [28, 40))
                if not data.startswith(old[at + 24 : at + 28], at + 24):
                    return None
                if not data.startswith(old[at + 40 : following], at + 40):
                    return None
                j = i + 1
            i = j
    return differ


def _load(
    memo: Path,
) -> tuple[int, int, bytes, bytes, array.array[int], memoryview] | None:
    try:  # (a regular file only: never read through a link, never waited on as a FIFO)
        raw = wholefile.read(memo, limit=_LARGEST)
    except OSError:
        return None
    at = len(_MAGIC)
    if raw[:at] != _MAGIC or len(raw) < at + _HEAD.size:
        return None
    end, count, digest, ext, whole = _HEAD.unpack_from(raw, at)
    at += _HEAD.size
    view = memoryview(raw)  # (read in place: no copy of its 9 MB at 100,000 files)
    if zlib.crc32(view[at:]) != whole:
        return None  # damaged (the key's digest names the first index's bytes, not these)
    offsets = array.array("I")
    size = (count + 1) * offsets.itemsize
    if len(raw) != at + size + end:
        return None
    offsets.frombytes(view[at : at + size])
    if offsets.itemsize != 4 or offsets[0] != 12 or offsets[-1] != end:
        return None
    return end, count, digest, ext, offsets, view[at + size :]


def _store(
    memo: Path,
    scratch: Path,
    end: int,
    count: int,
    digest: bytes,
    ext: bytes,
    offsets: array.array[int],
    entries: bytes | memoryview,
) -> None:
    try:
        table = offsets.tobytes()
        whole = zlib.crc32(entries, zlib.crc32(table))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(scratch, flags, 0o644), "wb") as fh:
            fh.write(_MAGIC + _HEAD.pack(end, count, digest, ext, whole))
            fh.write(table)
            fh.write(entries)
        os.replace(scratch, memo)
    except OSError:
        scratch.unlink(missing_ok=True)  # the next capture reads the index whole again
