"""The worktree's `.git` *file*: what ties a linked worktree, or one made with
`--separate-git-dir`, to its git dir (`gitdir: <path>`).

An operation that removes it, or points it at another repository, leaves the folder no longer
a worktree of this repository: `git status` fails there, or answers for another one. So a
capture records its bytes when it is a regular file that names this git dir (in the
checkpoint's meta), and a restore to such a checkpoint writes them back (by rename, never
through a link) when the file is not that now. A `.git` that names anything else is never
recorded, so `undo` never makes the worktree another repository's again, as a HEAD git refuses
is never made again (gitlinks.py). A `.git` folder (an ordinary repository) is git's own.

A `.git` that is a symbolic link to the git dir (a repository moved and linked back) is kept
the same way, as its target (`_LINK` and the target's bytes); it is made again as a link.
"""

from __future__ import annotations

import base64
import os
import stat
from typing import Final

from git_atomic.engine.git import Repo

_NAME: Final = ".git"
_LIMIT: Final = 4096  # bytes: git reads a gitfile's first line only
_LINK: Final = b"link\0"  # the record of a `.git` link: this, then its target


def read(repo: Repo) -> bytes | None:
    """The `.git` file's bytes when it is a regular file naming this worktree's git dir."""
    path = os.path.join(repo.root, _NAME)
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            data = _LINK + os.fsencode(os.readlink(path))
            return data if names_git_dir(repo, data) else None
        if not stat.S_ISREG(st.st_mode) or st.st_size > _LIMIT:
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(_LIMIT + 1)
    except OSError:
        return None
    return data if names_git_dir(repo, data) else None


def names_git_dir(repo: Repo, data: bytes) -> bool:
    if data.startswith(_LINK):
        named = os.fsdecode(data[len(_LINK) :])
    else:
        line = data.split(b"\n", 1)[0].rstrip(b"\r")
        if not line.startswith(b"gitdir: "):
            return False
        named = os.fsdecode(line[len(b"gitdir: ") :])
    full = named if os.path.isabs(named) else os.path.join(repo.root, named)
    try:
        return os.path.samefile(full, repo.git_dir)
    except OSError:
        return False


def to_meta(data: bytes | None) -> dict[str, object]:
    return {} if data is None else {"dot_git": base64.b64encode(data).decode("ascii")}


def from_meta(meta: dict[str, object]) -> bytes | None:
    data = meta.get("dot_git")
    return base64.b64decode(data) if isinstance(data, str) else None


def put(repo: Repo, data: bytes) -> bool:
    """Write the `.git` file back (a link or a file where it was goes; a folder stays: False)."""
    if read(repo) == data or not names_git_dir(repo, data):
        return True
    root = os.fsencode(repo.root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # A name of our own, made exclusively (a link or an O_EXCL file): the worktree's top
        # is yours, and a file of yours with a fixed name of ours would be lost to it.
        tmp = b".git." + os.urandom(8).hex().encode("ascii") + b".git-atomic-tmp"
        if data.startswith(_LINK):
            os.symlink(data[len(_LINK) :], tmp, dir_fd=fd)
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            out = os.open(tmp, flags, 0o644, dir_fd=fd)
            with os.fdopen(out, "wb") as fh:
                fh.write(data)
        try:
            os.rename(tmp, b".git", src_dir_fd=fd, dst_dir_fd=fd)
        except OSError:  # a folder there now: git's, or the operation's; left as it is
            os.unlink(tmp, dir_fd=fd)
            return False
    finally:
        os.close(fd)
    return True
