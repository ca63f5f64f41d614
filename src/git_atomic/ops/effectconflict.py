"""Effects' overlaps: `Conflict`, a path where the effect and a later change overlap, and git's
half-way state (a merge, rebase... left to finish), which a target worked out of trees cannot
hold (`halfway_conflicts`). effect.py asks; moving.py and the views print what it found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from git_atomic.core.records import dataclass
from git_atomic.engine import gitstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo

STATE: Final = "git state"  # a Conflict's `where` for git's half-way state: `kind` says it all


@dataclass(frozen=True)
class Conflict:
    """A path where the effect and a later change overlap."""

    path: bytes
    where: str  # "files" (the worktree), "index" (the staged entries) or STATE (git's own)
    kind: str  # git's words: "content", "modify/delete", "add/add", "file/directory", ...
    # content: where git's conflict markers start and end in the merged text (1-based lines)
    lines: tuple[tuple[int, int], ...] = ()


def halfway(repo: Repo, snap: Snapshot, seen: dict[str, object]) -> tuple[object, ...]:
    """What a worked-out state cannot hold: git's half-way state (a merge, rebase... left to
    finish: not what such a command leaves once done) and an index only its bytes describe
    (unmerged entries, one git cannot read). `seen`: each gitstate tree read once (with
    rerere, every checkpoint has one, mostly the same)."""
    raw = snap.index_key() if snap.index_blob is not None else None
    tree = snap.git_state
    if tree is not None and tree not in seen:
        seen[tree] = gitstate.waiting_in(repo, tree) or None
    return (seen[tree] if tree is not None else None, raw)


NONE_HALFWAY: Final = (None, None)


def halfway_conflicts(
    repo: Repo, current: Snapshot, pairs: Sequence[tuple[Snapshot, Snapshot]]
) -> tuple[Conflict, ...]:
    """Why the changes cannot be worked out on top of now: a target made from trees holds no
    half-way state, so one there now goes only where a change replaces it whole (the state
    now is that change's end), and a change cannot make one again. Otherwise a merge (or
    unmerged entries) the steps made, or that is yours, would be dropped without a word."""
    seen: dict[str, object] = {}
    now, yours = halfway(repo, current, seen), True
    for frm, to in pairs:
        before, after = halfway(repo, frm, seen), halfway(repo, to, seen)
        if before == after:
            continue  # the change leaves it alone
        if now != before:
            break
        now, yours = after, False
    else:
        if now == NONE_HALFWAY:
            return ()
    if yours and now != NONE_HALFWAY:
        # (An intent-to-add entry whose file was gone made a checkpoint keep the index's
        # bytes, before indexbuild.add_intents learnt to make one without it.)
        what = (
            "git's half-way state (a merge, rebase, cherry-pick... or index entries only the "
            "index's bytes hold: unmerged ones, or one a checkpoint of an earlier version "
            "kept so) is in this worktree now: finish or abort it first"
        )
    else:
        what = (
            "the change holds git's half-way state (a merge, rebase, cherry-pick... or "
            "unmerged index entries), which cannot be made again on top of later changes"
        )
    return (Conflict(b"", STATE, what),)
