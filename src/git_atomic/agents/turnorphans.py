"""An open turn whose record is gone, rebuilt from its checkpoints' refs.

A call of the turn itself may remove what the hooks keep between calls (`rm -rf .git/atomic`,
or only `.git/atomic/turns`): without its record the turn would end with nothing said, no gate
run, and nothing to take back. Its checkpoints stay, as refs under refs/atomic/turns/<op>/,
numbered in the order they were taken; each one's message names the turn's session and
worktree (`turnstate.turn_message`). So the turn is rebuilt: a `before` followed by an `after`
is a step, a `before` that nothing followed is the window its last call opened. A step that
cannot be told from them (a file tool's window that noted its files, its notes in the record)
is left out: the turn then claims less than it did, never what others changed between its
calls. The rebuilt turn is then judged, or closed, as any other.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

from git_atomic.agents.turnstate import REBUILT, TURN_REFS, Record, Slot, live_turns, session_key
from git_atomic.core.errors import AtomicError
from git_atomic.engine import git

# `turn_message`'s end: the turn's id, its session's key, its worktree.
_TURN_OF: Final = re.compile(r" \[([0-9a-f]+)\] of session ([0-9a-f]{24}) in worktree (.+)$")
_REF: Final = re.compile(r"^([0-9a-f]+)/(\d+)-(before|after)$")
_PLATFORM: Final = re.compile(r"^git-atomic turn [^:]*: (\S+) \[")


def restore(
    repo: git.Repo, session: str, *, worktree: str | None = None, live: set[str] | None = None
) -> list[str]:
    """Write a record again for each open turn of `session` (in `worktree`, or in any) that
    has checkpoint refs and no record (`live`: the turns that have theirs, as the caller read
    them: turnstate.live_turns). Returns the worktrees it wrote one for."""
    if live is None:
        live = live_turns(repo.state_dir, session)
    written = []
    for where, record in _orphans(repo, session, live):
        if worktree is not None and where != worktree:
            continue
        slot = Slot(repo.state_dir, session, where)
        with slot.held():
            if slot.read() is None:
                slot.write(record)
                written.append(where)
    return written


def orphan(repo: git.Repo, session: str, worktree: str) -> Record | None:
    """The newest turn of `session` in `worktree` that has checkpoint refs and no record (the
    caller holds its slot, which is empty)."""
    found = [record for where, record in _orphans(repo, session) if where == worktree]
    return max(found, key=lambda record: record.started_at) if found else None


def _orphans(
    repo: git.Repo, session: str, live: set[str] | None = None
) -> list[tuple[str, Record]]:
    """The session's turns that its checkpoint refs tell of, but those in `live` (turns that
    have their record): (worktree, record) each."""
    try:
        listed = repo.out(
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(creatordate:unix)%00%(subject)",
            TURN_REFS,
        )
    except AtomicError:
        return []
    mine = session_key(session)
    turns: dict[str, list[tuple[int, str, str, float, str, str]]] = {}
    for line in listed.decode("utf-8", "replace").splitlines():
        name, sha, when, subject = [*line.split("\0"), "", "", ""][:4]
        ref = _REF.match(name.removeprefix(TURN_REFS))
        tag = _TURN_OF.search(subject)
        if ref is None or tag is None or tag.group(2) != mine or tag.group(1) != ref.group(1):
            continue
        platform = m.group(1) if (m := _PLATFORM.match(subject)) else "agent"
        try:
            at = float(when)
        except ValueError:
            at = 0.0
        entry = (int(ref.group(2)), ref.group(3), sha, at, tag.group(3), platform)
        turns.setdefault(ref.group(1), []).append(entry)
    found = []
    for op_id, entries in turns.items():
        if live and op_id in live:
            continue  # (its checkpoint's meta is not read)
        entries.sort()
        steps: list[tuple[str, str]] = []
        start: str | None = None
        for _, what, sha, _, _, _ in entries:
            if what == "before":
                start = sha
            elif start is not None:
                steps.append((start, sha))
                start = None
        if not steps and start is None:
            continue
        where, platform = entries[0][4], entries[0][5]
        root = _root_of(repo, entries[0][2])
        if root is None:
            continue
        missing = f"{repo.state_dir / 'turns'}"
        record = Record(
            op_id,
            session,
            platform,
            root,
            entries[0][3],
            steps=tuple(steps),
            window_before=start,
            labels=("its calls (their names were in the record that is gone)",),
            refs=entries[-1][0],
            extra={
                REBUILT: f"this turn's record under {missing} was removed while it ran; "
                f"it was rebuilt from its checkpoints (refs/atomic/turns/{op_id}/)"
            },
        )
        found.append((where, record))
    return found


def _root_of(repo: git.Repo, sha: str) -> str | None:
    """The worktree a checkpoint was taken in (its meta), None when it cannot be read."""
    try:
        meta = json.loads(repo.out("cat-file", "blob", f"{sha}:meta"))
    except (AtomicError, ValueError):
        return None
    root = meta.get("worktree") if isinstance(meta, dict) else None
    return root if isinstance(root, str) and Path(root).is_absolute() else None
