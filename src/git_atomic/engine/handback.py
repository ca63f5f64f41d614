"""What a command run as root made in the git dir of a repository someone else owns, given to
them when it ends.

An agent's container often runs as root over a worktree mounted from its user's home: every
object folder, ref, reflog and journal file a checkpoint or a rollback made there was root's,
and the user's own git then failed ("insufficient permission for adding an object to
repository database"), as did their next git-atomic (its journal, read-only to them). Only
what is root's and was made or changed since the command began is given away, to the owner
of the git dir it is in; nothing of anyone else's is touched, and nothing is followed through
a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

# What of a git dir a command may make files in: walked whole (objects only one level down,
# where git and we make a folder per first two hex digits: the packs are git gc's).
_WALKED = ("refs", "logs", "atomic", "info", "worktrees")


def give_back(git_dirs: set[tuple[Path, Path]], since: float) -> None:
    """Give each git dir's entries that are root's and changed at or after `since` (their
    ctime) to the owner of that git dir, where it is not root."""
    seen: set[bytes] = set()
    for git_dir, common_dir in sorted(git_dirs):
        for top in (common_dir, git_dir):
            where = os.fsencode(top)
            if where in seen:
                continue
            seen.add(where)
            with contextlib.suppress(OSError):
                st = os.stat(where, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode) and st.st_uid != 0:
                    _give_dir(where, (st.st_uid, st.st_gid), since)


def _give_dir(top: bytes, owner: tuple[int, int], since: float) -> None:
    for path, st in _entries(top):
        if st.st_uid == 0 and st.st_ctime >= since:
            with contextlib.suppress(OSError):
                os.chown(path, *owner, follow_symlinks=False)


def _entries(top: bytes) -> Iterator[tuple[bytes, os.stat_result]]:
    """The git dir's own files (HEAD, index, packed-refs, ORIG_HEAD...), the object folders
    and their objects, and everything under the folders a command writes in."""
    for entry in _scan(top):
        st = entry.stat(follow_symlinks=False)
        yield entry.path, st
        if not stat.S_ISDIR(st.st_mode):
            continue
        if entry.name == b"objects":
            for folder in _scan(entry.path):
                if len(folder.name) == 2 and folder.is_dir(follow_symlinks=False):
                    yield folder.path, folder.stat(follow_symlinks=False)
                    for obj in _scan(folder.path):
                        yield obj.path, obj.stat(follow_symlinks=False)
        elif entry.name.decode("ascii", "replace") in _WALKED:
            yield from _tree(entry.path)


def _tree(folder: bytes) -> Iterator[tuple[bytes, os.stat_result]]:
    for entry in _scan(folder):
        st = entry.stat(follow_symlinks=False)
        yield entry.path, st
        if stat.S_ISDIR(st.st_mode):
            yield from _tree(entry.path)


def _scan(folder: bytes) -> list[os.DirEntry[bytes]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []
