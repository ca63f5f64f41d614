"""Other writers' changes inside a turn's window whose two ends are known: theirs, not the
turn's.

A window that may change anything (a shell call) takes in everything that changed while it
ran. But a call of another session's turn in the same worktree has checkpoints of its own
before and after it, and so have a rollback or undo (its rescue and its target) and an
operation kept (its PRE-OP and the state it left): each is noted in the worktree's log
(ops/windowlog.py), and a window closing splits its step around those that ended inside it
(`outside_others`), so its turn's take-back leaves their changes as they are. What they
changed in the same lines as the turn's own calls is then an overlap, said as any other. A
file tool's window of another session's that took no capture (its step waits in its record:
turnfiles.PENDING) notes its files as they were before and after it; the stretch it falls in
is cut around it file by file (`_around_files`). One that began before the window and ended
inside it takes the window's start with it (what changed while both ran is in both; the
other may be kept already). One that began inside the window and is open still when it
closes (its Pre seen, its Post not yet) is read from its turn's record (`_still_open`): a
file tool's files are its own, as if it ended with the window, which its Post then takes as
its step (one that began before the window: its files from the window's start). One that
may change anything (a shell call), open still, begun inside the window or before it, makes
what changed while both ran neither's: the window keeps what changed before it began alone,
and the other, closing, leaves to this one what changed until it ended. No platform says
which shell wrote a file: a file in doubt is kept, and the verdict says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from git_atomic.agents import turnkeys, turnstate
from git_atomic.agents.turnstate import SUBAGENTS_TURN, Record, turn_message
from git_atomic.core import records
from git_atomic.core.errors import AtomicError
from git_atomic.core.journalrows import CheckpointRow
from git_atomic.core.vocab import CheckpointKind
from git_atomic.engine import git

if TYPE_CHECKING:  # (a file tool's later PreToolUse reads no checkpoint and no window log)
    from git_atomic.ops import windowlog


def note(repo: git.Repo, record: Record, step: tuple[str, str], began: float) -> None:
    """The step a window of `record`'s closed with, for the other sessions' windows (not a
    subagent's: its parent's window around it holds it, turnstate.SUBAGENTS_TURN)."""
    if record.session == SUBAGENTS_TURN:
        return
    from git_atomic.ops import windowlog

    windowlog.note(repo, record.session, step[0], step[1], began)


def note_files(
    repo: git.Repo,
    record: Record,
    files: tuple[Mapping[str, object], Mapping[str, object]],
    began: float,
) -> None:
    """A file tool's window of `record`'s that closed with no capture: its files before and
    after (turnfiles.PENDING), for the other sessions' windows."""
    if record.session == SUBAGENTS_TURN:
        return
    from git_atomic.ops import windowlog

    windowlog.note_files(repo, record.session, files, began, time.time())


def outside_others(
    repo: git.Repo, record: Record, step: tuple[str, str], *, since: float, until: float
) -> tuple[Record, list[tuple[str, str]]]:
    """`step` (a window that ran from `since`, its start taken, to `until`, before its end was
    taken) less the others' changes that ended inside it: the parts between them, oldest
    first. One that began before it takes what changed until it ended (its window holds that
    too, and it may be kept: never taken back by this one's take-back).
    Their checkpoints are held by refs of the turn too (theirs may be retired first). The step
    itself where none is inside it, or where their checkpoints cannot be held or read."""
    from git_atomic.ops import windowlog

    mine = record.session
    ended = [w for w in windowlog.read(repo) if w.who != mine and since < w.ended <= until]
    try:
        still = _still_open(repo, record, step, since, until)
        inside = sorted([*ended, *still], key=lambda w: (w.began, w.ended))
        if not inside:
            return record, [step]
        held, parts = _split(repo, record, step, since, inside)
    except AtomicError:
        return record, [step]
    if any(w.before for w in still):  # a shell call of another session's open across it
        said = held.extra.get(_SAID)
        lines = [str(x) for x in said] if isinstance(said, list) else []
        if NEITHERS not in lines:
            held = records.replace(held, extra={**held.extra, _SAID: [*lines, NEITHERS]})
    return held, [p for p in parts if p[0] != p[1]]


# What the turn's verdict says beside it (turnbeside.SAID, not imported on a call's path).
_SAID: Final = "said"
NEITHERS: Final = (
    "what changed while a shell call of another session's ran too is neither turn's: kept as "
    "it is, not taken back with this turn"
)


def kept_as_neithers(record: Record) -> bool:
    """Whether a window of the turn was cut around another session's shell call open across
    it (what changed while both ran: neither's), for a turn left with no step of its own."""
    said = record.extra.get(_SAID)
    return isinstance(said, list) and NEITHERS in said


