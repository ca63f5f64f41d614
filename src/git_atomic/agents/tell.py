"""What the turn engine's answers say, in words every adapter shares.

Each adapter puts these texts into its platform's fields: a line for the person (`summary`),
and what the model must know (`for_agent`): what failed, with the gate's output, and what to do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from git_atomic.agents.turnsession import (
    blocks_in_a_row,
    put_note,
    remember,
    remembers,
    take_note,
)
from git_atomic.core.errors import AtomicError, system_refusal
from git_atomic.core.records import dataclass

if TYPE_CHECKING:
    from git_atomic.agents.hookfiles import Layout
    from git_atomic.agents.judge import GateLine, Verdict

# The judge (the journal, the gates) is imported only by the answers that speak of a verdict:
# a tool call's hook, which runs on every call of the agent, needs none of it.

# A turn end that fails again and again sends the model back at most this many times in a row.
MAX_BLOCKS = 3


@dataclass(frozen=True)
class HookResult:
    exit_code: int
    stdout: str
    stderr: str


QUIET = HookResult(0, "", "")


def reply(output: object, *, stderr: str = "") -> HookResult:
    """One JSON object on stdout, exit 0: a safety net never breaks the agent."""
    text = json.dumps(output, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the payload (a session id, a path)
        from git_atomic.core import jsontext

        # U+FFFD for it: `"\\udcff"` is JSON that a strict parser (Codex's, in Rust) refuses.
        text = json.dumps(jsontext.clean(output), ensure_ascii=False)
    return HookResult(0, text + "\n", stderr.encode("utf-8", "backslashreplace").decode())


def failure(exc: Exception) -> str:
    """What an adapter says when answering failed: our own refusal as it is, anything else
    as an internal error, its details in a log file (the agent goes on: exit 0)."""
    if isinstance(exc, AtomicError):
        return str(exc)
    full = system_refusal(exc)
    if full is not None:
        return f"{full} ({full.hint})"
    from git_atomic.core import errorlog

    path = errorlog.write(exc, argv=sys.argv)
    return f"internal error: {type(exc).__name__}: {exc} — details in {path}"


def here() -> Path | None:
    """The hook's own folder, or None when it is gone (removed under a running agent)."""
    try:
        return Path.cwd()
    except OSError:
        return None


@dataclass(frozen=True)
class Ending:
    """What to answer at the end of a turn: nothing, a line for the person, and maybe the
    instruction that sends the model back to work (`send_back`)."""

    shown: str = ""
    send_back: str = ""


def ending(
    state_dir: Path, session: str, verdicts: list[Verdict], project: Path, *, again: bool
) -> Ending:
    """The answer to a turn's end. A turn that changed nothing gets none; a failed one sends
    the model back, at most MAX_BLOCKS times in a row, after which the model reads it with the
    session's next prompt (`opening`)."""
    if not verdicts:
        blocks_in_a_row(state_dir, session, add=False)
        return Ending()
    shown = lines(verdicts, project)
    failures = [v for v in verdicts if failed(v)]
    if not failures:
        blocks_in_a_row(state_dir, session, add=False)
        return Ending(shown)
    reason = "\n\n".join(for_agent(v, project, again=again) for v in failures)
    if interrupted():
        # SIGTERM while the turn was judged: the platform gave up on this hook (its timeout ends
        # a hook so) and reads no answer from it, so the model was never told that its turn's
        # changes were taken back. The session's next prompt tells it (`opening`).
        put_note(state_dir, session, reason)
    if blocks_in_a_row(state_dir, session, add=True) > MAX_BLOCKS:
        put_note(state_dir, session, reason)
        return Ending(shown)
    return Ending(shown, reason)


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM came while this hook ran."""
    from git_atomic.core.children import INTERRUPTS

    return INTERRUPTS.received is not None


def opening(state_dir: Path, session: str, closed: list[Verdict], project: Path) -> str:
    """What the model should know as a new prompt starts: a turn left open that was just
    closed, and a note the last turn's end could not deliver."""
    context = [summary(v, project) for v in closed]
    note = take_note(state_dir, session)
    if note:
        context.append(f"git-atomic, about your previous turn: {note}")
    return "\n".join(context)


# The session was told once that its platform's hooks file lacks some of our hooks.
HOOKS_LOOKED_AT = "hooks-file-looked-at"


def stale_hooks(state_dir: Path, session: str, layout: Layout, project: Path) -> str:
    """At a session's first prompt: the hooks an older git-atomic did not install, or wrote
    otherwise, in the project's hooks file (so where a window ends, a turn closes, as this
    release would), and the command that adds them; '' where none lacks. Once per session: a stat at
    each later prompt, never on a tool call."""
    if remembers(state_dir, session, HOOKS_LOOKED_AT):
        return ""
    remember(state_dir, session, HOOKS_LOOKED_AT)
    from git_atomic.agents import hookfiles

    gone = hookfiles.lacking(layout, project)
    if not gone:
        return ""
    return (
        f"git-atomic: {layout.path} lacks the hooks {', '.join(gone)} as this git-atomic"
        f" installs them (an older one wrote it): run `{hookfiles.reinstall(layout, project)}`,"
        " then"
        f" {layout.restart}"
    )


