"""The tags a checkpoint records (its `tags` blob, checkpoint.TAGS): a rollback leaves tags
alone, but names those the operation deleted, made or moved (ops/tagsleft.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from git_atomic.engine.git import Repo

_TAGS_AT_MOST: Final = 1 << 20  # bytes of TAGS records a capture writes (tags_blob)


def tags_blob(repo: Repo, tags: Mapping[str, str]) -> str | None:
    """A blob of `<oid> <ref>` records for the tags, NUL-separated and sorted (the same tags,
    the same blob: written once); an empty one for none. Written loose without a process
    only: in a repository a group shares, or past _TAGS_AT_MOST (tens of thousands of tags),
    None (not captured, as in a checkpoint from before: a capture gains no git process)."""
    records = sorted(f"{o} {n}".encode("utf-8", "surrogateescape") for n, o in tags.items())
    data = b"".join(r + b"\0" for r in records)
    if len(data) > _TAGS_AT_MOST or not repo.writes_loose():
        return None
    return repo.write_blob(data)


def tags_of(repo: Repo, blob: str | None) -> dict[str, str] | None:
    """The tags TAGS holds, {ref: oid}; None where the checkpoint did not capture them."""
    if blob is None:
        return None
    out = {}
    for record in repo.cat_blob(blob).split(b"\0"):
        oid, _, name = record.partition(b" ")
        if name:
            out[name.decode("utf-8", "surrogateescape")] = oid.decode("ascii")
    return out
