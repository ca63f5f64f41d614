"""VALIDATE: the gates run on the tree an operation left, and their verdict decides whether
it reaches POST-OP. One step for every operation: `run`, `commit` and `run --isolate` (whose
gates run in its private worktree) judge the same way."""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.core import children, failpoints
from git_atomic.core.config import GateSpec
from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, FailedPhase, OpStatus, Phase
from git_atomic.ops import gates
from git_atomic.ops.operation import Engine
from git_atomic.ops.rollbackop import rollback_op


@dataclass(frozen=True)
class Verdict:
    failed_phase: FailedPhase | None  # INTERRUPT or VALIDATE; None: every gate passed
    coverage: float | None  # the last coverage a gate measured
    gates_ran: bool  # none did: the tree is as the last checkpoint left it

    @property
    def passed(self) -> bool:
        return self.failed_phase is None


def validate(
    engine: Engine,
    op_id: str,
    specs: Sequence[GateSpec],
    *,
    worktree: str,
    all_gates: bool,
    progress: bool,
) -> Verdict:
    """Run the gates in the engine's worktree and record them; all passed (and no interrupt
    came meanwhile): the operation is in POST-OP. `worktree`: the one whose history the
    coverage ratchet compares with (the user's, for a private worktree's gates)."""
    engine.journal.set_phase(op_id, Phase.VALIDATE)
    results = gates.run_gates(
        specs,
        root=engine.repo.root,
        log_dir=engine.repo.state_dir / "logs" / op_id,
        journal=engine.journal,
        worktree=worktree,
        all_gates=all_gates,
        progress=progress,
    )
    gates.record(engine.journal, op_id, results)
    failpoints.hit("validate:after-gates")
    coverages = [r.coverage for r in results if r.coverage is not None]
    coverage = coverages[-1] if coverages else None
    if children.INTERRUPTS.received is not None:
        return Verdict(FailedPhase.INTERRUPT, coverage, bool(results))
    if any(not r.passed for r in results):
        return Verdict(FailedPhase.VALIDATE, coverage, bool(results))
    engine.journal.set_phase(op_id, Phase.POST_OP)
    return Verdict(None, coverage, bool(results))


def validate_and_finish(
    engine: Engine,
    op: OpRow,
    gate_specs: Sequence[GateSpec],
    *,
    all_gates: bool = False,
    progress: bool = False,
    just_taken: CheckpointRow | None = None,
) -> OpRow:
    """POST-OP: run the gates; all pass -> final checkpoint; one fails -> back to PRE-OP.

    `just_taken`: a checkpoint of this very instant (run's OP-EXEC). With no gates in between
    nothing can have changed, so POST-OP names that checkpoint instead of scanning again.
    """
    verdict = validate(
        engine,
        op.id,
        gate_specs,
        worktree=engine.ctx.worktree,
        all_gates=all_gates,
        progress=progress,
    )
    if not verdict.passed:
        return rollback_op(engine, op, failed_phase=verdict.failed_phase)
    # Only a checkpoint that made no visible commit: one that did was captured before the commit
    # moved the branch and the index, so it is not the state after the operation.
    if just_taken is not None and not verdict.gates_ran and just_taken.commit_sha is None:
        engine.alias_checkpoint(op, just_taken, CheckpointKind.POST_OP, "validation complete")
    else:
        engine.checkpoint(op, CheckpointKind.POST_OP, "validation complete")
    failpoints.hit("post-op:after-checkpoint")
    return engine.close(op.id, status=OpStatus.COMMITTED, coverage=verdict.coverage)
