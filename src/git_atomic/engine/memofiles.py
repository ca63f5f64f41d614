"""git's memo `ORIG_HEAD`, put back as it was before the operation.

A `reset`, a merge, a rebase write the commit HEAD was at to the worktree's `ORIG_HEAD`, for
`git reset ORIG_HEAD` to go back there. An operation that moved it (its own `reset`, a rebase
that failed) and is rolled back left it naming the operation's commit: your `git reset
--hard ORIG_HEAD` after the rollback went to a state the operation made, not to where your own
last reset had left. An operation notes its PRE-OP's ORIG_HEAD (`BEFORE`, in its journal
detail: one small read, no git) and, when it closes, the one it left (`LEFT`); its rollback
writes the PRE-OP's back (or removes one it made), and a later rollback of its effect does so
only while ORIG_HEAD is still the one it left (one a command of yours wrote since is yours).

So does `info/grafts` (git's old way to cut or rewrite history: every `git log` of yours,
and the `git gc` that prunes what it hides, reads it): its text at PRE-OP noted (`GRAFTS`),
written back (or removed) by the rollback as ORIG_HEAD is.

What a rollback wrote is kept in its event, and `undo` of that rollback writes each back as the
rollback found it, where it is still as the rollback left it (gitdirredo.py).

`FETCH_HEAD` (what the last fetch brought, beside the remote refs it moved, which stay) and
rerere's `rr-cache/` (resolutions recorded, which nothing is lost by keeping) stay as the
operation left them (README: Git's memo files).

Never through a link: read and written folder by folder (safefs), under git's own lock
(`ORIG_HEAD.lock`, O_EXCL)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

BEFORE: Final = "orig_head"  # op detail: ORIG_HEAD's text at PRE-OP, "" for none
LEFT: Final = "orig_head_left"  # op detail: ORIG_HEAD's text when the operation closed
GRAFTS: Final = "grafts"  # op detail: info/grafts's text at PRE-OP, "" for none
GRAFTS_LEFT: Final = "grafts_left"  # op detail: its text when the operation closed
_NAME: Final = b"ORIG_HEAD"
_GRAFTS: Final = b"info/grafts"
_MOST: Final = 4096  # an object id and a newline: anything longer is not git's, never noted
_MOST_GRAFTS: Final = 1 << 20


def read(repo: Repo) -> str | None:
    """ORIG_HEAD's text, "" where there is none; None where it cannot be noted (a link, a
    folder, too long, not text): such a one is never written over."""
    return _read(os.fsencode(repo.git_dir), _NAME)


def read_grafts(repo: Repo) -> str | None:
    """`info/grafts`'s text (the common git dir's), as `read` reads ORIG_HEAD."""
    return _read(os.fsencode(repo.common_dir), _GRAFTS, most=_MOST_GRAFTS)


def _read(root: bytes, name: bytes, *, most: int = _MOST) -> str | None:
    with safefs.Tree(root) as tree:
        kind = tree.kind(name)
        if kind is None:
            return ""
        if kind != stat.S_IFREG:
            return None
        data = tree.read(name)
    if data is None or len(data) > most:
        return None
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return None


def foresee(repo: Repo, details: Mapping[str, object], *, own: bool) -> str | None:
    """What `put_back` would write (a dry run's): the PRE-OP's text ("" for none), or None."""
    before = details.get(BEFORE)
    if not isinstance(before, str):
        return None
    now = read(repo)
    if now is None or now == before or (not own and now != details.get(LEFT)):
        return None
    return before


def put_back(repo: Repo, details: Mapping[str, object], *, own: bool) -> bool:
    """Write ORIG_HEAD as the operation's PRE-OP had it (removed where it had none). `own`:
    the operation's own rollback (everything since PRE-OP is its); otherwise only while it is
    still the one the operation left. True: written."""
    if foresee(repo, details, own=own) is None:
        return False
    before = details.get(BEFORE)
    assert isinstance(before, str)
    return _put(os.fsencode(repo.git_dir), _NAME, before)


def grafts_back(repo: Repo, details: Mapping[str, object], *, own: bool) -> str | None:
    """`info/grafts` as the operation's PRE-OP had it, as `put_back` puts ORIG_HEAD back: the
    text written ("" removed), or None where nothing was."""
    before = details.get(GRAFTS)
    if not isinstance(before, str):
        return None
    now = read_grafts(repo)
    if now is None or now == before or (not own and now != details.get(GRAFTS_LEFT)):
        return None
    return before if _put(os.fsencode(repo.common_dir), _GRAFTS, before) else None


def put_again(repo: Repo, *, grafts: bool, want: str, expect: str) -> bool:
    """ORIG_HEAD (`grafts`: `info/grafts`) written as `want` ("" removed), only where its text
    is `expect` now (an `undo` of the rollback that wrote it: one written since is yours)."""
    now = read_grafts(repo) if grafts else read(repo)
    if now != expect or now == want:
        return False
    root = repo.common_dir if grafts else repo.git_dir
    return _put(os.fsencode(root), _GRAFTS if grafts else _NAME, want)


def _put(root: bytes, name: bytes, before: str) -> bool:
    lock = name + b".lock"
    with safefs.Tree(root) as tree:
        try:
            tree.write(lock, before.encode("ascii"), 0o644)  # O_EXCL: git's lock
        except (OSError, safefs.Blocked):
            return False
        try:
            parent = tree.folder(os.path.dirname(name))
            if parent is None:
                return False
            base = os.path.basename(name)
            if before:
                os.rename(base + b".lock", base, src_dir_fd=parent, dst_dir_fd=parent)
            else:
                tree.unlink(name)
            return True
        except OSError:
            return False
        finally:
            tree.unlink(lock)
