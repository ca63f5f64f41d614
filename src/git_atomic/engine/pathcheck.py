"""The paths of a selective rollback: checked before anything is touched, refused when unsafe.

A path is given as git takes one: relative to the current folder, or absolute inside the
worktree. It is a name, never a pattern or pathspec magic: `c.*` is the file of that name,
`:x` too (git is told to take every path literally). It is refused (exit 2, one line, nothing
changed) when it leaves the worktree (`../x` from the top, an absolute path elsewhere),
when it names anything under a `.git` folder in any letter case, or when it is reached through
a symbolic link: a restore writes files, and a file written through a link lands wherever the
link points.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from git_atomic.core import linkplace
from git_atomic.core.errors import UsageError


def worktree_paths(root: Path, cwd: Path, given: Sequence[str]) -> tuple[bytes, ...]:
    """The given paths as paths from the top of the worktree (bytes, `/`-separated)."""
    real_root = os.path.realpath(root)
    rel_cwd = os.path.relpath(os.path.realpath(cwd), real_root)
    if _leaves(rel_cwd):
        rel_cwd = "."  # a caller outside the worktree (the API): paths are from the top
    out: list[bytes] = []
    for text in given:
        if os.path.isabs(text):
            text = _from_top(root, real_root, text)
            out.append(_one(real_root, ".", text))
        else:
            out.append(_one(real_root, rel_cwd, text))
    return tuple(dict.fromkeys(out))


def _one(real_root: str, rel_cwd: str, text: str) -> bytes:
    if not text:
        raise UsageError("an empty path was given; name files or folders in the repository")
    if "\0" in text:
        raise UsageError(f"{text!r}: a path cannot hold a NUL byte")
    joined = os.path.normpath(os.path.join(rel_cwd, text))
    if _leaves(joined):
        raise UsageError(f"{text}: is outside the repository")
    parts = [] if joined == "." else joined.split(os.sep)
    if any(part.lower() == ".git" for part in parts):
        raise UsageError(f"{text}: paths in a .git folder are git's own; refused")
    probe = real_root
    for part in parts[:-1]:
        probe = os.path.join(probe, part)
        if os.path.islink(probe):
            raise UsageError(
                f"{text}: is reached through the symbolic link "
                f"{os.path.relpath(probe, real_root)}; refused"
            )
    full = os.path.join(real_root, joined)
    if os.path.islink(full):
        # Where it leads, from its text: nothing outside is looked at (core/linkplace.py).
        inside = linkplace.within(real_root, full)
        if inside is None or inside.split(os.sep)[0].lower() == ".git":
            raise UsageError(
                f"{text}: is a symbolic link that leads outside the repository; refused"
            )
    return os.fsencode(joined)


def _from_top(root: Path, real_root: str, text: str) -> str:
    """An absolute path as a path from the top of the worktree (as git takes one), through the
    worktree's path as given or as resolved; links inside the worktree are checked after."""
    if "\0" in text:
        raise UsageError(f"{text!r}: a path cannot hold a NUL byte")
    for base in dict.fromkeys((real_root, os.path.abspath(root))):
        rel = os.path.relpath(os.path.normpath(text), base)
        if not _leaves(rel):
            return rel
    raise UsageError(f"{text}: is outside the repository")


def _leaves(rel: str) -> bool:
    return rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel)
