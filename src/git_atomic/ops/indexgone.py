"""An index git cannot read because the shared index it names is gone, met by `undo`.

Your index split (`core.splitIndex`) on a shared index that was removed by hand, or expired by
git (`splitIndex.sharedIndexExpire`, when another index file was written): git reads nothing of
it ("index file open failed"), and a capture holds it as its bytes. `undo` compared those bytes
with the entries the last rollback left, found them apart and refused as for git's half-way
state (exit 3), though nothing of yours is in them that git could show: its entries are lost to
git. Its rollback (`abort`, a failed run) builds such an index anew from the checkpoint; `undo`
now does the same: the index is taken for the one the last move left, the move is worked out
from there, and the rescue keeps the bytes, so a second `undo` gives them back.
"""

from __future__ import annotations

from git_atomic.core import records
from git_atomic.engine import splitindex
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo

NOTE = (
    "the index named a shared index that is gone (git could not read it): taken as the last "
    "move left it and written anew; `git atomic undo` gives its bytes back"
)


def unreadable(repo: Repo, current: Snapshot) -> bool:
    """Whether the state now holds the index as its bytes because its shared index is gone."""
    return (
        current.index_present
        and current.index_blob is not None
        and current.index_split
        and current.index_entries is None
        and splitindex.gone(repo, repo.index_path)
    )


def as_left(current: Snapshot, left: Snapshot) -> Snapshot:
    """`current` with its index the one `left` holds (entries, flags, format, shared index)."""
    return records.replace(
        current,
        staged_tree=left.staged_tree,
        index_blob=left.index_blob,
        index_mtime_ns=left.index_mtime_ns,
        index_split=left.index_split,
        index_whole=left.index_whole,
        index_entries=left.index_entries,
        index_present=left.index_present,
        index_shared=left.index_shared,
        index_version=left.index_version,
        index_flags=left.index_flags,
    )
