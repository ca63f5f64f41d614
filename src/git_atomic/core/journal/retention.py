"""Retiring old rows (gc): the queries that find what is still needed, and the deletion.

`git atomic gc` (commands/gc.py) keeps every open operation, each worktree's newest rescues and
every checkpoint a remaining row names; these queries, across the tables, tell it which rows
those are, and `delete_ops` drops the rows of the operations it retires.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from git_atomic.core.journal.connection import JournalFile
from git_atomic.core.vocab import CheckpointKind, OpStatus


class Retention(JournalFile):
    """What gc asks the journal, and the one transaction that deletes the retired rows."""

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


def _marks(items: Collection[object]) -> str:
    return ",".join("?" for _ in items)
