"""An intent-to-add entry of yours that a take-back would leave without its file, or on a file
of another mode (your `git add -N` of the operation's new file, which the take-back deletes):
your mark is on the very file the move takes away or changes, so the two changed the same
thing differently, an overlap as two changes to the same file are. (git makes such an entry
only from a file on disk; indexbuild.add_intents can make one without it, but what you
marked would be gone under your mark, and the move's own `undo` would bring the file back
under it.) So is one the move makes again (the operation's removal of your `git add -N x`,
taken back) where the index holds entries of yours now below it or on its way (`x/y` you staged
since): git's `add -N` would replace them."""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.engine import checkpoint, indexstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo


def overlaps(
    repo: Repo,
    flags: str | None,
    before: str,
    files: str,
    staged: str,
    pairs: Sequence[tuple[Snapshot, Snapshot]],
) -> list[tuple[bytes, str]]:
    """The intent-to-add entries of the flags blob `flags` a move (the changes `pairs`) from
    the files tree `before` to `files`, the index tree `staged`, cannot keep or make again, and
    why: `without_their_file`, then `crossing_entries`."""
    orphaned = without_their_file(repo, flags, before, files, pairs)
    if orphaned:
        return [(p, "intent-to-add (git add -N) whose file would go") for p in orphaned]
    kind = "intent-to-add (git add -N) where the index holds other entries now"
    return [(p, kind) for p in crossing_entries(repo, flags, staged)]


def without_their_file(
    repo: Repo,
    flags: str | None,
    before: str,
    files: str,
    pairs: Sequence[tuple[Snapshot, Snapshot]],
) -> list[bytes]:
    """The intent-to-add paths of the flags blob `flags` whose file the files tree `files`
    does not hold as the flag says (gone, a folder, another mode); only those whose file
    differs from the tree `before` (the state now) are looked at, which a take-back changes,
    and only those no change of `pairs` (from, to) sets or changes: yours. An entry the move
    makes again with its file as it was (the `undo` of a take-back) is the move's own."""
    if flags is None:
        return []
    intents = indexstate.IndexFlags.decode(repo.cat_blob(flags)).intent_to_add
    if not intents or before == files:
        return []
    paths = sorted(intents)
    now = {e.path: e.mode for e in repo.ls_tree_at(before, paths)}
    then = {e.path: e.mode for e in repo.ls_tree_at(files, paths)}
    paths = [p for p in paths if then.get(p) != now.get(p) and then.get(p) != intents[p]]
    for frm, to in pairs:
        if paths and frm.index_flags != to.index_flags:
            old = checkpoint.load_flags(repo, frm).intent_to_add
            new = checkpoint.load_flags(repo, to).intent_to_add
            paths = [p for p in paths if old.get(p) == new.get(p)]
    return paths


def crossing_entries(repo: Repo, flags: str | None, staged: str) -> list[bytes]:
    """The intent-to-add paths of the flags blob `flags` where the index tree `staged` holds
    an entry, a folder of entries, or a file on the way (`x` for `x/y`), or where another
    intent-to-add entry is on the way or below: the operation's `git add -N x` taken back where
    you staged `x/y`, or ran `git add -N x/y`, since. git's `add -N`, which makes the entry
    again (indexbuild.add_intents), would replace those entries of yours with it; and no index
    holds both `x` and `x/y` (the scratch tree it is made from could not: a restore that tried
    stopped half way, and so did each `recover` of it)."""
    if flags is None:
        return []
    intents = indexstate.IndexFlags.decode(repo.cat_blob(flags)).intent_to_add
    if not intents:
        return []
    paths = sorted(intents)
    ways = {p: [p[:i] for i in range(1, len(p)) if p[i : i + 1] == b"/"] for p in paths}
    asked = sorted({w for above in ways.values() for w in above})
    found = {e.path: e.kind for e in repo.ls_tree_at(staged, [*paths, *asked])}
    below = {w for p in paths for w in ways[p] if w in intents}  # an entry with one under it
    return [
        p
        for p in paths
        if p in found
        or p in below
        or any(w in intents or (w in found and found[w] != "tree") for w in ways[p])
    ]
