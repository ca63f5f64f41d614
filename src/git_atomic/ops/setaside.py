"""What an operation left in the git dir (or the worktree's top) that has git refuse the
repository, or find none, set aside before `abort` or `recover` can find it: each is what a
finished operation's rollback sets aside itself, as it starts (rollbackop.rollback_op), where
the same process found the repository before the operation changed it.

- the worktree's `.git` a restore killed before its rename left under our name (dotgit.py);
- a linked worktree's `commondir` made no regular file (a FIFO git would wait on, a link it
  would read through, a folder it cannot read): without it the shared git dir, where the
  journal is, is not known; the one git made it name is taken (`<shared>/worktrees/<name>`,
  as `git worktree add` lays it out) where an operation is open there for this worktree, set
  aside and written again as git wrote it (gitlinks.commondir_back);
- a HEAD git refuses, a `packed-refs` no file of git's (`head_set_aside`).

Only where git refused the repository already: no lstat more on any other path.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

from git_atomic.core import wholefile
from git_atomic.core.lock import held_unless_dead
from git_atomic.engine import checkpoint, discovery, dotgit, git, gitdirsearch, gitlinks
from git_atomic.ops import context


def found_again() -> bool:
    """Set aside, in that order, whatever of the above an operation open here left (each
    needs the one before to be found); True when anything was (the caller finds the
    repository again). The worktree's lock is held meanwhile, as by any writer of the git dir
    (a hook call setting `packed-refs` aside at once, agents/turnpacked.py): one a live
    process holds refuses (BusyError, nothing changed); one whose holder died does not
    (core/lock.held_unless_dead)."""
    here = Path(discovery.current_folder())
    done = dotgit.put_left_back(here)  # our own name, renamed once: no lock needed
    found = gitdirsearch.find_git_dirs(here)
    if found is not None and os.path.isdir(found[0]):  # (a `.git` naming nothing: nothing)
        lock = found[0] / "atomic.lock"
        with held_unless_dead(lock, "set aside what git refuses", wait=None):
            done = commondir_set_aside(here) or done
            discovery.discover.cache_clear()
            done = head_set_aside() or done
    discovery.discover.cache_clear()
    return done


def _open_op_target(where: git.Repo) -> str | None:
    """The state `recover` or `abort` goes back to: a restore's target under way, else the
    first checkpoint of the operation open in the worktree; None where neither is."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        return str(json.loads(wholefile.read(where.git_dir / context.PENDING_RESTORE))["target"])
    if not (where.state_dir / "journal.sqlite3").is_file():
        return None
    journal = context.open_journal(where)
    try:
        op = journal.open_op(where.worktree_id)
        rows = journal.checkpoints(op.id) if op is not None else []
        return rows[0].sha if rows else None
    finally:
        journal.close()


def commondir_set_aside(here: Path) -> bool:
    """A linked worktree's `commondir` that is no regular file, where its git dir is in git's
    own place (`<shared>/worktrees/<name>`) and an operation is open there for it: set aside
    and written again (gitlinks.commondir_back). True when it was."""
    found = gitdirsearch.find_git_dirs(here)
    if found is None or found[0] != found[1]:
        return False  # none, or its commondir read: the shared git dir known
    git_dir = found[0]
    try:
        if stat.S_ISREG(os.lstat(git_dir / "commondir").st_mode):
            return False
    except OSError:
        return False  # none: git's main git dir, or no linked worktree's
    shared = git_dir.parent.parent
    if git_dir.parent.name != "worktrees" or not (shared / "objects").is_dir():
        return False
    where = git.Repo(root=here, git_dir=git_dir, common_dir=shared)
    if _open_op_target(where) is None:
        return False
    return gitlinks.commondir_back(git_dir, shared)


def head_set_aside() -> bool:
    """git refuses the repository, or `packed-refs` is no file of git's (a link git would read
    every ref through, a FIFO, a folder):
    when that is what an operation (or a restore) left, the operation still open (HEAD a link
    to a file outside, a folder, nothing), set it aside (gitlinks.py) and put back the HEAD of
    the state recover or abort goes back to (the operation's PRE-OP), read with git once a
    provisional HEAD lets it."""
    here = Path(discovery.current_folder())
    found = gitdirsearch.find_git_dirs(here)
    if found is None:
        return False
    damaged = gitlinks.head_damaged(found[0])
    if not damaged and not gitlinks.packed_refs_foreign(found[1]):
        return False
    git_dir, common = found
    target = _open_op_target(git.Repo(root=here, git_dir=git_dir, common_dir=common))
    if target is None:
        return False
    gitlinks.set_aside(git_dir, common, head=target.encode(), thorough=True)
    discovery.discover.cache_clear()
    if damaged:
        state = checkpoint.load(discovery.discover(), target)
        gitlinks.write_head(git_dir, gitlinks.head_text(state.head_ref, state.head_oid))
    return True
