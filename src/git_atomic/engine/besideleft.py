"""The files `safefs.Tree.take` moved aside beside themselves (`.git-atomic-removed-<pid>-<n>`,
where the rename into our folder of the git dir crosses file systems: a folder of the worktree
that is another mount, a git dir elsewhere) that a killed process left in your worktree.

Before such a rename the taker writes a note into our scratch folder (`beside-<pid>-<n>`: the
folder and the file's name), and removes it once the file moved aside is removed or put back.
`recover` and `gc` look at the notes of dead processes alone (no walk of the worktree, and
never a file of a like name no note names: yours): the file moved aside is removed where the
file at its name now holds the same bytes (or the same link), else moved into the scratch
folder as `removed-<pid>-<n>`, which `recover` names and keeps, as it keeps what a killed
restore moved aside there (in case it was a save of yours made at that instant, not the file
the restore removed): out of your worktree, where a `git add -A` would take it, and not lost.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Final

from git_atomic.core.lock import process_alive
from git_atomic.engine import safefs
from git_atomic.engine.besidenote import BESIDE, NOTE

_NOTE: Final = re.compile(r"beside-(\d+)-(\d+)")
_MOST: Final = 1 << 16  # a note's size at most (a folder's path and a name)


def sweep(root: Path, tmp: Path) -> list[str]:
    """The notes in `tmp` of dead processes, acted on (see the module's docstring): the paths
    removed from the worktree whose `root` is given, each as `<path> (into <name>)` where it
    was moved into `tmp` rather than removed."""
    try:
        if any(stat.S_ISLNK(os.lstat(folder).st_mode) for folder in (tmp.parent, tmp)):
            return []
        names = sorted(os.listdir(tmp))
    except OSError:
        return []
    done: list[str] = []
    with safefs.Tree(os.fsencode(root)) as tree:
        for name in names:
            m = _NOTE.fullmatch(name)
            if m is None or int(m.group(1)) == os.getpid() or process_alive(int(m.group(1)), None):
                continue
            said = _act(tree, tmp, m.group(1), m.group(2))
            if said is not False:
                with contextlib.suppress(OSError):
                    os.unlink(tmp / name)
            if isinstance(said, str):
                done.append(said)
    return done


def _act(tree: safefs.Tree, tmp: Path, pid: str, n: str) -> str | bool:
    """False: left (the note kept); True: nothing there to act on; else the line."""
    try:
        fd = os.open(tmp / f"{NOTE}{pid}-{n}", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb") as fh:
            folder, _, name = fh.read(_MOST).partition(b"\0")
    except OSError:
        return False
    moved = BESIDE + f"{pid}-{n}".encode()
    dir_fd = tree.folder(folder)
    if dir_fd is None or not name or b"/" in name:
        return True
    seen = safefs.lstat_at(dir_fd, moved)
    if seen is None:
        return True  # removed or put back before the kill
    shown = (folder + b"/" + moved if folder else moved).decode("utf-8", "backslashreplace")
    if _same(dir_fd, moved, name, seen):
        os.unlink(moved, dir_fd=dir_fd)
        return shown
    kept = f"removed-{pid}-{n}"
    try:
        if stat.S_ISLNK(seen.st_mode):
            os.symlink(os.readlink(moved, dir_fd=dir_fd), tmp / kept)
        elif stat.S_ISREG(seen.st_mode):
            _copy(dir_fd, moved, tmp / kept, seen)
        else:
            return False
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp / kept)
        return False
    os.unlink(moved, dir_fd=dir_fd)
    return f"{shown} (into .git/atomic/tmp/{kept})"


def _same(dir_fd: int, moved: bytes, name: bytes, seen: os.stat_result) -> bool:
    """Whether the file at `name` now is what was moved aside: the same link, or a regular
    file with the same bytes."""
    now = safefs.lstat_at(dir_fd, name)
    if now is None or stat.S_IFMT(now.st_mode) != stat.S_IFMT(seen.st_mode):
        return False
    if stat.S_ISLNK(seen.st_mode):
        return os.readlink(moved, dir_fd=dir_fd) == os.readlink(name, dir_fd=dir_fd)
    if not stat.S_ISREG(seen.st_mode) or now.st_size != seen.st_size:
        return False
    return _read(dir_fd, moved) == _read(dir_fd, name)


def _read(dir_fd: int, name: bytes) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    with open(fd, "rb") as fh:
        return fh.read()


def _copy(dir_fd: int, moved: bytes, to: Path, seen: os.stat_result) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    src = os.open(moved, flags, dir_fd=dir_fd)
    with open(src, "rb") as fh, open(to, "xb") as out:
        while chunk := fh.read(1 << 20):
            out.write(chunk)
    os.chmod(to, stat.S_IMODE(seen.st_mode))
