"""The `.gitattributes` that may stand beside tracked files in folders a rule ignores
(conversion.in_ignored_folders: one `ls-tree -r -d` of the staged tree), kept between
processes.

That answer is a function of the staged tree's id and the ignored folders asked about alone: a
tree's id names its entries (SHA-1 or SHA-256 of them), so the same tree lists the same folders
under the same names whenever it is asked. conversion.py keeps it for its own process only; a
worktree with an ignored `build/` asked git again at every capture (each `begin`, the rescue of
each `abort`, each hook call's checkpoint: a process of 3-5 ms each at 10,000 files). It is kept
here for the last few (tree, folders) pairs, in one small file per worktree written as every
state file of ours is: a header, the body's CRC-32, the body (`marshal`, decoded only when the
checksum holds). A record that is missing, damaged, of another version or not of this shape is
no record: git is asked, as before, and its answer kept anew. Nothing else is trusted: another
tree, or another list of ignored folders, is git's answer again.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import wholefile
from git_atomic.engine import conversion
from git_atomic.engine.git import Repo, worktree_key

_MAGIC: Final = b"git-atomic ignored-folder attributes 1\n"
_LARGEST: Final = 1 << 20
_KEPT_AT_MOST: Final = 4  # (a begin's and an abort's trees, a turn's: the last few)

_Entry = tuple[str, tuple[bytes, ...], tuple[bytes, ...]]  # tree, folders, the answer


def record_path(repo: Repo) -> Path:
    return repo.state_dir / f"attrs-ignored-{worktree_key(repo)}"


def in_ignored_folders(repo: Repo, staged_tree: str, ignored: Sequence[bytes]) -> list[bytes]:
    """conversion.in_ignored_folders, its answer kept for the same tree and folders."""
    folders = tuple(ignored)
    kept = _load(record_path(repo))
    for tree, asked, answer in kept:
        if tree == staged_tree and asked == folders:
            return list(answer)
    found = conversion.in_ignored_folders(repo, staged_tree, ignored)
    if repo.quarantine is None:  # (a dry run keeps no cache)
        entry: _Entry = (staged_tree, folders, tuple(found))
        _store(repo, [entry, *kept][:_KEPT_AT_MOST])
    return found


def _load(path: Path) -> list[_Entry]:
    body = wholefile.read_checked(path, _MAGIC, limit=_LARGEST)
    if body is None:
        return []
    try:
        decoded = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return []
    if not isinstance(decoded, list):
        return []
    entries: list[_Entry] = []
    for item in decoded:
        if not (isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], str)):
            return []
        tree, asked, answer = item
        if not all(isinstance(x, tuple) and all(isinstance(p, bytes) for p in x) for x in item[1:]):
            return []
        entries.append((tree, asked, answer))
    return entries


def _store(repo: Repo, entries: list[_Entry]) -> None:
    body = marshal.dumps(entries)
    tmp = repo.scratch_path("attrs-ignored")
    try:
        wholefile.write_new(tmp, _MAGIC + zlib.crc32(body).to_bytes(4, "big") + body)
        os.replace(tmp, record_path(repo))
    except OSError:  # a cache: the next capture asks git again
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