def _still_open(
    repo: git.Repo, record: Record, step: tuple[str, str], since: float, until: float
) -> list[windowlog.Window]:
    """The windows of other sessions' turns in this worktree that began inside `step` (after
    `since`), are open still (a call's Pre seen, its Post not yet) and claim their files (file
    tools), as if they ended with it (`until`, at `step`'s end): what they changed in those
    files is their own when their Post comes, never this turn's. Read from their records: no
    git process where none is open."""
    from git_atomic.ops import windowlog

    found = []
    for _, other, _ in turnstate.slots_in(repo.state_dir, repo.worktree_id):
        start, extra = other.window_before, other.extra
        if other.session in (record.session, SUBAGENTS_TURN) or not other.in_flight or not start:
            continue  # (a subagent's call is its parent's: turnstate.SUBAGENTS_TURN)
        state = extra.get(turnkeys.WINDOW_STATE)
        when = (
            extra.get(turnkeys.NOTED_AT)
            if start == turnkeys.FILES_NOTED
            else state.get(turnkeys.BEGAN)
            if isinstance(state, dict)
            else None
        )
        if not isinstance(when, float):
            continue
        claims, noted = extra.get(turnkeys.CLAIMS), extra.get(turnkeys.NOTED)
        if start != turnkeys.FILES_NOTED and not isinstance(claims, list):
            # A call that may change anything, open across this window's end: what changed
            # while both ran is neither's (the other, closing, leaves to this one what
            # changed until this one ended), kept by both take-backs. This window keeps
            # only what changed before the other began; one open since before it, nothing.
            theirs = start if when > since else step[0]
            found.append(windowlog.Window(other.session, theirs, step[1], when, until, None))
            continue
        if start == turnkeys.FILES_NOTED:
            if not isinstance(noted, dict):
                continue  # (no such record: a window that noted files notes them)
            before: dict[str, object] = dict(noted)
        else:
            before = _files_at(repo, start, [str(p) for p in claims or ()])
        if when <= since:  # open since before this window: its files from this one's start
            before = _files_at(repo, step[0], list(before))
        after = _files_at(repo, step[1], list(before))
        began = max(when, since)
        found.append(windowlog.Window(other.session, "", "", began, until, None, before, after))
    return found


def _files_at(repo: git.Repo, sha: str, paths: list[str]) -> dict[str, object]:
    """The files `paths` name in the checkpoint `sha`: path -> [mode, blob], or None where
    there is none (or a folder, a submodule: a file tool writes a file)."""
    from git_atomic.engine import checkpoint

    tree = checkpoint.load(repo, sha).files_tree
    there = {
        e.path: [e.mode, e.oid]
        for e in repo.ls_tree_at(tree, [os.fsencode(p) for p in paths])
        if e.kind == "blob"
    }
    return {p: there.get(os.fsencode(p)) for p in paths}


def _split(
    repo: git.Repo,
    record: Record,
    step: tuple[str, str],
    since: float,
    inside: list[windowlog.Window],
) -> tuple[Record, list[tuple[str, str]]]:
    """The stretches of `step` between the windows with checkpoints (`inside`, oldest first),
    each cut again around the file tools' windows that fall in it (`_around_files`)."""
    full = [w for w in inside if w.before and w.after]
    files = [w for w in inside if not w.before and w.files_before is not None]
    ends = {w: _end(repo, w) for w in full}
    stretches: list[tuple[str, str, float, float]] = []  # start, end, and when
    start, free_from = step[0], since
    for window in full:
        if window.began >= free_from:  # a stretch of ours, then theirs
            stretches.append((start, window.before, free_from, window.began))
            start, free_from = ends[window], window.ended
        elif window.ended > free_from:  # theirs overlapping theirs: one stretch
            start, free_from = ends[window], window.ended
    stretches.append((start, step[1], free_from, float("inf")))
    held, parts, shas = record, [], {sha for w in full for sha in (w.before, ends[w])}
    for begin, end, t0, t1 in stretches:
        noted = [w for w in files if w.began >= t0 and w.ended <= t1]
        held, cut = _around_files(repo, held, begin, end, noted) if noted else (held, [])
        shas.update(cut)
        parts += list(zip([begin, *cut[1::2]], [*cut[0::2], end], strict=True))
    lines = []
    for sha in sorted(shas):
        held, ref = held.next_ref("other")
        lines.append(f"create {ref} {sha}")
    repo.update_refs(lines, message="git-atomic: another writer's checkpoint in a turn")
    return held, parts


def _around_files(
    repo: git.Repo, record: Record, begin: str, end: str, noted: list[windowlog.Window]
) -> tuple[Record, list[str]]:
    """The checkpoints just before and just after each of `noted` (file tools' windows, oldest
    first) in the stretch from `begin` to `end`, as the turn's pending steps are written
    (turnfiles.settle): `end` with the files each names as they were before it, then after,
    from the newest back. So the stretch's change less theirs, file by file. [] where `end`
    lists a file too large to hold, or a special file one of them names (no such window names
    one). A FIFO or a socket elsewhere (the walk of the folders notes every one of yours) is
    the same in every checkpoint cut from `end`: no reason to keep another session's files."""
    from git_atomic.engine import checkpoint

    last = checkpoint.load(repo, end)
    if last.too_large:
        return record, []
    if last.specials:
        named = {
            os.fsencode(path)
            for window in noted
            for files in (window.files_after, window.files_before)
            for path in files or {}
        }
        if named & set(checkpoint.load_specials(repo, last)):
            return record, []
    so_far: dict[bytes, tuple[str, str] | None] = {}
    edits: list[dict[bytes, tuple[str, str] | None]] = []
    for window in reversed(noted):
        for files in (window.files_after, window.files_before):
            for path, entry in (files or {}).items():
                so_far[os.fsencode(path)] = (
                    (str(entry[0]), str(entry[1])) if isinstance(entry, list) else None
                )
            edits.append(dict(so_far))
    message = turn_message(repo.worktree_id, record, "another session's file tool: its files")
    cut = []
    for tree in repo.tree_edits(last.files_tree, edits[::-1]):
        parts = records.replace(last, files_tree=tree)
        cut.append(checkpoint.write(repo, parts, message=message).commit)
    return record, cut


def _end(repo: git.Repo, window: windowlog.Window) -> str:
    """The state `window` left: in commits mode, its checkpoint with the visible commit made
    (effect.end_state, a checkpoint object of its own)."""
    if window.commit is None:
        return window.after
    from git_atomic.ops import effect  # (only where an operation kept was inside the window)

    row = CheckpointRow("", 0, CheckpointKind.POST_OP, window.after, "", None, window.commit, 0.0)
    return effect.end_state(repo, row)
