"""`git atomic tdd red|green|refactor`: one TDD phase as an atomic operation, judged by its rule.

RED: the test command must fail. GREEN: it must pass. REFACTOR: it must pass, and coverage (from
`[tdd] coverage`, the report the test command writes) must not drop below the last GREEN's.

With a COMMAND, the command makes the change and a broken rule rolls it back. Without one the
phase judges the tree as it stands, and a broken rule touches nothing: the tree is the person's
work in progress, and they may still be editing while the tests run.
"""

from __future__ import annotations

import contextlib
import copy
import shlex
import sys
from collections.abc import Sequence
from typing import Final

from git_atomic.commands import tddrule
from git_atomic.core import children
from git_atomic.core.config import Config, load_config
from git_atomic.core.errors import AtomicError, IndexLockHeld, UsageError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import CheckpointKind, FailedPhase, HistoryMode, OpKind, OpStatus, Phase
from git_atomic.engine import discovery
from git_atomic.engine.git import Repo
from git_atomic.ops import context, output, phasecommit
from git_atomic.ops.conclude import conclude
from git_atomic.ops.execution import run_command
from git_atomic.ops.operation import Engine
from git_atomic.ops.rollbackop import ROLLBACK_FAILURES, rollback_op

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
RED_TAIL_LINES: Final = 5


def tdd(*, phase: str, message: str | None, argv: list[str], json_out: bool) -> int:
    if phase not in RULES:
        raise UsageError(f"tdd: expected red, green or refactor, got {phase!r}")
    if message is not None and not message.strip():
        raise UsageError("tdd: -m: expected a message, got an empty one")
    missing = children.missing_program(argv, cwd=discovery.current_folder()) if argv else None
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
            try:
                op = engine.begin(
                    f"tdd-{phase}",
                    history=config.history,
                    kind=OpKind.TDD,
                    argv=argv or None,
                    detail=detail,
                    keep_owner=True,
                    tree_is_the_change=not argv,
                )
            except AtomicError as exc:
                raise _as_configured(exc, config) from None
            return _guarded(
                engine, op, config, phase=phase, text=text, argv=argv, json_out=json_out
            )

        return conclude(
            ctx.journal, work, json_out=json_out, tell=lambda op: _tell(ctx.journal, op, ctx.repo)
        )


def _as_configured(exc: AtomicError, config: Config) -> AtomicError:
    """A refusal before the phase began that says `--history shadow` (commits mode with no git
    identity, a signing that fails), an option `tdd` does not take: said as the configuration's
    `history`, the one a phase reads, in the file that holds its `[tdd]` test."""
    name = config.source.name if config.source else ".git-atomic.toml"
    table = " under [tool.git-atomic]" if name == "pyproject.toml" else ""
    meant = f'set history = "shadow"{table} in {name}'
    message = exc.message.replace("use --history shadow", meant)
    hint = exc.hint.replace("use --history shadow", meant) if exc.hint else exc.hint
    if (message, hint) == (exc.message, exc.hint):
        return exc
    told = copy.copy(exc)  # the same class and attributes, its words the configuration's
    told.__dict__.update(message=message, hint=hint)
    told.args = (message,)
    return told


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
    except IndexLockHeld:
        raise  # the rollback itself was refused before it wrote anything: `recover` does it
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
        stopped = _run_the_command(engine, op, argv, json_out=json_out)
        if stopped is not None:
            return stopped
    journal.set_phase(op.id, Phase.VALIDATE)
    result, verdict = tddrule.judge(
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
        return _leave_broken(engine, op, details, argv=argv, failed_phase=failed_phase)
    journal.set_phase(op.id, Phase.POST_OP)
    engine.checkpoint(
        op,
        CheckpointKind.POST_OP,
        f"{phase} rule kept",
        commit_message=phasecommit.phase_message(phase.upper(), text, argv),
    )
    current = journal.op(op.id)
    assert current is not None
    details.update((k, v) for k, v in current.details.items() if k not in details)
    return engine.close(op.id, status=OpStatus.COMMITTED, coverage=verdict.coverage, detail=details)


def _run_the_command(
    engine: Engine, op: OpRow, argv: Sequence[str], *, json_out: bool
) -> OpRow | None:
    """Run the phase's command: the operation rolled back if it failed or was interrupted, else
    None with the command's change recorded."""
    if children.INTERRUPTS.received is not None:
        return rollback_op(engine, op, failed_phase=FailedPhase.INTERRUPT)
    res = run_command(engine, op, argv, timeout=None, json_out=json_out)
    if children.INTERRUPTS.received is not None:
        return rollback_op(engine, op, failed_phase=FailedPhase.INTERRUPT)
    if res.exit_code != 0:
        return rollback_op(engine, op, failed_phase=FailedPhase.EXEC)
    # Recorded, not committed: the phase's one commit comes when its rule holds.
    engine.checkpoint(op, CheckpointKind.OP_EXEC, shlex.join(argv)[:200], commit=False)
    return None


def _leave_broken(
    engine: Engine,
    op: OpRow,
    details: dict[str, object],
    *,
    argv: Sequence[str],
    failed_phase: FailedPhase,
) -> OpRow:
    """A broken rule or an interrupt: a command's change goes back, a person's tree is left as
    it stands (the operation is only closed)."""
    journal = engine.journal
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


def _tell(journal: Journal, op: OpRow, repo: Repo) -> None:
    details = op.details
    label = str(details.get("tdd", "")).upper()
    why = details.get("why")
    gate = next(iter(journal.gates(op.id)), None)
    if gate is not None and gate.output_tail and op.status != OpStatus.COMMITTED:
        output.say_lines("  " + gate.output_tail.replace("\n", "\n  "))
        output.say(f"  full output: {gate.log_path}")
    elif gate is not None and gate.output_tail and details.get("tests_failed"):
        # RED held: the end of the failure shows it is the one the person meant.
        tail = gate.output_tail.splitlines()[-RED_TAIL_LINES:]
        output.say_lines("  " + "\n  ".join(tail))
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
            f"git-atomic: {what}; rolled back: {output.as_before(repo)} "
            f"(`git atomic undo` brings the change back) [{op.id}]"
        )
    else:
        output.say(output.summary_line(journal, op, repo=repo))
