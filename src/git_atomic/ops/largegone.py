"""Files too large for any checkpoint that a move cannot bring back, said after it.

A new untracked file over `max_new_file_size` is in no checkpoint (a capture names it: "not
protected"). One that was there when the move's target was captured and is not there now (the
operation deleted or moved it) cannot come back, and the rollback of an operation that had
deleted a 12 MB database said "it had changed nothing". Each is named as a path the move could
not put back (`Outcome.failed`), as one the system refused is.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from git_atomic.core.errors import GitError
from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import Outcome


def note(repo: Repo, target: Snapshot, paths: Sequence[bytes], outcome: Outcome) -> None:
    """Each file over the budget when `target` was captured that is no regular file now (a
    selective move, `paths`, only for those it names)."""
    if target.too_large is None:
        return
    try:
        big = sorted(checkpoint.load_too_large(repo, target))
    except GitError:
        return
    if paths:
        big = [p for p in big if any(p == q or p.startswith(q.rstrip(b"/") + b"/") for q in paths)]
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        found = tree.lstat_many(big)
    for path, st in zip(big, found, strict=True):
        if st is None or not stat.S_ISREG(st.st_mode):
            outcome.failed.append(path)
            outcome.problems.append(
                f"{path.decode('utf-8', 'backslashreplace')} was larger than max_new_file_size "
                "when the state it returns to was saved, so no checkpoint holds it: it is gone "
                "now (deleted or moved since), and cannot come back"
            )
