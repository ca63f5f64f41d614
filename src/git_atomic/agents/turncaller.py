"""Which open turn's tool call runs this command: an agent's shell tool gives its commands its
platform's variable (holding the session's id, where the platform's does), so that `begin` in
the turn's shell is told for the turn's own and a bare `rollback` from it is not refused as
another session's (commands/session.py, commands/theirs.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from git_atomic.agents.turnstate import TURNS_DIR, Record, real_folder, record_at

# In an operation's journal detail: the agent turn whose tool call opened it (`git atomic begin`
# in the turn's shell), so that the turn's end tells its own open operation from yours.
OPENED_IN_TURN: Final = "opened_in_turn"
# The variable each platform sets in the environment of its shell tool's commands, and whether
# its value is the session's own id (the hooks' `session_id`), which then names the turn even
# among several in flight: Claude Code's `CLAUDECODE=1` (code.claude.com/docs/en/env-vars),
# Gemini CLI's `GEMINI_CLI=1` (google-gemini/gemini-cli docs/tools/shell.md), Codex's
# `CODEX_THREAD_ID`, its thread's id (openai/codex codex-rs/core/src/exec_env.rs: set for every
# command its shell, unified exec and user shell run, even under a shell_environment_policy's
# include_only), which is the hooks' `session_id` in a session's root thread; a subagent's
# thread has an id of its own, its hooks the session's ("the identity shared by the root thread
# and all descendant threads", `Session::session_id` in openai/codex core), which newer releases
# give its commands as `CODEX_SESSION_ID`. Cursor, Copilot CLI and OpenHands document none
# (docs/agents.md).
_SHELL_MARKS: Final[dict[str, tuple[tuple[str, ...], bool]]] = {
    "claude-code": (("CLAUDECODE",), False),
    "gemini": (("GEMINI_CLI",), False),
    "codex": (("CODEX_THREAD_ID", "CODEX_SESSION_ID"), True),
}
SHELL_VARIABLES: Final = tuple(mark for marks, _ in _SHELL_MARKS.values() for mark in marks)


def calling_turn(state_dir: Path, worktree: str, environ: Mapping[str, str]) -> Record | None:
    """The open turn whose tool call is running this command: its platform's variable is in
    the environment (holding the turn's session id, where the platform's does), and it is the
    only such turn in this worktree with a call in flight. None when it cannot be told (no
    such turn, or several at once): the operation is then taken for yours, as any."""
    folder = state_dir / TURNS_DIR
    found = []
    with contextlib.suppress(OSError):
        for key in os.listdir(folder):
            if not real_folder(folder / key, make=False):
                continue
            with contextlib.suppress(OSError, ValueError):
                record = record_at(folder / key / f"{worktree}.json")
                if record is not None and record.in_flight and _marked(record, environ):
                    found.append(record)
    return found[0] if len(found) == 1 else None


def _marked(record: Record, environ: Mapping[str, str]) -> bool:
    marks, names_session = _SHELL_MARKS.get(record.platform, ((), False))
    values = [value for mark in marks if (value := environ.get(mark))]
    return bool(values) and (not names_session or record.session in values)
