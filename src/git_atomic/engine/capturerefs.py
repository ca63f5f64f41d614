"""The refs a capture reads, in one `for-each-ref`: the branches, our scan indexes' refs, the
refs of a command git left half way (a bisect's, a `rebase -r`'s), your stashes', the line
ending rules' raw record and the tags. Listed once per capture (snapshot.py), or once for
`begin`, `run` and `abort` as a whole: under the worktree's lock, before their scan starts
(early.py), where the scan's ref is one of them and the command's first capture takes the
rest."""

from __future__ import annotations

import os
from contextvars import ContextVar
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo

IN_PROGRESS: Final = ("refs/bisect/", "refs/rewritten/")  # gitstate.py
STASH: Final = "refs/stash"  # stashstate.py
# Tags are left alone by a rollback, but named where an operation changed them (tagsleft.py):
# listed in the same `for-each-ref`, no process of their own; not where `packed-refs` is past
# this size (about a thousand tags packed): 20,000 tags cost each listing 30 ms, and each
# capture (a hook call's too) one listing.
TAGS: Final = "refs/tags/"
_TAGS_PACKED_AT_MOST: Final = 64 << 10
# Refs listed with a capture's for a caller that needs them after it (an agent turn's end:
# its own refs), taken from that listing (`Repo.listed_again`), not listed again.
ALSO_LISTED: ContextVar[tuple[str, ...]] = ContextVar("ALSO_LISTED", default=())


def prefixes(repo: Repo) -> tuple[str, ...]:
    """What `listing` lists, with the refs `ALSO_LISTED` adds."""
    # (Imported here, not at the top: gitstate.py's IN_PROGRESS, on every hook call's way,
    # needs neither the scan index nor the line-ending rules.)
    from git_atomic.engine import conversion, scanindex

    return (
        "refs/heads/",
        scanindex.SCAN_REFS,
        *IN_PROGRESS,
        STASH,
        *((TAGS,) if tags_listed(repo) else ()),
        conversion.raw_ref_name(repo),
        *ALSO_LISTED.get(),
    )


def listing(repo: Repo) -> bytes:
    """The refs a capture reads (snapshot.capture's `refs_listed`), as `Repo.refs_listing`
    lists them."""
    return repo.refs_listing(*prefixes(repo))


def tags_listed(repo: Repo) -> bool:
    """Whether a capture lists the tags: not where `packed-refs` holds many (its size, one
    lstat); then a checkpoint records none and a rollback names no tag it changed."""
    try:
        return os.lstat(repo.common_dir / "packed-refs").st_size <= _TAGS_PACKED_AT_MOST
    except OSError:
        return True  # none: the tags are loose, as few as a repository keeps unpacked
