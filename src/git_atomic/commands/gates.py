"""`git atomic gates`: list the configured gates; `--run` runs them now, outside any operation."""

from __future__ import annotations

import secrets
import shlex
import sys
import time
from typing import Any

from git_atomic.core import process
from git_atomic.core.config import Config, CoverageRule, GateSpec, load_config
from git_atomic.ops import context, output
from git_atomic.ops.gates import GateResult, run_gates
from git_atomic.ops.operation import interrupted_exit


def gates(*, run_now: bool, all_gates: bool, json_out: bool) -> int:
    # Neither listing nor a dry run changes the repository: no lock, and a merge in progress
    # is no reason to refuse either.
    with context.opened("gates", lock=False, check_state=False) as ctx:
        config = load_config(ctx.repo.root)
        if not run_now:
            if json_out:
                output.emit_json(_listing(config))
            else:
                sys.stdout.write(_listing_text(config))
            return 0
        log_dir = (
            ctx.repo.state_dir
            / "logs"
            / f"gates-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"
        )
        process.INTERRUPTS.install()
        try:
            results = run_gates(
                config.gates,
                root=ctx.repo.root,
                log_dir=log_dir,
                journal=ctx.journal,
                worktree=ctx.worktree,
                all_gates=all_gates,
                progress=not json_out and sys.stderr.isatty(),
            )
        finally:
            process.INTERRUPTS.uninstall()
        passed = all(r.passed for r in results) and len(results) == len(config.gates)
        if json_out:
            obj = _listing(config, results)
            obj.update(passed=passed, log_dir=str(log_dir))
            output.emit_json(obj)
        else:
            _tell(config, results, passed=passed)
        if process.INTERRUPTS.received is not None:
            return interrupted_exit(process.INTERRUPTS.received)
        return 0 if passed else 1


def _source(config: Config) -> str | None:
    if config.source is None:
        return None
    if config.source.name == "pyproject.toml":
        return "pyproject.toml [tool.git-atomic]"
    return config.source.name


def _rule_object(rule: CoverageRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"report": rule.report, "min": rule.min, "no_regression": rule.no_regression}


def _gate_object(gate: GateSpec, result: GateResult | None, *, ran: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "name": gate.name,
        "run": gate.run if isinstance(gate.run, str) else list(gate.run),
        "timeout": gate.timeout,
        "coverage": _rule_object(gate.coverage),
        "env": dict(gate.env),
    }
    if ran:
        obj["result"] = (
            None
            if result is None
            else {
                "passed": result.passed,
                "exit_code": result.exit_code,
                "duration_s": round(result.duration_s, 3),
                "coverage": result.coverage,
                "message": result.message,
                "output_tail": result.output_tail,
                "log": result.log_path,
            }
        )
    return obj


def _listing(config: Config, results: list[GateResult] | None = None) -> dict[str, Any]:
    by_name = {r.name: r for r in results or []}
    tdd = config.tdd
    return {
        "schema": output.SCHEMA,
        "source": _source(config),
        "history": config.history.value,
        "gates": [
            _gate_object(g, by_name.get(g.name), ran=results is not None) for g in config.gates
        ],
        "tdd": {
            "test": tdd.test if tdd.test is None or isinstance(tdd.test, str) else list(tdd.test),
            "coverage": tdd.coverage,
            "timeout": tdd.timeout,
        },
    }


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
            tail = f"  ({'; '.join(extras)})" if extras else ""
            lines.append(f"  {gate.name:<{width}}  {command_text(gate.run)}{tail}")
    if config.tdd.test is not None:
        extra = f"  (coverage from {config.tdd.coverage})" if config.tdd.coverage else ""
        lines.append(f"tdd test: {command_text(config.tdd.test)}{extra}")
    return "\n".join(lines) + "\n"


def _tell(config: Config, results: list[GateResult], *, passed: bool) -> None:
    if not config.gates:
        output.say("git-atomic: no gates configured; nothing to run")
        return
    for r in results:
        cov = f", coverage {r.coverage:.2f}%" if r.coverage is not None else ""
        if r.passed:
            output.say(f"git-atomic: gate {r.name} passed ({r.duration_s:.1f}s{cov})")
            continue
        output.say(f"git-atomic: gate {r.name} failed: {r.message}")
        if r.output_tail:
            output.say("  " + r.output_tail.replace("\n", "\n  "))
        output.say(f"  full output: {r.log_path}")
    skipped = [g.name for g in config.gates[len(results) :]]
    if process.INTERRUPTS.received is not None:
        output.say("git-atomic: interrupted")
    elif skipped:
        output.say(
            f"git-atomic: not run after the failure: {', '.join(skipped)} "
            "(--all-gates runs every gate)"
        )
    failed = sum(1 for r in results if not r.passed)
    verdict = "all gates pass" if passed else f"{failed} of {len(config.gates)} gates failed"
    output.say(f"git-atomic: {verdict} (a dry run: no operation, nothing recorded)")
