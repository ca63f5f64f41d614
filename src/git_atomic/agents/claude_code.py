"""Claude Code: answer our hooks (installing them is `claude_settings`).

One agent turn is one atomic operation: the first file-changing tool call opens it
(`begin`), every such call is recorded (`checkpoint`), the end of the turn runs the gates
(`commit`) and tells the agent how it went, in the output format Claude Code documents
(see docs/agents-research.md). A safety net must never break the agent: whatever goes
wrong inside git-atomic is reported with exit 0.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from git_atomic.agents import run_cli
from git_atomic.agents.claude_settings import FILE_TOOLS, install, uninstall
from git_atomic.errors import Exit

__all__ = ["FILE_TOOLS", "HookResult", "handle", "hook_cwd", "install", "uninstall"]

OP_PREFIX: Final = "claude-turn-"


@dataclass(frozen=True)
class HookResult:
    exit_code: int
    stdout: str
    stderr: str


QUIET: Final = HookResult(0, "", "")


def handle(event: str, payload: Mapping[str, Any], *, cwd: Path) -> HookResult:
    """Answer one hook call; `payload` is the JSON object Claude Code sent on stdin."""
    session = _text(payload.get("session_id")) or "unknown"
    turn = _Turn(session, cwd)
    if event == "PreToolUse":
        return _pre_tool_use(turn, payload) if _changes_files(payload) else QUIET
    if event == "PostToolUse":
        return _post_tool_use(turn, payload) if _changes_files(payload) else QUIET
    if event == "Stop":
        return _stop(turn, stop_hook_active=_flag(payload.get("stop_hook_active")))
    return QUIET


def hook_cwd(payload: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Path:
    """The worktree a hook acts on: the project Claude Code was started in.

    `$CLAUDE_PROJECT_DIR` stays put when the agent `cd`s around; the payload's `cwd` follows it.
    """
    for candidate in (environ.get("CLAUDE_PROJECT_DIR"), _text(payload.get("cwd"))):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path.cwd()


# --- the three events ------------------------------------------------------------------------


def _pre_tool_use(turn: _Turn, payload: Mapping[str, Any]) -> HookResult:
    begun = run_cli("begin", [turn.op_name], cwd=turn.cwd)
    if begun.exit_code == Exit.OK:
        turn.remember(_text((begun.data or {}).get("op_id")))
        return QUIET
    if begun.exit_code == Exit.REFUSED and turn.remembered() is not None:
        return QUIET  # our operation is open already: the turn goes on (checked at PostToolUse)
    why = _busy_with_ours(turn) if begun.exit_code == Exit.REFUSED else begun.error_line
    if why is None:
        return QUIET
    return _warn(f"this {_tool(payload)} call is not protected: {why or begun.error_line}")


def _post_tool_use(turn: _Turn, payload: Mapping[str, Any]) -> HookResult:
    ours = turn.remembered()
    if ours is None:
        return QUIET  # the turn has no operation of ours (PreToolUse said why)
    message = _describe(payload, turn.cwd)
    done = run_cli("checkpoint", ["-m", message], cwd=turn.cwd)
    op_id = _text((done.data or {}).get("op_id"))
    if done.exit_code != Exit.OK:
        turn.forget()
        return _warn(f"could not record '{message}': {done.error_line}")
    if ours and op_id and op_id != ours:
        turn.forget()
        return _warn(
            f"'{message}' was recorded in operation {op_id}, which this session did "
            "not open; the rest of this turn is not protected"
        )
    if not ours and op_id:
        turn.remember(op_id)
    return QUIET


def _stop(turn: _Turn, *, stop_hook_active: bool) -> HookResult:
    if turn.remembered() is None:
        return QUIET  # nothing changed files this turn
    done = run_cli("commit", cwd=turn.cwd)
    turn.forget()
    data = done.data or {}
    op = _text(data.get("op_id")) or turn.op_name
    if done.exit_code == Exit.OK:
        gates = [g.get("name") for g in _dicts(data.get("gates")) if g.get("passed")]
        passed = f" (gates passed: {', '.join(map(str, gates))})" if gates else ""
        return _json(
            {"systemMessage": f"git-atomic: this turn is committed as operation {op}{passed}"}
        )
    if done.exit_code != Exit.FAILED:
        return _warn(f"could not finish this turn's operation {op}: {done.error_line}")
    what = _failure(data)
    checkpoints = data.get("checkpoints")
    rescue = _text(checkpoints.get("rescue")) if isinstance(checkpoints, dict) else ""
    kept = f" (kept as checkpoint {rescue[:12]})" if rescue else ""
    summary = f"git-atomic: {what}; this turn's changes were rolled back{kept}"
    if stop_hook_active:  # Claude already continued once for a Stop hook: do not loop
        return _json({"systemMessage": f"{summary}. `git atomic undo` brings them back."})
    reason = (
        f"{summary}, so the files are as they were before this turn.\n"
        f"{_gate_output(data, done.stderr_tail())}"
        f"`git atomic show {op} --diff` shows the changes that were rolled back. "
        "Fix the cause and make the change again; the checks run again when you finish."
    )
    return _json({"decision": "block", "reason": reason, "systemMessage": summary})


# --- the turn: which operation this session opened ---------------------------------------------


class _Turn:
    """What this session's hooks know between calls: the id of the operation they opened.

    A small file outside the repository (never captured by a checkpoint), so that PostToolUse
    and Stop touch only an operation this session opened, never one a person opened by hand.
    """

    def __init__(self, session: str, cwd: Path) -> None:
        self.session = session
        self.cwd = cwd
        short = re.sub(r"[^A-Za-z0-9]", "", session)[:8] or "unknown"
        self.op_name = OP_PREFIX + short
        digest = hashlib.sha256(f"{session}\0{cwd.resolve()}".encode()).hexdigest()[:32]
        self.path = _state_dir() / f"{digest}.json"

    def remembered(self) -> str | None:
        """The op id we opened ('' when not known yet), or None when we opened none."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return _text(data.get("op_id")) if isinstance(data, dict) else None

    def remember(self, op_id: str) -> None:
        record = {
            "op_id": op_id,
            "name": self.op_name,
            "cwd": str(self.cwd),
            "session_id": self.session,
        }
        with contextlib.suppress(OSError):  # without it the turn is still protected, less tidily
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(record, out)
            os.replace(tmp, self.path)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


