"""The scratch work tree `git add -N` makes intent-to-add entries from (indexbuild.add_intents):
at each entry's path, the least git takes for an entry of its mode.

git's `add -N` takes an entry's mode from what it finds: an empty file (100644, or 100755 if
executable), a link (120000), or a folder that is a repository with a commit checked out
(160000, an embedded repository's gitlink: any id in its HEAD will do, since an intent-to-add
entry holds the empty blob's id whatever it marks). Made folder by folder from the scratch
folder's descriptor, never as one absolute name: a path git handles from your worktree's top,
under PATH_MAX there, can pass it under `.git/atomic/tmp/intents-<pid>-<n>/`. Nothing is
followed through a link."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

_FOLDER: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
LINK_TARGET: Final = b"intent-to-add"


def plant(scratch: Path, intents: Mapping[bytes, str], head: str) -> None:
    """`scratch` made (a new folder) holding, at each path of `intents` (path -> mode), what
    `git add -N` makes an entry of that mode from. `head`: an object id of the repository's
    format, for an embedded repository's HEAD."""
    try:
        os.mkdir(scratch, 0o700)
    except FileExistsError:
        # A dead process's of this pid (a container's pids start again at each start, and
        # the same command names its scratch files in the same order): never ours, never
        # followed (a link there is removed, not what it names).
        _remove(scratch)
        os.mkdir(scratch, 0o700)
    top = os.open(scratch, _FOLDER)
    try:
        held: tuple[bytes, int] | None = None  # the folder last opened: most paths share one
        for path in sorted(intents):
            parent, _, name = path.rpartition(b"/")
            if held is None or held[0] != parent:
                if held is not None:
                    os.close(held[1])
                    held = None
                held = (parent, _folder(top, parent))
            _entry(held[1], name, intents[path], head)
        if held is not None:
            os.close(held[1])
    finally:
        os.close(top)


def _remove(where: Path) -> None:
    import shutil  # (a restore's, after a crash: rare)

    if where.is_symlink() or not where.is_dir():
        where.unlink()
    else:
        shutil.rmtree(where)


def _folder(top: int, path: bytes) -> int:
    """The folder `path` under `top`, made where missing: a descriptor (the caller closes it).
    One folder open at a time, however deep."""
    fd = os.dup(top)
    for part in path.split(b"/") if path else ():
        with contextlib.suppress(FileExistsError):
            os.mkdir(part, 0o700, dir_fd=fd)
        try:
            below = os.open(part, _FOLDER, dir_fd=fd)
        finally:
            os.close(fd)
        fd = below
    return fd


def _entry(folder: int, name: bytes, mode: str, head: str) -> None:
    if mode == "120000":
        os.symlink(LINK_TARGET, name, dir_fd=folder)
    elif mode == "160000":
        os.mkdir(name, 0o700, dir_fd=folder)
        git_dir = _folder(folder, name + b"/.git")
        try:
            for part in (b"objects", b"refs"):
                os.mkdir(part, 0o700, dir_fd=git_dir)
            _write(git_dir, b"HEAD", head.encode() + b"\n", 0o644)
        finally:
            os.close(git_dir)
    else:
        _write(folder, name, b"", 0o755 if mode == "100755" else 0o644)


def _write(folder: int, name: bytes, data: bytes, mode: int) -> None:
    fd = os.open(name, _NEW_FILE, 0o600, dir_fd=folder)
    try:
        os.fchmod(fd, mode)  # (whatever the umask took off)
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)
