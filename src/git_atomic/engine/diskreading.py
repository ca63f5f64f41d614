"""The reading of a capture's files started (capturedisk.py's `Disk` is built on it): a scan
(scan.py), or `git add -A` on a copy of the index when a scan cannot say (addall.py), with the
walk of the folders beside it (folderwalk.py) and the listing of ignored rule files; started
again the other way when the scan cannot be used, stopped, and its temporary files and
background processes closed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from git_atomic.core import process
from git_atomic.engine import (
    conversion,
    folders,
    folderwalk,
    heldanyway,
    ignores,
    indexstate,
    scan,
    stalls,
)
from git_atomic.engine.early import Early
from git_atomic.engine.git import Repo


class Reading:
    """The processes and temporary files of one capture's reading of the worktree."""

    def __init__(self, repo: Repo, early: Early | None, protect: Sequence[str]) -> None:
        self.repo = repo
        self.protect = protect
        self.scanning = early.take_scan() if early is not None else None
        early_folders, early_rules = early.take_listings() if early is not None else (None, None)
        # The walk of the folders (folderwalk.py): the empty ones, where the rule files are.
        # It does not depend on any index, so it stays whichever way the files are read.
        self.walked = early.take_walk() if early is not None else None
        self.refs: Mapping[str, str] | None = None  # the capture's refs, once listed
        # Answered by Watchman, a scan may know the listing of ignored files held anyway is the
        # last one (scan.py): then it waits for the scan's answer, and is made after it only if
        # needed. A listing kept with a Watchman clock must not be older than it: only one
        # started after the scan is kept.
        self.deferred = self.scanning is not None and self.scanning.watch is not None
        self.deferred = self.deferred and not protect
        self.listing_after_scan = self.scanning is not None
        if early_rules is not None and (self.deferred or early_rules.protect != tuple(protect)):
            early_rules.wait(check=False)  # a listing of what this capture does not ask
            early_rules = None
        self.extras = early_rules  # started in `start` otherwise, after the scan and the walk
        self.adding: process.Background | None = None
        # Folders or files named `.git` in another letter case that `add -A` refused (a scan
        # finds its own: scan.Scan.unholdable).
        self.left_out: frozenset[bytes] = frozenset()
        # git's listing of folders (folders.py), against the scan's own index, where the walk
        # could not be made.
        self.folders: process.Background | None = early_folders
        self.index_copy = repo.scratch_path("index")  # a scan's seed, or `add -A`'s index
        self.staged_copy = repo.scratch_path("staged")  # stays the index as it is
        self.flags_file = repo.scratch_path("flags")
        # The bits of the clean files (scanbits.py), kept with the scan index by `publish`
        self.clean_bits: dict[bytes, int] | None = None
        # What the raw record may trust of them too (conversion.Settled)
        self.settled: conversion.Settled | None = None

    def start(self, known_tree: str | None, *, seeded: bool) -> None:
        """A scan from the scan index the ref names (`known_tree`), else seeded from the copy
        of the user's index; `add -A` when neither can be."""
        if self.scanning is not None and (
            self.scanning.base_tree != known_tree
            or not scan.same_seed(self.scanning, self.index_copy if seeded else None)
        ):
            # It started from a scan index that is no longer the one, or (seeded early, with
            # no scan index yet) from an index file that is no longer yours.
            scan.abandon(self.scanning)
            self.scanning = None
            self.walked = None  # made with it: walked again with the new scan (cheaply)
            if self.folders is not None:
                self.folders.wait(check=False)  # of that scan's index
                self.folders = None
        if self.scanning is None:
            self.scanning = scan.start(
                self.repo,
                known_tree=known_tree,
                seed=self.index_copy if seeded else None,
                scratch=self.repo.scratch_path("scan"),
            )
        if self.scanning is None:
            self._add_all()
        elif self.scanning.watch is None:
            self._walk(self.scanning.index)
        # (Asking Watchman, the scan may know the empty folders are the last walk's: the walk
        # waits for its answer, `empty_folders`.)
        if self.extras is None and not self.deferred:
            self.extras = ignores.start_listing(
                self.repo, protect=self.protect, walked=self._walked_for_rules()
            )

    def _add_all(self) -> None:
        # `add -A` on a copy of the index (addall.py): it honours the index's flags, which a
        # scan index (scan.py) lacks. Started at once when there is no scan index to start from.
        stalls.check_git_dir(self.repo)
        self._walk(self.index_copy)
        env = {"GIT_INDEX_FILE": str(self.index_copy)}
        from git_atomic.engine import addall  # (only where a scan cannot say)

        self.adding = self.repo.start(*addall.command(self.repo), env=env)

    def _walk(self, index: Path) -> None:
        """The walk of the folders, unless made; where it cannot be, git's listing of them,
        against the index the reading starts from, alongside it."""
        if self.walked is not None:
            return
        try:
            self.walked = folderwalk.walk(self.repo)
        except stalls.Stalled:
            self.stop()  # git's reading started beside the walk waits on that file
            raise
        if self.walked is None:
            if self.folders is not None:
                self.folders.wait(check=False)
            self.folders = folders.start_listing(self.repo, index)

    def walk_anyway(self) -> None:
        """The walk, where Watchman's answer made none (snapshot.py: the FIFOs it finds)."""
        if self.walked is None and self.scanning is not None:
            try:
                self.walked = folderwalk.walk(self.repo)
            except stalls.Stalled:
                self.stop()
                raise

    def _walked_for_rules(self) -> folderwalk.Walk | None:
        """The walk, for the listing of ignored rule files (which needs none with `protect`)."""
        if self.protect:
            return None
        if self.walked is None and self.scanning is not None:
            self._walk(self.scanning.index)
        return self.walked

    def index_unreadable(self) -> None:
        """git cannot read your index (staged.Staged.unreadable): the files are read from no
        index at all. A scan seeded from it cannot be one; one from our own scan index is."""
        if self.scanning is not None and self.scanning.base_tree is None:
            scan.abandon(self.scanning)
            self.scanning = None
        if self.adding is not None:
            self.adding.wait(check=False)
            self.adding = None
        self.index_copy.unlink(missing_ok=True)  # `add -A` starts a new one
        if self.scanning is None:
            self._add_all()

    def drop_flags(self, flags: indexstate.IndexFlags) -> None:
        """Seeded from your index, a scan took your flags, and git would take flagged entries
        as the index says, not as the disk is: seeded again without them."""
        if self.scanning is not None and flags and self.scanning.base_tree is None:
            scan.abandon(self.scanning)
            self.scanning = heldanyway.unflagged_scan(self.repo, self.index_copy, flags)
            if self.scanning is None:
                self._add_all()
            else:
                self._walk(self.scanning.index)

    @property
    def unholdable(self) -> frozenset[bytes]:
        """The names that are `.git` in another letter case, left out of the reading."""
        return self.scanning.unholdable if self.scanning is not None else self.left_out

    @property
    def scanned(self) -> bool:
        """Whether a scan read the files (not `add -A`): its tree is the disk, flags or not."""
        return self.scanning is not None

    def stop(self) -> None:
        """Stop every git process of this reading still running (stalls.py): none is waited
        for."""
        for running in (self.adding, self.folders, self.extras):
            if running is not None:
                running.stop()
        self.adding = self.folders = self.extras = None
        if self.scanning is not None:
            scan.abandon(self.scanning, stop=True)
            self.scanning = None

    def close(self) -> None:
        if self.extras is not None:
            self.extras.wait(check=False)
        if self.adding is not None:
            self.adding.wait(check=False)  # never leave it writing a file that is about to go
        if self.folders is not None:
            self.folders.wait(check=False)
        if self.scanning is not None:
            scan.abandon(self.scanning)
        for path in (self.flags_file, self.staged_copy, self.index_copy):
            path.unlink(missing_ok=True)
