"""The empty folders of a state worked out from trees (a take-back's target, an isolated run's
result): a checkpoint lists its own (`empty-folders`); these apply changes to them in turn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from git_atomic.engine import checkpoint
from git_atomic.engine.checkpoint import Folders
from git_atomic.engine.git import Repo


def empty_folders_after(
    repo: Repo,
    current: Folders,
    changes: Sequence[tuple[Folders, Folders]],
    files_tree: str,
) -> tuple[str | None, bool]:
    """The empty folders of a state worked out from trees: `current`'s, with each change
    `frm -> to` applied in turn (a folder `to` has and `frm` lacks is made; one `frm` has and
    `to` lacks goes), less those where `files_tree` has a file. As a blob, and whether it is
    every empty folder: only when every state it comes from listed all of its own."""
    blob, every, _ = folders_after(repo, current, changes, files_tree)
    return blob, every


def folders_after(
    repo: Repo,
    current: Folders,
    changes: Sequence[tuple[Folders, Folders]],
    files_tree: str,
) -> tuple[str | None, bool, list[bytes]]:
    """`empty_folders_after`, and the empty folders the changes make that a file of
    `files_tree` stands in the way of (at that path, or on the way to it): an overlap, as a
    file would be there."""
    folders = _folders_after(repo, current, changes)
    if folders is None:
        return None, False, []
    found, made = folders
    blob = checkpoint.paths_blob(repo, _innermost_without_files(repo, files_tree, found))
    return blob, True, _in_the_way(repo, files_tree, sorted(found & made))


def _in_the_way(repo: Repo, files_tree: str, made: list[bytes]) -> list[bytes]:
    if not made:
        return []
    above = {b"/".join(f.split(b"/")[:i]) for f in made for i in range(1, f.count(b"/") + 1)}
    held = {e.path: e.kind for e in repo.ls_tree_at(files_tree, sorted({*made, *above}))}
    return [
        f
        for f in made
        if held.get(f, "tree") != "tree"
        or any(held.get(a, "tree") != "tree" for a in above if f.startswith(a + b"/"))
    ]


def _folders_after(
    repo: Repo,
    current: Folders,
    changes: Sequence[tuple[Folders, Folders]],
) -> tuple[set[bytes], set[bytes]] | None:
    """`current`'s empty folders with each change applied in turn, and those the changes made;
    None unless every state lists all of its own."""
    if not all(s.all_empty_folders for s in [current, *(s for pair in changes for s in pair)]):
        return None
    folders = set(checkpoint.load_empty_folders(repo, current))
    made: set[bytes] = set()
    for frm, to in changes:
        before, after = (
            checkpoint.load_empty_folders(repo, frm),
            checkpoint.load_empty_folders(repo, to),
        )
        folders = (folders - (before - after)) | (after - before)
        made = (made - (before - after)) | (after - before)
        # A nested repository `frm` has and `to` lacks: the empty folder a rollback made again
        # where it was (its files are never captured) goes with it.
        gone = _repositories_gone(repo, frm, to, folders)
        folders -= gone
        made -= gone
    return folders, made


def _repositories_gone(repo: Repo, frm: Folders, to: Folders, at: set[bytes]) -> set[bytes]:
    """Those of the folders `at` where `frm` has a nested repository (a gitlink) and `to` has
    none."""
    if not at:
        return set()
    held = {e.path for e in repo.ls_tree_at(frm.files_tree, sorted(at)) if e.mode == _GITLINK}
    if not held:
        return set()
    still = {e.path for e in repo.ls_tree_at(to.files_tree, sorted(held)) if e.mode == _GITLINK}
    return held - still


_GITLINK: Final = "160000"


def _innermost_without_files(repo: Repo, tree: str, folders: set[bytes]) -> set[bytes]:
    """Those of `folders` that hold no other of them and where `tree` has nothing: no file or
    folder at that path, and no file on the way to it."""
    above = {b"/".join(f.split(b"/")[:i]) for f in folders for i in range(1, f.count(b"/") + 1)}
    if not folders:
        return folders
    held = {e.path: e.kind for e in repo.ls_tree_at(tree, sorted(folders | above))}
    return {
        f
        for f in folders
        if f not in above
        and f not in held
        and all(held.get(a, "tree") == "tree" for a in above if f.startswith(a + b"/"))
    }
