"""The journal as a command that only reads opens it: nothing made, nothing changed.

SQLite's usual opening of a journal in WAL mode makes its `-wal` and `-shm` files beside it (and
a reader leaves them), and opening a journal that is not there creates it and `.git/atomic`: a
`git atomic status` in a repository where git-atomic was never used would leave it changed, and
in a repository the user can only read it would fail. So:

- no journal there: an empty one, in memory (no operation recorded: "no operations yet");
- a journal there and no `-wal` beside it (the last writer closed it, every record is in the
  file): read as it is, `immutable=1`, which takes no lock and makes no file;
- a `-wal` beside it (a writer has it open, or was killed): read with SQLite's read-only mode,
  which reads the records the log holds and uses the `-shm` already there;
- a journal of an older schema: copied into memory and migrated there, never in its file.

An `immutable` reader takes no lock: a writer that starts and closes while it reads (a
checkpoint of the log into the file) could show it a torn page, which SQLite reports as an
error; the reads of a command that only reads take milliseconds.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from git_atomic.core.errors import RefusedError


def reading(path: Path, schema: int) -> sqlite3.Connection:
    """A connection that reads the journal at `path` and can change nothing on disk; one in
    memory where its schema is not `schema` (the caller migrates it there)."""
    if not os.path.lexists(path):
        return sqlite3.connect(":memory:", isolation_level=None)
    logged = os.path.lexists(f"{path}-wal")
    uri = f"{Path(os.path.abspath(path)).as_uri()}?{'mode=ro' if logged else 'mode=ro&immutable=1'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.OperationalError as exc:
        raise RefusedError(
            f"{path}: cannot read the journal ({exc}): a command writing it was stopped, and "
            "its write-ahead log needs a folder this user can write to be read",
            hint="as the repository's owner, `git atomic recover` finishes what was stopped and "
            "folds the log into the journal",
        ) from None
    if version == schema:
        return conn
    copy = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.backup(copy)
    finally:
        conn.close()
    return copy
