"""The Python API: an atomic operation as a `with` block, on the same machinery as the CLI.

    import git_atomic
    with git_atomic.operation("user-auth", gates=["pytest -q"]) as op:
        ...                       # change files
        op.checkpoint("stage 1")  # an OP-EXEC stage
    # an exception inside rolls back and re-raises that same exception;
    # a failed gate rolls back and raises git_atomic.GateFailed

The block holds the worktree (as `git atomic run` does) from PRE-OP until the operation is
final or rolled back; a second operation in the same worktree is refused (BusyError). Gates are
the configured ones plus `gates` (shell command lines); `no_gates=True` runs none.

Bad arguments raise git_atomic's UsageError (a `repo` that is no folder: NotARepository)
before anything runs: no lock is taken and nothing is recorded.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from git_atomic.core.config import gates_to_run, load_config
from git_atomic.core.errors import AtomicError, Exit, NotARepository, UsageError
from git_atomic.core.journalrows import OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus
from git_atomic.ops import context, resultjson, results
from git_atomic.ops.operation import Engine
from git_atomic.ops.rollbackop import rollback_op
from git_atomic.ops.validation import validate_and_finish

__all__ = ["GateFailed", "GateOutcome", "Operation", "operation"]


@dataclass(frozen=True)
class GateOutcome:
    name: str
    passed: bool
    exit_code: int | None
    duration_s: float
    coverage: float | None
    message: str | None  # why it failed, in one line
    log_path: str | None


class GateFailed(AtomicError):
    """A gate failed: the tree was rolled back to PRE-OP. `results` holds every gate that ran."""

    exit_code = Exit.FAILED

    def __init__(self, message: str, *, op_id: str, results: Sequence[GateOutcome]) -> None:
        super().__init__(message, hint="`git atomic undo` brings the rolled-back work back")
        self.op_id = op_id
        self.results = tuple(results)


class Operation:
    """The handle a `with git_atomic.operation(...)` block gets."""

    def __init__(self, engine: Engine, row: OpRow) -> None:
        self._engine = engine
        self._row = row
        self._result: results.OperationResult | None = None

    @property
    def id(self) -> str:
        return self._row.id

    @property
    def name(self) -> str:
        return self._row.name

    @property
    def history(self) -> str:
        return self._row.history

    @property
    def status(self) -> str:
        """open inside the block; committed or rolled_back after it."""
        status = self._result.status if self._result else None
        return status or self._row.status

    @property
    def result(self) -> dict[str, Any] | None:
        """After the block: the same object `git atomic run --json` prints."""
        return resultjson.result_json(self._result) if self._result is not None else None

    def checkpoint(self, message: str | None = None) -> str:
        """Record an OP-EXEC stage of the tree as it is now; returns the checkpoint's id."""
        if self._result is not None:
            raise UsageError(f"operation {self.id} is over; it takes no more checkpoints")
        journal = self._engine.journal
        stage = sum(1 for c in journal.checkpoints(self.id) if c.kind == CheckpointKind.OP_EXEC) + 1
        row = self._engine.checkpoint(
            self._row, CheckpointKind.OP_EXEC, message or f"stage {stage}"
        )
        return row.sha

    def _finish(self, row: OpRow) -> None:
        self._row = row
        self._result = results.operation(self._engine.journal, row)


def _check_arguments(
    name: object, gates: object, no_gates: object, all_gates: object, history: object
) -> list[str]:
    """The arguments' types, or a UsageError naming the argument; `gates` as a list."""
    if not isinstance(name, str):
        raise UsageError(f"name: expected a string, got {type(name).__name__}")
    if "\0" in name:
        raise UsageError("name: a null byte is not allowed in the name")
    if isinstance(gates, (str, bytes)) or not isinstance(gates, Sequence):
        raise UsageError(
            f"gates: expected a list of command lines, got {type(gates).__name__} "
            '(one gate is a list of one: gates=["pytest -q"])'
        )
    for gate in gates:
        if not isinstance(gate, str):
            raise UsageError(f"gates: expected command lines (strings), got {gate!r}")
    for what, flag in (("no_gates", no_gates), ("all_gates", all_gates)):
        if not isinstance(flag, bool):
            raise UsageError(f"{what}: expected True or False, got {flag!r}")
    if history is not None and not isinstance(history, str):
        raise UsageError(f"history: expected commits or shadow, got {history!r}")
    return list(gates)


