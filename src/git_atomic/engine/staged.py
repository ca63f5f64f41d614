"""The staged side of a capture: the index's entries as a tree, and the flags a tree cannot hold.

The user's index is never written: its entries are read from a hard link to it (`scan.share`),
so that its mtime, which git's racy-clean check depends on, is the one a raw copy keeps.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import process, wholefile
from git_atomic.core.errors import GitError
from git_atomic.core.records import dataclass
from git_atomic.engine import gitdirfiles, indexentries, indexstate, scanindex, splitentries
from git_atomic.engine.git import Repo
from git_atomic.engine.indexerrors import UnmergedPaths, UnreadableIndex


@dataclass(frozen=True)
class Copy:
    """A private copy of the user's index, made first so that a scan can be seeded from it."""

    present: bool  # whether there was an index file at all
    mtime_ns: int | None  # its mtime: a raw copy keeps it for the racy-clean entries
    key: str | None  # its checksum, under which its staged side may be remembered
    # What git reads of it (indexentries.py): the same after a refresh of its stat data.
    entries: str | None
    seen: tuple[str, indexstate.Listing] | None  # the staged side remembered for it


@dataclass(frozen=True)
class Staged:
    tree: str  # `write-tree` of the index (of its merged entries, when `unmerged`)
    listing: indexstate.Listing  # its flags and attribute files
    unmerged: bool = False  # the index has unmerged entries: only a raw copy keeps them
    # Their paths: tracked all the same (a conflict's file is read whatever its size).
    unmerged_paths: frozenset[bytes] = frozenset()
    # git cannot read the index (an operation wrote over it, cut it short): only a raw copy
    # keeps it, and the files are read as if there were none.
    unreadable: bool = False

    @property
    def flags(self) -> indexstate.IndexFlags:
        return self.listing.flags


def copy(repo: Repo, index_copy: Path, staged_copy: Path) -> Copy:
    """Link the user's index to `index_copy` (a seed for the scan) and, unless its staged side
    is remembered, to `staged_copy` (for `read`)."""
    if not _regular_file(repo.index_path) or gitdirfiles.index_blocked(repo.git_dir):
        # A link is git dir state (gitstate.py), never read; a FIFO (or a shared index that
        # is one) would have git wait for ever: read as no index (gitdirfiles.py).
        return Copy(False, None, None, None, None)
    scanindex.share(repo.index_path, index_copy)
    key = _index_checksum(index_copy) if _header_sane(index_copy) else None
    seen = _staged_seen(repo, key)
    entries = None
    if seen is None and key is not None:
        # Written again since (a `git status` that took stat data anew): the same entries?
        entries = indexentries.entries_key(
            index_copy,
            sha256=repo.sha256,
            memo=indexentries.memo_of(repo),  # (a dry run's keeps none)
        )
        seen = _staged_seen(repo, entries)
    skipped = seen[1].flags.skip_worktree if seen is not None else frozenset()
    # git reads a skip-worktree entry whose file is on disk as an ordinary one (in a sparse
    # checkout): its flags depend on the disk too, not on the index's bytes alone. Remembered
    # only while none of those files is there (the usual sparse checkout).
    if (
        skipped
        and indexstate.skip_follows_disk(repo)
        and not indexstate.none_on_disk(repo.root, sorted(skipped))
    ):
        seen = None
    if seen is not None and key is not None and entries is not None:
        if os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1":
            _verify_seen(repo, index_copy, staged_copy, seen)  # under test: git reads it so
        # Found by its entries: kept under this checksum too, so that the next capture of the
        # same file does not read its entries again (every one after a `git status` did).
        _remember_staged(repo, (key, entries), *seen)
    if seen is None:
        scanindex.share(index_copy, staged_copy)
    return Copy(True, index_copy.stat().st_mtime_ns, key, entries, seen)


