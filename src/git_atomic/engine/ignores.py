"""Ignored files a checkpoint holds all the same: rule files that ignore themselves, the files
the user asked to protect, within the size budget for new files.

git's scan never shows an ignored file. Two kinds must be seen anyway:
- a `.gitignore` (or `.gitattributes`) that a rule ignores, typically itself (`*`, as
  virtualenvs and tool caches write): left behind by a rollback, it would hide the user's files
  from every later checkpoint;
- the ignored files matching the `protect` patterns of the configuration (`.env`).
Both are listed by one `ls-files` that does not descend into ignored folders (`--directory`).
"""

from __future__ import annotations

import functools
import os
import stat
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from git_atomic.core import process
from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

RULE_FILES = (b".gitignore", b".gitattributes")
_RULE_SPECS = (":(glob)**/.gitignore", ":(glob)**/.gitattributes")


def pathspecs(patterns: Iterable[str]) -> list[str]:
    """gitignore-like patterns as pathspecs: without a slash, a name at any depth."""
    specs = []
    for pattern in patterns:
        body = pattern.strip().removeprefix("/")
        if not body:
            continue
        deep = "/" not in pattern.strip().rstrip("/")
        specs.append(f":(glob){'**/' if deep else ''}{body}")
    return specs


def start_listing(repo: Repo, *, protect: Sequence[str]) -> process.Background:
    """Start listing the ignored rule files and `protect`'s ignored files, in folders git looks
    into (`collect` reads the answer). It runs beside a capture's scan."""
    specs = [*_RULE_SPECS, *pathspecs(protect)]
    return repo.start(
        "ls-files",
        "-z",
        "--others",
        "--ignored",
        "--exclude-standard",
        "--directory",
        "--",
        *specs,
        low_priority=True,
    )


def collect(repo: Repo, listing: process.Background, *, limit: int | None) -> list[bytes]:
    """The regular files and symlinks `start_listing` found (`protect`'s only within `limit`
    bytes; None: no limit)."""
    paths = listed(listing)
    return known(repo, paths if paths is not None else [], limit=limit)


def listed(listing: process.Background) -> list[bytes] | None:
    """What `start_listing` printed (None: it failed)."""
    res = listing.wait(check=False)
    if res.returncode != 0:
        return None  # an extra we cannot list is no reason to fail a capture
    return [p for p in res.stdout.split(b"\0") if p]


def known(repo: Repo, paths: Sequence[bytes], *, limit: int | None) -> list[bytes]:
    """`collect` of a listing already made (`listed`; a scan may know it is still the one)."""
    found = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in paths:
            st = tree.lstat(path) if path and not path.endswith(b"/") else None
            if st is None:
                continue
            is_rule = os.path.basename(path) in RULE_FILES
            if stat.S_ISLNK(st.st_mode) or (
                stat.S_ISREG(st.st_mode) and (is_rule or limit is None or st.st_size <= limit)
            ):
                found.append(path)
    return found


def older_than(repo: Repo, paths: Sequence[bytes], since: float) -> list[bytes]:
    """Those of `paths` whose file was there before `since`: born before it where the
    filesystem tells (statx), else not changed since (ctime)."""
    found = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in paths:
            st = tree.lstat(path)  # None beyond a link: not ours, nothing to decide
            if st is None:
                continue
            folder = tree.folder(os.path.dirname(path))
            born = None if folder is None else birth_time(folder, os.path.basename(path))
            if (born if born is not None else st.st_ctime) <= since:
                found.append(path)
    return found


def birth_time(folder: int, name: bytes) -> float | None:
    """When `name` in the folder open as `folder` (not followed) was created, or None where
    Linux's statx cannot say (another system, an old kernel, a filesystem that does not)."""
    statx = _statx()
    if statx is None:
        return None
    import ctypes  # only a rollback that has a deletion to decide on pays for it

    buf = ctypes.create_string_buffer(256)  # struct statx
    if statx(folder, name, _AT_SYMLINK_NOFOLLOW, _STATX_BTIME, buf) != 0:
        return None
    mask = int.from_bytes(buf.raw[0:4], sys.byteorder)
    if not mask & _STATX_BTIME or not buf.raw[80:92].strip(b"\0"):
        return None  # overlay filesystems answer 0
    seconds = int.from_bytes(buf.raw[80:88], sys.byteorder, signed=True)
    nanos = int.from_bytes(buf.raw[88:92], sys.byteorder)
    return seconds + nanos / 1e9


_AT_SYMLINK_NOFOLLOW: Final = 0x100
_STATX_BTIME: Final = 0x800


@functools.cache
def _statx() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    result: Callable[..., int] = fn
    return result
