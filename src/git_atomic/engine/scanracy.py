"""Entries of a scan index that are racily clean by their ctime: smudged before they are trusted.

git takes an entry for clean when its stat data matches the file's. A file written again in the
same second as that stat data was taken, with the same size and inode and its old mtime given
back (`cp -p`, `tar x`, `rsync -t`, `touch -r`), differs only in its ctime's nanoseconds, which
this git build does not compare (whole seconds: no USE_NSEC). git's own racy rule looks at the
mtime alone (an entry whose mtime is not older than the index file is compared by content), and
a restored mtime defeats it. So the ctime is the only guard, and it holds only for stat data
taken in a later second than the file's last change.

Before a scan index is kept, each entry whose ctime or mtime second is not strictly before the
second its scan started looking gets git's own smudge: its size field is set to 0, so the next
`git status` compares the file's bytes (and, when they are the same, takes its stat data again:
an entry stays smudged until a scan has seen its file with times older than its start). An index
seeded from yours gets the same before its scan starts, against your index file's mtime (git's
racy rule, extended to the ctime). The smudge lives in the index itself: an index git cannot
read is never used, so nothing here can be lost or trusted apart from it. The same holds for
the folders git's untracked cache lists: a file made in a folder, the folder's mtime given
back, in the second git took the folder's stat data, is never listed (an `abort` left an
operation's new file, "back at PRE-OP"); each such stat data in the cache is zeroed, git's own
mark for a folder it must list again (`_untracked_stats`).

The file is read whole (about 3 ms at 10,000 entries, 28 ms at 100,000), and only when it was
written in that second or later; it is written again, with its mtime kept (git-facts 1), only
when an entry needs the smudge. A split index's own part holds every entry written since its
shared index was made, so only that part is read (the shared index the scan started from was
smudged by the capture that kept it); where git made another during the scan (an index's first
write as a split index), the index is written whole first (scankeep.keep).
"""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path
from typing import Final

from git_atomic.engine import indexentries, objectformat

_ZERO: Final = b"\0\0\0\0"
_FILE_KINDS: Final = (0o100000, 0o120000)  # regular files and links: a gitlink has no stat data
_TIMES: Final = struct.Struct(">I4xI")  # an entry's ctime and mtime seconds


def since_now(scratch: Path) -> int:
    """The second a scan starts looking in: the earlier of the clock's and the filesystem's
    (`scratch`, just linked or written, has the filesystem's time as its ctime; file times
    lag the clock by up to a tick)."""
    import time

    now = time.time()
    with contextlib.suppress(OSError):
        now = min(now, os.stat(scratch).st_ctime)
    return int(now)


def older(index: Path, since: int) -> bool:
    """Whether an index file was written before the second `since` (so was all its stat data
    taken); False when it cannot be told."""
    try:
        return os.stat(index).st_mtime_ns // 1_000_000_000 < since
    except OSError:
        return False


