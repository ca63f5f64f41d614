"""A split index's entries as git reads them, for the bits record of a scan index written split
(scanbits.py; scanindex.py writes one past about 40,000 files).

A split index file holds entries of its own and a "link" extension: the object name of its
shared index (`<git dir>/sharedindex.<hex>`, a whole index named by its checksum: never written
again), then two EWAH bitmaps of positions in that shared index, the entries deleted and the
entries replaced. Its own entries that replace shared ones come first, one for each position
replaced, in order, their names stripped (empty: the shared entry's is theirs); the rest are
added by path (one at a path and stage the shared index has replaces it). That is git's
`merge_base_index` (split-index.c); a bitmap is a list of 64-bit words, each a run-length word
(bit 0: the run's bit, bits 1-32: the run's length in words, 33-63: the literal words after
it) or a literal one, its lowest bit the first position (ewah/ewah_bitmap.c, `ewah_each_bit`).

What scanbits asks (its `_entries`): which regular files have a ctime second of `since` or
later, and which entries differ from those of the scan index the scan started from. Where both
use the same shared index, an entry that neither file's own part touches is that shared entry
in both: only the touched ones are compared (a few, against reading 100,000). The shared index
is read whole all the same (the paths at the positions the bitmaps name, an entry found by
path): walking its entries costs about 40 ms of processor time at 100,000 entries, once for
both files (performance.md, stop 58), against an lstat of every file without it; where each
starts and its path are kept for the next capture (sharedmemo.py: 10 ms to read back).
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core import wholefile
from git_atomic.engine import indexentries, sharedmemo
from git_atomic.engine.indexentries import Memo, Walked

SHARED: Final = "sharedindex."
_LINK: Final = b"link"
_REGULAR: Final = 0o100000
# Past this many paths of a shared index asked for, they are split out of its memo at once
# (sharedmemo.Names.listed), not read one by one.
_ASKED_ONE_BY_ONE: Final = 256
_LARGEST: Final = 1 << 34

# An entry: the bytes of the file that holds it, and its offset there.
Entry = tuple[bytes, int]
Key = tuple[bytes, int]  # its path and stage


class Link(NamedTuple):
    """A split index's "link" extension: its shared index, and where its bitmaps start."""

    shared: str
    bitmaps: int | None  # None: git wrote none (nothing deleted or replaced)
    end: int  # where the extension ends


def link_of(data: bytes, at: int, width: int) -> Link | None:
    """The "link" extension among the extensions from `at` (after the last entry) to the
    checksum; None for a whole index. ValueError for extensions cut short."""
    end = len(data) - width
    while at + 8 <= end:
        size = int.from_bytes(data[at + 4 : at + 8], "big")
        following = at + 8 + size
        if following > end:
            raise ValueError("extension cut short")
        if data[at : at + 4] == _LINK:
            if size < width:
                raise ValueError("link cut short")
            oid = data[at + 8 : at + 8 + width]
            bitmaps = at + 8 + width if size > width else None
            return Link(SHARED + oid.hex(), bitmaps, following)
        at = following
    return None


def _positions(data: bytes, at: int, end: int, limit: int) -> tuple[list[int], int]:
    """The positions an EWAH bitmap at `at` sets (each below `limit`, the shared index's
    entries: else ValueError), and where the bitmap ends (by `end`, the extension's: else
    ValueError)."""
    words = int.from_bytes(data[at + 4 : at + 8], "big")
    first = at + 8
    stop = first + 8 * words
    if stop + 4 > end:
        raise ValueError("bitmap cut short")
    found: list[int] = []
    pos = i = 0
    while i < words:
        word = int.from_bytes(data[first + 8 * i : first + 8 * i + 8], "big")
        run = ((word >> 1) & 0xFFFFFFFF) * 64
        if word & 1:
            if pos + run > limit:
                raise ValueError("bitmap past the shared index")
            found.extend(range(pos, pos + run))
        pos += run
        i += 1
        for _ in range(word >> 33):
            if i >= words:
                raise ValueError("bitmap cut short")
            literal = int.from_bytes(data[first + 8 * i : first + 8 * i + 8], "big")
            while literal:
                low = literal & -literal
                found.append(pos + low.bit_length() - 1)
                literal ^= low
            pos += 64
            i += 1
    if found and found[-1] >= limit:
        raise ValueError("bitmap past the shared index")
    return found, stop + 4


def _stage(data: bytes, at: int, width: int) -> int:
    return (data[at + 40 + width] >> 4) & 3


class View:
    """An index's entries by path and stage: those of a whole index (`own` alone), or those of
    a shared index (`own`) as a split index's part changes them (`changes`: None, deleted)."""

    def __init__(
        self,
        data: bytes,
        own: Walked,
        width: int,
        changes: dict[Key, Entry | None],
        places: dict[Key, int] | None = None,
    ) -> None:
        self.data, self.own, self.width, self.changes = data, own, width, changes
        # Where the shared index holds the keys this file's own part replaces or deletes (by
        # their positions: no lookup by path, whose paths are read when asked: sharedmemo.Names)
        self.places = places or {}

    def get(self, key: Key, place: int | None = None) -> Entry | None:
        """The entry at `key`; `place`: where `own` has it, known (another file's `places` on
        the same shared index)."""
        if key in self.changes:
            return self.changes[key]
        if place is not None:
            return self.data, self.own.starts[place]
        name, stage = key
        names, starts = self.own.names, self.own.starts
        i = bisect_left(names, name)  # git keeps an index's entries sorted (by path, stage)
        while i < len(names) and names[i] == name:
            if _stage(self.data, starts[i], self.width) == stage:
                return self.data, starts[i]
            i += 1
        return None

    def entries(self) -> Iterator[tuple[Key, Entry]]:
        data, width, changes = self.data, self.width, self.changes
        for name, at in zip(self.own.names, self.own.starts, strict=False):
            key = (name, _stage(data, at, width))
            if key not in changes:
                yield key, (data, at)
        for key, entry in changes.items():
            if entry is not None:
                yield key, entry


