"""The scan of the tree, started before the rest of a command is imported.

Most of a checkpoint is one scan of the worktree (scan.py): a `git status` that runs in the
background. `begin`, `run` and `abort` take the worktree's lock and start that scan first, with
the few modules it needs, then import and open the rest (the journal, the engine) while it runs.
Their first capture (PRE-OP; abort's rescue) takes it: nothing can change the worktree between
their lock and that capture, which is what a command must ensure before it starts one here.

Only with the lock held: a scan started before it could see another git-atomic half way through a
restore. When the lock is not free at once, or anything else is unusual (no scan index yet, not a
repository), nothing starts early and the command goes the usual way, with its usual messages.

The hot path: what may be imported before this scan starts (the parser, the lock, the door to
subprocesses, git.py and the scan, no json, dataclasses or sqlite3), and what `begin`,
`checkpoint` and an agent's hook call may import in all, is listed once, in
tests/test_hot_path.py, which measures it. A module on that path imports the rest lazily.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from git_atomic.core import children, process
from git_atomic.core.errors import AtomicError
from git_atomic.core.lock import WorktreeLock
from git_atomic.engine import discovery, git, gitdirfiles, gitlinks
from git_atomic.engine.gitoutput import parse_refs

if TYPE_CHECKING:
    from git_atomic.engine import folderwalk, ignores
    from git_atomic.engine.scan import Scan

# The scan's modules (scan, scanindex, stalls, capturerefs) are imported where the scan starts
# (`_start`, before it), not with `holding`: an agent's hook call holds the lock, and a file
# tool's later call takes no capture.


class Early:
    def __init__(self, repo: git.Repo, lock: WorktreeLock, scanning: Scan | None) -> None:
        self.repo = repo
        self.lock = lock  # held
        self.scanning = scanning  # running until a capture takes it (`take_scan`)
        # Beside the usual scan, what else of the tree a capture needs: the walk of its folders
        # (folderwalk.py: the empty ones), or git's listing of them when it could not be made
        # (folders.py), and the rule files a rule ignores with the `protect`ed files
        # (ignores.py). Taken with the scan.
        self.walked: folderwalk.Walk | None = None
        self.folders: process.Background | None = None
        self.rule_files: ignores.Listing | None = None
        # The refs a capture reads (capturerefs.py), listed under the lock before the scan
        # started: the command's first capture takes them (`take_refs`), not listed again;
        # and the scan ref's loose file as it was read before that listing.
        self.refs_listed: bytes | None = None
        self.scan_ref_file: bytes | None = None

    def list_refs(self) -> str | None:
        """List the refs a capture reads (under the lock), and return what the scan ref names.
        The listing is kept for the capture only where the scan ref's loose file, read before
        it without git, says the same (a loose file naming it, or none and no such ref)."""
        from git_atomic.engine import capturerefs, scanindex

        before = _loose_ref(self.repo, scanindex.ref_name(self.repo))
        listed = capturerefs.listing(self.repo)
        named = parse_refs(listed).get(scanindex.ref_name(self.repo))
        if (before.strip() if before is not None else None) == (
            named.encode() if named is not None else None
        ):
            self.refs_listed, self.scan_ref_file = listed, before
        return named

    def take_refs(self) -> bytes | None:
        """The refs listed with the lock, once; None where not listed, taken, or where the scan
        ref's loose file reads otherwise now: a scan index replaced since (by a capture that
        held no lock) is then seen by a listing made anew, as it was before there was this
        one, and the scan started from the old one is dropped (capturedisk.Disk.start)."""
        from git_atomic.engine import scanindex

        listed, self.refs_listed = self.refs_listed, None
        if listed is None or _loose_ref(self.repo, scanindex.ref_name(self.repo)) != (
            self.scan_ref_file
        ):
            return None
        return listed

    def take_scan(self) -> Scan | None:
        """The running scan, once: the command's first capture takes it (or drops it)."""
        running, self.scanning = self.scanning, None
        return running

    def take_walk(self) -> folderwalk.Walk | None:
        """The walk of the folders made with the scan, once (None: not made)."""
        walked, self.walked = self.walked, None
        return walked

    def take_listings(self) -> tuple[process.Background | None, ignores.Listing | None]:
        """The listings started with the scan, once (None: not started)."""
        taken = self.folders, self.rule_files
        self.folders = self.rule_files = None
        return taken

    def drop(self, *, stop: bool = False) -> None:
        """What no capture took: the scan dropped, the listings waited for (`stop`: stopped,
        as they would wait for ever: stalls.py)."""
        if self.scanning is not None:
            from git_atomic.engine import scan

            scan.abandon(self.scanning, stop=stop)
            self.scanning = None
        for listing in self.take_listings():
            if listing is not None:
                if stop:
                    listing.stop()
                else:
                    listing.wait(check=False)


