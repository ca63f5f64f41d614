"""The scan of a worktree: every file a checkpoint holds, as an index and a tree, for about what
one `git status` costs, and often less.

Each worktree has a private *scan index* (scanindex.py): the index the last scan left. It holds
every file that scan saw, tracked and untracked alike, with git's stat data and git's untracked
cache. The next scan starts from a hard link to it and asks `git status` (or Watchman, where it
watches the worktree: watcher.py) what differs. git re-reads only the files whose stat data
changed, and lists only the folders whose mtime changed. The files that differ make the new tree
(scantree.py), whose set of paths is then reconciled with the user's entries (reconcile.py).

A scan index has no flagged entries (intent-to-add, skip-worktree, assume-unchanged): the caller
seeds one from a copy of the user's index without them (capturedisk.py), so it sees the disk.

Stat data taken in the same second as its file's last change cannot show a change made later in
that second that keeps the size, the inode and the mtime (git compares whole seconds here): such
entries are smudged before a scan index is kept, and before a seeded scan starts (scanracy.py).
"""

from __future__ import annotations

import os
import stat
from contextvars import ContextVar
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.core.errors import GitError
from git_atomic.engine import (
    reconcile,
    scanindex,
    scanracy,
    scantree,
    stalls,
    statuslist,
    watcher,
)
from git_atomic.engine.git import Repo, worktree_key
from git_atomic.engine.statuslist import UNLISTABLE_SINCE as UNLISTABLE_SINCE  # (its callers')

_STATUS: Final = (
    "status",
    "--porcelain=v2",
    "-z",
    "--untracked-files=all",
    "--no-renames",
    "--ignore-submodules=dirty",
    # Your `status.showStash` adds a `# stash N` line, which parse() takes for what a scan
    # index never shows: every capture then staged the whole tree again (addall.py).
    "--no-show-stash",
)
# What git says when an index's untracked cache was made for another worktree path (the
# worktree was moved or copied since; git names the path in the cache): it does not use it.
FOREIGN_CACHE: Final = b"untracked cache is disabled on this system or location"


class Scan:
    def __init__(
        self,
        repo: Repo,
        index: Path,
        base_tree: str | None,
        status: process.Background | None,
        *,
        split: bool = False,
    ) -> None:
        self.repo = repo
        self.index = index  # our copy, scanned; it becomes the next scan index
        self.base_tree = base_tree  # the tree of the scan index it started from (None: seeded)
        self.status = status
        self.untracked: frozenset[bytes] = frozenset()  # what this scan found untracked
        self.deleted: frozenset[bytes] = frozenset()  # files it found gone (or now a folder)
        # Files it found differing from the scan index it started from, or added to it
        self.changed: frozenset[bytes] = frozenset()
        self.too_large: frozenset[bytes] = frozenset()  # new untracked files over the budget
        # Untracked names git refuses to track (`.git` in another letter case): never held
        self.unholdable: frozenset[bytes] = frozenset()
        self.pending: process.Background | None = None  # the scan index's update, still running
        # The tree was edited and the scan index left as it was (a rescue's: goes_back): the
        # index does not describe the tree, and nothing may be written from it.
        self.index_behind = False
        self.split = split  # written as a split index (scanindex.is_split)
        # Seeded from your index and large: written whole until it is kept, then split once
        # (scankeep.keep). Split from the start, its `status` made a shared index that the
        # smudge had to write whole again (scankeep._smudged) and split anew: one index read
        # and written whole, and one shared index made, read (scanbits) and dropped, for
        # nothing (issue 17, stop 60).
        self.split_when_kept = False
        # Instead of `status`: Watchman's list of what changed since the clock kept with the
        # scan index (watcher.py). `clock`: the one this scan's answer holds from, kept with it.
        self.watch: watcher.Query | None = None
        self.clock: watcher.Clock | None = None
        self.rules: list[object] = []  # the ignore rules outside the tree, as of the clock
        # The capture's listing of ignored rule files (ignores.py): known from the last one
        # when Watchman says nothing changed that could change it; made, it is kept with the
        # clock.
        self.extras_known: list[bytes] | None = None
        self.extras_listed: list[bytes] | None = None
        # The same for the empty folders (folders.py): known from the last listing when
        # Watchman says no folder changed; listed after the clock, kept with it.
        self.empty_known: list[bytes] | None = None
        self.empty_listed: list[bytes] | None = None
        # And the folders' identities (folderids.py), as the blob of the checkpoint whose walk
        # listed the empty folders: known when they are (no folder changed, none moved).
        self.folder_ids_known: str | None = None
        self.folder_ids_listed: str | None = None
        # And the FIFOs, sockets and devices the walk found (path -> st_mode), the same way.
        self.specials_known: dict[bytes, int] | None = None
        self.specials_listed: dict[bytes, int] | None = None
        self.untracked_config: tuple[str, ...] = ()
        # git said the scan index's untracked cache is another worktree's (`FOREIGN_CACHE`).
        self.foreign_cache = False
        # Seeded before the capture linked your index (early.py): a link to the index file it
        # was seeded from, until the capture has compared it with its own (`same_seed`).
        self.seed: Path | None = None
        # Its `file_key` (scanseed.py) when it was linked.
        self.seed_key: tuple[int | bytes, ...] = ()
        # The second this scan started looking in: stat data it takes is no older, and what it
        # keeps of it from that second on is smudged (scanracy.py).
        self.since = 0