def _verify_seen(
    repo: Repo, index_copy: Path, staged_copy: Path, seen: tuple[str, indexstate.Listing]
) -> None:
    """Under test: the staged side found by what git reads of the index is git's own answer.
    `write-tree` on a copy of its own, as `read` does (git 2.39 writes a sparse index holding
    an intent-to-add entry back wrong after write-tree expands it)."""
    tree_copy = staged_copy.with_name(staged_copy.name + "-tree")
    for each in (staged_copy, tree_copy):
        each.unlink(missing_ok=True)
        scanindex.share(index_copy, each)
    env = {"GIT_INDEX_FILE": str(staged_copy)}
    try:
        tagging = indexstate.start_listing(repo, env)
        tree_env = {"GIT_INDEX_FILE": str(tree_copy)}
        tree = write_tree(repo, tree_env, config=("-c", "core.splitIndex=false"))
        listing = indexstate.read_listing(repo, env, tree, tagging)
    finally:
        staged_copy.unlink(missing_ok=True)
        tree_copy.unlink(missing_ok=True)
    assert (tree, listing) == seen, ((tree, listing), seen)


def read(repo: Repo, index: Copy, staged_copy: Path, *, allow_unmerged: bool) -> Staged:
    """The staged side of `index`: remembered, or read from `staged_copy` (low priority: the
    scan of the worktree runs meanwhile). Unmerged entries are refused unless `allow_unmerged`."""
    if index.seen is not None:
        return Staged(*index.seen)
    env = {"GIT_INDEX_FILE": str(staged_copy)}
    tagging = indexstate.start_listing(repo, env) if index.present else None
    unmerged: frozenset[bytes] = frozenset()
    tree_env = env
    if index.present and indexstate.sparse_index(repo):
        # git (2.39) writes a sparse index holding an intent-to-add entry back wrong after
        # write-tree expands it (every entry named as the first): on a copy of its own, read by
        # nothing else; the listing and the bytes kept are the index's as it is.
        tree_copy = staged_copy.with_name(staged_copy.name + "-tree")
        tree_copy.unlink(missing_ok=True)
        scanindex.share(staged_copy, tree_copy)
        tree_env = {"GIT_INDEX_FILE": str(tree_copy)}
    try:
        # On a throwaway copy: never split by your core.splitIndex (a shared index of its own
        # would stay in your git dir, used by no index).
        tree = write_tree(repo, tree_env, low_priority=True, config=("-c", "core.splitIndex=false"))
    except UnmergedPaths:
        if not allow_unmerged:
            if tagging is not None:
                tagging.wait(check=False)
            raise
        tree, unmerged = _merged_side(repo, staged_copy)
    except GitError as error:
        if tagging is not None:
            tagging.wait(check=False)
        if not allow_unmerged:
            raise UnreadableIndex.of(error, staged_copy, repo) from error
        # A rescue or a probe of a state an operation left: its index is kept as its bytes,
        # so that a rollback can still put PRE-OP's back and an undo this one.
        return Staged(repo.empty_tree, indexstate.Listing(), unreadable=True)
    except BaseException:
        if tagging is not None:
            tagging.wait(check=False)
        raise
    finally:
        if tree_env is not env:
            Path(tree_env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    repeated = (tree_env is not env and _repeated(repo, env)) or (
        allow_unmerged and not unmerged and _out_of_order(tagging)
    )
    if index.present and (repeated or not checksum_holds(staged_copy, sha256=repo.sha256)):
        # git read it, as other entries than were written (cut short, written over in the
        # middle): no state to start from or keep; a rescue or a probe keeps it as its bytes.
        # Checked before the staged side is remembered: a capture that finds it remembered
        # (by its size and checksum) need not ask again.
        if tagging is not None:
            tagging.wait(check=False)
        if not allow_unmerged:
            reason = "it names a path twice" if repeated else "its checksum does not hold"
            raise UnreadableIndex(None, reason)
        return Staged(repo.empty_tree, indexstate.Listing(), unreadable=True)
    listing = indexstate.Listing()
    if tagging is not None:
        listing = indexstate.read_listing(repo, env, tree, tagging)
    if index.key is not None and not unmerged and _flags_of_index(repo, staged_copy, listing):
        _remember_staged(repo, (index.key, index.entries), tree, listing)
    return Staged(tree, listing, bool(unmerged), unmerged_paths=unmerged)


def _flags_of_index(repo: Repo, staged_copy: Path, listing: indexstate.Listing) -> bool:
    """Whether git read the index's skip-worktree flags as the file has them, so that its
    staged side may be remembered under the file's checksum. In a sparse checkout git clears
    the flag of an entry whose file is on disk: remembered, that reading would be found again
    once the file is gone (a rollback) and the index's bytes are the same, git then reading
    the entry flagged (a commit would take its missing file for the operation's to add)."""
    if not indexstate.skip_follows_disk(repo):
        return True
    try:
        data = staged_copy.read_bytes()
    except OSError:
        return False
    return _skip_worktree(data, 32 if repo.sha256 else 20) == frozenset(listing.flags.skip_worktree)


def _skip_worktree(data: bytes, width: int) -> frozenset[bytes] | None:
    """The paths of the entries flagged skip-worktree in the index file itself (its extended
    flags). None where this cannot tell: an index it cannot read whole, or a split one."""
    try:
        own = indexentries.walk(data, width, None)
        if splitentries.link_of(data, own.starts[-1], width) is not None:
            return None
    except (ValueError, IndexError):
        return None
    flags_at = 40 + width
    out: set[bytes] = set()
    for i in range(len(own.starts) - 1):
        at = own.starts[i] + flags_at
        flags = int.from_bytes(data[at : at + 2], "big")
        if flags & 0x4000 and int.from_bytes(data[at + 2 : at + 4], "big") & 0x4000:
            out.add(own.names[i])
    return frozenset(out)


def _out_of_order(tagging: process.Background | None) -> bool:
    """Whether the index's entries are not in git's order, each name after the one before, by
    its `ls-files -v` listing (a capture reads it anyway; the entries in the index's order,
    which git reads as it finds it): a path named twice at one stage, side by side or apart,
    or two entries the wrong way round. git 2.39 reads such an index without a word and
    write-tree makes a tree naming the path twice, or one out of order (t4058; fsck's
    treeNotSorted), against which a capture's files come out wrong. Asked only where the
    state an operation left is taken (a rescue, a probe): one pass over the entries, paid by
    a rollback, not by each checkpoint (docs/limits.md)."""
    if tagging is None:
        return False
    listed = tagging.wait(check=False)
    if listed.returncode != 0:
        return False
    # (`U` lines: the resolve-undo record, after the entries; no unmerged entry is here. git
    # orders names as bytes compare, a shorter one before those it begins.)
    names = [r[2:] for r in listed.stdout.split(b"\0") if r and r[:2] != b"U "]
    return any(a >= b for a, b in itertools.pairwise(names))


def _repeated(repo: Repo, env: Mapping[str, str]) -> bool:
    """Whether a (sparse) index names a path twice at one stage: git 2.39 writes one so where
    it expands a sparse index holding an intent-to-add entry (every entry named as the first,
    `git sparse-checkout add` does), and git's write-tree makes a tree of it that fsck rejects.
    Such an index is kept as its bytes, as one whose checksum does not hold."""
    listed = repo.run("ls-files", "-s", "-z", env=env, check=False, low_priority=True).stdout
    staged = [e.split(b" ", 2)[-1] for e in listed.split(b"\0") if e]
    return len(set(staged)) != len(staged)


# The staged side of a capture is a function of the index file's bytes: when the index has not
# changed since the last capture (`run`'s OP-EXEC after a command that left it alone, an `abort`
# after edits that `git status` found no reason to record), its tree and flags are known. Kept in
# memory and in one small file (`gc` removes it); the tree is checked to exist before use.
STAGED_CACHE: Final = "staged-cache.json"
_staged_memo: dict[tuple[str, str], tuple[str, indexstate.Listing]] = {}


def checksum_holds(path: Path, *, sha256: bool) -> bool:
    """Whether an index file's trailing checksum is its content's. git checks it only in
    `fsck`: an index cut short or written over in the middle reads to it as other entries
    (a path `./`, say), which no index can be built from again. (`index.skipHash`: no
    checksum, nothing to check.)"""
    import hashlib

    width = 32 if sha256 else 20
    try:
        data = path.read_bytes()
    except OSError:
        return True  # not ours to judge: git's own reading says
    if len(data) < 12 + width:
        return False
    trailer = data[-width:]
    if trailer == bytes(width):
        return True
    return hashlib.new("sha256" if sha256 else "sha1", data[:-width]).digest() == trailer


def _header_sane(path: Path) -> bool:
    """An index file's signature and a version git writes (2, 3, 4): one written over in
    place (its size and checksum as they were) is not taken for the index remembered."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[:4] == b"DIRC" and int.from_bytes(head[4:8], "big") in (2, 3, 4)


def _index_checksum(path: Path) -> str | None:
    """Size and trailing SHA-1 of an index file: equal keys, equal entries and flags."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 32:
            return None
        fh.seek(-20, os.SEEK_END)
        trailer = fh.read(20)
    if trailer == bytes(20):  # index.skipHash: no checksum to trust
        return None
    return f"{size}-{trailer.hex()}"


def _staged_seen(repo: Repo, key: str | None) -> tuple[str, indexstate.Listing] | None:
    if key is None:
        return None
    store = str(repo.common_dir)
    if (store, key) in _staged_memo:
        return _staged_memo[store, key]
    try:
        data = json.loads(wholefile.read(repo.state_dir / STAGED_CACHE))
        if key not in (data.get("key"), data.get("entries")):
            return None
        tree, listing = str(data["tree"]), indexstate.Listing.decode(data["listing"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not repo.is_loose(tree) and (
        repo.run("cat-file", "-e", f"{tree}^{{tree}}", check=False).returncode != 0
    ):
        return None
    _staged_memo[store, key] = (tree, listing)
    return tree, listing


def _remember_staged(
    repo: Repo, keys: tuple[str, str | None], tree: str, listing: indexstate.Listing
) -> None:
    """Remember the staged side under the index's checksum and what git reads of it."""
    _staged_memo.clear()
    if repo.quarantine is not None:
        return  # a dry run's tree is in its own store, gone as it ends: kept nowhere
    key, entries = keys
    for each in keys:
        if each is not None:
            _staged_memo[str(repo.common_dir), each] = (tree, listing)
    scratch = repo.scratch_path("staged-cache")
    kept = {"key": key, "entries": entries, "tree": tree, "listing": listing.encode()}
    try:
        wholefile.write_new(scratch, json.dumps(kept).encode())
        os.replace(scratch, repo.state_dir / STAGED_CACHE)
    except OSError:
        scratch.unlink(missing_ok=True)  # a cache: losing it costs time, never correctness


def write_tree(
    repo: Repo,
    env: Mapping[str, str],
    *,
    low_priority: bool = False,
    config: Sequence[str] = (),
) -> str:
    res = repo.run(*config, "write-tree", env=env, check=False, low_priority=low_priority)
    if res.returncode != 0:
        if b"unmerged" in res.stderr or b"not able to write tree" in res.stderr.lower():
            # No MERGE_HEAD says who left them (`git stash pop`, `checkout -m`, `merge --squash`
            # leave none): the way out that works for each.
            raise UnmergedPaths(
                "the index has unmerged paths; resolve them first (edit, then `git add`), or "
                "drop them: `git merge --abort` after a merge, `git reset --merge` otherwise"
            )
        raise GitError(["git", "write-tree"], res.returncode, res.stdout, res.stderr)
    return res.stdout.decode().strip()


def _merged_side(repo: Repo, index: Path) -> tuple[str, frozenset[bytes]]:
    """The tree of an index's merged entries (its unmerged ones are kept by the raw index), and
    the paths of the unmerged ones."""
    scratch = repo.scratch_path("merged")
    env = {"GIT_INDEX_FILE": str(scratch)}
    try:
        indexstate.copy_index(index, scratch)
        listing = repo.out("ls-files", "-u", "-z", env=env)
        paths = {item.partition(b"\t")[2] for item in listing.split(b"\0") if item}
        repo.run(
            "update-index",
            "--force-remove",
            "-z",
            "--stdin",
            input=b"".join(p + b"\0" for p in sorted(paths)),
            env=env,
        )
        return write_tree(repo, env), frozenset(paths)
    finally:
        scratch.unlink(missing_ok=True)


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
