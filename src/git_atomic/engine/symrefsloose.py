"""Branches that are symbolic refs naming a ref that is not there (`git symbolic-ref
refs/heads/alias refs/heads/nothing`), which `for-each-ref` does not list: found among the
loose ref files of `refs/heads/` (a symbolic ref is never packed) whose names the capture's
listing did not give. The folders' entries say what they are (no lstat each); only a file the
listing did not name is opened, never through a link, never waited on (a FIFO there). Where
refs are not files (reftable: `refs/heads` is no folder), none."""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Final

_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def unlisted(common_dir: os.PathLike[str] | str, listed: Collection[str]) -> dict[str, str]:
    """branch -> the ref it names, for each symbolic branch not in `listed` (the branches and
    symbolic branches the listing gave)."""
    try:
        top = os.open(os.path.join(common_dir, "refs"), _DIR)
    except OSError:
        return {}
    try:
        heads = os.open("heads", _DIR, dir_fd=top)
    except OSError:
        return {}
    finally:
        os.close(top)
    found: dict[str, str] = {}
    _walk(heads, "refs/heads", listed, found)
    return found


def _walk(fd: int, folder: str, listed: Collection[str], found: dict[str, str]) -> None:
    """The folder open as `fd` (closed here)."""
    try:
        with os.scandir(fd) as entries:
            seen = [
                (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
                for e in entries
            ]
        for name, is_dir, is_file in seen:
            ref = f"{folder}/{name}"
            if is_dir:
                try:
                    child = os.open(name, _DIR, dir_fd=fd)
                except OSError:
                    continue
                _walk(child, ref, listed, found)
            elif is_file and ref not in listed and not name.endswith(".lock"):
                target = _names(fd, name)
                if target is not None:
                    found[ref] = target
    finally:
        os.close(fd)


def _names(fd: int, name: str) -> str | None:
    """The ref the loose ref file `name` names (`ref: refs/...`), None for any other."""
    try:
        one = os.open(name, _FILE, dir_fd=fd)
    except OSError:
        return None
    try:
        data = os.read(one, 4096)
    except OSError:
        return None
    finally:
        os.close(one)
    if not data.startswith(b"ref: refs/"):
        return None
    return data[5:].strip().decode("utf-8", "surrogateescape")