@contextlib.contextmanager
def holding(repo: git.Repo, command: str, *, wait: float | None) -> Iterator[WorktreeLock]:
    """The worktree's lock, held. From before it is taken, SIGINT/SIGTERM only mark the moment:
    the command finishes the state change it is in (never half a restore), and exits 130/143
    after it."""
    lock = WorktreeLock(repo.git_dir / "atomic.lock")
    children.INTERRUPTS.install()
    try:
        lock.acquire(command, wait=wait, interrupted=lambda: children.INTERRUPTS.received)
        children.CHILDREN.path = repo.git_dir / children.CHILD_RECORD
        yield lock
    finally:
        children.CHILDREN.path = None
        lock.release()
        children.INTERRUPTS.uninstall()


@contextlib.contextmanager
def started(command: str, *, wanted: bool = True) -> Iterator[Early | None]:
    """The worktree's lock and a scan of it, when both can start at once; None otherwise (and
    when not `wanted`). On leaving, an untaken scan is dropped and the lock released."""
    with contextlib.ExitStack() as stack:
        early = _start(command, stack) if wanted else None
        try:
            yield early
        finally:
            if early is not None:
                early.drop()


def _start(command: str, stack: contextlib.ExitStack) -> Early | None:
    from git_atomic.engine import scan, scanindex, stalls

    try:
        repo = discovery.discover_early()
    except (AtomicError, OSError):
        return None
    if repo.root.is_relative_to(repo.state_dir):
        return None
    if any((repo.state_dir / part).is_symlink() for part in ("", "tmp")):
        return None  # never written through: the usual way refuses (context.open_journal)
    try:
        # A link of yours in refs/ or logs/: the scan's `git status` would read HEAD's branch
        # through it; the usual way refuses it before git reads a ref (gitlinks.refuse_found).
        gitlinks.refuse_found(repo.git_dir, repo.common_dir)
    except AtomicError:
        return None
    try:
        lock = stack.enter_context(holding(repo, command, wait=None))
    except AtomicError:
        return None  # busy, or its holder died: the usual way says so
    early = Early(repo, lock, None)  # (no link in refs/ or logs/: refused above)
    try:
        known = early.list_refs()
    except AtomicError:
        return early  # the capture lists them, and says what is wrong
    if gitdirfiles.index_blocked(repo.git_dir) is not None:
        return early  # a FIFO at the index's name: the capture says what it does (snapshot.py)
    try:
        tmp = repo.state_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        scratch = tmp / f"scan-{os.getpid()}-early"
        scratch.unlink(missing_ok=True)
        if known is not None and scanindex.index_file(repo, known).exists():
            early.scanning = scan.start(
                repo, known_tree=known, seed=None, scratch=scratch, read_config=False
            )
        else:
            early.scanning = _seeded(repo, tmp, scratch)
        if early.scanning is not None and early.scanning.watch is None:
            # Imported once the scan runs: not on its way.
            from git_atomic.core.config import capture_settings
            from git_atomic.engine import folders, folderwalk, ignores

            early.walked = folderwalk.walk(repo)
            if early.walked is None:
                early.folders = folders.start_listing(repo, early.scanning.index)
            protect = capture_settings(repo.root)[1]
            early.rule_files = ignores.start_listing(repo, protect=protect, walked=early.walked)
    except stalls.Stalled:
        early.drop(stop=True)  # the capture scans the usual way, and refuses it
    except (AtomicError, OSError):
        early.drop()  # the capture scans the usual way
    return early


def _loose_ref(repo: git.Repo, name: str) -> bytes | None:
    """A ref's loose file's bytes (never through a link: none in refs/, gitlinks.refuse_found);
    None where there is none (packed, another ref store) or it cannot be read."""
    try:
        fd = os.open(repo.common_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, 200)
    except OSError:
        return None
    finally:
        os.close(fd)


def _seeded(repo: git.Repo, tmp: Path, scratch: Path) -> Scan | None:
    """No scan index yet (a fresh clone, a new worktree): a scan seeded from your index, as
    the capture would seed it, started now rather than after the journal is open. Its seed is a
    hard link to your index file, kept until the capture has linked the index it reads: the
    capture keeps this scan only when both are the same file, unchanged since (capturedisk.py),
    so a scan from an index replaced or rewritten meanwhile is never used."""
    try:
        if not stat.S_ISREG(os.lstat(repo.index_path).st_mode):
            return None  # a link is git dir state (gitstate.py), never read
    except OSError:
        return None
    from git_atomic.engine import scan, scanseed

    seed = tmp / f"scan-{os.getpid()}-seed"
    seed.unlink(missing_ok=True)
    try:
        os.link(repo.index_path, seed)
        # Before the scan reads it: a file written in place since (not git's way, but `cp` over
        # it is one) has another mtime or checksum by the time the capture compares.
        key = scanseed.file_key(seed)
    except OSError:
        return None  # a copy could not be told from your index later: the capture seeds it
    try:
        running = scan.start(repo, known_tree=None, seed=seed, scratch=scratch)
    except BaseException:
        seed.unlink(missing_ok=True)
        raise
    if running is None:
        seed.unlink(missing_ok=True)
        return None
    running.seed, running.seed_key = seed, key
    return running
