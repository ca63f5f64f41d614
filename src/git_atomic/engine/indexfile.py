"""The worktree's index file put in place the way git does: under git's `index.lock`, by rename.

A checkpoint keeps the index as its entries and flags (indexstate.py), or as raw bytes when those
cannot describe it (checkpoint.py); `put_index` makes the index a checkpoint's again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from git_atomic.core.errors import GitError, RefusedError
from git_atomic.engine import checkpoint, indexerrors, indexstate, splitindex, staged
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo


def put_index(
    repo: Repo, current: Snapshot, target: Snapshot, *, restat: Sequence[bytes] = ()
) -> None:
    """Make the worktree's index `target`'s, where it now is `current`'s (a fresh capture).
    `restat`: the paths whose files the restore wrote (indexbuild.rebuild)."""
    if target.index_blob is not None:
        write_index_bytes(repo, repo.cat_blob(_raw_blob(repo, target)), target.index_mtime_ns)
        _refresh(repo)
        if target.index_split:
            _split_again(repo)
        return
    if not target.index_present:
        if not repo.index_path.is_symlink():  # one the target holds: put there by gitstate.put
            repo.index_path.unlink(missing_ok=True)
        return
    from git_atomic.engine import indexbuild  # (a restore's: restore.py imports it)

    scratch = repo.scratch_path("index")
    seed = repo.scratch_path("index-seed")
    # An index kept raw (unmerged entries, or one git cannot read) is built anew, not edited.
    edited = current.index_present and current.index_blob is None
    try:
        base = _on_its_shared_index(repo, target, seed, edited=edited)
        if base is None and current.index_present and not edited:
            base = _without_conflicts(repo, seed)
        try:
            indexbuild.rebuild(
                repo,
                current_tree=base[0] if base else current.staged_tree if edited else None,
                current_flags=base[1] if base else checkpoint.load_flags(repo, current),
                target_tree=target.staged_tree,
                target_flags=checkpoint.load_flags(repo, target),
                scratch=scratch,
                restat=restat,
                base=seed if base else None,
            )
        except GitError:
            if not edited and base is None:
                raise
            # The index on disk (or the shared index) is not the one the capture read
            # (changed since, or damaged in a way git reads without a word): built anew, its
            # stat data lost.
            scratch.unlink(missing_ok=True)
            indexbuild.rebuild(
                repo,
                current_tree=None,
                current_flags=indexstate.IndexFlags(),
                target_tree=target.staged_tree,
                target_flags=checkpoint.load_flags(repo, target),
                scratch=scratch,
            )
        _keep_format(repo, scratch, target.index_version)
        _split_as(repo, scratch, target.index_shared)
        install_index(repo, scratch)
    finally:
        scratch.unlink(missing_ok=True)
        seed.unlink(missing_ok=True)


def _raw_blob(repo: Repo, target: Snapshot) -> str:
    """The raw index's bytes to put back: as they were, on the shared index they name, while
    that is there; written whole where git expired it (split again by `_split_again`)."""
    assert target.index_blob is not None
    shared = target.index_shared
    if target.index_whole is not None and not (shared and splitindex.usable(repo, shared)):
        return target.index_whole
    return target.index_blob


def _on_its_shared_index(
    repo: Repo, target: Snapshot, seed: Path, *, edited: bool
) -> tuple[str, indexstate.IndexFlags] | None:
    """Where the target's index was split (`update-index --split-index`, `core.splitIndex`) on
    a shared index the index now is not (the operation made it whole, or git split it anew),
    and that shared index is still there: a `seed` index on it, and that shared index's tree
    and flags, for the target's index to be built on it, split on it again as it was. None:
    the index is built on a copy of the index as it is (it is on that shared index, or the
    target's was whole, or it is gone)."""
    wanted = target.index_shared
    if not wanted or not splitindex.usable(repo, wanted):
        return None
    if edited and splitindex.shared_of(repo, repo.index_path) == wanted:
        return None
    try:
        return _read_seed(repo, wanted, seed)
    except GitError:  # a shared index git cannot read: the index is built as it is
        return None


def _read_seed(repo: Repo, wanted: str, seed: Path) -> tuple[str, indexstate.IndexFlags] | None:
    splitindex.link_only(repo, wanted, seed)
    return _tree_and_flags(repo, seed)


def _without_conflicts(repo: Repo, seed: Path) -> tuple[str, indexstate.IndexFlags] | None:
    """An index a conflict left (kept raw: unmerged entries), less those entries, as a `seed`
    with its tree and flags: the target's index is built on it as on any other, so the entries
    both hold keep their status data (built anew from the target's tree, every entry lost it,
    and your next `git status` read every file again). None where the index holds no unmerged
    entry (kept raw for another reason), is split, or git cannot read it: built anew."""
    if splitindex.shared_of(repo, repo.index_path) is not None:
        return None
    env = {"GIT_INDEX_FILE": str(seed)}
    whole = ("-c", "core.splitIndex=false")
    try:
        indexstate.copy_index(repo.index_path, seed)
        listed = repo.out(*whole, "ls-files", "-u", "-z", env=env)
        unmerged = {item.split(b"\t", 1)[1] for item in listed.split(b"\0") if b"\t" in item}
        if not unmerged:
            return None
        # mode 0 takes a path out at every stage
        info = b"".join(f"0 {repo.zero_oid}\t".encode() + p + b"\0" for p in sorted(unmerged))
        repo.run(*whole, "update-index", "-z", "--index-info", input=info, env=env)
    except (GitError, OSError):
        return None
    return _tree_and_flags(repo, seed)


def _tree_and_flags(repo: Repo, seed: Path) -> tuple[str, indexstate.IndexFlags] | None:
    env = {"GIT_INDEX_FILE": str(seed)}
    tagging = indexstate.start_listing(repo, env)
    # write-tree writes the index it reads: on a throwaway copy, never split (a shared index
    # of its own would stay in your git dir, used by no index).
    copy = seed.with_name(seed.name + "-tree")
    indexstate.copy_index(seed, copy)
    try:
        tree = staged.write_tree(
            repo, {"GIT_INDEX_FILE": str(copy)}, config=("-c", "core.splitIndex=false")
        )
    except (GitError, indexerrors.UnmergedPaths):  # one git cannot read, or one with a conflict
        tagging.wait(check=False)
        return None
    finally:
        copy.unlink(missing_ok=True)
    return tree, indexstate.read_listing(repo, env, tree, tagging).flags


def _split_as(repo: Repo, index: Path, wanted: str | None) -> None:
    """The index split, or whole, as the target's was (None: not known, left as built): built
    on a copy of the index as it is, it is as the operation left it."""
    if wanted is None:
        return
    now = splitindex.shared_of(repo, index)
    env = {"GIT_INDEX_FILE": str(index)}
    if not wanted and now is not None:
        repo.run("update-index", "--no-split-index", env=env)
    elif wanted and now is None:
        repo.run("update-index", "--split-index", env=env)


def _refresh(repo: Repo) -> None:
    """The stat data of the entries of an index put back as its bytes made the files' on disk,
    as `git update-index --refresh` does (entries, stages and flags unchanged): the restore
    wrote some of those files anew, and git's commands that want the files as the index says
    (`git merge --abort`, `cherry-pick --abort`) refuse entries whose stat data is stale. An
    index git cannot read, or whose checksum is not its content's (kept to be made again as
    it was), is left as it is."""
    if staged.checksum_holds(repo.index_path, sha256=repo.sha256):
        repo.run("update-index", "-q", "--refresh", check=False)


def _split_again(repo: Repo) -> None:
    """A raw index that was a split one (core.splitIndex, `update-index --split-index`) put
    back whole (its shared index gone, or held whole by a capture's rewrite), or that the
    refresh wrote whole (git writes an index with unmerged entries whole when it refreshes
    one: racily clean entries, files the restore wrote): written split again by git, on a
    shared index git makes (git's own write marks racily clean entries, so the new mtime hides
    no edit). One git cannot read, or that is split already, is left as it is."""
    if not staged.checksum_holds(repo.index_path, sha256=repo.sha256):
        return
    if splitindex.shared_of(repo, repo.index_path) is None:
        repo.run("update-index", "--split-index", check=False)


def _keep_format(repo: Repo, index: Path, wanted: int | None) -> None:
    """The index in the format the target's was: version 4 (prefix-compressed paths, which
    `index.version`, `feature.manyFiles` or `update-index --index-version 4` choose) or not.
    Versions 2 and 3 are one format to git, which writes 3 only when an entry needs it."""
    have = indexstate.version(index)
    if wanted is None or have is None or (wanted == 4) == (have == 4):
        return
    repo.run(
        "update-index",
        "--index-version",
        "4" if wanted == 4 else "2",
        env={"GIT_INDEX_FILE": str(index)},
    )


def install_index(repo: Repo, source: Path) -> None:
    """Make `source` the worktree's index the way git does: O_EXCL lock, then rename.

    A rename keeps the file's mtime, which git's racy-clean check depends on.
    """
    lock = _lock_index(repo)
    try:
        try:
            os.replace(source, lock)
        except OSError:
            indexstate.copy_index(source, lock)
        try:
            os.replace(lock, repo.index_path)
        except IsADirectoryError:
            raise RefusedError(
                f"{repo.index_path} is a folder; the index cannot be put back in its place",
                hint="move that folder aside, then run `git atomic recover`",
            ) from None
    except BaseException:
        lock.unlink(missing_ok=True)
        raise


def write_index_bytes(repo: Repo, data: bytes | None, mtime_ns: int | None) -> None:
    """Put saved raw index bytes back, with the mtime they had (racy-git safety)."""
    if data is None:
        repo.index_path.unlink(missing_ok=True)
        return
    lock = _lock_index(repo)
    try:
        flags = os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC  # (the lock is ours)
        with open(os.open(lock, flags), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            if mtime_ns is not None:
                os.utime(fh.fileno(), ns=(mtime_ns, mtime_ns))
        os.replace(lock, repo.index_path)
    except BaseException:
        lock.unlink(missing_ok=True)
        raise


def _lock_index(repo: Repo) -> Path:
    lock = repo.index_path.with_name("index.lock")
    for _ in range(50):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            time.sleep(0.1)
            continue
        os.close(fd)
        return lock
    raise RefusedError(
        f"{lock} exists: another git process is writing the index",
        hint="if no git command is running (one may have been killed), remove that file, "
        "then run the command again (`git atomic recover` after a crash)",
    )
