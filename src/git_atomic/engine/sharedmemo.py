"""A shared index's entries (where each starts, its path) kept on disk for the next capture,
so that a split scan index is read without walking its shared index in Python (splitentries.py).

A scan index written split (about 40,000 files and more: scanindex.py) holds most of its
entries in its shared index, `<git dir>/sharedindex.<hex>`: git names it by the checksum of its
bytes and never writes it again. The bits record (scanbits.py) reads it at every capture, and
walking its 100,000 entries to find where each starts and its path cost 40-45 ms of processor
time per `begin` at 100,000 files (a tenth of the checkpoint, stop 58's run). What that walk
finds is what those bytes say: it is kept in `.git/atomic/shared-memo-<worktree>` (the last
shared index read; about 35 bytes an entry) under the shared index's name, size and number of
entries, and used only for bytes that are still those (their trailing checksum is the name):
a memo of another shared index, a damaged one (its CRC-32), one that is not a regular file is
no memo, and the entries are walked and kept again. Deleting it costs one walk.

Which regular files have a ctime second of `since` or later (what the bits record asks) is
told by the newest of their ctime seconds, kept with them: none where it is before `since` (the
usual case: a shared index is written once, by the scan that split its index, and every later
scan starts after it); else each entry is read as the walk does. (Not by the shared index's
mtime: git sets it anew whenever it writes a split index that uses it.)

The paths of a version 2 or 3 shared index are not made into 100,000 objects at each capture
(5-8 ms of the memo's 9-16 ms of processor time at 100,000 files): `Names` reads each where it
is in the shared index's bytes, when asked (the few a split index's own part names, found by
their place: splitentries.py). A version 4 index writes each path from the one before: its
paths are the memo's, split.
"""

from __future__ import annotations

import array
import contextlib
import os
import sys
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, overload

from git_atomic.core import wholefile
from git_atomic.engine import indexentries
from git_atomic.engine.git import Repo, worktree_key
from git_atomic.engine.indexentries import Memo, Walked

_MAGIC: Final = b"git-atomic shared index memo 1\n"
_PREFIX: Final = "sharedindex."
_LARGEST: Final = 1 << 34


def memo_of(repo: Repo) -> Memo:
    """Where this worktree's shared index memo is kept (none written in a dry run)."""
    scratch = None if repo.quarantine is not None else repo.scratch_path("shared-memo")
    return Memo(repo.state_dir / f"shared-memo-{worktree_key(repo)}", scratch)


def walked(path: Path, data: bytes, width: int, since: int | None, memo: Memo) -> Walked:
    """`indexentries.walk(data, width, since)` of the shared index `path` (whose bytes are
    `data`), from the memo where it holds this one; else walked, and kept."""
    kept = _load(memo.file, path.name, data, width)
    if kept is None:
        found = indexentries.walk(data, width, since)
        if memo.scratch is not None:
            _store(memo, path.name, data, width, found)
        return found
    starts, listed, newest = kept
    # (a version 2 or 3 index: its paths read where they are)
    names: Sequence[bytes] = (
        listed if isinstance(listed, list) else Names(data, starts, width, listed)
    )
    if since is not None and newest < since:
        regular: list[int] = []
    else:
        regular = indexentries.regular_since(data, starts, width, since)
    result = Walked(starts, names, regular)
    if os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1":  # under test: the walk agrees
        assert result == indexentries.walk(data, width, since), "shared index memo"
    return result


