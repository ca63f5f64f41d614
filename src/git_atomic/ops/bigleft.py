"""The files over the size budget as a restore left them: no change since, for effect.py.

A checkpoint holds no file over `max_new_file_size` that was new and untracked; it lists them
(`too_large`), and a restore to it leaves such a file where it is, or cannot bring one back.
So right after a move from a state `to` back to a state `frm` (a rollback, then its `undo`),
the list a capture makes now differs from `frm`'s by the move's own doing:
- a file `to` listed (the operation's new one) is still there: the restore left it;
- a file `frm` listed that `to` did not (the operation wrote over it, deleted it, committed
  it) is gone: no checkpoint held its bytes, the restore could not bring it back (and said
  so), or the capture now holds it (restorekeeps.py: git wrote it again from a commit).
Taken for a change since, that made an `undo` of such a rollback no exact move: worked out on
top of "later changes", and refused outright where the state it goes back to holds git's
half-way state (a merge, rebase... stopped on a conflict), which no worked-out state can hold.

A file over the budget moved or made since (`mv data.db mine.db`), or one `to` listed that is
gone now, is a change since all the same: the lists then differ otherwise.
"""

from __future__ import annotations

from git_atomic.core import records
from git_atomic.engine import checkpoint
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo


def as_left(repo: Repo, current: Snapshot, frm: Snapshot, to: Snapshot) -> Snapshot:
    """`current` with `frm`'s list of files over the budget where the lists differ only as the
    move from `to` to `frm` left them (the module's docstring); else `current` as it is. Reads
    the lists only where they differ (two or three blobs)."""
    if current.too_large == frm.too_large or None in (current.too_large, frm.too_large):
        return current  # (no list is no file over the budget, or a capture that kept none)
    now = checkpoint.load_too_large(repo, current)
    was = checkpoint.load_too_large(repo, frm)
    end = checkpoint.load_too_large(repo, to)
    if not (now - was) <= end or (was - now) & end:
        return current
    return records.replace(current, too_large=frm.too_large)
