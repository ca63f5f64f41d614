"""The scan index on disk: one per worktree, the ref that makes it trusted, the private copies a
scan works on, and the split index a large one is written as.

The index is kept as `<common git dir>/atomic/scan-<worktree>-<tree>`, and it is trusted only while
`refs/atomic/scan/<worktree>` names that same tree. That ref keeps every object the index refers
to (its blobs, and the trees of its cache-tree) safe from `git gc`. A scan index without the ref
is never used: a fresh one is seeded from the user's index (scan.py).

A large scan index is a split index (git's `core.splitIndex`): a write of it is then a small
file of the entries that changed, beside a shared index (`<git dir>/sharedindex.<oid>`) that
holds the rest. That shared index is ours alone, and only `keep` makes a new one (`compact`),
so that we always know which one is no longer needed (`discard`); git is told never to expire
shared indexes itself, so that none of yours is ever removed by our writes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import envnumbers
from git_atomic.core.errors import GitError
from git_atomic.engine import conversion, watcher
from git_atomic.engine.git import OURS_UNLOGGED, Repo, worktree_key
from git_atomic.engine.splitindex import SHARED as _SHARED
from git_atomic.engine.splitindex import shared_of

SCAN_REFS: Final = "refs/atomic/scan/"
EDIT_AT_MOST: Final = 300  # changed files past which update-index and write-tree are cheaper

# Our scan indexes keep git's untracked cache, which `git status` uses for `-uall` only when that
# is also the configured mode. (With `core.untrackedCache=false` in your configuration, the scan
# lists every folder: scan.start.)
_CONFIG: Final = (
    *conversion.AS_ON_DISK,
    "-c",
    "status.showUntrackedFiles=all",
    "-c",
    "splitIndex.sharedIndexExpire=never",
    "-c",
    "splitIndex.maxPercentChange=100",
)
_SPLIT_AT: Final = 4 << 20  # bytes of index (about 40,000 files)


def git_config(split: bool) -> tuple[str, ...]:
    """The `-c` options of every git call on a scan index (`split`: written as a split index)."""
    return (*_CONFIG, "-c", f"core.splitIndex={'true' if split else 'false'}")


def lfs_pointers(repo: Repo) -> tuple[str, ...]:
    """Where git-lfs's filter is configured: `-c` options that make the scan's git calls read
    a `filter=lfs` file as git-lfs's pointer of it, as a `git add` with git-lfs would, never
    storing the content (lfspointer.py: our own filter, which stores nothing; your git-lfs
    never runs). They come after Repo.no_filters and override it for `lfs` only."""
    if "lfs" not in repo.filter_names():
        return ()
    script = Path(__file__).with_name("lfspointer.py")
    command = f"{_quoted(sys.executable)} -I -S {_quoted(str(script))}"
    return ("-c", f"filter.lfs.process={command}", "-c", "filter.lfs.required=false")


def _quoted(word: str) -> str:
    """`word` as one word to the shell git runs a filter's command with."""
    return "'" + word.replace("'", "'\\''") + "'"


def ref_name(repo: Repo) -> str:
    return SCAN_REFS + worktree_key(repo)


def index_file(repo: Repo, tree: str) -> Path:
    return repo.state_dir / f"scan-{worktree_key(repo)}-{tree}"


def share(source: Path, copy: Path) -> None:
    """A private copy of an index file that keeps its mtime, so git still sees entries as racily
    clean (git-facts 1). A hard link is one: git never writes an index in place, it writes
    `<name>.lock` and renames it, so git calls on the link leave the other name's file alone."""
    try:
        os.link(source, copy)
    except OSError:
        from git_atomic.engine import indexstate  # not before the scan starts (early.py)

        indexstate.copy_index(source, copy)


def update_paths(
    repo: Repo, index: Path, *, split: bool, options: Sequence[str], paths: Sequence[bytes]
) -> bool:
    """`update-index <options> -z --stdin` of `paths` on a scan index; False when git failed."""
    if not paths:
        return True
    res = repo.run(
        *git_config(split),
        *lfs_pointers(repo),
        "update-index",
        *options,
        "--replace",
        "-z",
        "--stdin",
        input=b"".join(p + b"\0" for p in paths),
        env={"GIT_INDEX_FILE": str(index)},
        check=False,
    )
    return res.returncode == 0


def write_tree(repo: Repo, index: Path, *, split: bool) -> str | None:
    res = repo.run(
        *git_config(split), "write-tree", env={"GIT_INDEX_FILE": str(index)}, check=False
    )
    return res.stdout.decode().strip() if res.returncode == 0 else None


