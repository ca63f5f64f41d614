"""git's locks an operation's git left behind, beside `index.lock` (gitlockheld.py).

git takes a lock by making `<file>.lock` (O_EXCL) and renames it into place when done; a git
killed half way (a timeout, `kill -9`, a crash of the machine) leaves it, and every later git
command that needs that file refuses: `HEAD.lock` or `refs/heads/<branch>.lock` and no commit
is possible ("Unable to create '.git/HEAD.lock': File exists ... remove the file manually to
continue"), `config.lock` and no `git config`, `packed-refs.lock` and no branch deleted. The
rollback put back files, index and branches and said they were as before, and your next
`git commit` failed. So a rollback of the operation's own (a failed run, `abort`, `recover`)
looks for those locks (a few lstat calls), and removes each that was written while the
operation ran, that no git lets go of within the grace period and that no git still running
may hold (lockholder.py), saying so; one from before the operation is yours, left; one a
live git may hold is named, and left to it. So does an agent turn's take-back, for those
written within its calls (one made between them is yours).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from git_atomic.engine import gitlockheld
from git_atomic.engine.git import Repo

_MARGIN_S: Final = 1.0  # a file system's times against our clock

Windows = Sequence[tuple[float, float | None]]  # (start, end), None: no end


def removed(repo: Repo, windows: Callable[[], Windows]) -> list[str]:
    """The one door to this module's removal: the locks git_locks finds now (a few lstat calls
    where there are none), those written within `windows()` (the operation's run, an agent
    turn's calls: worked out only where a lock is there) and stale removed, one line each for
    those removed and for those a live git may hold (`dropped`). Used by an operation's own
    rollback, `rollback --op` and `undo`, `recover`, and a turn's judging."""
    found = gitlockheld.git_locks(repo)
    if not found:
        return []
    return dropped(repo, windows(), found)


def dropped(repo: Repo, windows: Windows, found: list[Path]) -> list[str]:
    """Remove those of the locks `found` (gitlockheld.git_locks) that are stale and were written
    within one of `windows` ((start, end), None: no end): the operation's run, an agent
    turn's calls; one line each for those removed and for those a live git may hold."""
    spans = [(a - _MARGIN_S, None if b is None else b + _MARGIN_S) for a, b in windows]
    written: list[tuple[Path, os.stat_result]] = []
    for lock in found:
        try:
            st = lock.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and any(
            a <= st.st_mtime and (b is None or st.st_mtime <= b) for a, b in spans
        ):
            written.append((lock, st))  # (else yours, from before or between its calls; a link)
    gitlockheld.let_go_together([lock for lock, _st in written])
    said = []
    for lock, st in written:
        shown = _shown(repo, lock)
        holder = gitlockheld.lock_holder_if_held(repo, lock)
        if holder is None:
            continue  # let go of in time
        if holder:
            said.append(
                f"{shown} is there, which {holder} may hold: left to it (git refuses to "
                "write that file while it is there)"
            )
            continue
        if not _removed_if_same(lock, st):
            continue  # gone meanwhile, or a new one of a git started since: its own
        said.append(
            f"{shown}, a lock the operation's git left (it died half way), is removed: git "
            "refused to write that file while it was there"
        )
    return said


def _removed_if_same(lock: Path, seen: os.stat_result) -> bool:
    """Remove `lock` if it is still the file `seen` (looked at before its holder was asked
    for): renamed aside first, in one step, then compared, so a lock a git made since in its
    place is never the one removed; one that is put back under its name (unless yet another
    is there by then: that one is the git's)."""
    # Its name ends in `.lock` as the lock's does: git never reads such a file in `refs/` as a
    # branch, should we be killed before it goes.
    aside = lock.with_name(f"{lock.name}.{os.getpid()}.atomic-stale.lock")
    try:
        os.rename(lock, aside)
    except OSError:
        return False
    try:
        now = os.lstat(aside)
    except OSError:
        return False
    if (now.st_dev, now.st_ino, now.st_mtime_ns) == (seen.st_dev, seen.st_ino, seen.st_mtime_ns):
        aside.unlink(missing_ok=True)
        return True
    with contextlib.suppress(OSError):
        os.link(aside, lock)  # (never over one made since)
    aside.unlink(missing_ok=True)
    return False


def _shown(repo: Repo, path: Path) -> str:
    try:
        return str(path.relative_to(repo.root))
    except ValueError:
        return str(path)
