"""The write-ahead audit journal: SQLite (WAL) in the repository's common git dir.

Every state change is recorded *before* it happens (the `pending` intent of an operation), so
whatever instant git-atomic dies at, the next command knows what was under way.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from git_atomic.core.errors import UsageError
from git_atomic.core.journalrows import (
    CheckpointRow,
    EventRow,
    GateRow,
    Intent,
    OpRow,
    Owner,
)
from git_atomic.core.vocab import (
    CheckpointKind,
    EventKind,
    FailedPhase,
    HistoryMode,
    OpKind,
    OpStatus,
    Phase,
)

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


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._set_wal()
        self._conn.execute("PRAGMA synchronous=FULL")
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self._conn.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
            )
        elif version == 1:  # schema 2 records the command each gate ran
            with self._write() as c:  # once, even when several processes open it at once
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
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    # --- operations ----------------------------------------------------------------------
    def create_op(
        self,
        op_id: str,
        *,
        worktree: str,
        name: str,
        kind: OpKind,
        history: HistoryMode,
        phase: Phase,
        pending: Intent | None,
        argv: Sequence[str] | None,
        started_at: float,
        detail: Mapping[str, object] | None,
        owner: Owner | None,
    ) -> None:
        """Record an operation, open, before anything of it happens."""
        with self._write() as c:
            c.execute(
                "INSERT INTO operations (id, worktree, name, kind, history, status, phase, "
                "pending, argv, started_at, detail, owner_pid, owner_start) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    op_id,
                    worktree,
                    name,
                    kind,
                    history,
                    OpStatus.OPEN,
                    phase,
                    _json(pending),
                    json.dumps(list(argv)) if argv is not None else None,
                    started_at,
                    _json(detail),
                    *_owner(owner),
                ),
            )

    def forget_op(self, op_id: str) -> None:
        """Drop an operation that never started (its PRE-OP checkpoint failed): nothing of the
        user's changed, so nothing of it is kept."""
        with self._write() as c:
            c.execute("DELETE FROM operations WHERE id=?", (op_id,))
            c.execute("DELETE FROM checkpoints WHERE op_id=?", (op_id,))

    def start_exec(self, op_id: str, *, keep_owner: bool) -> None:
        """PRE-OP taken: the operation runs (and, unless kept, no process holds it now)."""
        with self._write() as c:
            c.execute("UPDATE operations SET phase=?, pending=NULL WHERE id=?", (Phase.EXEC, op_id))
            if not keep_owner:
                c.execute(
                    "UPDATE operations SET owner_pid=NULL, owner_start=NULL WHERE id=?", (op_id,)
                )

    def set_phase(self, op_id: str, phase: Phase, *, worktree: str | None = None) -> None:
        """`worktree`: the operation's result is brought to that worktree now (run --isolate)."""
        with self._write() as c:
            c.execute("UPDATE operations SET phase=? WHERE id=?", (phase, op_id))
            if worktree is not None:
                c.execute("UPDATE operations SET worktree=? WHERE id=?", (worktree, op_id))

    def set_pending(self, op_id: str, intent: Intent | None) -> None:
        """The intent of the state change under way (None: none is)."""
        self._set(op_id, "pending", _json(intent))

    def set_owner(self, op_id: str, owner: Owner | None) -> None:
        """The process working on the operation now (None: none is)."""
        pid, start = _owner(owner)
        with self._write() as c:
            c.execute(
                "UPDATE operations SET owner_pid=?, owner_start=? WHERE id=?", (pid, start, op_id)
            )

    def set_detail(self, op_id: str, detail: Mapping[str, object] | None) -> None:
        self._set(op_id, "detail", _json(detail))

    def set_status(self, op_id: str, status: OpStatus) -> None:
        """A closed operation's status flipped by an undo (or by a rollback of its effect)."""
        self._set(op_id, "status", status)

    def set_command_result(self, op_id: str, *, exit_code: int | None, duration: float) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE operations SET exit_code=?, command_duration=? WHERE id=?",
                (exit_code, duration, op_id),
            )

    def close_op(
        self,
        op_id: str,
        *,
        status: OpStatus,
        failed_phase: FailedPhase | None,
        ended_at: float,
        duration: float,
        coverage: float | None,
        detail: Mapping[str, object] | None,
        worktree: str | None = None,
    ) -> None:
        """The operation is done: no phase, intent or owner any more. `worktree`: it is
        recorded in that worktree from now on (run --isolate: the user's, not the private one)."""
        with self._write() as c:
            c.execute(
                "UPDATE operations SET status=?, failed_phase=?, phase=?, pending=NULL, "
                "owner_pid=NULL, owner_start=NULL, ended_at=?, duration=?, coverage=?, detail=? "
                "WHERE id=?",
                (
                    status,
                    failed_phase,
                    Phase.DONE,
                    ended_at,
                    duration,
                    coverage,
                    _json(detail),
                    op_id,
                ),
            )
            if worktree is not None:
                c.execute("UPDATE operations SET worktree=? WHERE id=?", (worktree, op_id))

    def _set(self, op_id: str, column: str, value: object) -> None:
        with self._write() as c:
            c.execute(f"UPDATE operations SET {column}=? WHERE id=?", (value, op_id))

    def op(self, op_id: str) -> OpRow | None:
        row = self._conn.execute(_SELECT_OP + " WHERE id=?", (op_id,)).fetchone()
        return _op_row(row) if row else None

    def find_op(self, prefix: str) -> list[OpRow]:
        rows = self._conn.execute(
            _SELECT_OP + " WHERE id LIKE ? ORDER BY started_at",
            (prefix.replace("%", "").replace("_", "") + "%",),
        ).fetchall()
        return [_op_row(r) for r in rows]

    def open_op(self, worktree: str) -> OpRow | None:
        row = self._conn.execute(
            _SELECT_OP + " WHERE worktree=? AND status=? ORDER BY started_at DESC LIMIT 1",
            (worktree, OpStatus.OPEN),
        ).fetchone()
        return _op_row(row) if row else None

    def ops(
        self,
        *,
        worktree: str | None = None,
        status: OpStatus | None = None,
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
        sql = _SELECT_OP
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_op_row(r) for r in self._conn.execute(sql, args).fetchall()]

    def closed_with_pending(self, worktree: str) -> list[str]:
        """Closed operations that still hold an intent (`rollback --op ID` of an old one that
        was interrupted), oldest first."""
        rows = self._conn.execute(
            "SELECT id FROM operations WHERE worktree=? AND status != ? AND pending IS NOT NULL "
            "ORDER BY started_at",
            (worktree, OpStatus.OPEN),
        ).fetchall()
        return [str(r[0]) for r in rows]

    # --- checkpoints, gates, events ------------------------------------------------------
    def add_checkpoint(
        self,
        op_id: str,
        kind: CheckpointKind,
        sha: str,
        ref: str,
        message: str | None = None,
        commit_sha: str | None = None,
    ) -> int:
        with self._write() as c:
            seq = c.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM checkpoints WHERE op_id=?", (op_id,)
            ).fetchone()[0]
            c.execute(
                "INSERT INTO checkpoints VALUES (?,?,?,?,?,?,?,?)",
                (op_id, seq, kind, sha, ref, message, commit_sha, time.time()),
            )
        return int(seq)

    def set_commit_sha(self, op_id: str, seq: int, commit_sha: str) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE checkpoints SET commit_sha=? WHERE op_id=? AND seq=?",
                (commit_sha, op_id, seq),
            )

    def checkpoints(self, op_id: str) -> list[CheckpointRow]:
        rows = self._conn.execute(
            "SELECT * FROM checkpoints WHERE op_id=? ORDER BY seq", (op_id,)
        ).fetchall()
        return [_checkpoint_row(r) for r in rows]

    def find_checkpoint(self, prefix: str) -> list[CheckpointRow]:
        rows = self._conn.execute(
            "SELECT * FROM checkpoints WHERE sha LIKE ? ORDER BY created_at",
            (prefix.lower().strip("%_") + "%",),
        ).fetchall()
        return [_checkpoint_row(r) for r in rows]

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
        with self._write() as c:
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
        rows = self._conn.execute(
            "SELECT * FROM gates WHERE op_id=? ORDER BY seq", (op_id,)
        ).fetchall()
        return [GateRow(r[0], r[1], r[2], bool(r[3]), *r[4:]) for r in rows]

    def add_event(
        self,
        *,
        op_id: str | None,
        worktree: str,
        kind: EventKind,
        rescue: str | None,
        target: str | None,
        detail: Mapping[str, object] | None = None,
    ) -> int:
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO events (op_id, worktree, kind, at, rescue, target, detail) "
                "VALUES (?,?,?,?,?,?,?)",
                (op_id, worktree, kind, time.time(), rescue, target, _json(detail)),
            )
            return int(cur.lastrowid or 0)

    def events(self, worktree: str, *, limit: int = 50) -> list[EventRow]:
        rows = self._conn.execute(
            "SELECT * FROM events WHERE worktree=? ORDER BY id DESC LIMIT ?", (worktree, limit)
        ).fetchall()
        return [_event_row(r) for r in rows]

    def last_event_kind(self, op_id: str) -> EventKind | None:
        row = self._conn.execute(
            "SELECT kind FROM events WHERE op_id=? ORDER BY id DESC LIMIT 1", (op_id,)
        ).fetchone()
        return EventKind(row[0]) if row else None

    def set_event_detail(self, event_id: int, detail: Mapping[str, object]) -> None:
        with self._write() as c:
            c.execute("UPDATE events SET detail=? WHERE id=?", (json.dumps(detail), event_id))

    def last_validated_coverage(self, worktree: str, gate: str) -> float | None:
        row = self._conn.execute(
            "SELECT g.coverage FROM gates g JOIN operations o ON o.id=g.op_id "
            "WHERE o.worktree=? AND o.status=? AND g.name=? AND g.coverage IS NOT NULL "
            "ORDER BY o.ended_at DESC LIMIT 1",
            (worktree, OpStatus.COMMITTED, gate),
        ).fetchone()
        return float(row[0]) if row else None

    # --- retiring old rows (gc) ----------------------------------------------------------
    def op_ids(self) -> set[str]:
        return {str(r[0]) for r in self._conn.execute("SELECT id FROM operations")}

    def closed_before(self, cutoff: float) -> list[str]:
        """Operations closed (or, with no end recorded, started) before `cutoff`."""
        rows = self._conn.execute(
            "SELECT id FROM operations WHERE status != ? AND COALESCE(ended_at, started_at) < ?",
            (OpStatus.OPEN, cutoff),
        )
        return [str(r[0]) for r in rows]

    def ops_holding(self, shas: Collection[str]) -> set[str]:
        """The operations with a checkpoint at one of `shas`."""
        if not shas:
            return set()
        rows = self._conn.execute(
            f"SELECT DISTINCT op_id FROM checkpoints WHERE sha IN ({_marks(shas)})", tuple(shas)
        )
        return {str(r[0]) for r in rows}

    def worktrees(self) -> list[str]:
        """Every worktree an operation or an event names."""
        rows = self._conn.execute(
            "SELECT DISTINCT worktree FROM operations UNION SELECT DISTINCT worktree FROM events"
        )
        return [str(r[0]) for r in rows]

    def newest_rescues(self, worktree: str) -> set[str]:
        """The worktree's newest rescue outside any operation and newest one inside one."""
        found: set[str] = set()
        row = self._conn.execute(
            "SELECT rescue FROM events WHERE worktree=? AND rescue IS NOT NULL "
            "ORDER BY at DESC, id DESC LIMIT 1",
            (worktree,),
        ).fetchone()
        if row:
            found.add(row[0])
        row = self._conn.execute(
            "SELECT c.sha FROM checkpoints c JOIN operations o ON o.id=c.op_id "
            "WHERE o.worktree=? AND c.kind=? ORDER BY c.created_at DESC LIMIT 1",
            (worktree, CheckpointKind.RESCUE),
        ).fetchone()
        if row:
            found.add(row[0])
        return found

    def named_shas(self) -> set[str]:
        """Every checkpoint a row names (a checkpoint, an event's rescue or target)."""
        rows = self._conn.execute(
            "SELECT sha FROM checkpoints UNION SELECT rescue FROM events "
            "UNION SELECT target FROM events"
        )
        return {str(r[0]) for r in rows if r[0]}

    def delete_ops(
        self, ops: Sequence[str], *, events_before: float, spare: Collection[str]
    ) -> int:
        """Delete the rows of `ops`, and the events outside any operation older than
        `events_before` unless they saved a rescue in `spare`; the number of those events."""
        spared = f" AND COALESCE(rescue, '') NOT IN ({_marks(spare)})" if spare else ""
        with self._write() as c:
            for start in range(0, len(ops), 500):
                chunk = tuple(ops[start : start + 500])
                marks = _marks(chunk)
                for table, column in (
                    ("checkpoints", "op_id"),
                    ("gates", "op_id"),
                    ("operations", "id"),
                    ("events", "op_id"),
                ):
                    c.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
            cur = c.execute(
                f"DELETE FROM events WHERE op_id IS NULL AND at < ?{spared}",
                (events_before, *spare),
            )
            return max(0, cur.rowcount)


_SELECT_OP: Final = f"SELECT {','.join(_OP_FIELDS)} FROM operations"


def _op_row(r: Sequence[Any]) -> OpRow:
    return OpRow(
        r[0],
        r[1],
        r[2],
        OpKind(r[3]),
        HistoryMode(r[4]),
        OpStatus(r[5]),
        Phase(r[6]),
        FailedPhase(r[7]) if r[7] is not None else None,
        *r[8:],
    )


def _checkpoint_row(r: Sequence[Any]) -> CheckpointRow:
    return CheckpointRow(r[0], r[1], CheckpointKind(r[2]), *r[3:])


def _event_row(r: Sequence[Any]) -> EventRow:
    return EventRow(r[0], r[1], r[2], EventKind(r[3]), *r[4:])


def _json(value: Mapping[str, object] | None) -> str | None:
    return json.dumps(value) if value else None


def _owner(owner: Owner | None) -> tuple[int | None, str | None]:
    return (owner.pid, owner.start) if owner is not None else (None, None)


def _marks(items: Collection[object]) -> str:
    return ",".join("?" for _ in items)
