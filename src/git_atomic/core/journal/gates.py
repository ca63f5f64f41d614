"""The gates table: each gate's result for an operation, in the order the gates ran.

A row keeps what a report needs (exit status, duration, coverage, the tail of the output and
its log) and what ran; the last committed coverage of a gate is what `no_regression` compares.
"""

from __future__ import annotations

from git_atomic.core.journal.connection import JournalFile
from git_atomic.core.journalrows import GateRow
from git_atomic.core.vocab import OpStatus


class GatesTable(JournalFile):
    """The gates' results, by operation, and a gate's last validated coverage."""

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

    def last_validated_coverage(self, worktree: str, gate: str) -> float | None:
        row = self._conn.execute(
            "SELECT g.coverage FROM gates g JOIN operations o ON o.id=g.op_id "
            "WHERE o.worktree=? AND o.status=? AND g.name=? AND g.coverage IS NOT NULL "
            "ORDER BY o.ended_at DESC LIMIT 1",
            (worktree, OpStatus.COMMITTED, gate),
        ).fetchone()
        return float(row[0]) if row else None