def smudge(index: Path, since: int, *, sha256: bool) -> bool:
    """Smudge each file entry of `index` whose ctime or mtime second is `since` or later, its
    size not yet 0, and each stat data of its untracked cache so. False when the file is not
    an index this can read (or cannot be written again): the caller then trusts none of its
    stat data."""
    width = 32 if sha256 else 20
    try:
        st = os.stat(index)
        if st.st_mtime_ns // 1_000_000_000 < since:
            return True  # written before that second: so was all its stat data taken
        data = bytearray(index.read_bytes())
    except OSError:
        return False
    try:
        found = _racy(data, since, width)
    except (ValueError, IndexError, struct.error):
        return False
    if found is None:
        return False
    if not found:
        return True
    body = memoryview(data)[:-width]
    trailer = bytes(data[-width:])
    skip_hash = trailer == bytes(width)  # index.skipHash: no checksum to keep
    if not skip_hash and objectformat.checksum(body, sha256=sha256) != trailer:
        return False  # damaged: nothing in it is trusted
    for at, size in found:
        data[at : at + size] = bytes(size)
    if not skip_hash:
        data[-width:] = objectformat.checksum(body, sha256=sha256)
    body.release()
    rewritten = index.with_name(index.name + ".smudged")
    try:
        # A file of its own, never one a link left there names (the git dir is the tree's
        # too: an operation may have made one).
        rewritten.unlink(missing_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(rewritten, flags, 0o644), "wb") as out:
            out.write(data)
        os.utime(rewritten, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(rewritten, index)
    except OSError:
        rewritten.unlink(missing_ok=True)
        return False
    return True


def _racy(data: bytearray, since: int, width: int) -> list[tuple[int, int]] | None:
    """Where to smudge, and how many bytes: the size field of each file entry whose ctime or
    mtime second is not before `since` (its size not yet 0), and each stat data of the
    untracked cache so (`_untracked_stats`); None for what is not an index of version 2, 3 or
    4, or whose untracked cache does not read as one."""
    offsets = indexentries.starts(data, width)
    if offsets is None:
        return None
    times = _TIMES.unpack_from
    found: list[tuple[int, int]] = []
    for at in offsets[:-1]:
        ctime, mtime = times(data, at)
        if (ctime >= since or mtime >= since) and data[at + 36 : at + 40] != _ZERO:
            mode = int.from_bytes(data[at + 24 : at + 28], "big")
            if mode & 0o170000 in _FILE_KINDS:
                found.append((at + 36, 4))
    at, end = offsets[-1], len(data) - width
    while at + 8 <= end:  # the extensions: a signature, a 32-bit size, the body
        size = int.from_bytes(data[at + 4 : at + 8], "big")
        if data[at : at + 4] == _UNTRACKED:
            for stat_at in _untracked_stats(data, at + 8, at + 8 + size, width):
                ctime, mtime = times(data, stat_at)
                if ctime >= since or mtime >= since:
                    found.append((stat_at, _STAT))
        at += 8 + size
    return found


# git's untracked cache (the `UNTR` extension: dir.c's write_untracked_extension) keeps the stat
# data of each folder it listed, and of `info/exclude` and `core.excludesFile`, and trusts a
# folder's cached listing while that stat data matches, in whole seconds too. A file made in a
# folder, then its mtime given back, in the same second as the stat data git took of it, is then
# never listed. Each of those stat data racy by its ctime or mtime gets git's own mark for "not
# known" (all zero: what git writes where a folder could not be looked at), so git lists it.
_STAT: Final = 36  # ctime, mtime (seconds, nanoseconds), dev, ino, uid, gid, size: 32 bits each
_UNTRACKED: Final = b"UNTR"


def _ewah_ones(data: bytes | bytearray, at: int) -> tuple[int, int]:
    """How many bits an EWAH bitmap (ewah_io.c's serialization) at `at` sets, and where it
    ends: its bit count, its 64-bit words, the last run-length word's place."""
    words = int.from_bytes(data[at + 4 : at + 8], "big")
    body = at + 8
    end = body + 8 * words + 4
    if end > len(data):
        raise ValueError("an EWAH bitmap past its extension")
    ones, n = 0, 0
    while n < words:
        marker = int.from_bytes(data[body + 8 * n : body + 8 * n + 8], "big")
        run, literals = (marker >> 1) & 0xFFFFFFFF, marker >> 33
        if marker & 1:
            ones += 64 * run
        for k in range(n + 1, min(n + 1 + literals, words)):
            ones += int.from_bytes(data[body + 8 * k : body + 8 * k + 8], "big").bit_count()
        n += 1 + literals
    return ones, end


def _untracked_stats(data: bytes | bytearray, at: int, end: int, width: int) -> list[int]:
    """The offsets of the stat data in the untracked cache extension whose body is
    `data[at:end]`: `info/exclude`'s, `core.excludesFile`'s, then each listed folder's. Raises
    ValueError where it does not read as one."""
    if end - at < 2 or data[end - 1] != 0:
        raise ValueError("not an untracked cache")
    ident, at = indexentries.varint(data, at)
    at += ident
    found = [at, at + _STAT]
    at += 2 * _STAT + 4 + 2 * width  # the two stat data, the folders' flags, the two ids
    at = data.index(0, at, end) + 1  # the name of the per-folder rule file (.gitignore)
    if at >= end - 1:
        return found  # no folder yet
    folders, at = indexentries.varint(data, at)
    nul = data.index
    for _ in range(folders):  # (a count below 128 is one byte: no call, at 6,000 folders)
        untracked = data[at]
        if untracked & 0x80:
            untracked, at = indexentries.varint(data, at)
        else:
            at += 1
        at = at + 1 if data[at] < 0x80 else indexentries.varint(data, at)[1]  # its folders' count
        for _ in range(untracked + 1):  # the folder's name, then its untracked names
            at = nul(0, at, end) + 1
    valid, at = _ewah_ones(data, at)
    _, at = _ewah_ones(data, at)  # check-only
    hashed, at = _ewah_ones(data, at)
    if at + valid * _STAT + hashed * width != end - 1:
        raise ValueError("an untracked cache of another length")
    return found + [at + n * _STAT for n in range(valid)]