def _start_folder(repo: object) -> str:
    """`repo` as an absolute folder (default: the current one); NotARepository if no folder."""
    if repo is None:
        from git_atomic.engine import discovery

        return discovery.current_folder()
    if not isinstance(repo, (str, os.PathLike)) or isinstance(os.fspath(repo), bytes):
        raise UsageError(f"repo: expected a folder's path, got {type(repo).__name__}")
    path = Path(os.path.abspath(repo))
    if not path.exists():
        raise NotARepository(f"not a git repository: no such folder: {path}")
    if not path.is_dir():
        raise NotARepository(f"not a git repository: {path} is not a folder")
    return str(path.resolve())


# The command line's words in a refusal, and what the API's caller passes or does instead.
_API_WORDS: Final = (
    ("use --history shadow", 'pass history="shadow"'),
    ("wait for it, or pass --wait", "try again once it is done"),
    ("or pass --wait", "or try again once it is done"),
)


@contextmanager
def _in_api_words() -> Iterator[None]:
    """A refusal before the block runs (no identity for commits mode, a busy worktree) in the
    words of this API, not of the command line's flags (`--history shadow`, `--wait`)."""
    try:
        yield
    except AtomicError as exc:
        message, hint = exc.message, exc.hint
        for said, meant in _API_WORDS:
            message = message.replace(said, meant)
            hint = hint.replace(said, meant) if hint else hint
        if (message, hint) == (exc.message, exc.hint):
            raise
        told = copy.copy(exc)  # the same class and attributes; its words this API's
        told.__dict__.update(message=message, hint=hint)
        told.args = (message,)
        raise told from None


@contextmanager
def operation(
    name: str,
    *,
    gates: Sequence[str] = (),
    no_gates: bool = False,
    history: str | None = None,
    repo: str | os.PathLike[str] | None = None,
    all_gates: bool = False,
) -> Iterator[Operation]:
    """One atomic operation around a block of code (PRE-OP, OP-EXEC, POST-OP or rollback).

    `repo`: a folder in the worktree (default: the current folder). `history`: commits or
    shadow (default: the configuration's). Errors of the repository (not a repository, busy,
    no identity for commits mode) raise before the block runs, and nothing has changed.
    `gates` is a list of command lines; a single string is refused (UsageError), not taken as
    one gate: pass `gates=["pytest -q"]`. Arguments of the wrong type raise UsageError (a
    `repo` that is no folder: NotARepository) before anything runs.
    """
    commands = _check_arguments(name, gates, no_gates, all_gates, history)
    mode = HistoryMode.parse(history, what="history") if history is not None else None
    start = _start_folder(repo)
    with _in_api_words(), context.opened("api", start=start) as ctx:
        config = load_config(ctx.repo.root)
        specs = gates_to_run(config, commands, no_gates=no_gates)
        engine = Engine(ctx)
        row = engine.begin(name, history=mode or config.history, kind=OpKind.API, keep_owner=True)
        handle = Operation(engine, row)
        try:
            yield handle
        except BaseException as exc:
            current = engine.journal.op(row.id)
            if current is not None and current.status == OpStatus.OPEN:
                phase = FailedPhase.EXEC if isinstance(exc, Exception) else FailedPhase.INTERRUPT
                handle._finish(rollback_op(engine, current, failed_phase=phase))
            raise
        current = engine.journal.op(row.id)
        assert current is not None
        try:
            engine.checkpoint(current, CheckpointKind.OP_EXEC, "end of the block")
            done = validate_and_finish(engine, current, specs, all_gates=all_gates)
        except BaseException:
            current = engine.journal.op(row.id)
            if current is not None and current.status == OpStatus.OPEN:
                rollback_op(engine, current, failed_phase=FailedPhase.VALIDATE)
            raise
        handle._finish(done)
        if done.status != OpStatus.COMMITTED:
            outcomes = [
                GateOutcome(
                    g.name, g.passed, g.exit_code, g.duration, g.coverage, g.message, g.log_path
                )
                for g in engine.journal.gates(row.id)
            ]
            failed = next((g for g in outcomes if not g.passed), None)
            why = f"gate {failed.name} failed: {failed.message}" if failed else "rolled back"
            raise GateFailed(
                f"{name} [{row.id}] rolled back: {why}", op_id=row.id, results=outcomes
            )
