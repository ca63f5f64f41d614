"""The write-ahead audit journal: SQLite (WAL) in the repository's common git dir.

Every state change is recorded *before* it happens (the `pending` intent of an operation), so
whatever instant git-atomic dies at, the next command knows what was under way.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from git_atomic.core.errors import UsageError

SCHEMA_VERSION: Final = 2
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    worktree TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,               -- run | session | tdd
    history TEXT NOT NULL,            -- commits | shadow
    status TEXT NOT NULL,             -- open | committed | rolled_back | recovered
    phase TEXT NOT NULL,              -- pre_op | exec | validate | post_op | rollback | done
    failed_phase TEXT,
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
    kind TEXT NOT NULL,               -- pre_op | op_exec | post_op | rescue
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
    kind TEXT NOT NULL,               -- rollback | emergency | recover | undo
    at REAL NOT NULL,
    rescue TEXT,                      -- checkpoint saved before the tree was touched
    target TEXT,                      -- checkpoint the tree was brought to
    detail TEXT
);
"""

_OP_FIELDS: Final = (
    "id",
    "worktree",
    "name",
    "kind",
    "history",
    "status",
    "phase",
    "failed_phase",
    "owner_pid",
    "owner_start",
    "pending",
    "argv",
    "exit_code",
    "command_duration",
    "coverage",
    "started_at",
    "ended_at",
    "duration",
    "detail",
)


