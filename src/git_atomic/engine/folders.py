"""Empty folders: git does not see them, so a capture finds them itself.

An empty folder is one with nothing in it; a capture holds every one that no rule ignores, that
is not in a folder a rule ignores, nor in a repository of its own, nor a submodule of your index
(`outside_submodules`). They are found by the walk of the folders (folderwalk.py), which reads
only the folders that changed since the last walk.

Where that walk cannot be made (git could not say what it ignores), git lists the folders that
hold no file the scan's index names and that no rule ignores (`ls-files --others --directory`, a
walk of the whole tree as git does it). Each is then read without following links (safefs.py):
one that holds nothing but empty folders gives its innermost ones; one that holds files the
index lacks (a new folder of untracked files) is looked into, folder by folder; one that holds
only ignored files (`logs/` with `*.log`) is looked into too, except the folders in it a rule
ignores (one more git listing, of those folders only); a repository inside the worktree never
is. A folder whose files all went since the index (an operation's `rm x/f`, `rm x && mkdir x`)
is not listed, since the index still has files there: those are looked for where the files went
(`where_files_went`), whichever way the others were found.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence, Set
from pathlib import Path

from git_atomic.core import process
from git_atomic.engine import conversion, ignores, safefs
from git_atomic.engine.git import Repo


def start_listing(repo: Repo, index: Path) -> process.Background:
    """Start git's listing of the folders that hold no file `index` names and that no rule
    ignores: the empty folders are among them."""
    return repo.start(
        *conversion.AS_ON_DISK,
        "ls-files",
        "--others",
        "--directory",
        "--exclude-standard",
        "-z",
        env={"GIT_INDEX_FILE": str(index)},
    )


def collect(
    repo: Repo, listing: process.Background, untracked: Sequence[bytes]
) -> frozenset[bytes] | None:
    """Every empty folder no rule ignores (the innermost ones), from the listing and the files
    the listing's index lacks (`untracked`); None when git could not list them."""
    res = listing.wait(check=False)
    if res.returncode != 0:
        return None
    listed = [p[:-1] for p in res.stdout.split(b"\0") if p.endswith(b"/")]
    found: set[bytes] = set()
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        holding: Set[bytes] | None = None
        of_ignored: list[bytes] = []  # folders holding ignored files, and no untracked one
        for folder in listed:
            leaves = tree.empty_folders(folder)
            if leaves is None:
                holding = _folders_of(untracked) if holding is None else holding
                leaves = _empty_within(tree, folder, holding, of_ignored)
            found.update(leaves)
        if of_ignored:
            ignored = _ignored_folders(repo, of_ignored)
            if ignored is None:
                return None
            for folder in of_ignored:
                found.update(_empty_among_ignored(tree, folder, ignored))
    # A folder that holds only ignored empty folders is listed (git sees nothing of its own
    # in it), and its innermost ones were taken: those a rule ignores are left out, as the walk
    # of the folders leaves them (folderwalk.py), whichever way a capture found them.
    dropped = repo.ignored(sorted(found))
    if dropped is None:
        return None
    return frozenset(found - dropped)


def outside_submodules(repo: Repo, found: Set[bytes], staged_tree: str) -> frozenset[bytes]:
    """Those of the empty folders `found` that are not a submodule of your index, nor in one:
    git never lists a submodule's folder (one not checked out is empty)."""
    if not found:
        return frozenset()
    asked = set(found)
    for path in found:
        end = path.rfind(b"/")
        while end > 0:
            asked.add(path[:end])
            end = path.rfind(b"/", 0, end)
    modules = [e.path for e in repo.ls_tree_at(staged_tree, sorted(asked)) if e.mode == "160000"]
    if not modules:
        return frozenset(found)
    return frozenset(p for p in found if not any(p == m or p.startswith(m + b"/") for m in modules))


