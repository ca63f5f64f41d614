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
    data = b"".join(b"%d:%d " % found[p] + p + b"\0" for p in sorted(found))
    if repo.writes_loose():
        return repo.write_blob(data)
    shared = repo.shared_perm()
    if not shared:
        return None
    from git_atomic.engine import objectformat

    return objectformat.write_loose_blob(repo.objects_out, data, sha256=repo.sha256, shared=shared)


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
    # (one pattern over the blob: a record at a time in Python was 14 ms at 5,000 folders)
    return {path: (int(dev), int(ino)) for dev, ino, path in _RECORD.findall(repo.cat_blob(oid))}


# `<device>:<inode> <path>`, each record ended by a NUL; one that is not is skipped whole.
_RECORD: Final = re.compile(rb"(?:(?<=\0)|^)([0-9]+):([0-9]+) ([^\0]+)(?=\0|$)")
