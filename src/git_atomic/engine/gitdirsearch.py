"""The git dir and shared git dir git would find from a folder, found without git (a few
lstats and small reads): before git reads a configuration that could make it wait
(discovery.py), and for a repository git refuses because of its HEAD (gitlinks.py, an agent
turn's packed refs, a rollback's set-aside). Where git's own walk up stops, it stops too
(`GIT_CEILING_DIRECTORIES`, another file system). Split from discovery.py.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def find_git_dirs(start: Path, *, as_git: bool = False) -> tuple[Path, Path] | None:
    """The git dir and shared git dir git would find from `start` (GIT_DIR, or a `.git` folder
    or file in it or a folder above), found without git: for a repository git refuses because
    of its HEAD (gitlinks.py), and before git reads its configuration; None when there is
    none. A `.git` that is a link is not followed, unless `as_git`: then the look is git's own,
    a `.git` link to a git dir (a layout of yours) followed, and `GIT_CEILING_DIRECTORIES` and
    a file system's edge (`GIT_DISCOVERY_ACROSS_FILESYSTEM`) end it where they end git's."""
    env = os.environ.get("GIT_DIR")
    git_dir: Path | None = Path(start, env) if env else None
    folder = Path(os.path.realpath(start) if as_git else os.path.abspath(start))
    edge = _search_edge(folder) if as_git and git_dir is None else None
    look = os.stat if as_git else os.lstat
    while git_dir is None:
        dot = folder / ".git"
        with contextlib.suppress(OSError):
            st = look(dot)
            if stat.S_ISDIR(st.st_mode):
                git_dir = dot
                break
            if stat.S_ISREG(st.st_mode):
                text = dot.read_bytes().strip()
                if not text.startswith(b"gitdir:"):
                    return None
                git_dir = folder / os.fsdecode(text[7:].strip())
                break
        if folder.parent == folder or (edge is not None and edge(folder.parent)):
            return None
        folder = folder.parent
    common = git_dir
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.lstat(git_dir / "commondir").st_mode):
            # A path, any bytes: never decoded as UTF-8 (a folder named $'r\\351').
            common = git_dir / os.fsdecode((git_dir / "commondir").read_bytes()).strip()
    return Path(os.path.normpath(git_dir)), Path(os.path.normpath(common))


def _search_edge(start: Path) -> Callable[[Path], bool]:
    """Where git's walk up from `start` stops (setup.c): at a folder no longer below the
    deepest of `GIT_CEILING_DIRECTORIES` that is above `start` (the ceiling itself is not
    looked in), and, unless `GIT_DISCOVERY_ACROSS_FILESYSTEM` is true, at another file
    system."""
    ceiling = -1
    resolve = True
    for entry in os.environ.get("GIT_CEILING_DIRECTORIES", "").split(":"):
        if not entry:
            resolve = False  # git: entries after an empty one are taken as written
            continue
        if not os.path.isabs(entry):
            continue
        path = os.path.realpath(entry) if resolve else os.path.normpath(entry)
        if path == "/":
            ceiling = max(ceiling, 0)
        elif str(start).startswith(path + "/"):
            ceiling = max(ceiling, len(path))
    across = os.environ.get("GIT_DISCOVERY_ACROSS_FILESYSTEM", "").lower()
    device: int | None = None
    if across not in ("1", "true", "yes", "on"):
        with contextlib.suppress(OSError):
            device = os.stat(start).st_dev

    def edge(folder: Path) -> bool:
        if ceiling >= 0 and len(str(folder).rstrip("/")) <= ceiling:
            return True
        if device is None:
            return False
        try:
            return os.stat(folder).st_dev != device
        except OSError:
            return True

    return edge
