"""A scan's index kept as the worktree's scan index, for the next scan to start from.

Once a capture has its tree, the scan's own index becomes the scan index of that tree
(`keep`), once its update in the background ended, its untracked cache is this worktree's
(`_own_cache`), and its racily clean entries are smudged (`_smudged`, scanracy.py); the one it
started from is then no longer needed (`retire`). Where any of that fails the old one stays:
a scan index is a cache, and a failure costs the next capture time, never this one its work.
"""

from __future__ import annotations

from pathlib import Path

from git_atomic.engine import scanindex, scanracy, splitindex, watcher
from git_atomic.engine.git import worktree_key
from git_atomic.engine.scan import Scan, settled, untracked_cache


def keep(scan: Scan, tree: str) -> list[str]:
    """Make this scan's index the worktree's scan index for `tree`; the `update-ref --stdin`
    lines that make it trusted (the caller runs them, with its own ref if it has one)."""
    base = scanindex.index_file(scan.repo, scan.base_tree) if scan.base_tree is not None else None
    if not settled(scan) or not _own_cache(scan) or not _smudged(scan, base):
        # It could not take the edits, or its racy entries their smudge: the old one stays.
        scanindex.discard(scan.repo, scan.index, keeping=base)
        return []
    target = scanindex.index_file(scan.repo, tree)
    source = scan.index
    try:
        if scan.split or scan.split_when_kept:  # (whole: split now, on a shared index of its own)
            scanindex.compact(scan.repo, scan.index, base=base)
        scanindex.replace(scan.repo, source, target)
    except OSError:  # a cache: a full disk costs the next capture time, not this one its work
        scanindex.discard(scan.repo, source, keeping=base)
        return []
    if scan.clock is not None:
        watcher.remember(
            scan.repo,
            worktree_key(scan.repo),
            tree,
            scan.clock,
            target,
            scan.rules,
            scan.extras_known if scan.extras_known is not None else scan.extras_listed,
            scan.empty_known if scan.empty_known is not None else scan.empty_listed,
            scan.folder_ids_known if scan.empty_known is not None else scan.folder_ids_listed,
            scan.specials_known if scan.empty_known is not None else scan.specials_listed,
        )
    # A rename onto another name of the same file (nothing was written since the link) does
    # nothing at all: that name goes here.
    source.unlink(missing_ok=True)
    if tree == scan.base_tree:
        return []
    return [f"update {scanindex.ref_name(scan.repo)} {tree}"]


def _own_cache(scan: Scan) -> bool:
    """The scan index's untracked cache made anew for this worktree where git found it made for
    another path (`foreign_cache`: the worktree was moved or copied). git then lists every
    folder at every scan, and never makes the cache anew while `core.untrackedCache` is unset:
    at 100,000 files a third more of the scan's processor time, for good. One `update-index`,
    only then, and only where your configuration does not say `false`; the next scan fills
    the cache. False when git failed."""
    repo = scan.repo
    if not scan.foreign_cache or repo.quarantine is not None:
        return True
    if untracked_cache(repo)[-1].endswith("false"):
        return True
    res = repo.run(
        *scanindex.git_config(scan.split),
        "-c",
        "core.untrackedCache=true",
        "update-index",
        "--force-untracked-cache",
        env={"GIT_INDEX_FILE": str(scan.index)},
        check=False,
    )
    return res.returncode == 0


def _smudged(scan: Scan, base: Path | None) -> bool:
    """The scan index's entries racily clean by ctime smudged (scanracy.py). A split one's own
    part holds what was written since its shared index was made; a shared index git made
    during this scan, in its second (at the first write of an index as a split index), may
    hold such entries too: the index is then written whole, smudged, and split anew."""
    if scan.split:
        repo = scan.repo
        shared = splitindex.shared_of(repo, scan.index)
        # The shared index the scan started from was kept by an earlier scan, its racy entries
        # smudged then (git freshens its mtime at each write, so that says nothing): only one
        # git made during this scan may hold entries of this second.
        made_now = shared is not None and (
            base is None or not base.exists() or splitindex.shared_of(repo, base) != shared
        )
        if (
            made_now
            and not scanracy.older(repo.git_dir / str(shared), scan.since)
            and not scanindex.unsplit(repo, scan.index, base=base)
        ):
            return False
    return scanracy.smudge(scan.index, scan.since, sha256=scan.repo.sha256)


def retire(scan: Scan, tree: str) -> None:
    """After the ref names `tree`: the scan index it named before is no longer needed."""
    if scan.base_tree is not None and scan.base_tree != tree:
        scanindex.discard(
            scan.repo,
            scanindex.index_file(scan.repo, scan.base_tree),
            keeping=scanindex.index_file(scan.repo, tree),
        )
