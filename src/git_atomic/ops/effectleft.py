"""What an effect wrote that is no longer where it wrote it: a file you moved (`mv dir dir2`)
or removed since. Taking the effect back changes nothing there (the three-way merge sees the
path gone on both sides), so the take-back would say "rolled back" and leave the effect's bytes
at their new place unnamed. By the effect rules the move is yours and stays; this names each
such file, and where its bytes are now, so the take-back says what of the effect it left.

A file missing from the state now may still be on disk: a rule hides it now (you put back a
rule the operation dropped, which showed your `build/out.o` to its checkpoints; you ignored
the `out.log` it wrote). No checkpoint of the state now holds it and the take-back leaves it
as it is: it is named so, never as gone (cline/cline#14367).

Asked only when an effect is taken back (never on a checkpoint's or a hook call's path): a
diff per step, one listing of the written paths in the state now and, only where some are
gone, one listing of that state's files."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo

_GITLINK = "160000"  # a submodule's commit: not bytes this effect wrote


def written(repo: Repo, steps: Sequence[tuple[str, str]]) -> dict[bytes, str]:
    """The files the steps wrote last (path -> object id), a path a later step removed left
    out: what the effect left on disk, each where it wrote it."""
    out: dict[bytes, str] = {}
    for before, after in steps:
        a, b = (checkpoint.load(repo, sha).files_tree for sha in (before, after))
        for change in repo.diff_trees(a, b):
            if change.status == "D" or change.new_mode == _GITLINK:
                out.pop(change.path, None)
            else:
                out[change.path] = change.new_oid
    return out


def lines(repo: Repo, steps: Sequence[tuple[str, str]], current: Snapshot) -> list[str]:
    """One line per file the steps wrote that is gone from its path now, naming where the same
    bytes are now when the state now has them elsewhere ('' lines never)."""
    wrote = written(repo, steps)
    if not wrote:
        return []
    here = {e.path for e in repo.ls_tree_at(current.files_tree, sorted(wrote))}
    gone = sorted(p for p in wrote if p not in here)
    if not gone:
        return []
    out = _still_there(repo, gone)
    gone = [p for p in gone if p not in out]
    if not gone:
        return list(out.values())
    where: dict[str, list[bytes]] = {}
    for entry in repo.ls_tree(current.files_tree, recursive=True):
        where.setdefault(entry.oid, []).append(entry.path)
    start = checkpoint.load(repo, steps[0][0]).files_tree
    seen = sorted({p for path in gone for p in where.get(wrote[path], []) if p not in wrote})
    # A file that held the same bytes before the effect began is no move of the effect's file.
    there = {(e.path, e.oid) for e in repo.ls_tree_at(start, seen)} if seen else set()
    for path in gone:
        oid = wrote[path]
        now = [p for p in where.get(oid, []) if p not in wrote and (p, oid) not in there]
        if now:
            places = ", ".join(_shown(p) for p in now[:3]) + (" ..." if len(now) > 3 else "")
            out[path] = (
                f"{_shown(path)}, which it wrote, was moved since (yours): its bytes are at "
                f"{places} now, left there"
            )
        else:
            out[path] = (
                f"{_shown(path)}, which it wrote, is gone from there since (moved or removed, "
                "yours): nothing of it to take back"
            )
    return [out[p] for p in sorted(out)]


def _still_there(repo: Repo, paths: Sequence[bytes]) -> dict[bytes, str]:
    """Those of `paths` (missing from the state now) that are on disk all the same, each with
    its line: a rule hides it now, or no capture holds it (a file over the size budget)."""
    with safefs.Tree(os.fsencode(repo.root)) as tree:  # never through a link
        found = zip(paths, tree.lstat_many(paths), strict=True)
        # A folder there now is your change of kind, not the file left: gone, as before.
        present = [p for p, st in found if st and not stat.S_ISDIR(st.st_mode)]
    if not present:
        return {}
    hidden = repo.ignored(present) or set()
    why = {True: "is ignored now", False: "is there, held by no capture now"}
    return {
        p: f"{_shown(p)}, which its checkpoints held, {why[p in hidden]}: left as it is"
        for p in present
    }


def _shown(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
