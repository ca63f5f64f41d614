"""The words for an effect refused because an index only its bytes describe stands in the way
(effect._halfway_conflicts), where what makes it so is an intent-to-add entry whose file is
gone, not a merge or a rebase: the entries named, and whose doing that was.

Such an index (git's `add -N` entry, its file removed) cannot be rebuilt from trees, so an
effect is not worked out on top of one that changed since. The refusal had said "git's half-way
state (a merge, rebase, cherry-pick...) is in this worktree now: finish or abort it first",
though nothing was in progress and nothing could be finished."""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.engine import checkpoint, gitstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo


def ita_without_file(repo: Repo, snap: Snapshot) -> list[bytes]:
    """The intent-to-add entries of `snap`'s index whose files its capture did not find."""
    if snap.index_blob is None or snap.index_flags is None:
        return []
    ita = sorted(checkpoint.load_flags(repo, snap).intent_to_add)
    if not ita:
        return []
    held = {e.path for e in repo.ls_tree_at(snap.files_tree, ita)}
    return [p for p in ita if p not in held]


def refused(repo: Repo, current: Snapshot, changed: Sequence[Snapshot], *, now: bool) -> str | None:
    """Why the effect is refused, where intent-to-add entries without their files make the
    index one only its bytes describe and nothing of git's is in progress; None otherwise (the
    caller's own words). `changed`: the snapshots the effect's changes go between; `now`: the
    index as it is now is in the way (else the one the change leaves)."""
    if gitstate.waiting_in(repo, current.git_state):
        return None
    theirs = {p for snap in changed for p in ita_without_file(repo, snap)}
    gone = ita_without_file(repo, current) if now else sorted(theirs)
    if not gone:
        return None
    names = ", ".join(p.decode("utf-8", "backslashreplace") for p in gone[:5])
    names += f" and {len(gone) - 5} more" if len(gone) > 5 else ""
    whose = (
        "the operation removed their files"
        if all(p in theirs for p in gone)
        else "their files are gone"
    )
    if now:
        return (
            f"your index holds intent-to-add entries without their files ({names}: {whose}), "
            "so only its bytes describe it, and it changed since the operation: its effect "
            "cannot be worked out on top of it (no merge or rebase is in progress; with your "
            "later change to the index taken back, the index is the operation's again and its "
            "effect is taken back)"
        )
    return (
        f"the operation left intent-to-add entries without their files ({names}), an index "
        "only its bytes describe, and the index changed since: its effect cannot be worked "
        "out on top of it (no merge or rebase is in progress)"
    )
