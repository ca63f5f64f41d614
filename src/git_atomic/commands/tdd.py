"""`git atomic tdd red|green|refactor`: one TDD phase as an atomic operation, judged by its rule.

RED: the test command must fail. GREEN: it must pass. REFACTOR: it must pass, and coverage (from
`[tdd] coverage`, the report the test command writes) must not drop below the last GREEN's.

With a COMMAND, the command makes the change and a broken rule rolls it back. Without one the
phase judges the tree as it stands, and a broken rule touches nothing: the tree is the person's
work in progress, and they may still be editing while the tests run.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import children
from git_atomic.core.config import Config, GateSpec, load_config
from git_atomic.core.errors import UsageError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus, Phase
from git_atomic.ops import context, gates, output, phasecommit
from git_atomic.ops.conclude import conclude
from git_atomic.ops.operation import (
    ROLLBACK_FAILURES,
    Engine,
    rollback_op,
)

RULES: Final = {
    "red": "the tests must fail",
    "green": "the tests must pass",
    "refactor": "the tests must pass and coverage must not drop below GREEN's",
}
DEFAULT_MESSAGES: Final = {
    "red": "a failing test",
    "green": "the tests pass",
    "refactor": "the tests still pass",
}
# What a shell answers when it cannot run the command at all: not a failing test.
_CANNOT_RUN: Final = {126: "not executable", 127: "command not found"}
_COVERAGE_EPSILON: Final = 1e-9
RED_TAIL_LINES: Final = 5


@dataclass(frozen=True)
class Verdict:
    kept: bool
    why: str  # one line: what the tests did, measured against the rule
    tests_failed: bool  # the tests ran and failed: their tail is worth showing
    coverage: float | None
    green_coverage: float | None


def tdd(*, phase: str, message: str | None, argv: list[str], json_out: bool) -> int:
    if phase not in RULES:
        raise UsageError(f"tdd: expected red, green or refactor, got {phase!r}")
    if message is not None and not message.strip():
        raise UsageError("tdd: -m: expected a message, got an empty one")
    missing = children.missing_program(argv, cwd=os.getcwd()) if argv else None
    if missing is not None:
        raise UsageError(f"tdd: cannot run the command: {missing}; nothing was started")
    with context.opened("tdd") as ctx:
        config = load_config(ctx.repo.root)
        if config.tdd.test is None:
            where = config.source.name if config.source else ".git-atomic.toml"
            raise UsageError(
                f"tdd: no test command is configured (add `[tdd]` with "
                f'`test = "pytest -q"` to {where})'
            )
        test = config.tdd.test
        missing = (
            None if isinstance(test, str) else children.missing_program(test, cwd=ctx.repo.root)
        )
        if missing is not None:
            raise UsageError(f"tdd: cannot run the test command: {missing}; nothing was started")
        text = (
            message
            if message is not None
            else (
                phasecommit.short_command(argv, phasecommit.SUBJECT_WIDTH - len("REFACTOR: "))
                if argv
                else DEFAULT_MESSAGES[phase]
            )
        )
        engine = Engine(ctx)

        def work() -> OpRow:
            detail = {"tdd": phase, "rule": RULES[phase], "message": text}
            op = engine.begin(
                f"tdd-{phase}",
                history=config.history,
                kind=OpKind.TDD,
                argv=argv or None,
                detail=detail,
                keep_owner=True,
                tree_is_the_change=not argv,
            )
            return _guarded(
                engine, op, config, phase=phase, text=text, argv=argv, json_out=json_out
            )

        return conclude(
            ctx.journal, work, json_out=json_out, tell=lambda op: _tell(ctx.journal, op)
        )


def _guarded(
    engine: Engine,
    op: OpRow,
    config: Config,
    *,
    phase: str,
    text: str,
    argv: Sequence[str],
    json_out: bool,
) -> OpRow:
    try:
        return _phase(engine, op, config, phase=phase, text=text, argv=argv, json_out=json_out)
    except BaseException:
        # A bug or a git failure mid-way. A command's change goes back; a person's tree is
        # never touched: the operation is only closed, unless a state change was under way
        # (then `recover` finishes it).
        # If that fails too (git, the disk, the journal), `recover` finishes it; anything else
        # is a bug, and reaches the error log.
        current = engine.journal.op(op.id)
        if current is not None and current.status == OpStatus.OPEN:
            with contextlib.suppress(*ROLLBACK_FAILURES):
                if argv:
                    rollback_op(engine, current, failed_phase=FailedPhase.EXEC)
                elif current.pending is None:
                    engine.close(
                        op.id, status=OpStatus.ROLLED_BACK, failed_phase=FailedPhase.VALIDATE
                    )
        raise


def _phase(
    engine: Engine,
    op: OpRow,
    config: Config,
    *,
    phase: str,
    text: str,
    argv: Sequence[str],
    json_out: bool,
) -> OpRow:
    journal = engine.journal
    if argv:
        if children.INTERRUPTS.received is not None:
            return rollback_op(engine, op, failed_phase=FailedPhase.INTERRUPT)
        res = children.run_child(
            list(argv),
            cwd=os.getcwd(),
            timeout=None,
            stdout=sys.stderr.fileno() if json_out else None,
            interactive=True,
        )
        journal.set_command_result(op.id, exit_code=res.exit_code, duration=res.duration_s)
        if res.error:
            output.say(f"git-atomic: cannot run the command: {res.error}")
        if children.INTERRUPTS.received is not None:
            return rollback_op(engine, op, failed_phase=FailedPhase.INTERRUPT)
        if res.exit_code != 0:
            return rollback_op(engine, op, failed_phase=FailedPhase.EXEC)
        # Recorded, not committed: the phase's one commit comes when its rule holds.
        engine.checkpoint(op, CheckpointKind.OP_EXEC, shlex.join(argv)[:200], commit=False)
    journal.set_phase(op.id, Phase.VALIDATE)
    result, verdict = _judge(
        engine, op, config, phase, progress=not json_out and sys.stderr.isatty()
    )
    journal.add_gate(
        op.id,
        name=result.name,
        passed=verdict.kept,
        exit_code=result.exit_code,
        duration=result.duration_s,
        coverage=verdict.coverage,
        output_tail=result.output_tail,
        log_path=result.log_path,
        message=None if verdict.kept else verdict.why,
        command=result.command,
    )
    details = dict(
        op.details,
        kept=verdict.kept,
        why=verdict.why,
        coverage=verdict.coverage,
        green_coverage=verdict.green_coverage,
        tests_failed=verdict.tests_failed,
    )
    interrupted = children.INTERRUPTS.received is not None
    if interrupted or not verdict.kept:
        failed_phase = FailedPhase.INTERRUPT if interrupted else FailedPhase.VALIDATE
        if argv:
            journal.set_detail(op.id, details)
            current = journal.op(op.id)
            assert current is not None
            return rollback_op(engine, current, failed_phase=failed_phase)
        details["untouched"] = True
        return engine.close(
            op.id,
            status=OpStatus.ROLLED_BACK,
            failed_phase=failed_phase,
            detail=details,
        )
    journal.set_phase(op.id, Phase.POST_OP)
    engine.checkpoint(
        op,
        CheckpointKind.POST_OP,
        f"{phase} rule kept",
        commit_message=f"{phase.upper()}: {text}{phasecommit.body(argv)}",
    )
    current = journal.op(op.id)
    assert current is not None
    details.update((k, v) for k, v in current.details.items() if k not in details)
    return engine.close(op.id, status=OpStatus.COMMITTED, coverage=verdict.coverage, detail=details)


def _judge(
    engine: Engine, op: OpRow, config: Config, phase: str, *, progress: bool
) -> tuple[gates.GateResult, Verdict]:
    """Run the test command on the tree as it is now and hold the result against the rule."""
    assert config.tdd.test is not None
    repo = engine.repo
    log_dir = repo.state_dir / "logs" / op.id
    log_dir.mkdir(parents=True, exist_ok=True)
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
    coverage, problem = _read_report(report, old_report)
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
) -> tuple[float | None, str | None]:
    from git_atomic.ops.coverage import CoverageError, read_coverage

    # A report this run did not write is a previous run's: trusting it would compare old news.
    if old is not None and _stamp(path) == old:
        return None, (
            f"coverage report {path} was not written by this test run (does [tdd] test write it?)"
        )
    try:
        return read_coverage(path), None
    except CoverageError as exc:
        return None, str(exc)


def last_green_coverage(journal: Journal, worktree: str) -> float | None:
    """The coverage of this worktree's last GREEN phase that held, if it measured one."""
    for op in journal.ops(worktree=worktree, status=OpStatus.COMMITTED, name="tdd-green", limit=20):
        if op.kind == OpKind.TDD:
            return op.coverage
    return None