class Read(NamedTuple):
    view: View
    found: list[bytes]  # its regular files whose ctime second is `since` or later
    shared: str | None  # the shared index it uses; None for a whole index


def read(
    data: bytes,
    own: Walked,
    width: int,
    since: int | None,
    git_dir: Path,
    memo: Memo | None = None,
) -> Read:
    """The entries git reads of the index file `data` (its own: `own`), its shared index's
    with them where it is a split one (read from `git_dir`, never through a link; its
    entries' offsets and paths from `memo` where it holds them: sharedmemo.py). ValueError
    for what git would not read either (a bitmap past the shared index, a replacement with
    a name)."""
    link = link_of(data, own.starts[-1], width)
    found = [own.names[i] for i in own.found]
    if link is None:
        return Read(View(data, own, width, {}), found, None)
    if "/" in link.shared:
        raise ValueError("not a shared index")
    shared, base = _shared(git_dir / link.shared, width, since, memo)
    if link_of(shared, base.starts[-1], width) is not None:
        raise ValueError("a shared index of a shared index")
    total = len(base.names)
    deleted: list[int] = []
    replaced: list[int] = []
    if link.bitmaps is not None:
        deleted, at = _positions(data, link.bitmaps, link.end, total)
        replaced, at = _positions(data, at, link.end, total)
        if at != link.end:
            raise ValueError("garbage at the end of the link extension")
    count = len(own.names)
    if len(replaced) > count or len(set(deleted).intersection(replaced)):
        raise ValueError("link extension")
    changes: dict[Key, Entry | None] = {}
    places: dict[Key, int] = {}
    for k, pos in enumerate(replaced):
        if own.names[k]:
            raise ValueError("a replacement with a name")
        at = base.starts[pos]
        key = (base.names[pos], _stage(shared, at, width))
        changes[key], places[key] = (data, own.starts[k]), pos
    for pos in deleted:
        key = (base.names[pos], _stage(shared, base.starts[pos], width))
        changes[key], places[key] = None, pos
    for k in range(len(replaced), count):
        if not own.names[k]:
            raise ValueError("an added entry without a name")
        at = own.starts[k]
        changes[(own.names[k], _stage(data, at, width))] = (data, at)
    # Its own entries' (a replacement's path is the shared entry's), and the shared index's
    # (those it deletes or replaces too: one look more, never one less).
    found = [own.names[i] if i >= len(replaced) else base.names[replaced[i]] for i in own.found]
    shared_names = base.names
    if len(base.found) > _ASKED_ONE_BY_ONE and isinstance(shared_names, sharedmemo.Names):
        shared_names = shared_names.listed()  # (every file looked at: no record trusted)
    found += [shared_names[i] for i in base.found]
    return Read(View(shared, base, width, changes, places), found, link.shared)


# The last shared index read, by its name (its checksum: it holds what it held), its inode and
# `since`: the scan's index and the one it started from use the same one, but after a new
# one was made.
_last: list[tuple[tuple[str, int, int, int, int | None], bytes, Walked]] = []


def _shared(path: Path, width: int, since: int | None, memo: Memo | None) -> tuple[bytes, Walked]:
    """A shared index's bytes and entries (read once for the two index files that use it)."""
    st = os.lstat(path)
    key = (str(path), st.st_ino, st.st_size, width, since)
    for kept, data, walked in _last:
        if kept == key:
            return data, walked
    data = wholefile.read(path, limit=_LARGEST)
    if memo is None:
        walked = indexentries.walk(data, width, since)
    else:
        walked = sharedmemo.walked(path, data, width, since, memo)
    _last[:] = [(key, data, walked)]
    return data, walked


def differing(new: Read, base: Read) -> list[bytes]:
    """The paths of the regular files of `new` whose entry (stat data and object) is not the
    one `base` has at that path and stage, or that `base` lacks. On the same shared index, only
    the entries either file's own part touches can differ; else each is looked up."""
    width = new.view.width
    size = 40 + width
    out: list[bytes] = []

    def differs(entry: Entry, key: Key, other: View, place: int | None = None) -> bool:
        data, at = entry
        if int.from_bytes(data[at + 24 : at + 28], "big") & 0o170000 != _REGULAR:
            return False
        was = other.get(key, place)
        return was is None or not data.startswith(memoryview(was[0])[was[1] : was[1] + size], at)

    if new.shared is not None and new.shared == base.shared:
        # (a key either part replaces or deletes: its place in the shared index both read)
        places = {**base.view.places, **new.view.places}
        for key in set(new.view.changes).union(base.view.changes):
            place = places.get(key)
            entry = new.view.get(key, place)
            if entry is not None and differs(entry, key, base.view, place):
                out.append(key[0])
        return out
    before = View(b"", Walked([0], [], []), width, dict(base.view.entries()))
    for key, entry in new.view.entries():
        if differs(entry, key, before):
            out.append(key[0])
    return out
