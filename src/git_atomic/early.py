"""The scan of the tree, started before the rest of a command is imported.

Most of a PRE-OP checkpoint is one scan of the worktree (scan.py): a `git status` that runs in
the background. `begin` and `run` take the worktree's lock and start that scan first, with the few
modules both need, then import and open the rest (the journal, the engine) while it runs.

Only with the lock held: a scan started before it could see another git-atomic half way through a
restore. When the lock is not free at once, or anything else is unusual (no scan index yet, not a
repository), nothing starts early and the command goes the usual way, with its usual messages.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from git_atomic import git, process, scan
from git_atomic.errors import AtomicError
from git_atomic.lock import WorktreeLock
from git_atomic.scan import Scan


@dataclass
class Early:
    repo: git.Repo
    lock: WorktreeLock  # held
    scanning: Scan | None  # running until a capture takes it (`take_scan`)

    def take_scan(self) -> Scan | None:
        """The running scan, once: the command's first capture takes it (or drops it)."""
        running, self.scanning = self.scanning, None
        return running


@contextlib.contextmanager
def started(command: str, *, wanted: bool = True) -> Iterator[Early | None]:
    """The worktree's lock and a scan of it, when both can start at once; None otherwise (and
    when not `wanted`). On leaving, an untaken scan is dropped and the lock released."""
    early = _start(command) if wanted else None
    try:
        yield early
    finally:
        if early is not None:
            try:
                if early.scanning is not None:
                    scan.abandon(early.scanning)
            finally:
                process.CHILDREN.path = None
                early.lock.release()
                process.INTERRUPTS.uninstall()


def _start(command: str) -> Early | None:
    try:
        repo = git.discover()
    except AtomicError:
        return None
    if repo.root.is_relative_to(repo.state_dir):
        return None
    lock = WorktreeLock(repo.git_dir / "atomic.lock")
    process.INTERRUPTS.install()  # as `context.opened` does, before the lock is taken
    try:
        lock.acquire(command, wait=None)
    except AtomicError:
        process.INTERRUPTS.uninstall()
        return None
    early = Early(repo, lock, None)
    try:
        process.CHILDREN.path = repo.git_dir / process.CHILD_RECORD
        known = repo.refs(scan.SCAN_REFS).get(scan.ref_name(repo))
        if known is not None and scan.index_file(repo, known).exists():
            tmp = repo.state_dir / "tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            scratch = tmp / f"scan-{os.getpid()}-early"
            scratch.unlink(missing_ok=True)
            early.scanning = scan.start(repo, known_tree=known, seed=None, scratch=scratch)
    except (AtomicError, OSError):
        early.scanning = None  # the capture scans the usual way
    return early
