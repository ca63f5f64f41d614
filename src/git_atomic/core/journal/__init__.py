"""The write-ahead audit journal: SQLite (WAL) in the repository's common git dir.

Every state change is recorded *before* it happens (the `pending` intent of an operation), so
whatever instant git-atomic dies at, the next command knows what was under way.

This package is the one door to SQL: the file and its schema (connection.py), one module per
table (operations.py, checkpoints.py, gates.py, events.py) and gc's queries (retention.py).
`Journal` is all of them together, the one object the rest of git-atomic opens.
"""

from __future__ import annotations

from git_atomic.core.journal.checkpoints import CheckpointsTable
from git_atomic.core.journal.connection import SCHEMA_VERSION
from git_atomic.core.journal.events import EventsTable
from git_atomic.core.journal.gates import GatesTable
from git_atomic.core.journal.operations import OperationsTable
from git_atomic.core.journal.retention import Retention

__all__ = ["SCHEMA_VERSION", "Journal"]


class Journal(OperationsTable, CheckpointsTable, GatesTable, EventsTable, Retention):
    """The open journal: `Journal(path)` opens (creating or migrating) the file at `path`;
    `Journal(path, read_only=True)` reads it and changes nothing (readonly.py)."""