def start(
    repo: Repo,
    *,
    known_tree: str | None,
    seed: Path | None,
    scratch: Path,
    read_config: bool = True,
) -> Scan | None:
    """Start a scan in the background. `known_tree`: what the scan ref names (None: no ref);
    `seed`: a private copy of the user's index, used when there is no scan index to start from.
    None when there is nothing to start from, or for a private worktree of `run --isolate`
    (it lives for one operation: a scan index would outlive it). `read_config=False`: start
    without reading the configuration first (from a scan index only; see below)."""
    if repo.root.is_relative_to(repo.state_dir):
        return None
    stalls.check_git_dir(repo)  # before git reads its rules (the walk checks the tree's)
    base = scanindex.index_file(repo, known_tree) if known_tree is not None else None
    # Optional locks on: `status` may write what it learnt (stat data, the untracked cache)
    # into our copy; it is nobody else's file.
    env = {"GIT_INDEX_FILE": str(scratch), "GIT_OPTIONAL_LOCKS": "1"}
    if base is not None and _a_file(base):
        try:
            scanindex.share(base, scratch)
        except OSError:  # replaced meanwhile by another's scan (a dry run holds no lock)
            return None
        since = scanracy.since_now(scratch)
        # A dry run's copy is written whole: a split one's new shared index would go in the
        # git dir (quarantine.py).
        split = repo.quarantine is None and scanindex.is_split(repo, base)
        split_when_kept = False
    elif seed is not None:
        base, known_tree = None, None
        from git_atomic.engine import scanseed  # no scan index yet (helperd.PRELOAD has it)

        seeded = scanseed.seeded(repo, seed, scratch, env)
        if seeded is None:
            return None
        since, split_when_kept = seeded
        split = False
    else:
        return None
    # git's untracked cache trusts folder mtimes; `core.untrackedCache=false` says not to here.
    # A scan index gets the cache when it is made; from then on git's own reading of your
    # setting is ours (unset: keep it; false: drop it), so a scan can start before the
    # configuration is read.
    untracked: tuple[str, ...] = ()
    if read_config or base is None:
        untracked = untracked_cache(repo)
    # A dry run asks no Watchman: its answer waits for a cookie file Watchman writes in the
    # repository (quarantine.py).
    if base is not None and known_tree is not None and repo.quarantine is None:
        query = watcher.since(repo, worktree_key(repo), known_tree)
        if query is not None:
            watching = Scan(repo, scratch, known_tree, None, split=split)
            watching.watch, watching.untracked_config = query, untracked
            watching.since = since
            return watching
    scanning = Scan(repo, scratch, known_tree, None, split=split)
    scanning.since = since
    scanning.split_when_kept = split_when_kept
    _start_status(scanning, untracked)
    return scanning