def is_split(repo: Repo, index: Path) -> bool:
    """Whether a scan index is written split: when large, or when it already is."""
    try:
        if index.stat().st_size >= split_at():
            return True
    except OSError:
        return False
    return shared_of(repo, index) is not None


def split_at() -> int:
    """Tests set GIT_ATOMIC_SPLIT_SCAN_AT (bytes) to have small scan indexes split too; a
    value that is no number is the default, never an internal error of every capture."""
    return envnumbers.whole("GIT_ATOMIC_SPLIT_SCAN_AT", _SPLIT_AT)


def compact(repo: Repo, index: Path, *, base: Path | None) -> None:
    """A new shared index for a split index whose own part grew past a quarter of it (the
    changes it has gathered since), so that its writes stay small. `base`: the scan index it
    started from, which may still use the old shared index."""
    shared = shared_of(repo, index)
    try:
        if shared is not None and (
            index.stat().st_size * 4 < (repo.git_dir / shared).stat().st_size
        ):
            return
    except OSError:
        return
    if (
        repo.run(
            *git_config(True),
            "-c",
            "splitIndex.maxPercentChange=0",
            "update-index",
            "--force-write-index",
            env={"GIT_INDEX_FILE": str(index)},
            check=False,
        ).returncode
        != 0
    ):
        return  # a cache: it stays as it is
    if shared is not None and shared_of(repo, index) != shared:
        _drop_shared(repo, shared, keeping=base)


def unsplit(repo: Repo, index: Path, *, base: Path | None) -> bool:
    """Write a split scan index whole (`keep` splits it anew, `compact`); the shared index it
    used goes, unless `base` (the scan index it started from) or yours uses it. False when
    git could not."""
    shared = shared_of(repo, index)
    res = repo.run(
        *git_config(False),
        "update-index",
        "--no-split-index",
        env={"GIT_INDEX_FILE": str(index)},
        check=False,
    )
    if res.returncode != 0:
        return False
    if shared is not None:
        _drop_shared(repo, shared, keeping=base)
    return True


def replace(repo: Repo, source: Path, target: Path) -> None:
    """`os.replace` for scan indexes: the shared index only the replaced one used goes too."""
    old = shared_of(repo, target) if target.exists() else None
    os.replace(source, target)
    if old is not None:
        _drop_shared(repo, old, keeping=target)


def discard(repo: Repo, index: Path, *, keeping: Path | None = None) -> None:
    """Remove a scan index file (or a scan's copy), and the shared index that it used if
    `keeping` (the scan index that stays) does not use it."""
    shared = shared_of(repo, index)
    index.unlink(missing_ok=True)
    if shared is not None:
        _drop_shared(repo, shared, keeping=keeping)


def _drop_shared(repo: Repo, name: str, *, keeping: Path | None) -> None:
    # Only ever one of ours (a scan index never uses yours: scan.start), and never one that your
    # index or the scan index that stays uses.
    if keeping is not None and shared_of(repo, keeping) == name:
        return
    if shared_of(repo, repo.index_path) == name:
        return
    with contextlib.suppress(OSError):  # a cache's leftover: never a reason to fail
        (repo.git_dir / name).unlink(missing_ok=True)


def tidy(repo: Repo, known_tree: str | None) -> int:
    """Remove this worktree's scan indexes that its ref does not name (a crash between the two
    steps of `scankeep.keep`); the number removed."""
    prefix = f"scan-{worktree_key(repo)}-"
    keep_name = index_file(repo, known_tree).name if known_tree else None
    removed = 0
    try:
        names = os.listdir(repo.state_dir)
    except OSError:
        return 0
    keeping = repo.state_dir / keep_name if keep_name else None
    for name in names:
        if name.startswith(prefix) and name != keep_name:
            discard(repo, repo.state_dir / name, keeping=keeping)
            removed += 1
    _expire_shared(repo, keeping)
    watcher.forget_other(repo, worktree_key(repo), known_tree)
    return removed


def _expire_shared(repo: Repo, keeping: Path | None) -> None:
    """git's own rule for shared indexes, which our writes turn off: one that no index uses
    and that nothing read or wrote for two weeks goes. (A crash in the middle of a capture can
    leave one of ours unused.)"""
    import time

    in_use = {shared_of(repo, repo.index_path)}
    if keeping is not None:
        in_use.add(shared_of(repo, keeping))
    cutoff = time.time() - 14 * 86400
    with contextlib.suppress(OSError):
        for name in os.listdir(repo.git_dir):
            path = repo.git_dir / name
            if name.startswith(_SHARED) and name not in in_use and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)


