"""An intent-to-add entry of yours that a take-back would leave without its file, or on a file
of another mode (your `git add -N` of the operation's new file, which the take-back deletes):
your mark is on the very file the move takes away or changes, so the two changed the same
thing differently, an overlap as two changes to the same file are. (git makes such an entry
only from a file on disk; indexstate.add_intents can make one without it, but what you
marked would be gone under your mark, and the move's own `undo` would bring the file back
under it.)"""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.engine import checkpoint, indexstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo


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
