"""The typed vocabulary: the journal and the JSON keep their strings; SQL has one door."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import Owner
from git_atomic.core.vocab import (
    CheckpointKind,
    EventKind,
    FailedPhase,
    HistoryMode,
    OpKind,
    OpStatus,
    Phase,
)
from git_atomic.ops import resultjson, results

SRC = Path(__file__).resolve().parent.parent / "src" / "git_atomic"


def test_the_values_are_the_strings_journals_and_json_have_always_held() -> None:
    # Journals written before the enums, and scripts reading the JSON, know these strings.
    assert [s.value for s in OpStatus] == ["open", "committed", "rolled_back", "recovered"]
    assert [p.value for p in FailedPhase] == ["exec", "timeout", "validate", "interrupt"]
    assert [k.value for k in CheckpointKind] == ["pre_op", "op_exec", "post_op", "rescue"]
    assert [m.value for m in HistoryMode] == ["commits", "shadow"]
    assert {"pre_op", "exec", "validate", "post_op", "done"} <= {p.value for p in Phase}
    assert {"run", "session", "tdd"} <= {k.value for k in OpKind}
    assert {"rollback", "abort", "emergency", "undo", "recover"} <= {e.value for e in EventKind}
    assert [k.label for k in CheckpointKind] == ["PRE-OP", "OP-EXEC", "POST-OP", "rescue"]


def test_the_journal_stores_strings_and_gives_back_members(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        journal.create_op(
            "ab12",
            worktree="w",
            name="fmt",
            kind=OpKind.RUN,
            history=HistoryMode.SHADOW,
            phase=Phase.PRE_OP,
            pending={"action": "pre_op"},
            argv=["make", "fmt"],
            started_at=time.time(),
            detail=None,
            owner=Owner(1, None),
        )
        journal.add_checkpoint("ab12", CheckpointKind.PRE_OP, "0" * 40, "refs/atomic/x")
        journal.close_op(
            "ab12",
            status=OpStatus.ROLLED_BACK,
            failed_phase=FailedPhase.TIMEOUT,
            ended_at=time.time(),
            duration=1.0,
            coverage=None,
            detail={"problems": ["p"]},
        )
        op = journal.op("ab12")
        assert op is not None
        assert op.status is OpStatus.ROLLED_BACK and op.failed_phase is FailedPhase.TIMEOUT
        assert op.history is HistoryMode.SHADOW and op.kind is OpKind.RUN
        assert op.phase is Phase.DONE and op.pending is None and op.owner_pid is None
        assert journal.checkpoints("ab12")[0].kind is CheckpointKind.PRE_OP
    finally:
        journal.close()
    with sqlite3.connect(tmp_path / "journal.sqlite3") as db:  # what is on disk: plain text
        row = db.execute(
            "SELECT status, failed_phase, history, kind, phase, typeof(status), argv, detail "
            "FROM operations"
        ).fetchone()
    assert row == (
        "rolled_back",
        "timeout",
        "shadow",
        "run",
        "done",
        "text",
        '["make", "fmt"]',
        '{"problems": ["p"]}',
    )


def test_a_result_renders_its_members_as_plain_json_strings() -> None:
    result = results.no_operation(
        status=OpStatus.RECOVERED, rescue=None, duration_s=0.5, history=HistoryMode.COMMITS
    )
    text = json.dumps(resultjson.result_json(result))
    assert text == (
        '{"schema": "git-atomic/1", "op_id": null, "name": null, "status": "recovered", '
        '"failed_phase": null, "history": "commits", "checkpoints": {"pre_op": null, '
        '"op_exec": [], "post_op": null, "rescue": null}, "command": null, "gates": [], '
        '"duration_s": 0.5}'
    )


def test_every_sql_statement_is_in_the_journal() -> None:
    sql = re.compile(
        r"\.execute(?:script|many)?\("
        r"|\bSELECT\s.*\bFROM\b|\bUPDATE\s+\w+\s+SET\b|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b"
    )
    found = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if SRC / "core" / "journal" not in path.parents
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if sql.search(line)
    ]
    assert found == []
