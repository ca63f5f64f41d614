"""The journal as a command that only reads opens it: nothing made, nothing changed.

SQLite's usual opening of a journal in WAL mode makes its `-wal` and `-shm` files beside it (and
a reader leaves them), and opening a journal that is not there creates it and `.git/atomic`: a
`git atomic status` in a repository where git-atomic was never used would leave it changed, and
in a repository the user can only read it would fail. So:

- no journal there: an empty one, in memory (no operation recorded: "no operations yet");
- a journal there and no `-wal` beside it (the last writer closed it, every record is in the
  file): copied into memory through an `immutable=1` connection, which takes no lock and makes
  no file. Taking no lock, it could meet a writer that opened the journal meanwhile and folded
  its log into the file while the copy read it (a hook's call, as it closes): the copy is kept
  only where the file is the same before and after it (inode, size, mtime, ctime) and no
  `-wal` appeared; else it is taken again, and after three tries read as below;
- a `-wal` beside it (a writer has it open, or was killed): read with SQLite's read-only mode,
  which reads the records the log holds and uses the `-shm` already there (it may leave them).

A journal of an older schema is migrated in the reader's memory, never in its file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from git_atomic.core import failpoints
from git_atomic.core.errors import RefusedError

_TRIES = 3


def reading(path: Path, schema: int) -> sqlite3.Connection:
    """A connection that reads the journal at `path` and can change nothing on disk. `schema`:
    the caller migrates a journal of another one in the connection (one in memory, then)."""
    if not os.path.lexists(path):
        return sqlite3.connect(":memory:", isolation_level=None)
    wal = f"{path}-wal"
    for _ in range(_TRIES):
        if os.path.lexists(wal):
            break
        before = _stamp(path)
        copy = _copied(path)
        failpoints.hit("journal:read-copied")
        if _stamp(path) == before and not os.path.lexists(wal):
            return copy
        copy.close()
    return _logged(path, schema)


def _stamp(path: Path) -> tuple[int, ...]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _uri(path: Path, query: str) -> str:
    return f"{Path(os.path.abspath(path)).as_uri()}?{query}"


def _copied(path: Path) -> sqlite3.Connection:
    """The journal's file copied into memory, read without a lock or a file made."""
    copy = sqlite3.connect(":memory:", isolation_level=None)
    try:
        source = sqlite3.connect(_uri(path, "mode=ro&immutable=1"), uri=True)
        try:
            source.backup(copy)
        finally:
            source.close()
    except sqlite3.OperationalError as exc:
        copy.close()
        raise RefusedError(
            f"{path}: cannot read the journal ({exc})",
            hint=f"this user must be able to read it: `ls -l {path}`",
        ) from None
    return copy


def _logged(path: Path, schema: int) -> sqlite3.Connection:
    """The journal and the log beside it, read in SQLite's read-only mode."""
    try:
        conn = sqlite3.connect(_uri(path, "mode=ro"), uri=True, timeout=30.0, isolation_level=None)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.OperationalError as exc:
        raise _unreadable(path, exc) from None
    if version == schema:
        return conn
    copy = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.backup(copy)
    finally:
        conn.close()
    return copy


def _unreadable(path: Path, exc: sqlite3.OperationalError) -> RefusedError:
    return RefusedError(
        f"{path}: cannot read the journal ({exc}): a command writing it was stopped, and "
        "its write-ahead log needs a folder this user can write to be read",
        hint="as the repository's owner, `git atomic recover` finishes what was stopped and "
        "folds the log into the journal",
    )
