"""The turn engine every agent adapter drives: one agent turn, judged on its own effect.

- A turn opens with its session's first file-changing call. Around each such call the hooks
  take a checkpoint *before* and one *after*; the turn's effect is the sum of those
  (before, after) steps, so what happens between calls — the user's edits, another session's
  calls — is not the turn's. Calls in flight at once (parallel tool calls, subagents) share
  one window: it opens with the first and closes with the last. A window of file tools that
  name their files (Claude Code's Write, Edit...) claims only those: its step ends at its start
  with those files as they are at its end. Any other call claims all a window saw. A window
  opened before the platform had shown that it announces each tool call (Cursor's, at the
  prompt) is given up at its first tool event while nothing else is in it (`give_up`).
- Every call waits for the worktree's lock (bounded: `lock_wait()`), never refused by the
  session's own other calls. A call that still cannot be checkpointed does not drop the turn:
  its window stays open until the next checkpoint, or it is named as unprotected.
- The end of the turn (`end`) judges it (`judge.py`); a turn that ends otherwise (interrupt,
  session end, the next prompt finding it open) is closed (`close`): recorded, not judged,
  so nothing the user does afterwards can be taken back by a later turn.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

from git_atomic.agents import turnstate, turnsteps
from git_atomic.agents.turnstate import Record, Slot, any_turn_refs, new_record, worktrees_of
from git_atomic.core import records
from git_atomic.core.errors import AtomicError, RefusedError
from git_atomic.core.records import dataclass
from git_atomic.engine import discovery, git, gitstate, staged

if TYPE_CHECKING:
    from git_atomic.agents import judge

# A tool call's hook (`before`, `after`) runs on every call of the agent: it imports the judge
# (the journal, the gates) only at the turn's end.

# How the hooks were installed (`hooks install AGENT --history commits`): the hook command
# passes it on in this variable, for the turn's end.
HISTORY_VAR: Final = "GIT_ATOMIC_TURN_HISTORY"


# Hook commands are given 60 s by their platform; a capture waits at most this for the lock.
def lock_wait() -> float:
    """Read at each call, not at import (the warm helper imports this module once)."""
    return float(os.environ.get("GIT_ATOMIC_HOOK_LOCK_WAIT", "45"))


@dataclass(frozen=True)
class Call:
    session: str
    call_id: str  # the platform's id of the tool call; '' when it gives none
    label: str  # `Edit: app.py`, for messages and checkpoint names
    background: bool = False  # a shell task that goes on after the call returns
    # The files a file tool writes (its input names them); None for a tool that may change
    # anything (a shell, an MCP tool): its window claims every change made while it ran.
    paths: tuple[str, ...] | None = None


def history(environ: Mapping[str, str]) -> str:
    return "commits" if environ.get(HISTORY_VAR) == "commits" else "shadow"


def locate(cwd: Path | None, project: Path | None, session: str | None = None) -> git.Repo | None:
    """The worktree a call acts on.

    The call's own folder when it is in a worktree of the project's repository (a linked
    worktree the agent entered is judged there), else the project's; None outside any.
    `session`: where git finds no worktree at a folder, or another one than the folder's (a
    call of the session's turn ran `git config core.bare true`, or set `core.worktree`), the
    worktree of the session's open turn that the folder is in (`_of_turn`).
    """
    repos = []
    for start in dict.fromkeys((cwd, project)):  # one `git rev-parse` when they are the same
        if start is not None and _is_folder(start):
            try:
                found: git.Repo | None = discovery.discover_with_config(str(start))
            except AtomicError:
                found = None
            if session and (found is None or _elsewhere(start, found)):
                found = _of_turn(start, session) or found
            if found is not None:
                repos.append(found)
    if not repos:
        return None
    if len(repos) == 2 and repos[0].common_dir != repos[1].common_dir:
        return repos[1]  # the agent wandered into another repository: the project is ours
    return repos[0]


def _elsewhere(start: Path, found: git.Repo) -> bool:
    """Whether the worktree git found from `start` is another folder than `start`'s own (not
    one it is in, or one without its `.git`: `core.worktree` points elsewhere). One lstat."""
    return not _within(start, found.root) or not os.path.lexists(found.root / ".git")


def _within(folder: Path, root: Path) -> bool:
    here, top = os.path.realpath(folder), os.path.realpath(root)
    return here == top or here.startswith(top.rstrip(os.sep) + os.sep)


def _of_turn(start: Path, session: str) -> git.Repo | None:
    """The worktree of `session`'s turn open in the repository git finds from `start`, where
    `start` is in the folder its record names and that folder's `.git` is that git dir; None
    otherwise. For a folder where git finds no worktree, or another: a call of the turn set
    `core.bare true` (or `core.worktree`), and every later hook call of it, its Stop too,
    would be silent, the setting and the turn's changes left (its take-back puts the setting
    back: coreplace.py). One `git rev-parse` more, on that path only."""
    dirs = discovery.git_dirs(str(start))
    if dirs is None:
        return None
    git_dir, common = dirs
    probe = git.Repo(root=start, git_dir=git_dir, common_dir=common)
    record = Slot(probe.state_dir, session, probe.worktree_id).read()
    if record is None or not _within(start, Path(record.root)):
        return None
    if _git_dir_of(record.root) != os.path.realpath(git_dir):
        return None
    return git.Repo(root=Path(record.root), git_dir=git_dir, common_dir=common)


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for a path (a payload's): no folder we can work in
        return False


def before(repo: git.Repo, platform: str, call: Call) -> str:
    """Before a file-changing call: open the turn and a window. Returns a note for the agent
    ('' when the call is protected)."""
    slot = Slot(repo.state_dir, call.session, repo.worktree_id)
    # Named as unprotected until its window is written: a hook killed before (a platform's
    # timeout, while it waits for the lock) leaves the call said, not silently outside the turn.
    with slot.held():
        record = slot.read()
        if record is not None and record.root != str(repo.root):
            copied = _not_here(repo, slot, record)
            record = slot.read()
            if copied and record is not None:
                return copied  # a copy of a linked worktree: the record is the worktree's
        if record is None:  # the turn's first call (or its record is gone: `lost_start`)
            if slot.lost_here():  # removed by a call, its mark too: the lock file says so
                _lost_in_call(repo, call)
            record = new_record(_new_op_id(), call.session, platform, repo.root)
            record = turnstate.lost_start(repo.state_dir, repo.worktree_id, record)
            turnstate.mark_open(repo.state_dir, repo.worktree_id, record)
        slot.write(records.replace(record, unprotected=(*record.unprotected, call.label)))
    try:
        with _holding(repo, "hook: before a tool call"), slot.held():
            record = slot.read() or new_record(_new_op_id(), call.session, platform, repo.root)
            if record.refs == 0 and not record.steps and record.window_before is None:
                record = _continued(repo, slot, record)
            record = records.replace(record, unprotected=_less(record.unprotected, call.label))
            opening = record.window_before is None
            if opening or record.window_before == turnsteps.FILES_NOTED:
                record = turnsteps.start_window(repo, record, call.paths, opening=opening)
            slot.write(turnsteps.claiming(_joined(record, call), repo, call.paths, opening=opening))
        return ""
    except AtomicError as exc:
        with slot.held():
            record = slot.read() or new_record(_new_op_id(), call.session, platform, repo.root)
            if record.window_before is None:
                record = records.replace(record, window_before="")
            record = turnsteps.claiming(_joined(record, call), repo, None)
            if call.label not in record.unprotected:  # (named already, unless the turn ended)
                record = records.replace(record, unprotected=(*record.unprotected, call.label))
            slot.write(record)
        return f"this {call.label} call is not protected: {exc}"


def after(repo: git.Repo, call: Call) -> str:
    """After a call (or its failure): close the window when it was the last one in flight."""
    slot = Slot(repo.state_dir, call.session, repo.worktree_id)
    # The session's folder and the record's lock file are there from its `before` on (two
    # stats, before `held` makes them): gone now, the call removed them (`rm -rf .git/atomic`,
    # `rm .git/atomic/turns/*/*`).
    gone = not os.path.isdir(slot.folder) or not os.path.lexists(slot.lock_path)
    try:
        with _holding(repo, "hook: after a tool call"), slot.held():
            record = slot.read() or _rebuilt(repo, slot)
            if record is not None and record.root != str(repo.root):
                if _not_here(repo, slot, record):
                    return ""
                record = slot.read()
            if record is None:
                if gone or slot.lost_here():  # its folder, or its record file alone, removed
                    _lost_in_call(repo, call)
                    slot.forget()  # (the mark says it from here on)
                return ""  # no `before` for it: not a call of an open turn of ours
            mark = record.extra.get(turnsteps.ASKED)
            if isinstance(mark, str):  # the call that waited for the person went on (`asking`)
                extra = {k: v for k, v in record.extra.items() if k != turnsteps.ASKED}
                record = records.replace(record, extra=extra)
                _forget_mark(repo, record, mark)
            record = _left(record, call)
            if not record.in_flight and record.window_before is not None:
                record = turnsteps.close_window(repo, record)
            slot.write(record)
        return ""
    except AtomicError as exc:
        # The window stays open: the next checkpoint (another call's, or the turn's end)
        # closes it, so the call's changes still belong to the turn.
        with slot.held():
            record = slot.read()
            if record is not None:
                slot.write(_left(record, call))
        return f"the checkpoint after this {call.label} call is deferred: {exc}"


def _not_here(repo: git.Repo, slot: Slot, record: Record) -> str:
    """Why the turn in `slot`, whose record names another folder than this worktree's, is not
    this worktree's to go on with, judge or take back ('' when it is: the worktree was moved
    here). The folder it names is still there, another one than this: this one is a copy of
    it (`cp -a` while the turn ran), and the turn's calls ran there. A copy of the whole
    repository has its own copy of the record: it goes, with its mark, and nothing is taken
    back here. A copy of a linked worktree (its `.git` file names the same git dir) shares
    the record with the worktree: it is left for that one. Called with the slot held."""
    try:
        there, here = os.stat(record.root), os.stat(repo.root)
    except OSError:
        return ""  # the folder it names is gone: moved here
    if (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino):
        return ""  # the same folder, by another name
    noted = record.extra.get(turnstate.ROOT_ID)
    if isinstance(noted, list) and noted != [there.st_dev, there.st_ino]:
        return ""  # another folder there now: the turn's moved here
    if not os.path.lexists(os.path.join(record.root, ".git")):
        return ""
    if _git_dir_of(record.root) == os.path.realpath(repo.git_dir):
        return (
            f"this folder is a copy of the worktree {record.root} (its .git names the same git "
            "dir), where this session's turn is open: nothing here is checkpointed, judged or "
            "taken back for it"
        )
    slot.remove()
    return (
        f"this repository is a copy of {record.root}, made while this session's turn was "
        "open there: that turn's record came with the copy and was dropped here; nothing "
        "was judged or taken back in this copy"
    )


def _git_dir_of(root: str) -> str:
    """The git dir a worktree folder's `.git` names (the folder itself, or a `gitdir:` file's),
    resolved; '' where it cannot be read."""
    dotgit = os.path.join(root, ".git")
    if os.path.isdir(dotgit):
        return os.path.realpath(dotgit)
    try:
        with open(dotgit, "rb") as fh:
            text = fh.read(4096).decode("utf-8", "surrogateescape")
    except OSError:
        return ""
    if not text.startswith("gitdir: "):
        return ""
    named = text[len("gitdir: ") :].strip()
    return os.path.realpath(os.path.join(root, named))


def _lost_in_call(repo: git.Repo, call: Call) -> None:
    """A call ended whose session's folder, record and checkpoint refs are gone, and the mark
    of its open turn too (`rm -rf .git/atomic .git/atomic-open-turns` and `git update-ref -d`
    of refs/atomic/ in its shell): what the turn did can no longer be told, but not in
    silence. The turn is marked again (`mark_open`), so its end says it is not judged and
    nothing was taken back, and a call after this one goes on as a turn that lost its start.
    Only here, where a call's `after` finds its session's folder gone: no cost on any other
    call. (A session whose first hook call is an `after`, its `before` never run, is said the
    same way: that call was not protected either.)"""
    if turnstate.open_marks(repo.state_dir, call.session).get(repo.worktree_id) is None:
        lost = new_record("", call.session, "", repo.root)
        turnstate.mark_open(repo.state_dir, repo.worktree_id, lost)


def give_up(repo: git.Repo, call: Call) -> str:
    """The window `call` opened is given up, unrecorded, while nothing else is in it: no other
    call joined it and the turn has no step yet. For a window opened before the platform's
    first tool event (Cursor's, at the prompt): that event shows each tool call is announced,
    so nothing the agent did came before it, and what the user did meanwhile is not the turn's.
    Once anything else is in the window, `call` only ends, as `after` ends it."""
    slot = Slot(repo.state_dir, call.session, repo.worktree_id)
    with slot.held():
        seen = slot.read()
    if seen is None or call.call_id not in seen.in_flight:
        return ""  # (no lock taken: every later tool call of the turn comes here)
    try:
        with _holding(repo, "hook: a window given up"), slot.held():
            record = slot.read()
            if record is None or call.call_id not in record.in_flight:
                return ""
            alone = record.in_flight == (call.call_id,) and not record.steps
            if alone and record.window_before != turnsteps.FILES_NOTED:
                if record.window_before:
                    turnsteps.forget_refs(repo, record, only=(record.window_before,))
                gone = (turnsteps.WINDOW_STATE, turnsteps.CLAIMS)
                extra = {k: v for k, v in record.extra.items() if k not in gone}
                record = records.replace(
                    record,
                    window_before=None,
                    in_flight=(),
                    labels=_less(record.labels, call.label),
                    unprotected=_less(record.unprotected, call.label),
                    extra=extra,
                )
                slot.write(record)
                return ""
    except AtomicError as exc:
        return f"the window opened at the prompt stays open: {exc}"
    return after(repo, call)


def asking(repo: git.Repo, session: str) -> None:
    """A call of the session's open window waits for the person: a confirmation prompt
    (Gemini CLI's `Notification`), an MCP server's question (Claude Code's `Elicitation`).
    A checkpoint now marks how far the calls' own effect goes (`turnsteps.ASKED`). A call
    refused at that prompt sends no after-event (Gemini CLI's), and the window, open until
    the next sign that every call is over (the next model request, the next prompt), would
    take what the person changes meanwhile for the turn's: it ends at the mark instead
    (`_at_mark`). Any call's after-event since (the call approved, run) ends the mark: the
    window goes on as before. `answered` ends the window at the mark and opens one anew."""
    slot = Slot(repo.state_dir, session, repo.worktree_id)
    with slot.held():
        seen = slot.read()
    if seen is None or not _asks(seen):
        return  # nothing of the turn's in flight: no lock taken
    with _holding(repo, "hook: a call waits for you"), slot.held():
        record = slot.read()
        if record is None or not _asks(record):
            return
        old = record.extra.get(turnsteps.ASKED)
        record, snap = turnsteps.capture(repo, record, "asked")
        record = records.replace(record, extra={**record.extra, turnsteps.ASKED: snap.commit})
        slot.write(record)
        if isinstance(old, str) and old != snap.commit:
            _forget_mark(repo, record, old)


def answered(repo: git.Repo, session: str) -> None:
    """The person answered what a call of the window asked (Claude Code's
    `ElicitationResult`): the window's step ends where the call began to wait (`asking`) and
    a window opens now for the rest of its calls, so what the person changed while they were
    asked is not the turn's."""
    slot = Slot(repo.state_dir, session, repo.worktree_id)
    with slot.held():
        seen = slot.read()
    if seen is None or not isinstance(seen.extra.get(turnsteps.ASKED), str):
        return
    with _holding(repo, "hook: you answered a call"), slot.held():
        record = slot.read()
        if record is None or not isinstance(record.extra.get(turnsteps.ASKED), str):
            return
        flight, claims = record.in_flight, record.extra.get(turnsteps.CLAIMS)
        record = _at_mark(repo, record)
        if flight:
            record = turnsteps.start_window(repo, record, None, opening=True)
            extra = {**record.extra, turnsteps.CLAIMS: claims}
            record = records.replace(record, in_flight=flight, extra=extra)
        slot.write(record)


def _asks(record: Record) -> bool:
    """Whether the record's window is open, with a checkpoint at its start, and a call in it."""
    before = record.window_before
    return bool(record.in_flight) and bool(before) and before != turnsteps.FILES_NOTED


def _at_mark(repo: git.Repo, record: Record) -> Record:
    """The record's window closed where a call of it began to wait for the person (`asking`),
    when one did; else now."""
    mark = record.extra.get(turnsteps.ASKED)
    if record.window_before is None:
        return record
    if not isinstance(mark, str) or not _asks(record):
        return turnsteps.close_window(repo, record)
    from git_atomic.engine import checkpoint

    return turnsteps.close_window(repo, record, at=checkpoint.load(repo, mark))


def _forget_mark(repo: git.Repo, record: Record, mark: str) -> None:
    """A mark that `asking` set and that no longer counts: its ref goes, unless a step or the
    window names the same checkpoint."""
    named = {record.window_before, *(sha for step in record.steps for sha in step)}
    if mark not in named:
        turnsteps.forget_refs(repo, record, only=(mark,))


def running(repo: git.Repo, session: str, prefix: str) -> bool:
    """Whether a call of the session whose id starts with `prefix` is in flight (no lock)."""
    slot = Slot(repo.state_dir, session, repo.worktree_id)
    with slot.held():
        seen = slot.read()
    return seen is not None and any(i.startswith(prefix) for i in seen.in_flight)


def after_all(repo: git.Repo, session: str, *, unless_running: str = "") -> None:
    """Every call of the session's turn is over (its batch resolved): none is in flight any
    more, whether or not its own after-event came (a call denied before it ran sends none).
    Nothing is closed while a call whose id starts with `unless_running` (when given) is in
    flight: the event may be that call's own (a subagent's model request, Gemini's)."""
    slot = Slot(repo.state_dir, session, repo.worktree_id)
    with slot.held():
        seen = slot.read()
    if seen is None or (not seen.in_flight and seen.window_before is None):
        return  # nothing open: no lock taken (Gemini asks before every model request)
    if unless_running and any(i.startswith(unless_running) for i in seen.in_flight):
        return
    try:
        with _holding(repo, "hook: after a batch of tool calls"), slot.held():
            record = slot.read()
            if record is None:
                return
            if unless_running and any(i.startswith(unless_running) for i in record.in_flight):
                return
            record = _at_mark(repo, record)
            record = records.replace(record, in_flight=())
            slot.write(record)
    except AtomicError:
        # As `after`: the window stays open for the next checkpoint to close, the calls over.
        with slot.held():
            record = slot.read()
            if record is not None:
                slot.write(records.replace(record, in_flight=()))
        raise


def end(repo: git.Repo, session: str, *, history: str = "shadow") -> list[judge.Verdict]:
    """The turn ended: judge it in every worktree it changed (nothing when it changed none).
    `history`: "commits" makes a kept turn one commit on the branch."""
    return _finish_all(repo, session, ending=None, history=history)


def close(repo: git.Repo, session: str, why: str, *, prompt: bool = False) -> list[judge.Verdict]:
    """The turn ended without its end event (`why`): record it as it is, judge nothing.
    `prompt`: the session's next prompt, which also closes another session's turn abandoned
    in this worktree (not at an end event a platform gives seconds: Codex's `Interrupt`)."""
    verdicts = _finish_all(repo, session, ending=why)
    if prompt:
        verdicts += _close_others_abandoned(repo, session)
    return verdicts


def _finish_all(
    repo: git.Repo, session: str, *, ending: str | None, history: str = "shadow"
) -> list[judge.Verdict]:
    if any_turn_refs(repo):
        from git_atomic.agents import turnorphans

        turnorphans.restore(repo, session)  # a turn whose record a call of its own removed
    verdicts = []
    marks = turnstate.open_marks(repo.state_dir, session)
    for worktree in worktrees_of(repo.state_dir, session):
        slot = Slot(repo.state_dir, session, worktree)
        record = slot.read()
        if record is None:  # a record a call made unreadable (`echo > ...json`): as one gone
            slot.path.unlink(missing_ok=True)
            continue
        marks.pop(worktree, None)
        # This worktree's turn is judged here, also where the worktree was moved since it began
        # (`mv` of the repository: its record names the old folder).
        where = repo if worktree == repo.worktree_id else _worktree_repo(repo, record.root)
        if where is None:
            slot.remove()  # its worktree is gone, and with it what the turn changed
            continue
        verdict = _finish(where, slot, ending=ending, history=history)
        if verdict is not None:
            verdicts.append(verdict)
    for worktree, mark in marks.items():
        Slot(repo.state_dir, session, worktree).forget()
        verdicts.append(_lost(repo, session, worktree, mark))
    # A turn whose record file alone a call removed, its mark and refs too, and no `after`
    # came to say it (a call cut short): its lock file still says it is open (Slot).
    for worktree in turnstate.locked_without_record(repo.state_dir, session):
        if worktree in marks:
            continue
        slot = Slot(repo.state_dir, session, worktree)
        with slot.held():
            lost = slot.lost_here()
            if lost:
                slot.forget()
        if lost:
            verdicts.append(_lost(repo, session, worktree, {}))
    return verdicts


def _close_others_abandoned(repo: git.Repo, session: str) -> list[judge.Verdict]:
    """Another session's turn in this worktree that no hook call wrote for ABANDONED_AFTER (its
    agent was killed): closed at this session's prompt, as it would be at its own, recorded
    and not judged, nothing taken back. One directory listing; the journal only for one
    found."""
    cutoff = time.time() - turnstate.ABANDONED_AFTER
    verdicts = []
    for slot in turnstate.abandoned(repo.state_dir, repo.worktree_id, cutoff):
        if slot.session == session:
            continue
        why = f"a turn of another session, {slot.session[:12]}: {_abandoned_why(slot)}"
        verdict = _finish(repo, slot, ending=why, history="shadow")
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts


def open_lines(state_dir: Path, worktree: str | None = None) -> list[str]:
    """One line per open turn (of `worktree`, or of every one), for people (`hooks status`,
    `status`): its platform, session, folder, steps so far and, for one abandoned, since when
    no hook call came and what closes it."""
    lines = []
    for _, record, when in turnstate.slots_in(state_dir, worktree):
        calls = len(record.steps) + len(turnsteps.pending_of(record))  # pending: turnsteps.py
        idle = time.time() - when
        gone = (
            f"; no hook call for {idle / 3600:.0f} h: abandoned (its session's next prompt, "
            "another session's, or `git atomic gc` closes it, not judged)"
            if idle >= turnstate.ABANDONED_AFTER
            else ""
        )
        lines.append(
            f"{record.platform} session {record.session[:12]} in {record.root} "
            f"({calls} step{'s' if calls != 1 else ''} so far{gone})"
        )
    return lines


def _abandoned_why(slot: Slot) -> str:
    import datetime

    when = turnstate.last_call(slot.path) or 0.0
    since = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"its session made no hook call since {since} UTC (its agent was killed, or the session "
        "never came back); what it did after its last call is not counted, and nothing was "
        "taken back"
    )


def _abandoned(slot: Slot) -> bool:
    """Whether no hook call of the slot's session wrote its record for ABANDONED_AFTER."""
    when = turnstate.last_call(slot.path)
    return when is not None and time.time() - when >= turnstate.ABANDONED_AFTER


def _without_open_window(repo: git.Repo, record: Record) -> Record:
    """`record` without its open window and its steps only noted, for a turn whose session made
    no hook call for ABANDONED_AFTER: closing that window now would make what anyone did since
    (days of your edits) the turn's. The window's `before` ref goes."""
    if record.window_before not in (None, "", turnsteps.FILES_NOTED):
        turnsteps.forget_refs(repo, record, only=(str(record.window_before),))
    gone = (turnsteps.WINDOW_STATE, turnsteps.CLAIMS, turnsteps.NOTED, turnsteps.NOTED_AT)
    extra = {k: v for k, v in record.extra.items() if k not in (*gone, turnsteps.PENDING)}
    return records.replace(record, window_before=None, in_flight=(), extra=extra)


def close_abandoned(ctx: judge.Held, cutoff: float) -> int:
    """Close each turn in this worktree whose session made no hook call since `cutoff` (`gc`:
    its retention): the agent was killed, or the session never came back, and nothing else
    ends it. Recorded as an operation, not judged, and never taken back (`_without_open_window`).
    Returns how many."""
    from git_atomic.agents import judge

    repo = ctx.repo
    closed = 0
    # (Never one a session may still come back to: `gc --older-than 0` closes no live turn.)
    cutoff = min(cutoff, time.time() - turnstate.ABANDONED_AFTER)
    for slot in turnstate.abandoned(repo.state_dir, repo.worktree_id, cutoff):
        with slot.held():
            record = slot.read()
            when = turnstate.last_call(slot.path)
            if record is None or when is None or when >= cutoff:
                continue
            if record.root != str(repo.root) and _not_here(repo, slot, record):
                continue  # a copy's record of a turn that ran elsewhere: dropped, no operation
            why = _abandoned_why(slot) + "; `git atomic gc` closed it"
            record = _without_open_window(repo, record)
            slot.remove()
        if record.steps:
            judge.judge(repo, ctx, record, ending=why)
        else:
            turnsteps.forget_refs(repo, record)
        closed += 1
    return closed


def close_abandoned_elsewhere(repo: git.Repo, cutoff: float) -> tuple[int, list[str]]:
    """`gc` in one worktree: the abandoned turns of the repository's other worktrees closed
    there too, each under that worktree's lock, as `close_abandoned` closes this one's (their
    records and refs are the repository's: left, they would stay for ever, since nobody runs
    `gc` in every worktree). Returns how many, and a line for each worktree whose turns are
    left: its folder gone (a worktree removed by hand: `git worktree prune` forgets it),
    another repository's (a copy's record), or busy now."""
    from git_atomic.ops import context

    cutoff = min(cutoff, time.time() - turnstate.ABANDONED_AFTER)
    waiting = sorted(
        {slot.worktree for slot, _, when in turnstate.slots_in(repo.state_dir) if when < cutoff}
        - {repo.worktree_id}
    )
    if not waiting:
        return 0, []
    folders = repo.other_worktree_folders()
    closed, lines = 0, []
    for worktree in waiting:
        folder = folders.get(worktree)
        there = _worktree_repo(repo, None if folder is None else str(folder))
        if (
            there is None
            or there.worktree_id != worktree
            or (os.path.realpath(there.common_dir) != os.path.realpath(repo.common_dir))
        ):
            why = (
                "git knows no such worktree"
                if folder is None
                else f"its folder {folder} is gone"
                if there is None
                else f"its folder {folder} is not that worktree of this repository (a copy's?)"
            )
            lines.append(
                f"the abandoned agent turns of worktree {worktree} are left open: {why} "
                "(`git worktree prune` forgets a worktree removed by hand)"
            )
            continue
        try:
            with context.opened("gc", wait=0, start=str(there.root), check_state=False) as ctx:
                closed += close_abandoned(ctx, cutoff)
        except AtomicError as exc:
            lines.append(
                f"the abandoned agent turns of worktree {worktree} ({there.root}) are left "
                f"open: {exc}; `git atomic gc` there closes them"
            )
    return closed, lines


def _lost(repo: git.Repo, session: str, worktree: str, mark: Mapping[str, str]) -> judge.Verdict:
    """A turn that was open (`turnstate.mark_open`) and has neither its record nor a checkpoint
    ref left: a call removed both (`rm -rf .git/atomic`, `git update-ref -d` of its refs). Said,
    not passed over as a turn that changed nothing; there is nothing to take back from."""
    from git_atomic.agents import judge

    turnstate.unmark(repo.state_dir, session, worktree)
    op_id = mark.get("op_id", "")
    record = new_record(op_id, session, mark.get("platform", ""), repo.root)
    gone = (
        f"its record (under {repo.state_dir / turnstate.TURNS_DIR}) and its checkpoints "
        f"(refs/atomic/turns/{op_id or '...'}/) were removed, or made unreadable, while it "
        "ran (by one of its calls?)"
    )
    if not op_id:  # marked by a call's `after` that found nothing of the turn (`_lost_in_call`)
        gone = (
            "a call of it ended with nothing of the turn left: its record (under "
            f"{repo.state_dir / turnstate.TURNS_DIR}), its checkpoints (refs/atomic/turns/) "
            "and its mark were removed while it ran (by that call?), or the call's start was "
            "never seen (the hooks installed while it ran)"
        )
    why = (
        f"{gone}, so what it changed can no longer be told from what others did: nothing was "
        "taken back and no gate ran. `git status` and `git diff` show the worktree as it is; "
        "`git atomic gates --run` runs the gates"
    )
    where = "" if worktree == repo.worktree_id else f" (worktree {worktree})"
    return judge.not_judged(record, repo, why + where)


def _finish(
    repo: git.Repo, slot: Slot, *, ending: str | None, history: str
) -> judge.Verdict | None:
    from git_atomic.agents import judge
    from git_atomic.core.vocab import HistoryMode
    from git_atomic.ops import context

    left: Record | None = None  # the turn, once it left its slot
    try:
        with _locked(repo, "hook: end of turn") as ctx_lock:
            # A command the turn left half way (a merge that conflicts): its end is held as it
            # is, git's state and the index as its bytes, and the turn recorded, not judged;
            # what you do afterwards (resolve it, commit) is never the turn's.
            held_up = context.git_state_in_the_way(repo)
            with slot.held():  # the turn leaves its slot before the gates run
                record = slot.read()
                if record is None:
                    return None
                if record.root != str(repo.root):
                    copied = _not_here(repo, slot, record)
                    if copied:
                        return judge.not_judged(record, repo, copied)
                    # The worktree moved since the turn began.
                    record = records.replace(record, root=str(repo.root))
                if ending is not None and _abandoned(slot):
                    record = _without_open_window(repo, record)
                    if "made no hook call since" not in ending:
                        ending = f"{ending}; {_abandoned_why(slot)}"
                own = judge.own_open_op(ctx_lock, record) if ending is None else None
                if own is not None:
                    # The turn waits in its slot, as it is, for its operation to be finished.
                    slot.write(record)
                    return judge.own_open(record, repo, own)
                unreadable = ""
                try:
                    record = _closed(repo, record, raw_index=bool(held_up))
                except staged.UnreadableIndex as exc:
                    # The turn left an index git cannot read: no state to keep. Its end is
                    # held with the index as its bytes, and the turn is taken back.
                    unreadable = f"this turn left {exc.left} ({exc.reason})"
                    record = _closed(repo, record, raw_index=True)
                slot.remove()
                left = record
            if record.steps and not unreadable:
                unreadable = _on_our_refs(repo, record) or _moved_away(repo, record)
            if not record.steps:
                turnsteps.forget_refs(repo, record)
                return None
            mode = HistoryMode.parse(history, what="history")
            return judge.judge(
                repo,
                ctx_lock,
                record,
                ending=ending,
                history=mode,
                unreadable=unreadable,
                held_up=held_up,
            )
    except AtomicError as exc:
        # Said, also when the turn had left its slot (a failure while it was judged).
        record = slot.read() or left
        why = f"{exc} ({exc.hint})" if exc.hint else str(exc)
        if record is not None and _left_open(repo, record.op_id):
            why += (
                f"; its operation {record.op_id} is left open: `git atomic recover` finishes it "
                "(`--accept` keeps the tree as it is)"
            )
        return judge.not_judged(record, repo, why) if record is not None else None


def _on_our_refs(repo: git.Repo, record: Record) -> str:
    """Why the turn cannot be kept ('' when it can): a branch its calls made a symbolic ref to
    one of our refs (`git symbolic-ref refs/heads/x refs/atomic/...`), which would dangle once
    the turn's refs move, or a commit on it move a checkpoint's. As `run` does, the turn is
    taken back; the branch is first made a branch of its own again, as the turn's start had
    it (gone where it had none)."""
    from git_atomic.engine import checkpoint, gitlinks

    if gitlinks.head_damaged(repo.git_dir):
        # The take-back sets it aside and puts back the turn's start's (rescue.load_target).
        return (
            f"this turn left {repo.git_dir / 'HEAD'} on one of git-atomic's own refs "
            "(refs/atomic/), or as git refuses it"
        )
    on_ours = gitlinks.branches_on_ours(repo)
    if not on_ours:
        return ""
    start = checkpoint.load(repo, record.steps[0][0])
    gitlinks.branches_off_ours(repo, start.branches)
    return (
        f"this turn left branch {on_ours[0]} a symbolic ref to one of git-atomic's own refs "
        "(refs/atomic/)"
    )


def _moved_away(repo: git.Repo, record: Record) -> str:
    """Why the turn cannot be kept ('' when it can): a call of it set `core.bare true` or
    changed `core.worktree`, so that git finds no worktree here, or another (coreplace.py).
    As `run` does with a command that did, the turn is taken back, the setting with it."""
    from git_atomic.agents import turnbeside
    from git_atomic.engine import coreplace

    moved = coreplace.moved_away(repo, turnbeside.beside_detail(repo, record))
    return f"this turn set {moved}" if moved else ""


def _left_open(repo: git.Repo, op_id: str) -> bool:
    """Whether the turn's operation was recorded and is still open (its judging failed half
    way): every later operation is refused until `recover`."""
    from git_atomic.core.vocab import OpStatus
    from git_atomic.ops import context

    try:
        journal = context.open_journal(repo)
    except AtomicError:
        return False
    try:
        op = journal.op(op_id)
    finally:
        journal.close()
    return op is not None and op.status == OpStatus.OPEN


def _closed(repo: git.Repo, record: Record, *, raw_index: bool) -> Record:
    """The turn's last window closed, and its last checkpoint taken: what is on disk."""
    if isinstance(record.extra.get(turnsteps.ASKED), str) and _asks(record):
        record = _at_mark(repo, record)  # a call refused at a prompt: the window ends there
    if record.window_before is not None:
        record = turnsteps.close_window(repo, record, raw_index=raw_index)
    if turnsteps.pending_of(record):
        record, end = turnsteps.capture(repo, record, "end", ref=False, raw_index=raw_index)
        record = turnsteps.settle(repo, record, end)
    return record


@contextmanager
def _holding(repo: git.Repo, command: str) -> Iterator[None]:
    """The worktree's lock, without the journal: a call's checkpoints need only the lock."""
    from git_atomic.engine.early import holding

    discovery.check_layout(repo)  # as context.opened
    what = gitstate.in_progress(repo)  # as context.check_git_state, without the journal
    if what is not None:
        raise RefusedError(f"{what} is in progress in this worktree; finish or abort it first")
    with holding(repo, command, wait=lock_wait()):
        yield


@contextmanager
def _locked(repo: git.Repo, command: str) -> Iterator[judge.Held]:
    from git_atomic.ops import context

    # git's own state is looked at by the turn's end itself (`_finish`).
    with context.opened(command, wait=lock_wait(), found=repo, check_state=False) as ctx:
        yield ctx


def _less(labels: tuple[str, ...], label: str) -> tuple[str, ...]:
    """`labels` less the last `label` in them (a call named unprotected until its window was
    written: `before`)."""
    if label not in labels:
        return labels
    at = len(labels) - 1 - labels[::-1].index(label)
    return labels[:at] + labels[at + 1 :]


def _joined(record: Record, call: Call) -> Record:
    labels = record.labels if call.label in record.labels else (*record.labels, call.label)
    if call.call_id and call.call_id in record.in_flight:
        # Its `before` again (a hook run anew after the warm helper's child died, or installed
        # twice): in flight once, or its one `after` would leave the window open to the end.
        return records.replace(record, labels=labels)
    background = (*record.background, call.label) if call.background else record.background
    return records.replace(
        record, in_flight=(*record.in_flight, call.call_id), labels=labels, background=background
    )


def _left(record: Record, call: Call) -> Record:
    flight = list(record.in_flight)
    if call.call_id in flight:
        flight.remove(call.call_id)
    elif flight and not call.call_id:
        flight.pop()
    return records.replace(record, in_flight=tuple(flight))


def _rebuilt(repo: git.Repo, slot: Slot) -> Record | None:
    """The open turn of the slot's session rebuilt from its checkpoints' refs, when a call of
    its own removed its record (turnorphans.py); None when it has none. Called with the slot
    held: the rebuilt record is written under that same hold."""
    if not any_turn_refs(repo):
        return None
    from git_atomic.agents import turnorphans

    found = turnorphans.orphan(repo, slot.session, slot.worktree)
    if found is not None:
        slot.write(found)
    return found


def _continued(repo: git.Repo, slot: Slot, fresh: Record) -> Record:
    """At a turn's first checkpoint: the session's turn whose record was removed since its
    last call (another session's `rm -rf .git/atomic/turns`), rebuilt from its refs, goes on,
    with what `fresh` noted; else `fresh`. Without it, the turn would start again there, and
    its earlier calls' changes be no one's."""
    if not any_turn_refs(repo):
        return fresh
    from git_atomic.agents import turnorphans

    found = turnorphans.orphan(repo, slot.session, slot.worktree)
    if found is None:
        return fresh
    turnstate.mark_open(repo.state_dir, slot.worktree, found)  # (the mark named `fresh`)
    return records.replace(
        found,
        labels=(*found.labels, *fresh.labels),
        unprotected=(*found.unprotected, *fresh.unprotected),
        in_flight=fresh.in_flight,
    )


def _worktree_repo(repo: git.Repo, root: str | None) -> git.Repo | None:
    if root is None:
        return None
    if Path(root) == repo.root:
        return repo
    try:
        return discovery.discover(root)
    except (AtomicError, OSError):  # (a folder that is gone: no process starts in it)
        return None


def _new_op_id() -> str:
    from git_atomic.ops.operation import new_op_id

    return new_op_id()
