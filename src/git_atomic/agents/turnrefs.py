"""A turn's checkpoint refs: a checkpoint it changed written under its next ref (`written`),
its count of refs set past those a killed hook left (`past_leftovers`), and its refs dropped
(`forget_refs`). Split from turnsteps.py, which, with turnfiles.py, uses them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from git_atomic.agents.turnstate import TURN_REFS, Record, turn_message
from git_atomic.core import patterns, records
from git_atomic.core.errors import AtomicError
from git_atomic.engine import git

if TYPE_CHECKING:  # (a later call's note of its files writes no checkpoint)
    from git_atomic.engine import checkpoint

# The number a turn's checkpoint ref begins with (`Record.next_ref`): compiled where a turn's
# refs are counted, not by every hook call's import (core/patterns.py).
_SEQ: Final = patterns.keep(r"/(\d+)-[^/]*$")


def past_leftovers(repo: git.Repo, record: Record) -> Record | None:
    """The record with its count of refs past every checkpoint ref its turn has; None when
    none is past it. A hook killed (a platform's timeout) or failed between a checkpoint's ref
    and the write of the record leaves a ref the record does not count: the turn's next
    checkpoint would take its name again, and fail, and so every later one."""
    names = repo.refs(f"{TURN_REFS}{record.op_id}/")
    top = max((int(m.group(1)) for name in names if (m := re.search(_SEQ, name))), default=0)
    return records.replace(record, refs=top) if top > record.refs else None


def written(
    repo: git.Repo, record: Record, parts: checkpoint.Snapshot, what: str
) -> tuple[Record, str]:
    """`parts` (a checkpoint changed: other files, another capture time) written as a
    checkpoint, made reachable by the turn's next ref (`what`). A turn's call never runs while
    git waits half way (turn.py refuses it): no commit of a state in progress is to be kept
    beside HEAD and the branches, the checkpoint's parents. Returns the record and the
    commit."""
    from git_atomic.engine import checkpoint

    message = turn_message(repo.worktree_id, record, f"{what}: the files its calls named")
    commit = checkpoint.write(repo, parts, message=message).commit
    counted, ref = record.next_ref(what)
    try:
        repo.update_refs([f"create {ref} {commit}"], message="git-atomic: turn checkpoint")
    except AtomicError:
        past = past_leftovers(repo, record)
        if past is None:
            raise
        counted, ref = past.next_ref(what)
        repo.update_refs([f"create {ref} {commit}"], message="git-atomic: turn checkpoint")
    return counted, commit


def forget_refs(repo: git.Repo, record: Record, *, only: Sequence[str] = ()) -> None:
    """Drop an open turn's checkpoint refs (all of them, or those naming `only`)."""
    prefix = f"{TURN_REFS}{record.op_id}/"
    drop = [
        f"delete {name} {oid}" for name, oid in repo.refs(prefix).items() if not only or oid in only
    ]
    repo.update_refs(drop, message="git-atomic: a turn's checkpoints that changed nothing")
