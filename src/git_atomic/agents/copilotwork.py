"""Copilot CLI running Claude Code's hooks file: which of its sessions works now, so that a
subagent's calls go to the subagents' turn of the session that started it.

A subagent runs as a child session whose calls name only the child (`session_id`), never its
parent, and which sends no prompt and no `Stop`. It runs while its parent works: from the
parent's prompt to a `Stop` that lets it stop (one that sends it back keeps it working). Where
exactly one session of the worktree works, a child's calls are that session's subagents' turn,
which only its own `Stop` judges; where none or several do, they go to the worktree's shared
turn, as before (the next `Stop` of any session judges it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from git_atomic.agents.turnsession import forget, remember
from git_atomic.agents.turnstate import TURNS_DIR, session_key

SHARED: Final = "copilot-subagents"  # a child's calls where its parent cannot be told
WORKING: Final = "copilot-working"  # a fact of a session's: it works now


def working(state_dir: Path, session: str) -> None:
    remember(state_dir, session, WORKING)


def idle(state_dir: Path, session: str) -> None:
    forget(state_dir, session, WORKING)


def subagents_of(session: str) -> str:
    """The turn of the subagents `session` started."""
    return f"{SHARED}:{session_key(session)}"


def subagents_turns(session: str) -> tuple[str, str]:
    """The turns `session`'s Stop judges after its own, and its prompt or end closes: its own
    subagents', and those whose parent could not be told."""
    return subagents_of(session), SHARED


def _real(folder: Path) -> bool:
    """A session's folder, not a link to one elsewhere (never looked into)."""
    try:
        return stat.S_ISDIR(os.lstat(folder).st_mode)
    except OSError:
        return False


def subagents_turn(state_dir: Path) -> str:
    """Where a child session's call goes: its working parent's subagents' turn, else SHARED.
    A listing of the sessions' folders and a stat each, on a Copilot subagent's calls only."""
    turns = state_dir / TURNS_DIR
    if os.path.islink(turns):
        return SHARED
    try:
        keys = os.listdir(turns)
    except OSError:
        return SHARED
    busy = [k for k in keys if _real(turns / k) and os.path.lexists(turns / k / WORKING)]
    return f"{SHARED}:{busy[0]}" if len(busy) == 1 else SHARED