def _a_file(path: Path) -> bool:
    """Whether a scan index is at `path` as a file of its own: a folder, a FIFO or a link an
    operation put at its name is not one (a link is never followed out of the git dir)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


_UNTRACKED: Final = "core.untrackedCache"


def untracked_cache(repo: Repo) -> tuple[str, ...]:
    value = repo.config("core.untrackedCache")  # `keep`, or a boolean as git reads one
    cache = value is None or value.strip().lower() == "keep" or repo.config_bool(_UNTRACKED)
    return ("-c", f"core.untrackedCache={'true' if cache else 'false'}")


def _start_status(scan: Scan, untracked: tuple[str, ...]) -> None:
    """The usual scan: `git status` on our copy, after Watchman's clock when it watches the
    worktree (the next scan then asks it what changed since)."""
    scan.clock = watcher.clock(scan.repo)
    if scan.clock is not None:
        scan.rules = reconcile.rules_key(scan.repo)
    env = {"GIT_INDEX_FILE": str(scan.index), "GIT_OPTIONAL_LOCKS": "1"}
    scan.status = scan.repo.start(
        *scanindex.git_config(scan.split),
        *scanindex.lfs_pointers(scan.repo),
        *untracked,
        *_STATUS,
        env=env,
    )


def same_seed(scan: Scan, index_copy: Path | None) -> bool:
    """Whether a scan seeded early started from the very file the capture linked as your index
    (`index_copy`, None: no index), unchanged since: the same inode (git never writes an index
    in place) with the same size, mtime and checksum (something else may: `cp` over it). The early
    seed's link is removed once asked. True for a scan not seeded early."""
    seed, scan.seed = scan.seed, None
    if seed is None:
        return True
    try:
        from git_atomic.engine import scanseed  # (early.py imported it: seeded early)

        return index_copy is not None and scanseed.file_key(index_copy) == scan.seed_key
    except OSError:
        return False
    finally:
        seed.unlink(missing_ok=True)


def abandon(scan: Scan, *, stop: bool = False) -> None:
    """Drop a scan. `stop`: its `git status` is stopped rather than waited for (one that
    would wait for ever: stalls.py)."""
    same_seed(scan, None)  # its early seed's link, if any, removed
    if scan.watch is not None:
        scan.watch.drop()
        scan.watch = None
    if scan.status is not None:
        if stop:
            scan.status.stop()
            scan.index.with_name(scan.index.name + ".lock").unlink(missing_ok=True)
        else:
            scan.status.wait(check=False)  # never leave it writing a file that is about to go
        scan.status = None
    settled(scan)
    base = scanindex.index_file(scan.repo, scan.base_tree) if scan.base_tree is not None else None
    scanindex.discard(scan.repo, scan.index, keeping=base)


def finish(
    scan: Scan,
    staged_tree: str,
    *,
    limit: int | None = None,
    exempt: frozenset[bytes] = frozenset(),
) -> str | None:
    """The tree of every file of the worktree, or None when this scan cannot say (the caller
    then scans the older way). `staged_tree`: the user's index entries. `limit`: new untracked
    files larger than that many bytes are left out, unread (`scan.too_large`), but those in
    `exempt`."""
    scan.repo.read_config()  # what the rest asks of it is read while the scan still runs
    listed = _changes(scan)
    if listed is None:
        return None
    deleted, changed, untracked = listed
    unholdable = frozenset(statuslist.unholdable_names(scan.repo, untracked))
    if unholdable:  # no index holds them: nor does the tree, or the two would differ
        scan.unholdable = unholdable
        untracked = [p for p in untracked if p not in unholdable]
        changed = [p for p in changed if p not in unholdable]
    if limit is not None and untracked:
        big = scantree.too_large(scan.repo, [p for p in untracked if p not in exempt], limit)
        if big:
            # Untracked to the scan index is not untracked to you: a file your index tracks
            # that the last scan saw gone (an operation deleted it, a rollback put it back) is
            # read whatever its size. The budget is for new files.
            tracked = {e.path for e in scan.repo.ls_tree_at(staged_tree, big)}
            big = [p for p in big if p not in tracked]
        if big:
            scan.too_large = frozenset(big)
            untracked = [p for p in untracked if p not in scan.too_large]
            changed = [p for p in changed if p not in scan.too_large]
    scan.untracked = frozenset(untracked)
    scan.deleted = frozenset(deleted)
    scan.changed = frozenset(changed)
    tree = _new_tree(scan, deleted, changed)
    if tree is None:
        return None
    restoring_to = RESTORING_TO.get()
    if restoring_to is not None and restoring_to != tree:
        # A rescue's: what the restore changes is asked next (unseen.py), and on two cores
        # git's diff of it runs beside the one of your entries (reconcile.py).
        scan.repo.diff_trees_beside(tree, restoring_to)
    return _reconciled(scan, staged_tree, tree)


