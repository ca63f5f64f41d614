"""The operations table: one row per operation, written before each step of it happens.

An operation is recorded open with the intent of its first change (`pending`), and every later
change of phase, intent or owner is written before it is made; `close_op` ends it. The rows
read back as `OpRow`s, their closed vocabularies typed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from git_atomic.core import failpoints
from git_atomic.core.journal.checkpoints import insert_checkpoints
from git_atomic.core.journal.connection import JournalFile, json_column, text
from git_atomic.core.journalrows import Intent, OpRow, Owner
from git_atomic.core.printable import printable
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus, Phase

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


_SELECT_OP: Final = f"SELECT {','.join(_OP_FIELDS)} FROM operations"


class OperationsTable(JournalFile):
    """Operations: opened, moved through their phases, closed, found again."""

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
        checkpoints: Sequence[tuple[CheckpointKind, str, str, str | None]] = (),
    ) -> None:
        """Record an operation, open, before anything of it happens; `checkpoints` (kind,
        sha, ref, message), those it took already (an agent turn's steps), in the same
        transaction: a process killed there leaves the operation with all of them or none of it
        (never a row with no PRE-OP, which `recover` could only close, the changes left)."""
        with self._write() as c:
            c.execute(
                "INSERT INTO operations (id, worktree, name, kind, history, status, phase, "
                "pending, argv, started_at, detail, owner_pid, owner_start) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    op_id,
                    worktree,
                    printable(name),  # shown in every line about it: never ESC, BEL...
                    kind,
                    history,
                    OpStatus.OPEN,
                    phase,
                    json_column(pending),
                    json.dumps(list(argv)) if argv is not None else None,
                    started_at,
                    json_column(detail),
                    *_owner(owner),
                ),
            )
            if checkpoints:
                failpoints.hit("journal:op-row")  # its row written, not yet its checkpoints
                insert_checkpoints(c, op_id, checkpoints)

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
        self._set(op_id, "pending", json_column(intent))

    def set_owner(self, op_id: str, owner: Owner | None) -> None:
        """The process working on the operation now (None: none is)."""
        pid, start = _owner(owner)
        with self._write() as c:
            c.execute(
                "UPDATE operations SET owner_pid=?, owner_start=? WHERE id=?", (pid, start, op_id)
            )

    def set_detail(self, op_id: str, detail: Mapping[str, object] | None) -> None:
        self._set(op_id, "detail", json_column(detail))

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
        checkpoints: Sequence[tuple[CheckpointKind, str, str, str | None]] = (),
    ) -> None:
        """The operation is done: no phase, intent or owner any more. `worktree`: it is
        recorded in that worktree from now on (run --isolate: the user's, not the private one).
        `checkpoints` (kind, sha, ref, message), its last (an agent turn's POST-OP), in the same
        transaction: a process killed there leaves the operation open without them or closed
        with them (never open with a POST-OP, which `recover` would take back as interrupted
        although its gates passed)."""
        with self._write() as c:
            if checkpoints:
                insert_checkpoints(c, op_id, checkpoints)
                failpoints.hit("journal:post-op-row")  # its POST-OP written, the row not closed
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
                    json_column(detail),
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
                args.append(text(value))  # as the row holds it (a name with a byte \xe9)
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


def _owner(owner: Owner | None) -> tuple[int | None, str | None]:
    return (owner.pid, owner.start) if owner is not None else (None, None)
