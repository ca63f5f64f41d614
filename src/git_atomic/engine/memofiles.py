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
written back (or removed) by the rollback as ORIG_HEAD is. And the worktree's
`COMMIT_EDITMSG` (`EDITMSG`): the message of your last `git commit`, kept there when the
commit failed (a hook refused it) for `git commit -F .git/COMMIT_EDITMSG`; an operation that
committed wrote its own over it, and its rollback left that one there.

What a rollback wrote in `info/grafts` is kept in its event, and `undo` of that rollback writes
it back as the rollback found it, where it is still as the rollback left it (gitdirredo.py);
ORIG_HEAD and COMMIT_EDITMSG it leaves yours, as the rollback gave them back, but for the
ORIG_HEAD of a state that held git's half-way state (`HALFWAY`): `undo` brings that state back,
and `git am --abort` goes by ORIG_HEAD (without one it deletes the branch checked out).

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
# event detail: ORIG_HEAD [as a rollback found it, as it wrote it] where the state it replaced
# held git's half-way state, which goes by it (`git am --abort`): its `undo` writes it again
HALFWAY: Final = "orig_head_halfway"
GRAFTS: Final = "grafts"  # op detail: info/grafts's text at PRE-OP, "" for none
GRAFTS_LEFT: Final = "grafts_left"  # op detail: its text when the operation closed
EDITMSG: Final = "commit_editmsg"  # op detail: COMMIT_EDITMSG's text at PRE-OP, "" for none
EDITMSG_LEFT: Final = "commit_editmsg_left"  # op detail: its text when the operation closed
_NAME: Final = b"ORIG_HEAD"
_GRAFTS: Final = b"info/grafts"
_EDITMSG: Final = b"COMMIT_EDITMSG"
_MOST: Final = 4096  # an object id and a newline: anything longer is not git's, never noted
_MOST_GRAFTS: Final = 1 << 20
_MOST_EDITMSG: Final = 1 << 16
# Each memo beside ORIG_HEAD: its file, whether in the common git dir (else the worktree's),
# the longest noted, its encoding, and its op-detail key when the operation closed.
_MEMOS: Final = {
    GRAFTS: (_GRAFTS, True, _MOST_GRAFTS, "ascii", GRAFTS_LEFT),
    EDITMSG: (_EDITMSG, False, _MOST_EDITMSG, "utf-8", EDITMSG_LEFT),
}


def read(repo: Repo) -> str | None:
    """ORIG_HEAD's text, "" where there is none; None where it cannot be noted (a link, a
    folder, too long, not text): such a one is never written over."""
    return _read(os.fsencode(repo.git_dir), _NAME)


def read_grafts(repo: Repo) -> str | None:
    """`info/grafts`'s text (the common git dir's), as `read` reads ORIG_HEAD."""
    return read_memo(repo, GRAFTS)


def read_memo(repo: Repo, key: str) -> str | None:
    """The text of the memo `key` names (GRAFTS, EDITMSG), as `read` reads ORIG_HEAD."""
    name, common, most, encoding, _left = _MEMOS[key]
    root = repo.common_dir if common else repo.git_dir
    return _read(os.fsencode(root), name, most=most, encoding=encoding)


def memo_path(repo: Repo, key: str) -> str:
    name, common, *_rest = _MEMOS[key]
    return os.path.join(repo.common_dir if common else repo.git_dir, os.fsdecode(name))


def left_key(key: str) -> str:
    """The op-detail key of the memo's text when the operation closed."""
    return _MEMOS[key][4]


def memos() -> tuple[str, ...]:
    return tuple(_MEMOS)


def _read(root: bytes, name: bytes, *, most: int = _MOST, encoding: str = "ascii") -> str | None:
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
        return data.decode(encoding)
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


def put_orig_head_again(repo: Repo, *, want: str, expect: str) -> bool:
    """ORIG_HEAD written as `want` ("" removed), only where its text is `expect` now (an `undo`
    of the rollback that wrote it: one written since is yours). True: written."""
    now = read(repo)
    if now != expect or now == want:
        return False
    return _put(os.fsencode(repo.git_dir), _NAME, want)


def grafts_back(repo: Repo, details: Mapping[str, object], *, own: bool) -> str | None:
    """`info/grafts` as the operation's PRE-OP had it, as `put_back` puts ORIG_HEAD back: the
    text written ("" removed), or None where nothing was."""
    return memo_back(repo, GRAFTS, details, own=own)


def memo_back(repo: Repo, key: str, details: Mapping[str, object], *, own: bool) -> str | None:
    """The memo `key` names (GRAFTS, EDITMSG) as the operation's PRE-OP had it, as `put_back`
    puts ORIG_HEAD back: the text written ("" removed), or None where nothing was."""
    before = details.get(key)
    if not isinstance(before, str):
        return None
    now = read_memo(repo, key)
    if now is None or now == before or (not own and now != details.get(left_key(key))):
        return None
    return before if _put_memo(repo, key, before) else None


def put_again(repo: Repo, key: str, *, want: str, expect: str) -> bool:
    """The memo `key` names (GRAFTS) written as `want` ("" removed), only where its text is
    `expect` now (an `undo` of the rollback that wrote it: one written since is yours)."""
    now = read_memo(repo, key)
    if now != expect or now == want:
        return False
    return _put_memo(repo, key, want)


def _put_memo(repo: Repo, key: str, text: str) -> bool:
    name, common, _most, encoding, _left = _MEMOS[key]
    root = repo.common_dir if common else repo.git_dir
    return _put(os.fsencode(root), name, text, encoding=encoding)


def _put(root: bytes, name: bytes, before: str, *, encoding: str = "ascii") -> bool:
    lock = name + b".lock"
    with safefs.Tree(root) as tree:
        # The bits git gave the one it replaces (t1301: a group's ORIG_HEAD is 0664).
        was = tree.lstat(name)
        mode = was.st_mode & 0o7777 if was is not None and stat.S_ISREG(was.st_mode) else 0o644
        try:
            tree.write(lock, before.encode(encoding), mode)  # O_EXCL: git's lock
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