def where_files_went(repo: Repo, gone: Set[bytes]) -> set[bytes]:
    """Where a file was and a folder of nothing but empty folders is now: the innermost ones
    no rule ignores (one more git process, only where there are some)."""
    found: set[bytes] = set()
    # Whether each folder on the way is one, asked once: the files gone share their folders (a
    # sparse checkout's skip-worktree files are all gone, a tenth of a tree and more, in folders
    # that are not there either).
    is_folder: dict[bytes, bool] = {}
    looked: set[bytes] = set()
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in sorted(gone):
            # The file itself may be a folder now, or the folder it was in may be left empty:
            # the innermost folder on its way, from the top (nothing is reached through a link
            # or a file: below one that is no folder, nothing is).
            folder = b""
            parts = path.split(b"/")
            for end in range(1, len(parts) + 1):
                at = b"/".join(parts[:end])
                known = is_folder.get(at)
                if known is None:
                    known = is_folder[at] = tree.kind(at) == stat.S_IFDIR
                if not known:
                    break
                folder = at
            if folder and folder not in looked:
                looked.add(folder)
                found.update(tree.empty_folders(folder) or ())
    if not found:
        return found
    # An empty folder a rule ignores (your `d/cache/` beside the `d/f` an operation removed)
    # is no empty folder of a checkpoint's, as everywhere else: held, it was taken for one the
    # operation made where PRE-OP lacked it, and the rollback deleted it (a shadow-mode run;
    # commits mode, its capture listing the folder through git, kept it). Where git cannot
    # say, none is held: a folder it may ignore is never one a restore removes.
    ignored = repo.ignored(sorted(found))
    return found - ignored if ignored is not None else set()


def _empty_within(
    tree: safefs.Tree, folder: bytes, holding: Set[bytes], of_ignored: list[bytes]
) -> list[bytes]:
    """The empty folders in `folder` (itself, when it holds nothing but empty folders): looked
    for in the folders `holding` names, never in a repository of its own. A folder that holds
    files but none of `holding`'s holds ignored files only: added to `of_ignored`."""
    leaves = tree.empty_folders(folder)
    if leaves is not None:
        return leaves
    fd = tree.folder(folder)
    if fd is None:
        return []
    if folder not in holding:
        of_ignored.append(folder)
        return []
    found: list[bytes] = []
    for below in _subfolders(fd, folder):
        found += _empty_within(tree, below, holding, of_ignored)
    return found


def _subfolders(fd: int, folder: bytes) -> list[bytes]:
    """The folders in `folder` (open as `fd`), sorted, links not followed; none in a
    repository of its own (a `.git` there, in any case)."""
    with os.scandir(fd) as entries:
        names = [(os.fsencode(e.name), e.is_dir(follow_symlinks=False)) for e in entries]
    if any(name.lower() == b".git" for name, _ in names):
        return []
    return [folder + b"/" + name for name, is_dir in sorted(names) if is_dir]


def _ignored_folders(repo: Repo, folders: Sequence[bytes]) -> set[bytes] | None:
    """The folders a rule ignores, in `folders` (which hold nothing git does not ignore but
    folders): git's own listing, one process, never looked into."""
    found = ignores.ignored_in(repo, folders, directory=True, config=conversion.AS_ON_DISK)
    if found is None:
        return None
    return {p[:-1] for p in found if p.endswith(b"/")}


def _empty_among_ignored(tree: safefs.Tree, folder: bytes, ignored: Set[bytes]) -> list[bytes]:
    """The empty folders in `folder`, a folder of ignored files: its folders no rule ignores
    are looked into (one that holds nothing is an empty folder of yours), never those a rule
    ignores, nor a repository of its own."""
    fd = tree.folder(folder)
    if fd is None:
        return []
    found: list[bytes] = []
    for below in _subfolders(fd, folder):
        if below in ignored:
            continue
        leaves = tree.empty_folders(below)
        found += leaves if leaves is not None else _empty_among_ignored(tree, below, ignored)
    return found


def _folders_of(paths: Sequence[bytes]) -> set[bytes]:
    """Every folder on the way to `paths`."""
    found: set[bytes] = set()
    for path in paths:
        end = path.rfind(b"/")
        while end > 0 and path[:end] not in found:
            found.add(path[:end])
            end = path.rfind(b"/", 0, end)
    return found