class Following:
    """A scan index being made to describe a restore's target (`follow`), by git, in a thread
    of its own while the restore writes the files: its entries for the files the restore
    writes have no stat data, so what it says does not depend on the writes."""

    def __init__(
        self,
        repo: Repo,
        from_tree: str,
        to_tree: str,
        base: Path,
        info: bytes,
        paths: frozenset[bytes],
    ) -> None:
        import threading

        self.repo, self.from_tree, self.to_tree, self.base = repo, from_tree, to_tree, base
        self.paths = paths  # the files the restore writes or removes
        self.scratch = _following(repo)
        self.made: str | None = None  # its tree, once git wrote it
        self._thread: threading.Thread | None = None
        self.scratch.unlink(missing_ok=True)
        share(base, self.scratch)
        self.split = is_split(repo, base)
        self._thread = threading.Thread(target=self._make, args=(info,), daemon=True)
        self._thread.start()

    def _make(self, info: bytes) -> None:
        with contextlib.suppress(OSError, GitError):
            env = {"GIT_INDEX_FILE": str(self.scratch)}
            updated = self.repo.run(
                *git_config(self.split),
                "update-index",
                "-z",
                "--index-info",
                input=info,
                env=env,
                check=False,
            )
            if updated.returncode == 0:
                # Its cached trees, which those entries made stale: without them the next
                # `status` compares the folders concerned with HEAD entry by entry.
                self.made = write_tree(self.repo, self.scratch, split=self.split)

    def finish(self, *, keep: bool) -> None:
        """Once the restore is done (`keep`: it ended without an error): the scan index made
        the worktree's, if git made the tree `to_tree` from it, and the clean files' bits
        kept for the one it was made from made its own (scanbits.follow)."""
        if self._thread is not None:
            self._thread.join()
        repo, target = self.repo, index_file(self.repo, self.to_tree)
        try:
            if not keep or self.made != self.to_tree:
                return
            with contextlib.suppress(OSError, GitError):
                from git_atomic.engine import scanbits

                # (A record of `to_tree`'s goes before its scan index is replaced.)
                bits = scanbits.before_follow(repo, self.from_tree, self.to_tree)
                replace(repo, self.scratch, target)
                # Only if the ref still names what this started from (another capture may
                # have moved it).
                moved = repo.run(
                    *OURS_UNLOGGED,
                    "update-ref",
                    "--no-deref",
                    "-m",
                    "git-atomic: scan follows a restore",
                    ref_name(repo),
                    self.to_tree,
                    self.from_tree,
                    check=False,
                )
                if moved.returncode == 0:
                    if bits is not None:
                        scanbits.follow(repo, bits, self.to_tree, self.paths)
                    discard(repo, self.base, keeping=target)
        finally:
            discard(repo, self.scratch, keeping=self.base if self.base.exists() else target)


def follow(repo: Repo, from_tree: str, to_tree: str) -> Following | None:
    """Before a restore turns the worktree from `from_tree`'s files into `to_tree`'s: the scan
    index that describes `from_tree` starts to be made to describe `to_tree` (the caller
    finishes it after the restore), so that the next capture does not read again every file
    the restore wrote. Worth an index write only for a large restore; a small one the next
    scan finds by itself. Its entries for those files get no stat data: the next `status`
    reads them, and trusts them only if their bytes match. (Where the rescue's scan started
    from `to_tree`'s own scan index, an abort's, that one is the worktree's still, and the
    rescue kept none: scan.goes_back. Nothing to make.)"""
    if from_tree == to_tree or repo.root.is_relative_to(repo.state_dir):
        return None
    # A cache: the rollback it follows is done whatever happens here, and the next scan would
    # find those files by itself.
    with contextlib.suppress(OSError, GitError):
        base = index_file(repo, from_tree)
        if not base.exists():
            return None
        changes = repo.diff_trees(from_tree, to_tree)
        if len(changes) < EDIT_AT_MOST:
            return None
        info = b"".join(
            (
                f"{c.new_mode} {c.new_oid}".encode()
                if c.status != "D"
                else b"0 " + repo.zero_oid.encode()
            )
            + b"\t"
            + c.path
            + b"\0"
            for c in changes
        )
        paths = frozenset(c.path for c in changes)
        return Following(repo, from_tree, to_tree, base, info, paths)
    return None


def _following(repo: Repo) -> Path:
    return repo.state_dir / "tmp" / f"scan-follow-{os.getpid()}"
