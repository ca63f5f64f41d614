"""The events table: what moved a worktree's files (EventKind: a rollback, an abort, an
emergency restore, an undo, a recovery, an isolated run's result brought home).

Each row names the rescue checkpoint saved before the tree was touched and the checkpoint the
tree was brought to, so the move can be found and taken back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from git_atomic.core.journal.connection import JournalFile, json_column
from git_atomic.core.journalrows import EventRow
from git_atomic.core.vocab import EventKind


class EventsTable(JournalFile):
    """Events recorded, read back newest first, and their detail filled in afterwards."""

    def add_event(
        self,
        *,
        op_id: str | None,
        worktree: str,
        kind: EventKind,
        rescue: str | None,
        target: str | None,
        detail: Mapping[str, object] | None = None,
        clearing: str | None = None,
    ) -> int:
        """`clearing`: the operation whose intent (`pending`) the same transaction clears: a
        restore recorded and its intent gone in one commit (one fdatasync), never one without
        the other."""
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO events (op_id, worktree, kind, at, rescue, target, detail) "
                "VALUES (?,?,?,?,?,?,?)",
                (op_id, worktree, kind, time.time(), rescue, target, json_column(detail)),
            )
            if clearing is not None:
                c.execute("UPDATE operations SET pending=NULL WHERE id=?", (clearing,))
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


def _event_row(r: Sequence[Any]) -> EventRow:
    return EventRow(r[0], r[1], r[2], EventKind(r[3]), *r[4:])
