"""Whether git's locks are held: `index.lock` and the others a git killed half way leaves
(`HEAD.lock`, `config.lock`, `packed-refs.lock`...), past which git writes nothing. A lock is
let go of within a grace period, or a live git may hold it (lockholder.py), or neither: then
it is a dead git's. gitstate.py (the index's lock before a restore), gitlocks.py (the others
an operation's git left) and the messages that name a holder ask here."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import envnumbers
from git_atomic.engine.git import Repo

INDEX_LOCK: Final = "index.lock"
_LOCK_GRACE_S: Final = 1.0


def index_lock_held(repo: Repo) -> bool:
    """Whether an index.lock is in the git dir that no git lets go of within the grace period:
    a live git's (its editor open) or one a git that died left; only you can tell which."""
    lock = repo.git_dir / INDEX_LOCK
    return os.path.lexists(lock) and not let_go(lock)


def lock_holder_if_held(repo: Repo, lock: Path) -> str | None:
    """For any lock of git's (gitlocks.py): None where it goes within the grace period; else
    the live git that may hold it ("git commit (pid 123)"), or "" where none may."""
    if let_go(lock):
        return None
    return holder(repo, lock, shared=lock.name not in _OWN_LOCKS) or ""


def index_lock_holder(repo: Repo) -> str | None:
    """The live git that may hold the worktree's index.lock ("git commit (pid 123)"), for
    messages; None when none is seen (none runs, or it cannot be told here)."""
    return holder(repo, repo.git_dir / INDEX_LOCK)


# Locks already waited for in vain (device, inode, mtime, size): a rollback that follows the
# finding drops such a lock without a second wait.
_STALE: Final[set[tuple[int, int, int, int]]] = set()
# How long a restore that writes the index waits for a live git's lock (your commit's editor)
# before it gives up, having written nothing (GIT_ATOMIC_INDEX_LOCK_WAIT).
_LIVE_WAIT_S: Final = 10.0


def live_wait() -> float:
    """GIT_ATOMIC_INDEX_LOCK_WAIT's seconds; the default where it is no finite number (`inf`
    would wait for ever, `nan` not at all)."""
    return envnumbers.seconds("GIT_ATOMIC_INDEX_LOCK_WAIT", _LIVE_WAIT_S)


def let_go(lock: Path, grace: float = _LOCK_GRACE_S) -> bool:
    """Whether the lock goes within `grace` seconds. git makes its lock a file of its own
    (O_EXCL), never a link: a link is never let go of."""
    if lock.is_symlink():
        return False
    deadline = time.monotonic() + grace
    while True:
        try:
            st = lock.stat()
        except (FileNotFoundError, NotADirectoryError):
            return True
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if key in _STALE and grace == _LOCK_GRACE_S:
            return False
        if time.monotonic() >= deadline:
            _STALE.add(key)
            return False
        time.sleep(0.05)


def let_go_together(locks: Sequence[Path]) -> None:
    """One grace period for many locks (a rollback that finds a lock on each of several
    branches): those still there at its end are noted as waited for in vain, so that `let_go`
    answers for each at once. Left by a killed git, N locks cost one wait, not N."""
    waiting = {lock: None for lock in locks if not lock.is_symlink()}
    seen: dict[Path, tuple[int, int, int, int]] = {}
    deadline = time.monotonic() + _LOCK_GRACE_S
    while waiting:
        for lock in list(waiting):
            try:
                st = lock.stat()
            except (FileNotFoundError, NotADirectoryError):
                del waiting[lock]  # let go of
                continue
            seen[lock] = key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            if key in _STALE:
                del waiting[lock]  # waited for already
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    _STALE.update(seen[lock] for lock in waiting)


def holder(repo: Repo, lock: Path, *, shared: bool = False) -> str | None:
    if lock.is_symlink():
        return None  # no git makes its lock a link
    from git_atomic.engine import lockholder  # only where a lock is found

    return lockholder.live_holder(repo, lock, shared=shared)


# git's other locks (git_locks): in the worktree's git dir (its HEAD), in the common one.
# MERGE_RR.lock: with rerere on, every merge, commit and `git rerere` refuses past it;
# refs/stash.lock: every `git stash`, and a rollback that puts your stash list back.
_OWN_LOCKS: Final = ("HEAD.lock", "ORIG_HEAD.lock", "config.worktree.lock", "MERGE_RR.lock")
_COMMON_LOCKS: Final = ("config.lock", "packed-refs.lock", "shallow.lock", "refs/stash.lock")
_IN_PROGRESS_REFS: Final = ("bisect", "rewritten")  # capturerefs.IN_PROGRESS
_ASIDE_MARK: Final = ".atomic-stale."  # a stale lock renamed aside before it goes (gitlocks)


def git_locks(repo: Repo) -> list[Path]:
    """git's locks beside index.lock there are now, that a git killed half way leaves and
    past which git writes nothing (gitlocks.py): a few lstat calls."""
    places = [repo.git_dir / name for name in _OWN_LOCKS]
    places += [repo.common_dir / name for name in _COMMON_LOCKS]
    places += _locks_below(repo.common_dir, "heads")
    # the worktree's own refs of a command left half way, which its rollback deletes
    places += [p for kind in _IN_PROGRESS_REFS for p in _locks_below(repo.git_dir, kind)]
    seen: list[Path] = []
    for place in places:
        if place not in seen and os.path.lexists(place) and folders_own(repo, place):
            seen.append(place)
    return seen


def _locks_below(git_dir: Path, kind: str) -> list[Path]:
    """Every lock under `refs/<kind>/`: each branch's (`refs/heads/**/<b>.lock`), not only
    HEAD's, as a rollback moves back, removes or makes again each branch the operation
    touched, and git refuses each whose lock is there; a bisect's. A walk of those folders (one
    scandir each; most repositories hold a few), never through a link, nor our own lock set
    aside (gitlocks.py)."""
    found: list[Path] = []
    top = git_dir / "refs" / kind
    try:
        if not all(stat.S_ISDIR(os.lstat(p).st_mode) for p in (top.parent, top)):
            return found
    except OSError:
        return found
    # (os.walk never descends into a link to a folder with followlinks=False)
    for folder, _dirs, names in os.walk(top, followlinks=False):
        found += [Path(folder, n) for n in names if n.endswith(".lock") and _ASIDE_MARK not in n]
    return found


def folders_own(repo: Repo, lock: Path) -> bool:
    """Whether each folder from the git dir down to `lock` is a folder, not a link: a lock
    beyond a link (`refs/heads/team` linked elsewhere) is outside the repository, never ours
    to remove. (A few lstat calls, where a lock is there.)"""
    top = repo.common_dir if lock.is_relative_to(repo.common_dir) else repo.git_dir
    folder = lock.parent
    while folder != top and folder.is_relative_to(top):
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return False
        except OSError:
            return False
        folder = folder.parent
    return True