def _load(
    file: Path, name: str, data: bytes, width: int
) -> tuple[list[int], list[bytes] | bytes, int] | None:
    """The offsets and paths the memo keeps for the shared index `name` whose bytes are
    `data` (for a version 2 or 3 index, its paths as kept, NUL after each but the last: read
    from `data` when asked, `Names`),
    and the newest ctime second of its regular files (-1: none); None where it keeps another's,
    or is no memo."""
    if not name.startswith(_PREFIX) or len(data) < 12 + width:
        return None
    try:
        if data[-width:] != bytes.fromhex(name[len(_PREFIX) :]):
            return None  # not the bytes its name says: walked as they are
    except ValueError:
        return None
    body = wholefile.read_checked(file, _MAGIC, limit=_LARGEST)
    if body is None:
        return None
    head, _, rest = body.partition(b"\n")
    count = int.from_bytes(data[8:12], "big")
    ours, _, newest_text = head.rpartition(b" ")
    if ours != _head(name, data, count):
        return None
    try:
        newest = int(newest_text)
    except ValueError:
        return None
    table = 8 * (count + 1)
    offsets = array.array("Q")
    if len(rest) < table or offsets.itemsize != 8:
        return None
    offsets.frombytes(rest[:table])
    if sys.byteorder == "little":
        offsets.byteswap()
    starts = offsets.tolist()
    if len(starts) != count + 1 or starts[0] != 12 or starts[-1] > len(data) - width:
        return None
    if data[4:8] in (b"\0\0\0\2", b"\0\0\0\3"):
        return starts, rest[table:], newest
    names = rest[table:].split(b"\0") if count else []
    if len(names) != count:
        return None
    return starts, names, newest


class Names(Sequence[bytes]):
    """The paths of the entries of a version 2 or 3 index's bytes `data` at `starts` (then
    where the last ends), each read where it is when asked, as `indexentries.walk` reads it:
    equal to the list of them. `kept`: the memo's paths, split where every one is asked for
    (`listed`: a few ms, where reading each costs about as much as walking the index)."""

    __slots__ = ("_data", "_flags", "_kept", "_listed", "_starts")

    def __init__(self, data: bytes, starts: list[int], width: int, kept: bytes = b"") -> None:
        self._data, self._starts, self._flags = data, starts, 40 + width
        self._kept = kept
        self._listed: list[bytes] | None = None

    def listed(self) -> list[bytes]:
        """Every path, as a list (once)."""
        if self._listed is not None:
            return self._listed
        split = self._kept.split(b"\0") if self._kept else []
        if len(split) != len(self) or (split and split[-1] != self[len(self) - 1]):
            split = [self[i] for i in range(len(self))]  # (none kept: read each)
        self._listed = split
        return split

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, i: int) -> bytes: ...

    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...

    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        count = len(self)
        if i < 0:
            i += count
        if not 0 <= i < count:
            raise IndexError(i)
        data, at = self._data, self._starts[i] + self._flags
        flags = int.from_bytes(data[at : at + 2], "big")
        name = at + (4 if flags & 0x4000 else 2)
        length = flags & 0xFFF
        if length == 0xFFF:
            length = data.index(0, name) - name
        return data[name : name + length]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.listed())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def _head(name: str, data: bytes, count: int) -> bytes:
    return f"{name} {len(data)} {count}".encode("ascii")


def _store(memo: Memo, name: str, data: bytes, width: int, found: Walked) -> None:
    """Keep `found` for the shared index `name` (a cache: a failure to write costs the next
    capture a walk, never a wrong answer)."""
    assert memo.scratch is not None
    offsets = array.array("Q", found.starts)
    if offsets.itemsize != 8:
        return
    if sys.byteorder == "little":
        offsets.byteswap()
    count = len(found.names)
    starts = found.starts
    regular = indexentries.regular_since(data, starts, width, None)
    ctimes = (int.from_bytes(data[starts[i] : starts[i] + 4], "big") for i in regular)
    newest = max(ctimes, default=-1)
    head = _head(name, data, count) + b" %d\n" % newest
    body = b"".join((head, offsets.tobytes(), b"\0".join(found.names)))
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(memo.scratch, flags, 0o644), "wb") as fh:
            fh.write(_MAGIC + zlib.crc32(body).to_bytes(4, "big"))
            fh.write(body)
        os.replace(memo.scratch, memo.file)
    except OSError:
        with contextlib.suppress(OSError):
            memo.scratch.unlink(missing_ok=True)
