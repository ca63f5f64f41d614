"""The scan's new tree from the files `git status` found changed.

A few hundred files or fewer: each is read once, here, and hashed; the last tree is edited on the
folders concerned (`mktree`), while the scan index takes the same entries in the background.
More: git's own `update-index` and `write-tree` on the scan index (a fixed cost, about two index
writes, cheaper than editing that many folders).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.engine import conversion, rulefiles, safefs, scanindex, systemattributes
from git_atomic.engine.git import Repo

Edits = dict[bytes, tuple[str, str] | None]  # path: (mode, blob), or None for gone

_READ_AT_MOST: Final = 64 << 20  # a larger changed file is left to git's update-index
# Attributes under which `git add` stores other bytes than the disk's (filters are off for
# every call of ours: Repo.no_filters).
_CONVERTING: Final = ("text", "eol", "ident", "working-tree-encoding", "crlf")
_WORDS: Final = tuple(a.encode() for a in (*_CONVERTING, "filter"))
_CONVERTED_AT_MOST: Final = 8  # one process each: past a few, update-index reads them all at once


def _verify() -> bool:
    """Under test, every edited tree is checked against git's `write-tree` of the scan index."""
    return os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1"


def read_edits(repo: Repo, deleted: Sequence[bytes], changed: Sequence[bytes]) -> Edits | None:
    """What changed, as tree entries: files hashed once, here. None when a plain reading of
    the disk is not git's (a filesystem that folds case, a folder where a file was tracked, a
    file too large to hold, several files an attribute converts). Modes and links are read as
    the disk has them, as the scan's git calls do (conversion.AS_ON_DISK)."""
    if repo.config_bool("core.ignoreCase"):
        return None
    edits: Edits = dict.fromkeys(deleted)
    attributes = (
        _converting_start(repo, changed) if _attributes_may_apply(repo, deleted, changed) else None
    )
    read = _read_changed(repo, changed, edits)
    if read is None:
        if attributes is not None:
            attributes.wait(check=False)
        return None
    regular, links = read
    found = _converting(attributes) if attributes is not None else (set(), set())
    if found is None or len(found[0]) > _CONVERTED_AT_MOST:
        return None
    converted, lfs = found
    if lfs:
        # As the scan's git calls read them (scanindex.lfs_pointers): git-lfs's pointer.
        from git_atomic.engine import lfspointer  # only where git-lfs's filter is configured

        regular = [(p, m, lfspointer.pointer(d) if p in lfs else d) for p, m, d in regular]
    plain = [("120000", p, target) for p, target in links]
    plain += [(m, p, d) for p, m, d in regular if p not in converted or p in lfs]
    for (mode, path, _), oid in zip(plain, repo.write_blobs([d for *_, d in plain]), strict=True):
        edits[path] = (mode, oid)
    for path, mode, data in regular:
        if path in converted and path not in lfs:
            # The conversion `git add` applies (attributes by path), never line endings.
            name = os.fsdecode(path)
            oid = repo.line(
                *conversion.NO_AUTOCRLF,
                "hash-object",
                "-w",
                "--stdin",
                f"--path={name}",
                input=data,
            )
            edits[path] = (mode, oid)
    return edits


def _read_changed(
    repo: Repo, changed: Sequence[bytes], edits: Edits
) -> tuple[list[tuple[bytes, str, bytes]], list[tuple[bytes, bytes]]] | None:
    """The changed files' bytes and modes, and the links' targets; those gone go into `edits`.
    Each path reached without following a link (safefs.py), and read here: git is given the
    bytes, never a name it would read through a folder swapped for a link meanwhile. None for
    a file too large to hold, one that changed again meanwhile, or a folder (a submodule, or a
    repository inside this one)."""
    regular: list[tuple[bytes, str, bytes]] = []
    links: list[tuple[bytes, bytes]] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in changed:
            st = tree.lstat(path)
            if st is None:
                edits[path] = None
                continue
            kind = st.st_mode
            if stat.S_ISREG(kind):
                data = tree.read(path) if st.st_size <= _READ_AT_MOST else None
                if data is None:
                    return None
                regular.append((path, "100755" if kind & 0o100 else "100644", data))
            elif stat.S_ISLNK(kind):
                target = tree.readlink(path)
                if target is None:
                    return None
                links.append((path, target))
            else:
                return None
    return regular, links


def _attributes_may_apply(repo: Repo, deleted: Sequence[bytes], changed: Sequence[bytes]) -> bool:
    """Whether any attributes file could apply to `changed` (one in a folder on their way, the
    repository's info/attributes, a global one, the system's, a tree git is told to read them
    from: conversion.detect's) or is among what changed: else no `check-attr` process is
    needed."""
    paths = [*deleted, *changed]
    if rulefiles.attributes_among(repo, paths) or systemattributes.from_tree(repo):
        return True
    if systemattributes.mentions(repo, _WORDS):  # (read: one that names none needs no check)
        return True
    if (repo.common_dir / "info" / "attributes").exists() or repo.config("core.attributesFile"):
        return True
    if os.path.exists(rulefiles.configured_file(repo, "core.attributesFile", "attributes")):
        return True
    folders = {b""}
    for path in changed:
        while b"/" in path:
            path = path.rsplit(b"/", 1)[0]
            folders.add(path)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        return any(
            tree.lstat(f + b"/.gitattributes" if f else b".gitattributes") is not None
            for f in folders
        )


def _converting_start(repo: Repo, paths: Sequence[bytes]) -> process.Background:
    lfs = ("filter",) if "lfs" in repo.filter_names() else ()
    return repo.start(
        "check-attr",
        "-z",
        "--stdin",
        *_CONVERTING,
        *lfs,
        input=b"".join(p + b"\0" for p in paths),
    )


