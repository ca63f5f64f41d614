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

It is written under a name of ours first (`.git.<pid>.<random>.git-atomic-tmp`), then renamed.
A process killed between the two leaves that name at the worktree's top, untracked (`git
status` shows it), and no `.git` where the operation removed one: git finds no repository
there. `recover` puts such a leftover in place where `.git` is not this git dir's
(`put_left_back`, before it finds the repository) and removes the others (`remove_left`); a
file is judged ours by all of its name (a dead process's pid, our suffix) and its bytes (a
`.git` naming that worktree's git dir), so a file of yours of a like name is never touched.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Final

from git_atomic.core.lock import process_alive
from git_atomic.engine.git import Repo

_NAME: Final = ".git"
_LIMIT: Final = 4096  # bytes: git reads a gitfile's first line only
_LINK: Final = b"link\0"  # the record of a `.git` link: this, then its target
# The name `put` writes under before its rename: the writer's pid, 16 random hex digits.
_TMP: Final = re.compile(rb"\.git\.(\d+)\.[0-9a-f]{16}\.git-atomic-tmp")


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
    named = _named(os.fsdecode(repo.root), data)
    try:
        return named is not None and os.path.samefile(named, repo.git_dir)
    except OSError:
        return False


def _named(root: str, data: bytes) -> str | None:
    """The git dir a `.git` at `root` holding `data` (as `read` records it) names."""
    if data.startswith(_LINK):
        named = os.fsdecode(data[len(_LINK) :])
    else:
        line = data.split(b"\n", 1)[0].rstrip(b"\r")
        if not line.startswith(b"gitdir: "):
            return None
        named = os.fsdecode(line[len(b"gitdir: ") :])
    return named if os.path.isabs(named) else os.path.join(root, named)


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
        tmp = b".git.%d.%s.git-atomic-tmp" % (os.getpid(), os.urandom(8).hex().encode())
        if data.startswith(_LINK):
            os.symlink(data[len(_LINK) :], tmp, dir_fd=fd)
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            out = os.open(tmp, flags, 0o644, dir_fd=fd)
            with os.fdopen(out, "wb") as fh:
                fh.write(data)
        from git_atomic.core import failpoints  # (not imported on a checkpoint's path)

        failpoints.hit("dotgit:aside")
        try:
            os.rename(tmp, b".git", src_dir_fd=fd, dst_dir_fd=fd)
        except OSError:  # a folder there now: git's, or the operation's; left as it is
            os.unlink(tmp, dir_fd=fd)
            return False
    finally:
        os.close(fd)
    return True


def _left(root: str) -> list[tuple[bytes, bytes]]:
    """Our temporary names at the worktree's top `root` that killed processes left (a link, or
    a regular file of at most `_LIMIT` bytes), with what each holds as `read` records it."""
    found = []
    with contextlib.suppress(OSError), os.scandir(os.fsencode(root)) as entries:
        for entry in entries:
            m = _TMP.fullmatch(entry.name)
            if m is None or process_alive(int(m.group(1)), None):
                continue
            with contextlib.suppress(OSError):
                if entry.is_symlink():
                    found.append((entry.name, _LINK + os.readlink(entry.path)))
                elif entry.is_file(follow_symlinks=False):
                    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
                    with open(os.open(entry.path, flags), "rb") as fh:
                        data = fh.read(_LIMIT + 1)
                    if len(data) <= _LIMIT:
                        found.append((entry.name, data))
    return found


def remove_left(repo: Repo) -> list[str]:
    """Remove what `put`, killed before its rename, left at the worktree's top: each of our
    names whose writer is dead and that names this git dir (so ours, and no loss: the `.git`
    holds it or the restore that was killed wrote it again). The names removed."""
    root = os.fsdecode(repo.root)
    removed = []
    for name, data in _left(root):
        if names_git_dir(repo, data):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(os.fsencode(root), name))
                removed.append(os.fsdecode(name))
    return sorted(removed)


def put_left_back(start: Path) -> bool:
    """Where git finds no repository from `start` (or one that is not the worktree's own)
    because `put` was killed before its rename (the operation had removed `.git`, or pointed it
    elsewhere): the leftover renamed into place, at the first folder from `start` up that holds
    one, when it names a linked worktree's git dir that names that folder's `.git` back
    (`<git dir>/gitdir`, as `git worktree add` wrote it). A folder at `.git` is never replaced.
    True when one was put back."""
    folder = os.path.abspath(start)
    while True:
        for name, data in _left(folder):
            if _ours_here(folder, data) and _rename_in(folder, name):
                return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def _ours_here(folder: str, data: bytes) -> bool:
    named = _named(folder, data)
    if named is None:
        return False
    try:
        with open(os.path.join(named, "gitdir"), "rb") as fh:  # git's, in its git dir
            back = fh.read(_LIMIT).split(b"\n", 1)[0].rstrip(b"\r")
        return os.path.samefile(os.path.dirname(os.fsdecode(back)), folder)
    except OSError:
        return False


def _rename_in(folder: str, name: bytes) -> bool:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(os.lstat(_NAME, dir_fd=fd).st_mode):
                return False
        os.rename(name, b".git", src_dir_fd=fd, dst_dir_fd=fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