@dataclass(frozen=True)
class OpRow:
    id: str
    worktree: str
    name: str
    kind: str
    history: str
    status: str
    phase: str
    failed_phase: str | None
    owner_pid: int | None
    owner_start: str | None
    pending: str | None
    argv: str | None
    exit_code: int | None
    command_duration: float | None
    coverage: float | None
    started_at: float
    ended_at: float | None
    duration: float | None
    detail: str | None

    @property
    def argv_list(self) -> list[str] | None:
        return json.loads(self.argv) if self.argv else None

    @property
    def pending_intent(self) -> dict[str, Any] | None:
        return json.loads(self.pending) if self.pending else None

    @property
    def details(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


@dataclass(frozen=True)
class CheckpointRow:
    op_id: str
    seq: int
    kind: str
    sha: str
    ref: str
    message: str | None
    commit_sha: str | None
    created_at: float


@dataclass(frozen=True)
class GateRow:
    op_id: str
    seq: int
    name: str
    passed: bool
    exit_code: int | None
    duration: float
    coverage: float | None
    output_tail: str | None
    log_path: str | None
    message: str | None
    command: str | None = None  # None: recorded before schema 2


@dataclass(frozen=True)
class EventRow:
    id: int
    op_id: str | None
    worktree: str
    kind: str
    at: float
    rescue: str | None
    target: str | None
    detail: str | None


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._set_wal()
        self.conn.execute("PRAGMA synchronous=FULL")
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self.conn.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
            )
        elif version == 1:  # schema 2 records the command each gate ran
            with self.write() as c:  # once, even when several processes open it at once
                if c.execute("PRAGMA user_version").fetchone()[0] == 1:
                    c.execute("ALTER TABLE gates ADD COLUMN command TEXT")
                    c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise UsageError(f"{path}: journal written by a newer git-atomic (schema {version})")

    def _set_wal(self) -> None:
        # Switching to WAL needs a moment alone with the file; the busy timeout does not always
        # cover it when several processes open the journal at once, so retry for a while.
        deadline = time.monotonic() + 30.0
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    # --- operations ----------------------------------------------------------------------
    def create_op(self, **fields: Any) -> None:
        names = ",".join(fields)
        marks = ",".join("?" for _ in fields)
        with self.write() as c:
            c.execute(f"INSERT INTO operations ({names}) VALUES ({marks})", tuple(fields.values()))

    def update_op(self, op_id: str, **fields: Any) -> None:
        sets = ",".join(f"{k}=?" for k in fields)
        with self.write() as c:
            c.execute(f"UPDATE operations SET {sets} WHERE id=?", (*fields.values(), op_id))

    def op(self, op_id: str) -> OpRow | None:
        row = self.conn.execute(
            f"SELECT {','.join(_OP_FIELDS)} FROM operations WHERE id=?", (op_id,)
        ).fetchone()
        return OpRow(*row) if row else None

    def find_op(self, prefix: str) -> list[OpRow]:
        rows = self.conn.execute(
            f"SELECT {','.join(_OP_FIELDS)} FROM operations WHERE id LIKE ? ORDER BY started_at",
            (prefix.replace("%", "").replace("_", "") + "%",),
        ).fetchall()
        return [OpRow(*r) for r in rows]

    def open_op(self, worktree: str) -> OpRow | None:
        row = self.conn.execute(
            f"SELECT {','.join(_OP_FIELDS)} FROM operations WHERE worktree=? AND status='open' "
            "ORDER BY started_at DESC LIMIT 1",
            (worktree,),
        ).fetchone()
        return OpRow(*row) if row else None

    def ops(
        self,
        *,
        worktree: str | None = None,
        status: str | None = None,
        name: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[OpRow]:
        where: list[str] = []
        args: list[object] = []
        for column, value in (("worktree", worktree), ("status", status), ("name", name)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if since is not None:
            where.append("started_at>=?")
            args.append(since)
        sql = f"SELECT {','.join(_OP_FIELDS)} FROM operations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [OpRow(*r) for r in self.conn.execute(sql, args).fetchall()]

    # --- checkpoints, gates, events ------------------------------------------------------
    def add_checkpoint(
        self,
        op_id: str,
        kind: str,
        sha: str,
        ref: str,
        message: str | None = None,
        commit_sha: str | None = None,
    ) -> int:
        with self.write() as c:
            seq = c.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM checkpoints WHERE op_id=?", (op_id,)
            ).fetchone()[0]
            c.execute(
                "INSERT INTO checkpoints VALUES (?,?,?,?,?,?,?,?)",
                (op_id, seq, kind, sha, ref, message, commit_sha, time.time()),
            )
        return int(seq)

    def set_commit_sha(self, op_id: str, seq: int, commit_sha: str) -> None:
        with self.write() as c:
            c.execute(
                "UPDATE checkpoints SET commit_sha=? WHERE op_id=? AND seq=?",
                (commit_sha, op_id, seq),
            )

    def checkpoints(self, op_id: str) -> list[CheckpointRow]:
        rows = self.conn.execute(
            "SELECT * FROM checkpoints WHERE op_id=? ORDER BY seq", (op_id,)
        ).fetchall()
        return [CheckpointRow(*r) for r in rows]

    def find_checkpoint(self, prefix: str) -> list[CheckpointRow]:
        rows = self.conn.execute(
            "SELECT * FROM checkpoints WHERE sha LIKE ? ORDER BY created_at",
            (prefix.lower().strip("%_") + "%",),
        ).fetchall()
        return [CheckpointRow(*r) for r in rows]

    def add_gate(
        self,
        op_id: str,
        *,
        name: str,
        passed: bool,
        exit_code: int | None,
        duration: float,
        coverage: float | None,
        output_tail: str | None,
        log_path: str | None,
        message: str | None,
        command: str | None = None,
    ) -> None:
        with self.write() as c:
            seq = c.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM gates WHERE op_id=?", (op_id,)
            ).fetchone()[0]
            c.execute(
                "INSERT INTO gates VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    op_id,
                    seq,
                    name,
                    int(passed),
                    exit_code,
                    duration,
                    coverage,
                    output_tail,
                    log_path,
                    message,
                    command,
                ),
            )

    def gates(self, op_id: str) -> list[GateRow]:
        rows = self.conn.execute(
            "SELECT * FROM gates WHERE op_id=? ORDER BY seq", (op_id,)
        ).fetchall()
        return [GateRow(r[0], r[1], r[2], bool(r[3]), *r[4:]) for r in rows]

    def add_event(
        self,
        *,
        op_id: str | None,
        worktree: str,
        kind: str,
        rescue: str | None,
        target: str | None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        with self.write() as c:
            cur = c.execute(
                "INSERT INTO events (op_id, worktree, kind, at, rescue, target, detail) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    op_id,
                    worktree,
                    kind,
                    time.time(),
                    rescue,
                    target,
                    json.dumps(detail) if detail else None,
                ),
            )
            return int(cur.lastrowid or 0)

    def events(self, worktree: str, *, limit: int = 50) -> list[EventRow]:
        rows = self.conn.execute(
            "SELECT * FROM events WHERE worktree=? ORDER BY id DESC LIMIT ?", (worktree, limit)
        ).fetchall()
        return [EventRow(*r) for r in rows]

    def set_event_detail(self, event_id: int, detail: dict[str, Any]) -> None:
        with self.write() as c:
            c.execute("UPDATE events SET detail=? WHERE id=?", (json.dumps(detail), event_id))

    def last_validated_coverage(self, worktree: str, gate: str) -> float | None:
        row = self.conn.execute(
            "SELECT g.coverage FROM gates g JOIN operations o ON o.id=g.op_id "
            "WHERE o.worktree=? AND o.status='committed' AND g.name=? AND g.coverage IS NOT NULL "
            "ORDER BY o.ended_at DESC LIMIT 1",
            (worktree, gate),
        ).fetchone()
        return float(row[0]) if row else None
