"""Intent-to-add entries a worked-out state keeps must have their file: git makes one only
from a file on disk (`git add -N`), so a target whose files lack it, or hold it with another
mode, is an index no tree can describe. A capture of it keeps the index's bytes, which a
take-back reads as git's half-way state: the move's own `undo` would refuse it."""

from __future__ import annotations

from git_atomic.engine import indexstate
from git_atomic.engine.git import Repo


def without_their_file(repo: Repo, flags: str | None, before: str, files: str) -> list[bytes]:
    """The intent-to-add paths of the flags blob `flags` whose file the files tree `files`
    does not hold as the flag says (gone, a folder, another mode); only those whose file
    differs from the tree `before` (the state now) are looked at, which a take-back changes."""
    if flags is None:
        return []
    intents = indexstate.IndexFlags.decode(repo.cat_blob(flags)).intent_to_add
    if not intents or before == files:
        return []
    paths = sorted(intents)
    now = {e.path: e.mode for e in repo.ls_tree_at(before, paths)}
    then = {e.path: e.mode for e in repo.ls_tree_at(files, paths)}
    return [p for p in paths if then.get(p) != now.get(p) and then.get(p) != intents[p]]
