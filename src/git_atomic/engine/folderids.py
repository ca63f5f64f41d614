"""Where each folder was, by device and inode: the `folder-ids` blob of a checkpoint.

A folder an operation renames (`mv build out`) keeps its device and inode, and so do the files
in it that no checkpoint holds (ignored ones). The walk of the folders reads each folder's
inode with its folder's entries (folderwalk.py: no syscall more), and a capture keeps them, so
a restore finds the folder again where the operation put it (foldermoves.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Final

from git_atomic.engine.git import Repo

Ids = dict[bytes, tuple[int, int]]  # folder -> (st_dev, st_ino)


def blob(repo: Repo, found: Mapping[bytes, tuple[int, int]]) -> str | None:
    """A blob of `<device>:<inode> <path>` records, NUL-separated and sorted; None for none.
    Written loose without a process, in a repository a group shares too (where git's other
    objects are written by git): with the bits git gives its objects there
    (objectformat.shared_mode); where its setting is one we do not read as git does, none
    (a checkpoint gains no `hash-object` process for them: a folder an operation moved is then
    not moved back)."""
    if not found:
        return None
    # (one formatting a record, the records sorted with their ids: 9 ms at 5,000 folders
    # where a lookup and two joins a record took 14)
    data = b"".join([b"%d:%d %s\0" % (d, i, p) for p, (d, i) in sorted(found.items())])
    if repo.writes_loose():
        oid: str | None = repo.write_blob(data)
    else:
        shared = repo.shared_perm()
        if not shared:
            return None
        from git_atomic.engine import objectformat

        oid = objectformat.write_loose_blob(
            repo.objects_out, data, sha256=repo.sha256, shared=shared
        )
    if oid is not None:
        # What `load` reads of these bytes: every record (a path is never empty, never holds
        # a NUL: kept alike all the same).
        # (a copy, where every path is one `load` reads back: the walk's always are)
        if b"" in found or b"\0" in b"".join(found):
            ids = {p: (int(d), int(i)) for p, (d, i) in found.items() if p and b"\0" not in p}
        else:
            ids = dict(found)  # (device and inode: ints, from the walk's stat data)
        _remember(oid, ids)
    return oid


# The blobs this process wrote or read last, as `load` reads them: a rollback reads the one its
# rescue's capture has just written (a blob's id names its bytes, so its reading is the same).
_KNOWN: dict[str, Ids] = {}
_KNOWN_AT_MOST: Final = 4


def _remember(oid: str, ids: Ids) -> None:
    _KNOWN.pop(oid, None)
    _KNOWN[oid] = ids
    while len(_KNOWN) > _KNOWN_AT_MOST:
        del _KNOWN[next(iter(_KNOWN))]


def still_kept(repo: Repo, oid: str | None) -> str | None:
    """`oid`, the blob of an earlier capture whose folders are still where it says (Watchman
    said no folder changed since: scan.py), where it is still stored loose: its mtime
    freshened, as git does before it would write it again, so that no `gc` takes it for old
    (one syscall). None otherwise (packed, or gone: then the capture keeps none)."""
    if oid is None:
        return None
    try:
        os.utime(f"{os.fspath(repo.objects_out)}/{oid[:2]}/{oid[2:]}", follow_symlinks=False)
    except OSError:
        return None
    return oid


def load(repo: Repo, oid: str | None) -> Ids:
    """The folders of the blob `oid` (none: a state worked out from trees, a capture that
    could not walk the folders, a checkpoint written before they were kept)."""
    if oid is None:
        return {}
    known = _KNOWN.get(oid)
    if known is not None:
        return dict(known)  # (the caller's own)
    # (one pattern over the blob: a record at a time in Python was 14 ms at 5,000 folders)
    ids = {path: (int(dev), int(ino)) for dev, ino, path in _RECORD.findall(repo.cat_blob(oid))}
    _remember(oid, ids)
    return dict(ids)


# `<device>:<inode> <path>`, each record ended by a NUL; one that is not is skipped whole.
_RECORD: Final = re.compile(rb"(?:(?<=\0)|^)([0-9]+):([0-9]+) ([^\0]+)(?=\0|$)")
