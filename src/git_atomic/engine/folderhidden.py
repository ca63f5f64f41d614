"""The files tree a restore starts from once folders were moved back whole (foldermoves.py):
what the moved folders held that the state probed before the move cannot see at their place,
and what was made in them while a rule hid it (rescue.py asks)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from git_atomic.engine import safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo


def hidden_there(
    repo: Repo,
    before: Snapshot,
    after: Snapshot,
    back: Sequence[tuple[bytes, bytes]],
    target: Snapshot,
) -> tuple[str, list[bytes]]:
    """The files tree a restore starts from once the folders `back` moved back: `after` (the
    state probed then), with the files `before` (the state they were moved from) held in them
    that `after` cannot see at their new place, still there (a rule ignores the folder where
    it went back, `/build/`, but the operation made or moved them into it, `out/new`: the
    restore must see them to take them away), and without those `after` sees in them that
    `before` held nowhere and `target` does not hold as they are (made while a rule hid them
    where the folder was, `junk/F/made.txt`: no checkpoint holds them, so no restore may take
    them away or write over them). The tree, and those left."""
    wanted: dict[bytes, tuple[str, str]] = {}
    unseen: dict[bytes, tuple[str, str]] = {}
    moved_from: set[bytes] = set()
    for c in repo.diff_trees(before.files_tree, after.files_tree):
        if c.old_mode == "160000" or c.new_mode == "160000":
            continue
        mover = max(  # the innermost folder moved back that held it
            ((frm, to) for frm, to in back if frm and c.path.startswith(frm + b"/")),
            key=lambda m: len(m[0]),
            default=None,
        )
        if mover is not None and c.status in ("D", "T"):
            frm, to = mover
            wanted[to + c.path[len(frm) :]] = (c.old_mode, c.old_oid)
            moved_from.add(to + c.path[len(frm) :])
        elif c.status in ("A", "T") and any(c.path.startswith(to + b"/") for _, to in back):
            unseen[c.path] = (c.new_mode, c.new_oid)
    for p in moved_from:
        unseen.pop(p, None)
    if unseen:  # those the target holds as they are: its own, as good as held
        ours = {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(target.files_tree, sorted(unseen))}
        unseen = {p: e for p, e in unseen.items() if ours.get(p) != e}
    edits: dict[bytes, tuple[str, str] | None] = dict.fromkeys(sorted(unseen))
    if wanted:
        held = {e.path for e in repo.ls_tree_at(after.files_tree, sorted(wanted))}
        with safefs.Tree(os.fsencode(repo.root)) as tree:
            there = dict(zip(sorted(wanted), tree.lstat_many(sorted(wanted)), strict=True))
        edits |= {
            p: entry
            for p, entry in wanted.items()
            if p not in held
            and (st := there[p]) is not None
            and (stat.S_ISLNK(st.st_mode) == (entry[0] == "120000"))
            and (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode))
        }
    left = [p for p, entry in edits.items() if entry is None]
    files = repo.tree_edit(after.files_tree, edits) if edits else after.files_tree
    return files, left


def said_left(left: Sequence[bytes]) -> list[str]:
    """A line for each file `hidden_there` left: made where a rule hid it, or one the
    operation moved in with its folder and left over the size budget at its new name (a new
    file there, which no capture takes)."""
    return [
        f"{p.decode('utf-8', 'backslashreplace')}: in no checkpoint as the operation left it "
        "where its folder was moved to (a rule hid it there, or it is over max_new_file_size): "
        "left where the folder is back (not taken away)"
        for p in left
    ]
