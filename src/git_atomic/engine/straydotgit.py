"""A `.git` in a folder of the worktree that is no repository after all.

Notes kept in `sub/.git/`, a `.git` file with no `gitdir:` line, a link to nothing: git
never lists an entry named `.git`, and takes its folder for a repository of its own only where
that `.git` is one (git's `is_git_directory`: a `HEAD` git can read as one, a link into
`refs/`, `ref: refs/...` or an object id, with `objects/` and `refs/` or a `commondir`; t7300's
`almost_git/.git` with a HEAD of "garbage" is a folder of files to git, and `git clean -d`
removes it). Otherwise it looks into the folder as into any other (or, where nothing else is
in it, sees an empty folder), so a checkpoint holds the folder's files but never that `.git`,
and an operation that deletes the folder loses it. The capture refuses such a tree
(snapshot.py). Imported only where the walk of the folders found a `.git` below the top.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo


def found(repo: Repo, folders: Sequence[bytes], tree: str) -> tuple[list[bytes], list[bytes]]:
    """Each `.git` among `folders` (those holding one) that is not one git would take for a
    repository, where the captured `tree` has its folder as a folder or not at all (none where
    every one is a repository: a submodule is a gitlink in the tree); and the
    repositories the tree has as folders all the same (one made where the index still has
    paths: `git init sub` in a folder of files, whose files git lists as the folder's) or does
    not hold at all (one without a commit yet, which git cannot add: capturedisk.py leaves it
    out), so that a rollback can name one an operation made (reposmade.py)."""
    listed = {e.path: e.mode for e in repo.ls_tree_at(tree, folders)}
    root = os.fsencode(repo.root)
    as_folders: list[bytes] = []
    strays: list[bytes] = []
    with safefs.Tree(root) as worktree:
        for folder in folders:
            mode = listed.get(folder)
            if mode not in (None, "040000"):
                continue
            if nothing_to_git(worktree, folder):
                continue
            if not is_repository(worktree, root, folder):
                strays.append(folder + b"/.git")
            else:  # read as a folder, or a repository without a commit yet (not in the tree)
                as_folders.append(folder)
    return strays, as_folders


def nothing_to_git(tree: safefs.Tree, folder: bytes) -> bool:
    """Whether `folder/.git` is a folder holding nothing but empty folders, or an empty file:
    git lists neither it nor anything in it, never takes it for a repository (its folder's
    files are listed as any folder's), and `git clean -d` removes it with its folder. It
    holds nothing to lose: no reason to refuse, no repository to leave alone."""
    dot = folder + b"/.git"
    kind = tree.kind(dot)
    if kind == stat.S_IFREG:
        found = tree.lstat(dot)
        return found is not None and found.st_size == 0
    return kind == stat.S_IFDIR and tree.empty_folders(dot, limit=64) is not None


def is_repository(worktree: safefs.Tree, root: bytes, folder: bytes) -> bool:
    """Whether `folder/.git` is a repository as git takes one, read folder by folder without
    following a link (safefs.py), nor a folder that is gone or became a link meanwhile. A
    link there is judged by the name it holds, as git, which follows it, would judge what
    is there: a git dir, or a file whose `gitdir:` names one (only looked at, never written;
    its HEAD read as a `.git` file's is)."""
    dot = folder + b"/.git"
    kind = worktree.kind(dot)
    if kind == stat.S_IFREG:
        return _names_a_git_dir(worktree.read(dot) or b"", os.path.join(root, folder))
    if kind == stat.S_IFDIR:
        return _valid_head(worktree, dot + b"/HEAD") and _git_directory(os.path.join(root, dot))
    if kind == stat.S_IFLNK:
        target = worktree.readlink(dot) or b""
        there = target if os.path.isabs(target) else os.path.join(root, folder, target)
        try:
            st = os.stat(there)
        except (OSError, ValueError):
            return False  # a link to nothing: no repository to git, which lists the folder
        if stat.S_ISDIR(st.st_mode):
            return _head_outside(os.path.join(there, b"HEAD")) and _git_directory(there)
        if stat.S_ISREG(st.st_mode):
            data = _small_file(os.path.realpath(there), 4096) or b""
            return _names_a_git_dir(data, os.path.join(root, folder))
        return False
    return True  # gone, a FIFO: nothing a checkpoint could hold anyway


def _names_a_git_dir(data: bytes, folder: bytes) -> bool:
    """Whether a `.git` file's `data` names a git dir (read_gitfile), relative to `folder`."""
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not first.startswith(b"gitdir: "):
        return False
    where = first[len(b"gitdir: ") :]
    # (Its target may be outside the worktree, as a linked worktree's is: only looked at.)
    git_dir = where if os.path.isabs(where) else os.path.join(folder, where)
    return _head_outside(os.path.join(git_dir, b"HEAD")) and _git_directory(git_dir)


def _valid_head(worktree: safefs.Tree, head: bytes) -> bool:
    """Whether git takes `head` for a HEAD (setup.c's validate_headref), read without
    following a link."""
    kind = worktree.kind(head)
    if kind == stat.S_IFLNK:
        return (worktree.readlink(head) or b"").startswith(b"refs/")
    return kind == stat.S_IFREG and _head_data(worktree.read(head) or b"")


def _head_outside(head: bytes) -> bool:
    """`_valid_head` for the HEAD of a git dir a `.git` file names, which may be outside the
    worktree (a linked worktree's, a submodule's): the HEAD itself is never followed, and
    only a regular file is read (a FIFO there never blocks)."""
    try:
        if stat.S_ISLNK(os.lstat(head).st_mode):
            return os.readlink(head).startswith(b"refs/")
    except OSError:
        return False
    data = _small_file(head, 255)
    return data is not None and _head_data(data)


def _small_file(path: bytes, size: int) -> bytes | None:
    """The first `size` bytes of `path`, a regular file (never a link at its end, never a
    FIFO's wait); None for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, size) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _head_data(data: bytes) -> bool:
    data = data[:255]
    if data.startswith(b"ref:") and data[4:].lstrip(b" \t\n\r\v\f").startswith(b"refs/"):
        return True
    return any(_hex(data[:width]) for width in (40, 64))


def _hex(data: bytes) -> bool:
    return len(data) in (40, 64) and all(c in b"0123456789abcdefABCDEF" for c in data)


def _git_directory(path: bytes) -> bool:
    if not os.path.lexists(os.path.join(path, b"HEAD")):
        return False
    common = path
    if os.path.lexists(os.path.join(path, b"commondir")):
        # A linked worktree's: its objects and refs are those of the common dir it names
        # (setup.c's get_common_dir; one naming nothing is no repository to git).
        named = (_small_file(os.path.join(path, b"commondir"), 4096) or b"").rstrip(b"\r\n")
        if not named:
            return False
        common = os.path.join(path, named)  # an absolute one stands alone
    return os.path.isdir(os.path.join(common, b"objects")) and os.path.isdir(
        os.path.join(common, b"refs")
    )
