"""Marks of open turns, beside our folder in the common git dir: a turn whose record and refs
were both removed while it ran is told from one that changed nothing."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Final

from git_atomic.agents import turnstate
from git_atomic.core import records, wholefile

_MARK_LIMIT: Final = 64 << 10

# In `Record.extra`, as turnstate.REBUILT: what of the turn was lost before it went on
# (`lost_start`).
LOST: Final = "lost"


def mark_open(state_dir: Path, worktree: str, record: turnstate.Record) -> None:
    """Note that `record`'s turn is open (best effort: a git dir we cannot write only loses
    the note)."""
    with contextlib.suppress(OSError):
        folder = turnstate.marks_folder(state_dir, make=True)
        if folder is None:
            return
        noted = json.dumps({"op_id": record.op_id, "platform": record.platform}) + "\n"
        path = folder / f"{turnstate.session_key(record.session)}.{worktree}"
        wholefile.replace(path, noted.encode("utf-8"))


def open_marks(state_dir: Path, session: str) -> dict[str, dict[str, str]]:
    """The turns `mark_open` noted for `session` (worktree: what it noted): one directory
    listing, none where no turn was ever marked."""
    folder = turnstate.marks_folder(state_dir, make=False)
    if folder is None:
        return {}
    prefix = turnstate.session_key(session) + "."
    found: dict[str, dict[str, str]] = {}
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if not name.startswith(prefix):
                continue
            try:
                data = json.loads(wholefile.read(folder / name, limit=_MARK_LIMIT))
            except (OSError, ValueError):
                data = {}
            noted = data if isinstance(data, dict) else {}
            found[name[len(prefix) :]] = {k: str(v) for k, v in noted.items()}
    return found


def marked_turns(state_dir: Path) -> set[str]:
    """The turns of every session that `mark_open` noted (for `gc`: their refs stay)."""
    folder = turnstate.marks_folder(state_dir, make=False)
    found: set[str] = set()
    if folder is None:
        return found
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                noted = json.loads(wholefile.read(folder / name, limit=_MARK_LIMIT))
                found.add(str(noted.get("op_id", "")))
    return found


def lost_start(state_dir: Path, worktree: str, record: turnstate.Record) -> turnstate.Record:
    """A turn found with no record at a call: when its mark says it was open, its record and
    its refs were removed since (a call of its own), and what it did before is no one's now."""
    mark = open_marks(state_dir, record.session).get(worktree)
    if mark is None:
        return record
    was = mark.get("op_id", "")
    lost = (
        f"this turn's record (under {state_dir / turnstate.TURNS_DIR}) and its checkpoints "
        f"(refs/atomic/turns/{was or '...'}/) were removed while it ran (by one of its calls?): "
        "what it changed before that is not part of it, and stays as it is"
    )
    return records.replace(record, extra={**record.extra, turnstate.REBUILT: lost, LOST: was})


def forget_abandoned_marks(state_dir: Path, cutoff: float) -> int:
    """Remove the marks (`mark_open`) of turns whose record is gone and that no hook call wrote
    since `cutoff`: a session that never came back to end the turn. How many went."""
    folder = turnstate.marks_folder(state_dir, make=False)
    gone = 0
    if folder is None:
        return gone
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            key, _, worktree = name.partition(".")
            when = turnstate.last_call(folder / name)
            if when is None or when >= cutoff or not worktree or worktree.endswith(".tmp"):
                continue
            if os.path.lexists(state_dir / turnstate.TURNS_DIR / key / f"{worktree}.json"):
                continue  # its record: ended with it
            with contextlib.suppress(OSError):
                (folder / name).unlink()
                gone += 1
    return gone