def _changes(scan: Scan) -> tuple[list[bytes], list[bytes], list[bytes]] | None:
    """(files gone, files that differ from the scan index, untracked files): Watchman's answer,
    or `git status`'s. None when neither can say."""
    repo = scan.repo
    if scan.watch is not None:
        query, scan.watch = scan.watch, None
        assert scan.base_tree is not None
        rules = reconcile.rules_key(repo)
        answer = watcher.answer(repo, query, scan.base_tree, rules)
        if answer is not None:
            scan.clock, scan.rules, scan.extras_known = answer.clock, rules, answer.extras
            scan.empty_known = answer.empty
            scan.folder_ids_known = answer.folder_ids if answer.empty is not None else None
            scan.specials_known = answer.specials if answer.empty is not None else None
            return answer[:3]
        _start_status(scan, scan.untracked_config or untracked_cache(repo))  # the usual scan
    assert scan.status is not None
    res = scan.status.wait(check=False)
    scan.status = None
    statuslist.refuse_unreadable(res.stderr, repo.root)
    scan.foreign_cache = FOREIGN_CACHE in res.stderr
    if res.returncode != 0:
        if scan.base_tree is not None:
            # Unreadable (say, a split index whose shared part git expired): seed anew next time.
            scanindex.discard(repo, scanindex.index_file(repo, scan.base_tree))
        return None
    return statuslist.parse(res.stdout)


def _new_tree(scan: Scan, deleted: list[bytes], changed: list[bytes]) -> str | None:
    """The scan's tree: the last one edited where few files changed, else git's `write-tree`
    of the scan index brought up to date."""
    if not changed and not deleted and scan.base_tree is not None:
        return scan.base_tree
    # Editing the tree costs per folder it touches; past a few hundred files git's own
    # update-index and write-tree (a fixed cost, about two index writes) are cheaper.
    if len(deleted) + len(changed) <= scanindex.EDIT_AT_MOST and scan.base_tree is not None:
        try:
            edits = scantree.read_edits(scan.repo, deleted, changed)
        except (GitError, OSError):  # a file that changed again while it was read
            return None
        if edits is not None:
            index_too = not goes_back(scan)
            tree, scan.pending = scantree.edit_tree(
                scan.repo,
                scan.index,
                split=scan.split,
                base=scan.base_tree,
                edits=edits,
                index_too=index_too,
            )
            # (Under test the edit is checked on a copy of the index: scantree._verify_on_copy.)
            scan.index_behind = tree is not None and tree != scan.base_tree and not index_too
            return tree
    return scantree.update_from_disk(
        scan.repo, scan.index, split=scan.split, deleted=deleted, changed=changed
    )


def _reconciled(scan: Scan, staged_tree: str, tree: str) -> str | None:
    """The scan's tree with the paths of the user's entries (reconcile.py)."""
    found = reconcile.mismatch(scan.repo, staged_tree, tree, scan.untracked, base=scan.base_tree)
    if found is None:
        return None
    if not found.must_add and not found.must_remove:
        return tree
    if scan.index_behind:
        # The paths would be written from a scan index that lacks the files this scan found
        # changed: the tree would lose them (a rescue's after an operation changed the rules
        # outside the tree, .git/info/exclude). The capture reads the older way instead.
        return None
    scan.changed = scan.changed.union(found.must_add)
    if not settled(scan):
        return None
    for option, paths in (("--add", found.must_add), ("--force-remove", found.must_remove)):
        if not scanindex.update_paths(
            scan.repo, scan.index, split=scan.split, options=(option,), paths=paths
        ):
            return None
    return scanindex.write_tree(scan.repo, scan.index, split=scan.split)


def settled(scan: Scan) -> bool:
    """Wait for the scan index's update in the background (`finish` may return before it
    ends); False when it failed."""
    pending, scan.pending = scan.pending, None
    return pending is None or pending.wait(check=False).returncode == 0


# Set by a rollback while its rescue is captured (rescue.py): the files tree its restore goes
# back to. Where the rescue's scan started from that tree's scan index (an abort, a failed
# run: `goes_back`), that index stays the worktree's and the scan's own is not kept: once the
# restore has put those files back, it describes them again, and the next scan reads only the
# files the restore wrote (their bytes, compared). The rescue's would have it edit its tree
# back and update the index again.
RESTORING_TO: ContextVar[str | None] = ContextVar("restoring_to", default=None)


def goes_back(scan: Scan) -> bool:
    """Whether this is a rescue's scan that started from the scan index its restore goes back
    to (RESTORING_TO): its own index is not kept, nor brought up to date."""
    return scan.base_tree is not None and scan.base_tree == RESTORING_TO.get()
