"""The links in a git dir that git would read refs, reflogs or `packed-refs` through, found with
lstat and directory listings alone (never through a link): in `refs/` and `logs/`, the
pseudo-refs, `packed-refs` no regular file, and links in our own folder where we write. What
gitlinks.py refuses or sets aside. A few thousand refs cost a few ms. Split from gitlinks.py.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Final

from git_atomic.engine import safefs

HEAD: Final = b"HEAD"
# Pseudo-refs of the worktree's git dir git reads through a link when asked for them.
_PSEUDO: Final = (b"HEAD", b"ORIG_HEAD", b"FETCH_HEAD")
STATE: Final = b"atomic"  # our folder in the shared git dir (Repo.state_dir)
_OURS: Final = (b"refs/atomic/ops", b"logs/refs/atomic/ops")
_STATE_FOLDERS: Final = (b"atomic/tmp", b"atomic/logs")
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def git_own_symref(target: bytes) -> bool:
    """A link git makes itself and never reads through: `refs/...` inside the git dir."""
    return target.startswith(b"refs/") and b".." not in target.split(b"/") and b"\0" not in target


# `thorough`: which of our operations' checkpoint ref folders are looked into (True: all of
# them; a set of operation ids: those only; empty: none, only looked at).
Thorough = bool | frozenset[bytes]


def _links(tree: safefs.Tree, top: bytes, *, thorough: Thorough) -> Iterator[bytes]:
    """Every link under the folder `top` (or `top` itself) that git would read through. The
    folders' entries say what they are (no lstat each), and each folder is opened from its
    parent's descriptor without following a link: a few thousand refs cost a few ms."""
    kind = tree.kind(top)
    if kind == stat.S_IFLNK:
        if not git_own_symref(tree.readlink(top) or b""):
            yield top
        return
    fd = tree.folder(top) if kind == stat.S_IFDIR else None
    if fd is not None:
        yield from _walk(os.dup(fd), top, thorough=thorough)


def _walk(fd: int, folder: bytes, *, thorough: Thorough) -> Iterator[bytes]:
    """The links under the folder open as `fd` (closed here), as paths from the git dir. Not
    `thorough`: the folders of our operations' checkpoint refs are looked at, not into (a
    capture reads none of them, and writes new ones only, by git's lock and rename)."""
    try:
        with os.scandir(fd) as entries:
            found = [
                (os.fsencode(e.name), e.is_symlink(), e.is_dir(follow_symlinks=False))
                for e in entries
            ]
        for name, link, folder_ in found:
            if link:
                if not git_own_symref(os.readlink(name, dir_fd=fd)):
                    yield folder + b"/" + name
            elif folder_ and (
                folder not in _OURS
                or thorough is True
                or (not isinstance(thorough, bool) and name in thorough)
            ):
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    continue  # gone, or swapped for a link since: not entered
                yield from _walk(child, folder + b"/" + name, thorough=thorough)
    finally:
        os.close(fd)


def found(tree: safefs.Tree, *, worktree: bool, common: bool, thorough: Thorough) -> list[bytes]:
    found: list[bytes] = []
    if worktree:
        for name in _PSEUDO:
            if name == HEAD:
                continue  # HEAD is looked at by its own rule
            if tree.kind(name) == stat.S_IFLNK and not git_own_symref(tree.readlink(name) or b""):
                found.append(name)
    for top in (b"refs", b"logs"):
        found += _links(tree, top, thorough=thorough)
    if common:
        # A link git would read every ref through; a FIFO it would wait on, a folder it cannot
        # read (an operation's `rm .git/packed-refs; mkdir .git/packed-refs`).
        if tree.kind(b"packed-refs") not in (None, stat.S_IFREG):
            found.append(b"packed-refs")
        # Our own folder (the journal, scan indexes, scratch files): a link there would have
        # every file we write next land outside.
        found += _state_links(tree)
    return found


def _state_links(tree: safefs.Tree) -> list[bytes]:
    """Links in our folder where we write: the folder itself, its entries, and those of its
    scratch and log folders. Never deeper: a private worktree of `run --isolate` lives there,
    and the links in it are the operation's files."""
    if tree.kind(STATE) not in (None, stat.S_IFDIR):
        return [STATE]  # a link, or a FIFO or a file an operation put in its place
    found: list[bytes] = []
    for folder in (STATE, *_STATE_FOLDERS):
        fd = tree.folder(folder)
        if fd is None:
            continue
        with os.scandir(fd) as entries:
            found += [folder + b"/" + os.fsencode(e.name) for e in entries if e.is_symlink()]
    return sorted(found)
