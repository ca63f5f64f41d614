"""`git atomic gates`: list the configured gates; `--run` runs them now, outside any operation."""

from __future__ import annotations

import secrets
import shlex
import sys
import time

from git_atomic.core import children
from git_atomic.core.config import Config, CoverageRule, load_config
from git_atomic.ops import commandresults, context, output
from git_atomic.ops.conclude import interrupted_exit
from git_atomic.ops.gates import GateResult, run_gates


def gates(*, run_now: bool, all_gates: bool, json_out: bool) -> int:
    # Neither listing nor a dry run changes the repository: no lock, and a merge in progress
    # is no reason to refuse either.
    with context.opened("gates", lock=False, check_state=False, read_only=not run_now) as ctx:
        config = load_config(ctx.repo.root)
        if not run_now:
            if json_out:
                output.emit(_listing(config))
            else:
                sys.stdout.write(_listing_text(config))
            return 0
        log_dir = (
            ctx.repo.state_dir
            / "logs"
            / f"gates-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"
        )
        children.INTERRUPTS.install()
        try:
            ran = run_gates(
                config.gates,
                root=ctx.repo.root,
                log_dir=log_dir,
                journal=ctx.journal,
                worktree=ctx.worktree,
                all_gates=all_gates,
                progress=not json_out and sys.stderr.isatty(),
            )
        finally:
            children.INTERRUPTS.uninstall()
        passed = all(r.passed for r in ran) and len(ran) == len(config.gates)
        if json_out:
            output.emit(_listing(config, ran, passed=passed, log_dir=str(log_dir)))
        else:
            _tell(config, ran, passed=passed)
        if children.INTERRUPTS.received is not None:
            return interrupted_exit(children.INTERRUPTS.received)
        return 0 if passed else 1


def _source(config: Config) -> str | None:
    if config.source is None:
        return None
    if config.source.name == "pyproject.toml":
        return "pyproject.toml [tool.git-atomic]"
    return config.source.name


def _listing(
    config: Config,
    ran: list[GateResult] | None = None,
    *,
    passed: bool | None = None,
    log_dir: str | None = None,
) -> commandresults.GatesResult:
    by_name = {r.name: r for r in ran or []}
    return commandresults.GatesResult(
        source=_source(config),
        history=config.history,
        gates=tuple(
            commandresults.GateEntry(g, ran is not None, by_name.get(g.name)) for g in config.gates
        ),
        tdd=config.tdd,
        passed=passed,
        log_dir=log_dir,
    )


def command_text(command: str | tuple[str, ...]) -> str:
    """A gate's command as a person would type it."""
    return command if isinstance(command, str) else shlex.join(command)


def _rule_text(rule: CoverageRule) -> str:
    parts = [f"coverage from {rule.report}"]
    if rule.min is not None:
        parts.append(f"min {rule.min:g}%")
    if rule.no_regression:
        parts.append("no regression")
    return ", ".join(parts)


def _listing_text(config: Config) -> str:
    source = _source(config)
    if not config.gates:
        where = source or ".git-atomic.toml"
        lines = [f"no gates configured (declare [[gates]] in {where})"]
    else:
        lines = [f"gates from {source}, run in this order:"]
        width = max(len(g.name) for g in config.gates)
        for gate in config.gates:
            extras = []
            if gate.timeout is not None:
                extras.append(f"timeout {gate.timeout:g}s")
            if gate.coverage is not None:
                extras.append(_rule_text(gate.coverage))
            if gate.env:
                extras.append("env " + " ".join(f"{k}={v}" for k, v in gate.env.items()))
            if gate.ok_exit != (0,):
                extras.append("passes on exit " + ",".join(str(c) for c in gate.ok_exit))
            tail = f"  ({'; '.join(extras)})" if extras else ""
            lines.append(f"  {gate.name:<{width}}  {command_text(gate.run)}{tail}")
    if config.tdd.test is not None:
        extra = f"  (coverage from {config.tdd.coverage})" if config.tdd.coverage else ""
        lines.append(f"tdd test: {command_text(config.tdd.test)}{extra}")
    return "\n".join(lines) + "\n"


def _tell(config: Config, ran: list[GateResult], *, passed: bool) -> None:
    if not config.gates:
        output.say("git-atomic: no gates configured; nothing to run")
        return
    for r in ran:
        cov = f", coverage {r.coverage:.2f}%" if r.coverage is not None else ""
        if r.passed:
            output.say(f"git-atomic: gate {r.name} passed ({r.duration_s:.1f}s{cov})")
            continue
        output.say(f"git-atomic: gate {r.name} failed: {r.message}")
        if r.output_tail:
            output.say_lines("  " + r.output_tail.replace("\n", "\n  "))
        output.say(f"  full output: {r.log_path}")
    skipped = [g.name for g in config.gates[len(ran) :]]
    if children.INTERRUPTS.received is not None:
        output.say("git-atomic: interrupted")
    elif skipped:
        output.say(
            f"git-atomic: not run after the failure: {', '.join(skipped)} "
            "(--all-gates runs every gate)"
        )
    failed = sum(1 for r in ran if not r.passed)
    verdict = "all gates pass" if passed else f"{failed} of {len(config.gates)} gates failed"
    output.say(f"git-atomic: {verdict} (a dry run: no operation, nothing recorded)")
