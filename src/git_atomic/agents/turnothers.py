"""Other writers' changes inside a turn's window whose two ends are known: theirs, not the
turn's.

A window that may change anything (a shell call) takes in everything that changed while it
ran. But a call of another session's turn in the same worktree has checkpoints of its own
before and after it, and so have a rollback or undo (its rescue and its target) and an
operation kept (its PRE-OP and the state it left): each is noted in the worktree's log
(ops/windowlog.py), and a window closing splits its step around those wholly inside it
(`outside_others`), so its turn's take-back leaves their changes as they are. What they
changed in the same lines as the turn's own calls is then an overlap, said as any other. One
that began before the window, or ends after it, stays in it (its checkpoints do not bound what
changed inside), and so does a file tool's call whose window took no capture (its step waits
in its record: turnsteps.PENDING).
"""

from __future__ import annotations

from git_atomic.agents.turnstate import Record
from git_atomic.core.errors import AtomicError
from git_atomic.core.journalrows import CheckpointRow
from git_atomic.core.vocab import CheckpointKind
from git_atomic.engine import git
from git_atomic.ops import windowlog


def note(repo: git.Repo, record: Record, step: tuple[str, str], began: float) -> None:
    """The step a window of `record`'s closed with, for the other sessions' windows."""
    windowlog.note(repo, record.session, step[0], step[1], began)


def outside_others(
    repo: git.Repo, record: Record, step: tuple[str, str], *, since: float, until: float
) -> tuple[Record, list[tuple[str, str]]]:
    """`step` (a window that ran from `since`, its start taken, to `until`, before its end was
    taken) less the others' changes wholly inside it: the parts between them, oldest first.
    Their checkpoints are held by refs of the turn too (theirs may be retired first). The step
    itself where none is inside it, or where their checkpoints cannot be held or read."""
    inside = sorted(
        (
            w
            for w in windowlog.read(repo)
            if w.who != record.session and w.began >= since and w.ended <= until
        ),
        key=lambda w: (w.began, w.ended),
    )
    if not inside:
        return record, [step]
    try:
        ends = {w: _end(repo, w) for w in inside}
        parts: list[tuple[str, str]] = []
        start, free_from = step[0], since
        for window in inside:
            if window.began >= free_from:  # a stretch of ours, then theirs
                parts.append((start, window.before))
                start, free_from = ends[window], window.ended
            elif window.ended > free_from:  # theirs overlapping theirs: one stretch
                start, free_from = ends[window], window.ended
        parts.append((start, step[1]))
        held, lines = record, []
        for sha in sorted({sha for w in inside for sha in (w.before, ends[w])}):
            held, ref = held.next_ref("other")
            lines.append(f"create {ref} {sha}")
        repo.update_refs(lines, message="git-atomic: another writer's checkpoint in a turn")
    except AtomicError:
        return record, [step]
    return held, [p for p in parts if p[0] != p[1]]


def _end(repo: git.Repo, window: windowlog.Window) -> str:
    """The state `window` left: in commits mode, its checkpoint with the visible commit made
    (effect.end_state, a checkpoint object of its own)."""
    if window.commit is None:
        return window.after
    from git_atomic.ops import effect  # (only where an operation kept was inside the window)

    row = CheckpointRow("", 0, CheckpointKind.POST_OP, window.after, "", None, window.commit, 0.0)
    return effect.end_state(repo, row)