def _converting(listing: process.Background) -> tuple[set[bytes], set[bytes]] | None:
    """The paths an attribute converts (`text`, `eol`...: not unspecified nor unset), and those
    git-lfs's filter applies to (`filter=lfs`, asked only where it is configured)."""
    res = listing.wait(check=False)
    if res.returncode != 0:
        return None
    fields = res.stdout.split(b"\0")
    converted: set[bytes] = set()
    lfs: set[bytes] = set()
    for i in range(0, len(fields) - 2, 3):
        if fields[i + 1] == b"filter":
            if fields[i + 2] == b"lfs":
                lfs.add(fields[i])
        elif fields[i + 2] not in (b"unspecified", b"unset"):
            converted.add(fields[i])
    return converted, lfs


def edit_tree(
    repo: Repo, index: Path, *, split: bool, base: str, edits: Edits, index_too: bool = True
) -> tuple[str | None, process.Background | None]:
    """The new tree by editing the old one (`mktree` on the folders concerned), and the scan
    index's update with the same entries, still running in the background (None once waited
    for, or when the files were written again with the same bytes: the tree is `base`, and the
    scan index stays as it is, its stat data for them stale, so the next `status` reads them
    again). Its entries get no stat data: the next `status` looks at those few files again,
    and only marks them clean if their bytes are the ones recorded, so a file written while
    this ran is never taken for what it was. `index_too=False`: the tree only, for a scan
    index that is not kept (scan.goes_back), but where the edit is checked against git's."""
    try:
        tree = repo.tree_edit(base, edits, remember=True)
    except ValueError:
        return None, None
    if tree == base:
        return tree, None
    if _verify():  # how the trees differ, known from the edit: git's `diff-tree` says the same
        for a, b in ((base, tree), (tree, base)):
            if repo.diff_trees(a, b) != repo.diff_trees_told(a, b):
                raise AssertionError(f"scan: the edit's difference {a}..{b} is not git's")
    info = b"".join(
        (f"{new[0]} {new[1]}".encode() if new else b"0 " + repo.zero_oid.encode())
        + b"\t"
        + p
        + b"\0"
        for p, new in edits.items()
    )
    if not index_too:
        if _verify():  # on a copy: the scan index stays as a user's run leaves it
            _verify_on_copy(repo, index, tree, info=info)
        return tree, None
    pending = repo.start(
        *scanindex.git_config(split),
        "update-index",
        "-z",
        "--index-info",
        input=info,
        env={"GIT_INDEX_FILE": str(index)},
    )
    if os.urandom(1)[0] < 16:
        # Now and then: git's own tree of the scan index, which also brings its cached trees up
        # to date for the next `status`. They must agree.
        if pending.wait(check=False).returncode != 0:
            return None, None
        written = scanindex.write_tree(repo, index, split=split)
        if written != tree:
            if _verify():
                raise AssertionError(f"scan: edited tree {tree} != written tree {written}")
            return None, None
        return tree, None
    if _verify():
        # Under test, always: on a copy given the same entries, the update left running as it
        # is for users (a reader of the scan index that does not wait for it sees what theirs
        # does) and the scan index's cached trees as they are.
        _verify_on_copy(repo, index, tree, info=info)
    return tree, pending


def _verify_on_copy(repo: Repo, index: Path, tree: str, *, info: bytes) -> None:
    """Under test: git's `write-tree` of a copy of the scan index, given `info`'s entries
    (the index itself is left to the caller's update, or as it is), is the edited tree.
    The copy is written whole (never a shared index of its own) and removed: a run checked
    so leaves every file as a run that is not."""
    copy = repo.scratch_path("scan-verify")
    try:
        scanindex.share(index, copy)
        repo.run(
            *scanindex.git_config(False),
            "update-index",
            "-z",
            "--index-info",
            input=info,
            env={"GIT_INDEX_FILE": str(copy)},
        )
        written = scanindex.write_tree(repo, copy, split=False)
    finally:
        copy.unlink(missing_ok=True)
        copy.with_name(copy.name + ".lock").unlink(missing_ok=True)
    if written != tree:
        raise AssertionError(f"scan: edited tree {tree} != written tree {written}")


def update_from_disk(
    repo: Repo, index: Path, *, split: bool, deleted: Sequence[bytes], changed: Sequence[bytes]
) -> str | None:
    """The scan index brought up to date by git itself (`update-index`), and its tree."""
    root = os.fsencode(repo.root)
    calls: list[tuple[str, Sequence[bytes]]] = [("--remove", [*deleted, *changed])]
    if any(_beyond_symlink(root, p) for p in deleted):
        # git refuses to look at a path beyond what is now a symlink: those go without a look.
        calls = [("--force-remove", deleted), ("--remove", changed)]
    for option, paths in calls:
        if not scanindex.update_paths(
            repo, index, split=split, options=("--add", option), paths=paths
        ):
            return None
    return scanindex.write_tree(repo, index, split=split)


def _beyond_symlink(root: bytes, path: bytes) -> bool:
    parts = path.split(b"/")[:-1]
    for i in range(1, len(parts) + 1):
        try:
            if stat.S_ISLNK(os.lstat(root + b"/" + b"/".join(parts[:i])).st_mode):
                return True
        except OSError:
            return False
    return False


def too_large(repo: Repo, paths: Sequence[bytes], limit: int) -> list[bytes]:
    """The regular files among `paths` larger than `limit` bytes (one lstat each, never
    through a link)."""
    found = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in paths:
            st = tree.lstat(path)
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_size > limit:
                found.append(path)
    return found
