"""The journal's file: opened in WAL mode with full sync, its schema created or migrated, and
the write transaction every change goes through.

The tables are written here once; each other module of the journal package reads and writes
some of them through `JournalFile`, so every SQL statement stays inside the package.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from git_atomic.core.errors import UsageError

SCHEMA_VERSION: Final = 2
# Closed vocabularies (OpKind, OpStatus, ...) are the StrEnums of vocab.py.
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    worktree TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,               -- OpKind: run | session | tdd | api | agent-turn
    history TEXT NOT NULL,            -- HistoryMode: commits | shadow
    status TEXT NOT NULL,             -- OpStatus: open | committed | rolled_back | recovered
    phase TEXT NOT NULL,              -- Phase: pre_op | exec | validate | post_op | apply | done
    failed_phase TEXT,                -- FailedPhase: exec | timeout | validate | interrupt
    owner_pid INTEGER,                -- the process working on it now, if any
    owner_start TEXT,
    pending TEXT,                     -- JSON intent of the state change under way
    argv TEXT,
    exit_code INTEGER,
    command_duration REAL,
    coverage REAL,
    started_at REAL NOT NULL,
    ended_at REAL,
    duration REAL,
    detail TEXT                       -- JSON: extra facts (problems, tdd phase, ...)
);
CREATE INDEX IF NOT EXISTS operations_worktree ON operations(worktree, status);
CREATE TABLE IF NOT EXISTS checkpoints (
    op_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,               -- CheckpointKind: pre_op | op_exec | post_op | rescue
    sha TEXT NOT NULL,
    ref TEXT NOT NULL,
    message TEXT,
    commit_sha TEXT,                  -- commits mode: the visible commit made for this phase
    created_at REAL NOT NULL,
    PRIMARY KEY (op_id, seq)
);
CREATE TABLE IF NOT EXISTS gates (
    op_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    passed INTEGER NOT NULL,
    exit_code INTEGER,
    duration REAL NOT NULL,
    coverage REAL,
    output_tail TEXT,
    log_path TEXT,
    message TEXT,
    command TEXT,                     -- what ran: a shell command line or a quoted argv
    PRIMARY KEY (op_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT,
    worktree TEXT NOT NULL,
    kind TEXT NOT NULL,               -- EventKind: rollback | abort | emergency | undo | ...
    at REAL NOT NULL,
    rescue TEXT,                      -- checkpoint saved before the tree was touched
    target TEXT,                      -- checkpoint the tree was brought to
    detail TEXT
);
"""


class JournalFile:
    """The open journal: its connection and the transaction its writes take."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """`read_only`: a command that only reads (status, log, show, a dry run) opens the
        journal without making or changing anything: none there is an empty journal, kept in
        memory (a repository where git-atomic was never used stays as it was), and one there is
        read as it is (readonly.py)."""
        self.path = path
        self.read_only = read_only
        # No journal there, read as an empty one: nothing was ever recorded here.
        self.in_memory = read_only and not os.path.lexists(path)
        if read_only:
            from git_atomic.core.journal.readonly import reading

            self._file: tuple[int, int] | None = None
            self._conn = reading(path, SCHEMA_VERSION)
            self._schema()
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()
        self._file = _identity(path)
        self._schema()

    def _schema(self) -> None:
        """The tables created or migrated: in the file, or in the memory a reader copied it to."""
        path = self.path
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self._conn.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
            )
        elif version == 1:  # schema 2 records the command each gate ran
            # Once, even when several processes open it at once; a reader's copy in memory.
            migrating = contextlib.nullcontext(Writer(self._conn)) if self.read_only else None
            with migrating or self._write() as c:
                if c.execute("PRAGMA user_version").fetchone()[0] == 1:
                    c.execute("ALTER TABLE gates ADD COLUMN command TEXT")
                    c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise UsageError(f"{path}: journal written by a newer git-atomic (schema {version})")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._conn = conn
        self._set_wal()
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _still_in_place(self) -> None:
        """The file we have open is still the one at its name; where it was removed meanwhile
        (an operation's `rm -rf .git/atomic`, or of the journal and its WAL files), it is put
        back from what we have open, with every record in it, before the next write: else that
        write, and every record of this command, would go to a file no name leads to, and the
        next command would start an empty journal (no open operation to abort, nothing to
        undo). A file someone put there meanwhile is theirs: left as it is."""
        if self._file is None or _identity(self.path) is not None:
            return
        state_dir = self.path.parent
        if not os.path.isdir(state_dir.parent) or os.path.islink(state_dir.parent):
            return  # the git dir itself is gone: the command refuses on its own
        if os.path.lexists(state_dir) and not stat.S_ISDIR(os.lstat(state_dir).st_mode):
            # Never written through a link, nor in place of a FIFO (or a file) an operation
            # put there: context.open_journal refuses it next, by name.
            return
        state_dir.mkdir(exist_ok=True)
        staging = self.path.with_name(f"{self.path.name}.back-{os.getpid()}")
        staging.unlink(missing_ok=True)
        copy = sqlite3.connect(staging)
        try:
            self._conn.backup(copy)
        finally:
            copy.close()
        try:
            os.link(staging, self.path)  # never over a file that appeared meanwhile
        except FileExistsError:
            return
        finally:
            staging.unlink(missing_ok=True)
        self._conn.close()
        self._connect()
        self._file = _identity(self.path)

    def _set_wal(self) -> None:
        # Switching to WAL needs a moment alone with the file; the busy timeout does not always
        # cover it when several processes open the journal at once, so retry for a while.
        deadline = time.monotonic() + 30.0
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _write(self) -> Iterator[Writer]:
        if self.read_only:
            raise RuntimeError(f"{self.path}: a command that only reads wrote its journal")
        self._still_in_place()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield Writer(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        if not self.read_only:
            with contextlib.suppress(OSError, sqlite3.Error):
                self._still_in_place()
        self._conn.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_dev, st.st_ino


class Writer:
    """The connection inside a write transaction. Text comes from the command line and the disk
    too (an operation's name, its command, a folder's name), where bytes need not be UTF-8 and
    Python keeps them as surrogates, which SQLite refuses (UnicodeEncodeError, after the
    command ran): such a byte is stored written `\\xe9`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, _texts(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, [_texts(row) for row in rows])


def _texts(params: Sequence[object]) -> tuple[object, ...]:
    return tuple(text(p) if isinstance(p, str) else p for p in params)


def text(value: str) -> str:
    """`value` as UTF-8 can hold it: a byte that is not UTF-8 (a surrogate) written `\\xe9`."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


def json_column(value: Mapping[str, object] | None) -> str | None:
    """A mapping as a column holds it: JSON text, or NULL when there is nothing in it."""
    return json.dumps(value) if value else None
