"""Our temporary files and folders (`Repo.scratch_path`) that processes killed before their
`finally` left behind: removed by `gc` and by `recover`, once the process that named them is
gone."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Final

from git_atomic.core.lock import process_alive

# `<what>-<pid>-<n>`, the early scan's `scan-<pid>-early` and `scan-<pid>-seed` (early.py),
# a restore's `scan-follow-<pid>` (scanindex.follow) and an earlier version's
# `scan-follow-<pid>-<tree>` (a rescue's target's scan index set aside); and the
# `.lock` a killed git left beside.
REMOVED: Final = "removed-"  # safefs.Tree.take's names: `removed-<pid>-<n>`
_TMP_PID: Final = re.compile(
    r"(?:-(\d+)-(?:\d+|early|seed)|^scan-follow-(\d+)(?:-[0-9a-f]+)?)(?:\.lock)?$"
)


def remove_dead(tmp: Path) -> None:
    """Remove the files (and scratch folders) in `tmp` whose process is no longer alive.
    Nothing where `tmp` or our folder holding it is a link (something made it one: never
    removed through; a capture sets it aside, gitlinks.py)."""
    try:
        if any(stat.S_ISLNK(os.lstat(folder).st_mode) for folder in (tmp.parent, tmp)):
            return
        names = os.listdir(tmp)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith((REMOVED, "beside-")):
            continue  # what a killed restore moved aside: kept, named (`aside_left`); its notes
        m = _TMP_PID.search(name)
        pid = int(m.group(1) or m.group(2)) if m else 0
        if pid and pid != os.getpid() and not process_alive(pid, None):
            with contextlib.suppress(PermissionError):
                try:
                    (tmp / name).unlink(missing_ok=True)
                except IsADirectoryError:
                    # A scratch work tree (indexbuild.add_intents): removed whole, from
                    # descriptors, never through a link in it.
                    import shutil

                    shutil.rmtree(tmp / name, ignore_errors=True)


def aside_left(tmp: Path) -> list[str]:
    """What a restore killed between moving a file aside and removing it (or putting it back:
    it was then someone else's save) left in `tmp`: never removed here, so nothing a writer saved
    at that instant is lost; `recover` names them."""
    dead = []
    with contextlib.suppress(OSError):
        for name in os.listdir(tmp):
            m = _TMP_PID.search(name) if name.startswith(REMOVED) else None
            if m and not process_alive(int(m.group(1)), None):
                dead.append(name)
    return sorted(dead)


# The names our files are written aside under before a rename puts them in place, each with the
# pid of the process writing: wholefile.replace's `.<name>.<pid>.tmp`; the scan's bits, the
# stash list, the watcher's marks, an LFS key, a raw index's `<name>.<pid>.tmp`; the stash
# list's `stash.<pid>.atomic-tmp`; the journal put back's `journal.sqlite3.back-<pid>`; the
# reconciliation memo's `reconciled-<worktree>.json.<pid>`, the watcher's
# `watch-<worktree>.json.<pid>`. A process killed between writing one and its rename leaves it
# for good: no one else writes that name.
_ASIDE: Final = re.compile(
    r"^(?:\.[^/]+\.(\d+)\.tmp|[^/.][^/]*\.(\d+)\.tmp|stash\.(\d+)\.atomic-tmp"
    r"|journal\.sqlite3\.back-(\d+)|(?:reconciled|watch)-[^/]+\.json\.(\d+))$"
)
# In a worktree's git dir, at its top only: the lock's record and the command's child record,
# written under `<name>.<pid>` before they are linked or renamed into place (core/lock.py,
# core/children.py).
_GIT_DIR_ASIDE: Final = re.compile(r"^(?:atomic\.lock|atomic-child\.json)\.(\d+)$")
# Folders of ours not looked into: the scratch folder has its own sweep (remove_dead), the
# private worktrees of `run --isolate` hold a copy of your files, logs and LFS objects are many.
_NOT_SWEPT: Final = frozenset({"tmp", "isolated", "logs", "objects"})


def remove_dead_asides(*folders: Path, git_dir: Path | None = None, depth: int = 3) -> list[str]:
    """Remove the files set aside under our aside names (`_ASIDE`) in our folders (`.git/atomic`,
    `.git/atomic-open-turns`) and the folders in them (turn records, LFS keys, the helper's),
    whose process is no longer alive; the names removed (`atomic/turns/K/.record.123.tmp`).
    Never through a link: a folder that is one is not looked into, and only regular files are
    removed. Called where a crash is looked for (`recover`, `gc`), never on a checkpoint's or a
    hook's path."""
    removed: list[str] = []
    for folder in folders:
        _sweep(folder, f"{folder.name}/", depth, removed)
    if git_dir is not None:
        _sweep(git_dir, "", 1, removed, pattern=_GIT_DIR_ASIDE)
    return sorted(removed)


def _sweep(
    folder: Path, rel: str, depth: int, removed: list[str], *, pattern: re.Pattern[str] = _ASIDE
) -> None:
    try:
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            return
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            if depth > 1 and name not in _NOT_SWEPT:
                _sweep(folder / name, f"{rel}{name}/", depth - 1, removed)
            continue
        m = pattern.match(name)
        if m is None or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(next(g for g in m.groups() if g is not None))
        if pid == os.getpid() or process_alive(pid, None):
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.unlink(folder / name)
            removed.append(rel + name)
