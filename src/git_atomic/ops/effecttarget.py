"""The state an effect taken back (or re-applied) goes to, written as a checkpoint with no
ref (`write_target`), and what it holds beside its trees, worked out from the changes: git's
own files as they leave them, when they were made, the index flags, your stashes, where the
files over the budget were. Split from effect.py, which merges the trees."""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.engine import checkpoint, gitstate, indexstate, infoexclude, stashstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.ops.refsafter import RefsAfter


def git_state_after(
    repo: Repo, current: Snapshot, pairs: Sequence[tuple[Snapshot, Snapshot]]
) -> str | None:
    """git's own files in the git dir as the changes leave them: a change moves them where
    they are as it found them, and leaves alone what someone made since (a `git merge
    --squash`'s SQUASH_MSG, rerere's MERGE_RR). Never git's half-way state (a merge, rebase...
    left to finish, handled by effect.py), which a target made from trees cannot hold, nor a
    lock, a link or what was set aside (gitstate.py): those none."""
    state = current.git_state
    for frm, to in pairs:
        if state == frm.git_state:
            state = to.git_state
    if state is None or not gitstate.only_leftovers(repo, state):
        return None
    return state


def windows(pairs: Sequence[tuple[Snapshot, Snapshot]]) -> tuple[tuple[float, float], ...]:
    """When each change was made: from the capture of one of its ends to that of the other
    (none when a capture time is not known)."""
    ends = [(a.captured_at, b.captured_at) for a, b in pairs]
    if any(a is None or b is None for a, b in ends):
        return ()
    return tuple((min(a, b), max(a, b)) for a, b in ends if a is not None and b is not None)


def flags_after(
    repo: Repo, current: Snapshot, pairs: Sequence[tuple[Snapshot, Snapshot]]
) -> str | None:
    """The index flags now, with each change's own change of them made: an intent-to-add,
    skip-worktree or assume-unchanged flag a step set is cleared again, one it cleared is set
    again (`git add` of an intent-to-add file taken back is `git add -N` again), and so is a
    path's resolve-undo record; the flags the steps did not change stay as they are now."""
    if all(frm.index_flags == to.index_flags for frm, to in pairs):
        return current.index_flags
    now = checkpoint.load_flags(repo, current)
    ita = dict(now.intent_to_add)
    skip, assume = set(now.skip_worktree), set(now.assume_unchanged)
    undo = dict(now.resolve_undo)
    for frm, to in pairs:
        old, new = checkpoint.load_flags(repo, frm), checkpoint.load_flags(repo, to)
        for path in old.resolve_undo.keys() | new.resolve_undo.keys():
            if old.resolve_undo.get(path) != new.resolve_undo.get(path):
                if path in new.resolve_undo:
                    undo[path] = new.resolve_undo[path]
                else:
                    undo.pop(path, None)
        for path in old.intent_to_add.keys() - new.intent_to_add.keys():
            ita.pop(path, None)
        ita.update((p, m) for p, m in new.intent_to_add.items() if old.intent_to_add.get(p) != m)
        for flagged, was, will in (
            (skip, old.skip_worktree, new.skip_worktree),
            (assume, old.assume_unchanged, new.assume_unchanged),
        ):
            flagged -= was - will
            flagged |= will - was
    flags = indexstate.IndexFlags(ita, frozenset(skip), frozenset(assume), undo)
    if not flags:
        return None
    return repo.write_blob(flags.encode())


class StashAfter:
    """Your stashes as the changes leave them (stashstate.py): a change's stash list is taken
    back (or made again) only where the stash is still as the change left it; one changed
    since (a stash you pushed or dropped) stays, and `refs/stash` is named among the refs
    kept. Unknown on either side (a checkpoint written before stashes were held): left."""

    def __init__(self, current: Snapshot) -> None:
        self.known = current.stash_known
        self.record = current.stash

    def move(self, frm: Snapshot, to: Snapshot, kept: list[str]) -> None:
        if not (self.known and frm.stash_known and to.stash_known) or frm.stash == to.stash:
            return
        if self.record == frm.stash:
            self.record = to.stash
        elif self.record != to.stash:
            kept.append("refs/stash")


def displaced_ids(repo: Repo, pairs: Sequence[tuple[Snapshot, Snapshot]]) -> str | None:
    """The blob of the device and inode each file over the budget had where a change (from,
    to) goes back to, of those the change took from that name (not the same file there at its
    end); an empty one where the captures know of such files and no change took one (None:
    they know of none, or are older than these records)."""
    found: dict[bytes, tuple[int, int, int]] = {}
    for frm, to in pairs:
        then = checkpoint.load_too_large_ids(repo, frm)
        for path, ident in checkpoint.load_too_large_ids(repo, to).items():
            if then.get(path, (-1, -1, -1))[:2] != ident[:2]:
                # A file moved again by a later change (`mv a.db b.db`, then `mv b.db c.db`)
                # ends where the last change that moved it goes back to, never also at the
                # name it had between them.
                for other in [p for p, i in found.items() if i[:2] == ident[:2] and p != path]:
                    del found[other]
                found[path] = ident
    if found or all(to.too_large_ids is None for _, to in pairs):
        return checkpoint.too_large_ids_blob(repo, found)
    return repo.write_blob(b"")


def write_target(
    repo: Repo,
    *,
    files_tree: str,
    staged_tree: str,
    refs: RefsAfter,
    flags: str | None,
    folders: tuple[str | None, bool],
    captured_at: float | None = None,
    made_within: tuple[tuple[float, float], ...] = (),
    index_version: int | None = None,
    index_shared: str | None = None,
    too_large: str | None = None,
    too_large_ids: str | None = None,
    info_exclude: infoexclude.Rules = infoexclude.UNKNOWN,
    info_attributes: infoexclude.Rules = infoexclude.UNKNOWN,
    sparse_checkout: infoexclude.Rules = infoexclude.UNKNOWN,
    shallow: infoexclude.Rules = infoexclude.UNKNOWN,
    branch_config: infoexclude.Rules = infoexclude.UNKNOWN,
    stash: StashAfter | None = None,
    git_state: str | None = None,
    modes: str | None = None,
    folder_ids: str | None = None,
    repositories: str | None = None,
) -> Snapshot:
    """A checkpoint of a computed state (objects only; `moves.keep` makes it reachable). `flags`:
    the index flags blob to keep (the user's, as they are now); `folders`: its empty folders,
    and whether they are all of them (emptyfolders.empty_folders_after)."""
    parts = checkpoint.Parts(
        files_tree=files_tree,
        staged_tree=staged_tree,
        head_ref=refs.head_ref,
        head_oid=refs.head_oid,
        branches=dict(refs.branches),
        symrefs=refs.symrefs,
        index_flags=flags,
        empty_folders=folders[0],
        all_empty_folders=folders[1],
        captured_at=captured_at,
        made_within=made_within,
        index_version=index_version,
        index_shared=index_shared,
        too_large=too_large,
        too_large_ids=too_large_ids,
        info_exclude=info_exclude,
        info_attributes=info_attributes,
        sparse_checkout=sparse_checkout,
        shallow=shallow,
        branch_config=branch_config,
        stash=stash.record if stash is not None else None,
        stash_known=stash is not None and stash.known,
        git_state=git_state,
        modes=modes,
        folder_ids=folder_ids,
        repositories=repositories,
    )
    # The stashes the target names stay reachable from it, as a capture's do.
    keep = stashstate.commits(repo, parts.stash) if parts.stash_known else ()
    return checkpoint.write(
        repo, parts, message="git-atomic: an effect taken back or re-applied", keep=keep
    )