def lines(verdicts: list[Verdict], project: Path | None = None) -> str:
    found = []
    for verdict in verdicts:
        found += [summary(verdict, project), *notes(verdict)]
    return "\n".join(found)


def summary(verdict: Verdict, project: Path | None = None) -> str:
    """One line for the person (naming the worktree when it is not `project`)."""
    from git_atomic.agents.judge import Outcome

    where = _where(verdict, project)
    op = verdict.op_id
    if verdict.outcome is Outcome.COMMITTED:
        passed = [g.name for g in verdict.gates]
        gates = f" (gates passed: {', '.join(passed)})" if passed else ""
        return f"git-atomic: this turn is kept as operation {op}{where}{gates}{_commit(verdict)}"
    if verdict.outcome is Outcome.KEPT:
        names = ", ".join(g.name for g in verdict.failed)
        return (
            f"git-atomic: this turn is kept as operation {op}{where}: gate {names} fails "
            f"without its changes too, and it broke no gate that passed{_commit(verdict)}"
        )
    if verdict.outcome is Outcome.ROLLED_BACK:
        kept = f" (kept as checkpoint {verdict.rescue[:12]})" if verdict.rescue else ""
        but = f"; but {verdict.message}" if verdict.message else ""
        return (
            f"git-atomic: {verdict.cause or _failures(verdict.failed)}; this turn's changes "
            f"were rolled back{where}{kept}{but}"
        )
    if verdict.outcome is Outcome.CONFLICT:
        return (
            f"git-atomic: {verdict.cause or _failures(verdict.failed)}, but this turn's "
            f"changes could not be taken back{where}: {verdict.message}"
        )
    if verdict.outcome is Outcome.OWN_OPEN:
        return (
            f"git-atomic: this turn opened operation {verdict.message}{where} (`git atomic "
            "begin`) and left it open; the turn is judged once it is finished: `git atomic "
            "commit` runs its gates and makes it final, `git atomic abort` takes it back"
        )
    if verdict.outcome is Outcome.CLOSED:
        left = f"the turn left open ({verdict.message})"
        return f"git-atomic: {left} is recorded as operation {op}{where}"
    return f"git-atomic: this turn is not judged{where}: {verdict.message}"


def for_agent(verdict: Verdict, project: Path | None = None, *, again: bool) -> str:
    """What the model reads when the turn failed (`again`: it already tried once)."""
    from git_atomic.agents.judge import Outcome

    lines = [summary(verdict, project).removeprefix("git-atomic: ")]
    if verdict.outcome is Outcome.OWN_OPEN:
        lines.append(
            "Tell the user it is still open, and why."
            if again
            else "Finish that operation in this turn (commit or abort it), then end the turn."
        )
        return "\n".join(lines)
    if verdict.outcome is Outcome.ROLLED_BACK:
        lines.append(
            "Only this turn's own changes were taken back; changes made by others between "
            "your tool calls are still there."
        )
    lines += [_tail(g) for g in verdict.failed if g.output_tail.strip()]
    lines += [
        f"Gate '{g.name}' fails without this turn's changes too; it is not held against you."
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
    found = [verdict.notice] if verdict.notice else []
    if verdict.unprotected:
        found.append("not protected: " + ", ".join(verdict.unprotected))
    if verdict.background:
        found.append(
            "a background task started in this turn may still be changing files; what it "
            "changes from now on is not part of this turn: " + ", ".join(verdict.background)
        )
    return [f"git-atomic: {n}" for n in found]


def failed(verdict: Verdict) -> bool:
    from git_atomic.agents.judge import Outcome

    return verdict.outcome in (Outcome.ROLLED_BACK, Outcome.CONFLICT, Outcome.OWN_OPEN)


def _commit(verdict: Verdict) -> str:
    if verdict.commit:
        return f"; committed as {verdict.commit[:12]}"
    if verdict.not_committed:
        return f"; not committed ({verdict.not_committed}): its changes are in the working tree"
    return ""


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


def running_shells(payload: Mapping[str, Any]) -> str:
    """Claude Code's Stop's `background_tasks`: shell commands still running may go on changing
    files."""
    tasks = payload.get("background_tasks")
    shells = [
        next((v for k in ("command", "description", "id") if isinstance(v := t.get(k), str)), "")
        for t in (tasks if isinstance(tasks, list) else [])
        if isinstance(t, dict)
        and t.get("type") == "shell"
        and t.get("status") in ("running", "pending")
    ]
    if not shells:
        return ""
    return (
        "git-atomic: still running in the background, and not part of this turn from now on: "
        + "; ".join(shells)
    )
