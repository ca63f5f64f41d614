"""The permission bits a tree cannot keep (a 0600 key, a 0640 file, a setgid bit) of the files a
capture does not look at itself: those your index holds as they are, clean.

A capture lstats only the files that differ (heldanyway.private_modes): a clean tracked file is
as git made it, its bits git's, unless you changed them (`chmod 600 key` leaves git's view
clean). Such a file the operation deleted or wrote over came back 0644. An lstat of every file
at every capture is what a scan avoids, so the bits are kept beside the scan index, and brought
up to date for the files whose ctime says they may have changed.

Every change of a file's bits changes its ctime, and the scan's `git status` (which compares the
ctime: conversion.AS_ON_DISK) takes the new stat data into the scan index. So a record made by
a scan that started looking in the second T holds for every file but those whose ctime is T or
later in the next scan's index: only those, and the files that scan found changed, are looked
at again (none where that index was written before the second T: it took all its stat data
before, scanracy.older, and is not read).

But a file can come to a path without a change of its own: a folder renamed over another (or
moved in from elsewhere) keeps its files' ctimes, older than T, and git, finding another inode
at the path with the same bytes, takes its stat data anew without a change to report. So the
files whose entry differs from the one in the index the scan started from are looked at too.
Where git wrote nothing (the scan's index is still a hard link to that one) none does; else
the two are compared where they differ (`_differing`): ranges of entries compared whole with
where they are in the other file (one `memcmp` each), halved where they differ, from the first
to the last, so that where an entry is in the other file is known from the ones before it (a
file that came or went moves those after it). At 10,000 entries that costs 0.1 ms (a few
files taken anew) to 5 ms (a thousand), over the 3 ms of reading the scan's index.

A record is trusted only by a scan that started from the scan index it was kept with (its
tree); any other scan (seeded from your index, the first in a worktree, or after the scan index
was lost) looks at every file once: one lstat each, as git's own `status` does. The scan index
a large restore makes for its target from the one the record was kept with (scanindex.Following:
the same entries and stat data but for the files the restore wrote or removed, which have none)
takes the record along without their bits (`follow`): the next scan reads those files again
(their entries differ from the one it started from) and the rest are as the record says. (Not
taken along, the next capture after a rollback and its undo at 100,000 files lstat'ed every
file: 0.5 s of processor time, issue 17, stop 59.) The record
goes before a capture replaces the scan index (capturedisk.publish): one killed between the
two leaves none naming a scan index whose stat data it never saw.

A scan index written as a split one (about 40,000 files and more: scanindex.py) is read as git
reads it, its own part with its shared index (splitentries.py): the same files are looked at
again, by the same ctime and the same comparison with the index the scan started from (where
both use one shared index, only the entries either one's own part touches can differ).

Under test (GIT_ATOMIC_VERIFY_SCAN) every regular file of the scan index not looked at again is
lstat'ed after all, and its bits checked against the record's (`_verify_kept`): a trust that
missed a change fails the test that made it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core import wholefile
from git_atomic.engine import indexentries, safefs, scanracy, sharedmemo, splitentries, splitindex
from git_atomic.engine.git import Repo, worktree_key

_MAGIC: Final = b"git-atomic bits 1\n"
_LARGEST: Final = 64 << 20
_REGULAR: Final = 0o100000


class Brought(NamedTuple):
    """A scan's clean bits, and what they were brought up to date from: `since`, the second the
    scan that kept the record began (None: there was no record to trust, every file was looked
    at); `looked`, the files this scan looked at again (the rest are as at that scan: the raw
    record, conversion.py, trusts the same)."""

    bits: dict[bytes, int]
    since: int | None
    looked: frozenset[bytes]


class Record(NamedTuple):
    """The bits kept: true of the scan index of `tree`, from a scan that began in `since`."""

    tree: str
    since: int
    bits: dict[bytes, int]


def record_path(repo: Repo) -> Path:
    return repo.state_dir / f"bits-{worktree_key(repo)}"


def brought_up_to_date(
    repo: Repo,
    index: Path,
    *,
    base_tree: str | None,
    base_index: Path | None,
    changed: Iterable[bytes],
    gone: Iterable[bytes],
    scanned: int | None = None,
) -> Brought | None:
    """The bits of every regular file of the scan index `index` that are neither 0644 nor 0755,
    from the record kept for `base_tree` (the scan index the scan started from, `base_index`)
    and an lstat of the files that may have changed since (`changed`: those the scan found
    differing, those whose ctime is not before the record's scan, and those whose stat data it
    took anew); of every file where there is no such record. `gone`: files the scan found
    gone; `scanned`: the second this scan began. A split index is read with its shared index
    (splitentries.py). None for an index this cannot read (its shared index gone, say)."""
    kept = load(repo) if base_tree is not None and base_index is not None else None
    if kept is not None and kept.tree != base_tree:
        kept = None
    since = kept.since if kept is not None else None
    if since is not None and scanracy.older(index, since):
        look: list[bytes] = []  # all its stat data taken before that second: not read
    else:
        try:
            data = wholefile.read(index, limit=1 << 34)
            base = None
            if base_index is not None and not os.path.samestat(os.stat(index), os.stat(base_index)):
                base = wholefile.read(base_index, limit=1 << 34)
            memo = sharedmemo.memo_of(repo)
            look = _entries(
                data, since, sha256=repo.sha256, base=base, git_dir=repo.git_dir, memo=memo
            )
        except (OSError, ValueError, IndexError, struct.error):
            return None
    bits = dict(kept.bits) if kept is not None else {}
    for path in gone:
        bits.pop(path, None)
    paths = sorted(set(look).union(changed))
    brought = Brought(bits, since, frozenset(paths))
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        try:
            found = tree.lstat_many(paths) if paths else []
        except OSError:
            return None
    for path, st in zip(paths, found, strict=True):
        if st is not None and stat.S_ISREG(st.st_mode) and _special(st.st_mode):
            bits[path] = st.st_mode & 0o7777
        else:
            bits.pop(path, None)
    if since is not None and os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1":
        _verify_kept(repo, index, brought, scanned=scanned)  # under test: the disk agrees
    return brought


def _regular(data: bytes, at: int) -> bool:
    return int.from_bytes(data[at + 24 : at + 28], "big") & 0o170000 == _REGULAR


def _special(mode: int) -> bool:
    return mode & 0o7777 not in (0o644, 0o755)


def _verify_kept(repo: Repo, index: Path, brought: Brought, *, scanned: int | None) -> None:
    """Each regular file of the scan index not looked at again has the bits the record says:
    else the trust was wrong, and the test that made it so fails here. A file changed since
    this scan began (its ctime: `scanned`) is no matter of the trust's. (Its entries read
    here, not listed by git: a test counts the git processes of a capture.)"""
    data = wholefile.read(index, limit=1 << 34)
    width = 32 if repo.sha256 else 20
    own = indexentries.walk(data, width, None)
    view = splitentries.read(data, own, width, None, repo.git_dir).view
    paths = [
        path
        for (path, _), (entry, at) in view.entries()
        if path not in brought.looked and _regular(entry, at)
    ]
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, st in zip(paths, tree.lstat_many(paths), strict=True):
            if st is None or not stat.S_ISREG(st.st_mode):
                continue  # gone since: as the scan found it, bits kept or not
            if scanned is not None and int(st.st_ctime) >= scanned:
                continue
            kept = brought.bits.get(path)
            if (kept is None and _special(st.st_mode)) or (
                kept is not None and kept != st.st_mode & 0o7777
            ):
                raise AssertionError(f"bits record trusted for a changed file: {path!r}")


def _entries(
    data: bytes,
    since: int | None,
    *,
    sha256: bool,
    base: bytes | None = None,
    git_dir: Path | None = None,
    memo: indexentries.Memo | None = None,
) -> list[bytes]:
    """The paths of the regular files of an index file whose ctime second is `since` or later
    (every one for None), or whose entry differs from the one in `base` (the index it was
    brought up to date from). A split one (or one brought up to date from a split one) is read
    as git reads it, with its shared index in `git_dir` (splitentries.py; its entries from
    `memo` where it holds them: sharedmemo.py). Raises ValueError
    for what this cannot read: not an index of version 2, 3 or 4, a split one without
    `git_dir`, one whose shared index is not there."""
    width = 32 if sha256 else 20
    own = indexentries.walk(data, width, since)
    if splitentries.link_of(data, own.starts[-1], width) is not None or _split(base, width):
        if git_dir is None:
            raise ValueError("split index")
        return _split_entries(data, own, since, width, base, git_dir, memo)
    starts, names = own.starts, own.names
    found = [names[i] for i in own.found]
    if base is None or since is None:
        return found
    differing = _differing(data, base, starts, names, width)
    if differing is None:  # another version: compared by path
        old_starts, old_names, _ = _parse(base, width, None)
        where = dict(zip(old_names, old_starts, strict=False))
        old = memoryview(base)
        differing = [
            i
            for i, (at, p) in enumerate(zip(starts, names, strict=False))
            if (was := where.get(p)) is None or not data.startswith(old[was : was + 40], at)
        ]
    seen = set(found)
    return found + [
        p for i in differing if (p := names[i]) not in seen and _regular(data, starts[i])
    ]


def _split(data: bytes | None, width: int) -> bool:
    """Whether `data` is a split index (told without reading its entries where nothing in it
    could be a "link" extension: splitindex.may_be_split)."""
    if data is None or not splitindex.may_be_split(data, width):
        return False
    own = indexentries.walk(data, width, None)
    return splitentries.link_of(data, own.starts[-1], width) is not None


def _split_entries(
    data: bytes,
    own: indexentries.Walked,
    since: int | None,
    width: int,
    base: bytes | None,
    git_dir: Path,
    memo: indexentries.Memo | None = None,
) -> list[bytes]:
    """`_entries` of a split index, or of one brought up to date from a split one."""
    new = splitentries.read(data, own, width, since, git_dir, memo)
    if base is None or since is None:
        return new.found
    old_own = indexentries.walk(base, width, since)
    old = splitentries.read(base, old_own, width, since, git_dir, memo)
    seen = set(new.found)
    return new.found + [p for p in splitentries.differing(new, old) if p not in seen]


def _differing(
    data: bytes, base: bytes, starts: list[int], names: Sequence[bytes], width: int
) -> list[int] | None:
    """The entries of `data` (at `starts`, then where the last ends; their paths `names`)
    whose bytes differ from those of the same path in `base`, or that `base` lacks: ranges of
    entries compared whole with where they are in `base` (one memcmp), halved where they
    differ, from the first to the last, so that where each entry is in `base` is known from
    the ones before (an entry that came or went moves the rest). None for another version."""
    if base[:8] != data[:8]:
        return None
    version = int.from_bytes(data[4:8], "big")
    count = int.from_bytes(base[8:12], "big")
    old = memoryview(base)  # compared without a copy (`startswith`: one memcmp)
    found: list[int] = []
    shift = 0  # where an entry of `data` is in `base`, less where it is in `data`
    passed = 0  # the entries of `base` before that place
    last = b""  # the path of the last of them (version 4 writes each from the one before)
    todo = [(0, len(starts) - 1)]
    while todo:  # the first range first
        lo, hi = todo.pop()
        if lo == hi:
            continue
        at, stop = starts[lo], starts[hi]
        inside = passed + hi - lo <= count and stop + shift <= len(base) - width
        if inside and data.startswith(old[at + shift : stop + shift], at):
            passed, last = passed + hi - lo, names[hi - 1]
            continue
        if hi - lo > 1:
            middle = (lo + hi) // 2
            todo += [(middle, hi), (lo, middle)]
            continue
        same = False
        while passed < count:  # what `base` holds there: the same path, one gone, or none
            name, length = _entry_at(base, at + shift, width, version, last)
            if name > names[lo]:
                break  # a new path
            if name == names[lo]:  # its stat data the same? (version 4: not its bytes)
                same = data.startswith(old[at + shift : at + shift + 40], at)
            passed, last, shift = passed + 1, name, shift + length
            if name == names[lo]:
                break
        if not same:
            found.append(lo)
        shift -= stop - at
    return found


def _entry_at(data: bytes, at: int, width: int, version: int, last: bytes) -> tuple[bytes, int]:
    """The path and length of the entry at `at` (`last`: the path of the one before it)."""
    flags = int.from_bytes(data[at + 40 + width : at + 42 + width], "big")
    name = at + 42 + width + (2 if flags & 0x4000 else 0)
    if version == 4:
        drop, name = indexentries.varint(data, name)
        stop = data.index(0, name)
        return (last[: len(last) - drop] if drop else last) + data[name:stop], stop + 1 - at
    length = flags & 0xFFF
    if length == 0xFFF:
        length = data.index(0, name) - name
    return data[name : name + length], (name - at + length + 8) & ~7


def _parse(
    data: bytes, width: int, since: int | None
) -> tuple[list[int], Sequence[bytes], list[bytes]]:
    """Each entry's offset (then where the last ends) and path; the regular files whose ctime
    second is `since` or later (every one for None). ValueError for a split index."""
    own = indexentries.walk(data, width, since)
    if splitentries.link_of(data, own.starts[-1], width) is not None:
        raise ValueError("split index")
    return own.starts, own.names, [own.names[i] for i in own.found]


def load(repo: Repo) -> Record | None:
    """The record kept; None when there is none or it is not one (read only as a regular file,
    never through a link)."""
    body = wholefile.read_checked(record_path(repo), _MAGIC, limit=_LARGEST)
    if body is None:
        return None
    try:
        header, _, rest = body.partition(b"\n")
        tree, since = header.split(b" ")
        bits = {}
        for item in rest.split(b"\0"):
            if item:
                octal, path = item.split(b" ", 1)
                bits[path] = int(octal, 8)
        return Record(tree.decode("ascii"), int(since), bits)
    except ValueError:
        return None


def save(repo: Repo, tree: str, since: int, bits: dict[bytes, int]) -> None:
    """Keep `bits` as true of the scan index of `tree` (a cache: a failure to write costs the
    next capture an lstat of every file, never a wrong answer)."""
    body = f"{tree} {since}\n".encode() + b"".join(
        b"%o %s\0" % (mode, path) for path, mode in sorted(bits.items())
    )
    path = record_path(repo)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(tmp, flags, 0o644), "wb") as out:
            out.write(_MAGIC + zlib.crc32(body).to_bytes(4, "big") + body)
        from git_atomic.core import failpoints  # not before the early scan (test_hot_path)

        failpoints.hit("scanbits:aside")  # a kill leaves it: recover's sweep (scratch.py)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def before_follow(repo: Repo, from_tree: str, to_tree: str) -> Record | None:
    """Before the scan index of `to_tree` is made from that of `from_tree` (a restore's:
    scanindex.Following): the record kept for `from_tree`'s, to be made `to_tree`'s once the
    ref names it (`follow`); a record of another `to_tree` index goes first."""
    kept = load(repo)
    if kept is not None and kept.tree == to_tree:
        forget(repo)
    return kept if kept is not None and kept.tree == from_tree else None


def follow(repo: Repo, kept: Record, to_tree: str, written: Iterable[bytes]) -> None:
    """`kept` (the record of the scan index a restore's was made from) made the record of
    `to_tree`'s, now the worktree's scan index. Its entries are those of that index, their
    stat data too, but for the files the restore wrote or removed (`written`): those have none,
    so the next scan reads them and takes their stat data anew (looked at again, as entries
    that differ from its start; their ctime is also past the record's second), and their bits
    are dropped here. Every other file keeps what the record says of it, as it would have had
    the restore written nothing: a change since has a ctime of `kept.since` or later."""
    bits = dict(kept.bits)
    for path in written:
        bits.pop(path, None)
    save(repo, to_tree, kept.since, bits)


def forget(repo: Repo) -> None:
    with contextlib.suppress(OSError):
        record_path(repo).unlink(missing_ok=True)
