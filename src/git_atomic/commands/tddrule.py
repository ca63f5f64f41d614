"""A TDD phase's verdict: its test run held against its rule.

RED needs the test command to fail, GREEN to pass, REFACTOR to pass without the coverage its
report shows (`[tdd] coverage`) dropping below the last GREEN's. A run that gives no verdict at
all (a timeout, a program the shell cannot run, a report this run did not write) breaks the rule
with that reason, never as a failing test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from git_atomic.core import children
from git_atomic.core.config import Config, GateSpec
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import OpKind, OpStatus
from git_atomic.ops import gates
from git_atomic.ops.operation import Engine

# What a shell answers when it cannot run the command at all: not a failing test.
_CANNOT_RUN: Final = {126: "not executable", 127: "command not found"}
_COVERAGE_EPSILON: Final = 1e-9


@dataclass(frozen=True)
class Verdict:
    kept: bool
    why: str  # one line: what the tests did, measured against the rule
    tests_failed: bool  # the tests ran and failed: their tail is worth showing
    coverage: float | None
    green_coverage: float | None


def judge(
    engine: Engine, op: OpRow, config: Config, phase: str, *, progress: bool
) -> tuple[gates.GateResult, Verdict]:
    """Run the test command on the tree as it is now and hold the result against the rule."""
    assert config.tdd.test is not None
    repo = engine.repo
    log_dir = repo.state_dir / "logs" / op.id  # made by run_gate, never through a link
    spec = GateSpec(name=f"tdd-{phase}", run=config.tdd.test, timeout=config.tdd.timeout)
    report = _report_path(repo.root, config.tdd.coverage)
    old_report = _stamp(report)
    result = gates.run_gate(
        spec,
        root=repo.root,
        log_path=log_dir / f"01-tdd-{phase}.log",
        journal=None,
        worktree=engine.ctx.worktree,
        progress=progress,
    )
    if children.INTERRUPTS.received is not None:
        return result, Verdict(False, "interrupted", False, None, None)
    trouble = _could_not_test(result, shell=isinstance(config.tdd.test, str))
    if trouble is not None:
        return result, Verdict(False, trouble, False, None, None)
    passed = result.exit_code == 0
    if phase == "red":
        why = (
            f"the tests fail (exit {result.exit_code}), as RED needs"
            if not passed
            else "the tests pass, but RED needs a failing test"
        )
        return result, Verdict(not passed, why, not passed, None, None)
    if not passed:
        why = f"the tests fail (exit {result.exit_code}), but {phase.upper()} needs them to pass"
        return result, Verdict(False, why, True, None, None)
    if report is None:
        return result, Verdict(True, "the tests pass", False, None, None)
    coverage, problem = _read_report(report, old_report, repo.root)
    if problem is not None:
        return result, Verdict(False, problem, False, None, None)
    assert coverage is not None
    if phase == "green":
        return result, Verdict(
            True, f"the tests pass, coverage {coverage:.2f}%", False, coverage, None
        )
    green = last_green_coverage(engine.journal, engine.ctx.worktree)
    if green is None:
        why = f"the tests pass, coverage {coverage:.2f}% (no GREEN coverage to compare with)"
        return result, Verdict(True, why, False, coverage, None)
    if coverage < green - _COVERAGE_EPSILON:
        why = f"coverage {coverage:.2f}% is below GREEN's {green:.2f}%"
        return result, Verdict(False, why, False, coverage, green)
    why = f"the tests pass, coverage {coverage:.2f}% (GREEN's: {green:.2f}%)"
    return result, Verdict(True, why, False, coverage, green)


def _could_not_test(result: gates.GateResult, *, shell: bool) -> str | None:
    """Why the test command gave no verdict at all (a timeout, a missing program), or None."""
    if result.exit_code is None:
        return f"the test command {result.message or 'did not finish'}"
    if shell and result.exit_code in _CANNOT_RUN:
        return (
            f"the test command could not run (exit {result.exit_code}: "
            f"{_CANNOT_RUN[result.exit_code]})"
        )
    return None


def _report_path(root: Path, report: str | None) -> Path | None:
    if report is None:
        return None
    return Path(report) if Path(report).is_absolute() else root / report


def _stamp(path: Path | None) -> tuple[int, int, int, int] | None:
    """What tells a file rewritten from one left alone: any write moves its ctime."""
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read_report(
    path: Path,
    old: tuple[int, int, int, int] | None,
    worktree: Path,
) -> tuple[float | None, str | None]:
    from git_atomic.ops.coverage import CoverageError, read_coverage

    # A report this run did not write is a previous run's: trusting it would compare old news.
    if old is not None and _stamp(path) == old:
        return None, (
            f"coverage report {path} was not written by this test run (does [tdd] test write it?)"
        )
    try:
        return read_coverage(path, worktree=worktree), None
    except CoverageError as exc:
        return None, str(exc)


def last_green_coverage(journal: Journal, worktree: str) -> float | None:
    """The coverage of this worktree's last GREEN phase that held, if it measured one."""
    for op in journal.ops(worktree=worktree, status=OpStatus.COMMITTED, name="tdd-green", limit=20):
        if op.kind == OpKind.TDD:
            return op.coverage
    return None
