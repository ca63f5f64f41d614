"""What the turn engine's answers say, in words every adapter shares.

Each adapter puts these texts into its platform's fields: a line for the person (`summary`),
and what the model must know (`for_agent`): what failed, with the gate's output, and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from git_atomic.agents.judge import GateLine, Outcome, Verdict


@dataclass(frozen=True)
class HookResult:
    exit_code: int
    stdout: str
    stderr: str


QUIET = HookResult(0, "", "")


def reply(output: object, *, stderr: str = "") -> HookResult:
    """One JSON object on stdout, exit 0: a safety net never breaks the agent."""
    return HookResult(0, json.dumps(output, ensure_ascii=False) + "\n", stderr)


def summary(verdict: Verdict, project: Path | None = None) -> str:
    """One line for the person (naming the worktree when it is not `project`)."""
    where = _where(verdict, project)
    op = verdict.op_id
    if verdict.outcome is Outcome.COMMITTED:
        passed = [g.name for g in verdict.gates]
        gates = f" (gates passed: {', '.join(passed)})" if passed else ""
        return f"git-atomic: this turn is committed as operation {op}{where}{gates}"
    if verdict.outcome is Outcome.KEPT:
        names = ", ".join(g.name for g in verdict.failed)
        return (
            f"git-atomic: this turn is kept as operation {op}{where}: gate {names} already "
            "failed before it, and it broke no gate that passed"
        )
    if verdict.outcome is Outcome.ROLLED_BACK:
        kept = f" (kept as checkpoint {verdict.rescue[:12]})" if verdict.rescue else ""
        return (
            f"git-atomic: {_failures(verdict.failed)}; this turn's changes were rolled back"
            f"{where}{kept}"
        )
    if verdict.outcome is Outcome.CONFLICT:
        return (
            f"git-atomic: {_failures(verdict.failed)}, but this turn's changes could not be "
            f"taken back{where}: {verdict.message}"
        )
    if verdict.outcome is Outcome.CLOSED:
        return f"git-atomic: the last turn ({verdict.message}) is recorded as operation {op}{where}"
    return f"git-atomic: this turn is not judged{where}: {verdict.message}"


def for_agent(verdict: Verdict, project: Path | None = None, *, again: bool) -> str:
    """What the model reads when the turn failed (`again`: it already tried once)."""
    lines = [summary(verdict, project).removeprefix("git-atomic: ")]
    if verdict.outcome is Outcome.ROLLED_BACK:
        lines.append(
            "Only this turn's own changes were taken back; changes made by others between "
            "your tool calls are still there."
        )
    lines += [_tail(g) for g in verdict.failed if g.output_tail.strip()]
    lines += [
        f"Gate '{g.name}' already failed before this turn; it is not held against you."
        for g in verdict.failed
        if g.passed_at_start is False
    ]
    lines.append(f"`git atomic show {verdict.op_id} --diff` shows what this turn changed.")
    if again:
        lines.append(
            "This was a second attempt. Do not change files again in this turn: tell the user "
            "what failed and what you tried (`git atomic undo` brings the changes back)."
        )
    elif verdict.outcome is Outcome.ROLLED_BACK:
        lines.append(
            "Fix the cause and make the change again; the checks run again when you finish."
        )
    return "\n".join(lines)


def notes(verdict: Verdict) -> list[str]:
    """Facts the person should know besides the outcome."""
    found = []
    if verdict.unprotected:
        found.append("not protected: " + ", ".join(verdict.unprotected))
    if verdict.background:
        found.append(
            "a background task started in this turn may still be changing files; what it "
            "changes from now on is not part of this turn: " + ", ".join(verdict.background)
        )
    return [f"git-atomic: {n}" for n in found]


def failed(verdict: Verdict) -> bool:
    return verdict.outcome in (Outcome.ROLLED_BACK, Outcome.CONFLICT)


def _failures(failed_gates: tuple[GateLine, ...]) -> str:
    if not failed_gates:
        return "the gates were interrupted"
    return "; ".join(
        f"gate '{g.name}' failed ({g.message or f'exit {g.exit_code}'})" for g in failed_gates
    )


def _tail(gate: GateLine) -> str:
    return f"Output of gate '{gate.name}' (tail):\n{gate.output_tail[-2000:].rstrip()}"


def _where(verdict: Verdict, project: Path | None) -> str:
    if not verdict.root or (project is not None and Path(verdict.root) == project):
        return ""
    return f" in worktree {verdict.root}"
