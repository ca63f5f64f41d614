"""The gates table: each gate's result for an operation, in the order the gates ran.

A row keeps what a report needs (exit status, duration, coverage, the tail of the output and
its log) and what ran; the last committed coverage of a gate is what `no_regression` compares.
"""

from __future__ import annotations

import os

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
                    self._kept_as(log_path),
                    message,
                    command,
                ),
            )

    def gates(self, op_id: str) -> list[GateRow]:
        rows = self._conn.execute(
            "SELECT * FROM gates WHERE op_id=? ORDER BY seq", (op_id,)
        ).fetchall()
        return [
            GateRow(
                r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7], self._found_at(r[8]), *r[9:]
            )
            for r in rows
        ]

    def _kept_as(self, log_path: str | None) -> str | None:
        """A gate's log under our folder kept relative to it (`logs/<op>/01-x.log`): the
        journal holds text as UTF-8 can (a byte that is not, `\\xe9`), and a repository
        whose folder's name is not UTF-8 would have the log's path read back as another."""
        top = str(self.path.parent) + os.sep
        if log_path is not None and log_path.startswith(top):
            return log_path[len(top) :]
        return log_path

    def _found_at(self, kept: str | None) -> str | None:
        if kept is None or os.path.isabs(kept):
            return kept  # one kept whole (elsewhere, or by an earlier version)
        return str(self.path.parent / kept)

    def last_validated_coverage(self, worktree: str, gate: str) -> float | None:
        row = self._conn.execute(
            "SELECT g.coverage FROM gates g JOIN operations o ON o.id=g.op_id "
            "WHERE o.worktree=? AND o.status=? AND g.name=? AND g.coverage IS NOT NULL "
            "ORDER BY o.ended_at DESC LIMIT 1",
            (worktree, OpStatus.COMMITTED, gate),
        ).fetchone()
        return float(row[0]) if row else None
