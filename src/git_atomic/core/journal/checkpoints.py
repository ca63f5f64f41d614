"""The checkpoints table: the captures an operation took, numbered in the order it took them.

Each row names the checkpoint's commit and ref and, in commits mode, the visible commit made for
its phase (written once that commit exists).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from git_atomic.core.journal.connection import JournalFile, Writer
from git_atomic.core.journalrows import CheckpointRow
from git_atomic.core.printable import printable
from git_atomic.core.vocab import CheckpointKind


class CheckpointsTable(JournalFile):
    """An operation's checkpoints, and a checkpoint found by the start of its sha."""

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
                (op_id, seq, kind, sha, ref, _shown(message), commit_sha, time.time()),
            )
        return int(seq)

    def add_checkpoints(
        self, op_id: str, rows: Sequence[tuple[CheckpointKind, str, str, str | None]]
    ) -> None:
        """`add_checkpoint` for each (kind, sha, ref, message), in order, all in one
        transaction: an agent turn's steps come into the journal together (one write, not
        two per tool call)."""
        with self._write() as c:
            insert_checkpoints(c, op_id, rows)

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

    def all_checkpoints(self) -> list[CheckpointRow]:
        """Every operation's checkpoints, oldest first (to hold their refs again where a
        command rewrote them all: operation.py)."""
        rows = self._conn.execute("SELECT * FROM checkpoints ORDER BY created_at").fetchall()
        return [_checkpoint_row(r) for r in rows]

    def rescues_of_no_operation(self) -> dict[str, float]:
        """The rescue each event of no operation saved (`emergency`, `rollback --to`, their
        `undo`), with its time: their refs (refs/atomic/rescue/) are in no row."""
        rows = self._conn.execute(
            "SELECT rescue, MAX(at) FROM events WHERE op_id IS NULL AND rescue IS NOT NULL "
            "GROUP BY rescue"
        ).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    def targets_of_no_row(self) -> dict[str, float]:
        """The target of each event that no checkpoint row names (a commit `emergency --to`
        went to, a state a take-back made on top of later changes), with its time: their refs
        (refs/atomic/commits/) are in no row."""
        rows = self._conn.execute(
            "SELECT target, MAX(at) FROM events WHERE target IS NOT NULL "
            "AND target NOT IN (SELECT sha FROM checkpoints) GROUP BY target"
        ).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    def find_checkpoint(self, prefix: str) -> list[CheckpointRow]:
        rows = self._conn.execute(
            "SELECT * FROM checkpoints WHERE sha LIKE ? ORDER BY created_at",
            (prefix.lower().strip("%_") + "%",),
        ).fetchall()
        return [_checkpoint_row(r) for r in rows]


def insert_checkpoints(
    c: Writer, op_id: str, rows: Sequence[tuple[CheckpointKind, str, str, str | None]]
) -> None:
    """`rows` (kind, sha, ref, message) numbered after the operation's last checkpoint, inside
    the caller's transaction."""
    seq = c.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM checkpoints WHERE op_id=?", (op_id,)
    ).fetchone()[0]
    now = time.time()
    c.executemany(
        "INSERT INTO checkpoints VALUES (?,?,?,?,?,?,?,?)",
        [
            (op_id, seq + n, kind, sha, ref, _shown(message), None, now)
            for n, (kind, sha, ref, message) in enumerate(rows, start=1)
        ],
    )


def _checkpoint_row(r: Sequence[Any]) -> CheckpointRow:
    return CheckpointRow(r[0], r[1], CheckpointKind(r[2]), *r[3:])


def _shown(message: str | None) -> str | None:
    """A checkpoint's message (a command line, a person's words) as `show` prints it: no
    control character (core/printable.py)."""
    return printable(message) if message is not None else None