def _tell(journal: Journal, op: OpRow) -> None:
    details = op.details
    label = str(details.get("tdd", "")).upper()
    why = details.get("why")
    gate = next(iter(journal.gates(op.id)), None)
    if gate is not None and gate.output_tail and op.status != OpStatus.COMMITTED:
        output.say("  " + gate.output_tail.replace("\n", "\n  "))
        output.say(f"  full output: {gate.log_path}")
    elif gate is not None and gate.output_tail and details.get("tests_failed"):
        # RED held: the end of the failure shows it is the one the person meant.
        tail = gate.output_tail.splitlines()[-RED_TAIL_LINES:]
        output.say("  " + "\n  ".join(tail))
    if op.status == OpStatus.COMMITTED:
        post = [c for c in journal.checkpoints(op.id) if c.kind == CheckpointKind.POST_OP]
        if post and post[-1].commit_sha:
            subject = f"{label}: {details['message']}".splitlines()[0]
            done = f'committed {output.short(post[-1].commit_sha)} "{subject}"'
        elif op.history == HistoryMode.COMMITS:
            done = (
                "nothing to commit from the command"
                if op.argv is not None
                else "nothing to commit (no tracked file differs from HEAD)"
            )
        else:
            done = f"checkpoint {output.short(post[-1].sha if post else None)} (shadow)"
        output.say(f"git-atomic: {label} holds: {why}; {done} [{op.id}]")
        held = output.held_back_line(op)
        if held is not None:
            output.say(held)
        untracked = details.get("left_untracked")
        if untracked and op.history == HistoryMode.COMMITS:
            output.say(
                f"git-atomic: untracked, so not in the commit: {', '.join(untracked)}"
                f"{' ...' if len(untracked) >= phasecommit.UNTRACKED_NAMED else ''} "
                "(`git add` a new file to put it in a phase's commit)"
            )
    elif details.get("untouched"):
        what = (
            "interrupted" if op.failed_phase == FailedPhase.INTERRUPT else f"{label} broken: {why}"
        )
        output.say(f"git-atomic: {what}; nothing was changed [{op.id}]")
    elif why is not None:
        what = (
            "interrupted" if op.failed_phase == FailedPhase.INTERRUPT else f"{label} broken: {why}"
        )
        output.say(
            f"git-atomic: {what}; rolled back: {output.AS_BEFORE} "
            f"(`git atomic undo` brings the change back) [{op.id}]"
        )
    else:
        output.say(output.summary_line(journal, op))