def _state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".local" / "state")
        except RuntimeError:  # no home directory at all
            base = tempfile.gettempdir()
    return Path(base) / "git-atomic" / "claude-code"


def _busy_with_ours(turn: _Turn) -> str | None:
    """None when the open operation is this session's after all, else why begin was refused.

    Asked only when begin was refused and we remember no operation: off the common path.
    """
    status = run_cli("status", cwd=turn.cwd).data or {}
    open_op, interrupted = status.get("open"), status.get("interrupted")
    if isinstance(open_op, dict) and open_op.get("name") == turn.op_name:
        turn.remember(_text(open_op.get("op_id")))
        return None
    if isinstance(interrupted, dict):
        return (
            f"operation {interrupted.get('op_id')} ({interrupted.get('name')}) was "
            "interrupted; run `git atomic recover`"
        )
    return ""


# --- payload helpers: every field may be missing or of the wrong type -------------------------


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _flag(value: object) -> bool:
    return value not in (None, False, "", "false")


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _changes_files(payload: Mapping[str, Any]) -> bool:
    tool = payload.get("tool_name")
    return not isinstance(tool, str) or tool in FILE_TOOLS  # unknown: protect rather than not


def _tool(payload: Mapping[str, Any]) -> str:
    return _text(payload.get("tool_name")) or "tool"


def _describe(payload: Mapping[str, Any], cwd: Path) -> str:
    """`<tool>: <what>` for the checkpoint message, one line, short."""
    tool_input = payload.get("tool_input")
    fields: Mapping[str, Any] = tool_input if isinstance(tool_input, Mapping) else {}
    what = ""
    for key in ("file_path", "notebook_path"):
        if _text(fields.get(key)):
            what = _relative(fields[key], cwd)
            break
    else:
        what = _text(fields.get("description")) or _text(fields.get("command"))
    what = " ".join(what.split())
    what = what if len(what) <= 60 else what[:59] + "…"
    return f"{_tool(payload)}: {what}" if what else _tool(payload)


def _relative(path: str, cwd: Path) -> str:
    try:
        return str(Path(path).relative_to(cwd))
    except ValueError:
        return path


def _failure(data: Mapping[str, Any]) -> str:
    failed = [g for g in _dicts(data.get("gates")) if g.get("passed") is False]
    if failed:
        return "; ".join(
            f"gate '{g.get('name')}' failed (exit {g.get('exit_code')})" for g in failed
        )
    phase = _text(data.get("failed_phase")) or "validate"
    return {"timeout": "a gate timed out", "interrupt": "the gates were interrupted"}.get(
        phase, f"the operation failed in phase '{phase}'"
    )


def _gate_output(data: Mapping[str, Any], stderr_tail: str) -> str:
    """The failed gates' output tails (from the JSON when the CLI gives them, else its stderr)."""
    tails = []
    for gate in _dicts(data.get("gates")):
        output = _text(gate.get("output_tail")) or _text(gate.get("output"))
        if gate.get("passed") is False and output.strip():
            tails.append(f"Output of gate '{gate.get('name')}' (tail):\n{output[-2000:]}\n")
    if not tails and stderr_tail.strip():
        tails = [f"git-atomic's output (tail):\n{stderr_tail}\n"]
    return "".join(tails)


def _warn(message: str) -> HookResult:
    return _json({"systemMessage": f"git-atomic: {message}"}, stderr=f"git-atomic: {message}\n")


def _json(output: Mapping[str, Any], *, stderr: str = "") -> HookResult:
    return HookResult(0, json.dumps(output, ensure_ascii=False) + "\n", stderr)
