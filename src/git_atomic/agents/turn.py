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

Which worktree a call acts on is turnplace.py's; the turn's end, judged or closed, is
turnend.py's; a turn whose session never came back is turnabandoned.py's.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Final

from git_atomic.agents import turnfiles, turnkeys, turnmarks, turnplace, turnsteps
from git_atomic.agents.turnstate import Record, Slot, any_turn_refs, lock_wait, new_record
from git_atomic.core import records
from git_atomic.core.errors import AtomicError, RefusedError
from git_atomic.core.records import dataclass
from git_atomic.engine import git, gitstate, layoutcheck

# A tool call's hook (`before`, `after`) runs on every call of the agent: it imports the judge
# (the journal, the gates) only at the turn's end.

# How the hooks were installed (`hooks install AGENT --history commits`): the hook command
# passes it on in this variable, for the turn's end.
HISTORY_VAR: Final = "GIT_ATOMIC_TURN_HISTORY"


# Hook commands are given 60 s by their platform; a capture waits at most this for the lock.
@dataclass(frozen=True)
class Call:
    session: str
    call_id: str  # the platform's id of the tool call; '' when it gives none
    label: str  # `Edit: app.py`, for messages and checkpoint names
    background: bool = False  # a shell task that goes on after the call returns
    # The files a file tool writes (its input names them); None for a tool that may change
    # anything (a shell, an MCP tool): its window claims every change made while it ran.
    paths: tuple[str, ...] | None = None
    # The files another platform's file tool names (agents/toolfiles.py), its window claiming
    # every change all the same: only to tell a write outside the worktree (`after`).
    named: tuple[str, ...] = ()
    # The folder a shell tool's call runs in (toolfiles.shell_folder): one outside the worktree
    # is told (`after`).
    folder: str = ""


class Asked(enum.Enum):
    """What a call of the open window waits for (`asking`), and so which later sign shows that
    it ended without running."""

    # A confirmation prompt whose refusal ends the whole batch (Gemini CLI's): any call's end
    # since shows the calls waiting were approved.
    CONFIRMATION = "confirmation"
    # A permission prompt of one call (Codex's `PermissionRequest`): a refusal sends nothing and
    # the model goes on, so a call announced while one waits there shows it was refused.
    PERMISSION = "permission"
    # An MCP server's question (Claude Code's `Elicitation`): the call goes on once answered,
    # whatever other call of the window ends meanwhile (`answered` ends the mark).
    QUESTION = "question"


def history(environ: Mapping[str, str]) -> str:
    return "commits" if environ.get(HISTORY_VAR) == "commits" else "shadow"


def before(repo: git.Repo, platform: str, call: Call) -> str:
    """Before a file-changing call: open the turn and a window. Returns a note for the agent
    ('' when the call is protected)."""
    slot = Slot(repo.state_dir, call.session, repo.worktree_id)
    # Named as unprotected until its window is written: a hook killed before (a platform's
    # timeout, while it waits for the lock) leaves the call said, not silently outside the turn.
    with slot.held():
        record = slot.read()
        if record is not None and record.root != str(repo.root):
            copied = turnplace.not_here(repo, slot, record)
            record = slot.read()
            if copied and record is not None:
                return copied  # a copy of a linked worktree: the record is the worktree's
        if record is None:  # the turn's first call (or its record is gone: `lost_start`)
            if slot.lost_here():  # removed by a call, its mark too: the lock file says so
                _lost_in_call(repo, call)
            record = new_record(_new_op_id(), call.session, platform, repo.root)
            record = turnmarks.lost_start(repo.state_dir, repo.worktree_id, record)
            turnmarks.mark_open(repo.state_dir, repo.worktree_id, record)
        slot.write(records.replace(record, unprotected=(*record.unprotected, call.label)))
    try:
        with _holding(repo, "hook: before a tool call"), slot.held():
            record = slot.read() or new_record(_new_op_id(), call.session, platform, repo.root)
            if record.refs == 0 and not record.steps and record.window_before is None:
                record = _continued(repo, slot, record)
            record = records.replace(record, unprotected=_less(record.unprotected, call.label))
            record = _refused(repo, record, call)
            # A window that could not open (its checkpoint refused: unmerged paths of yours,
            # which no merge names) and that no call is in any more is opened again: this call
            # is protected where that works now, and told it is not where it still does not.
            opening = record.window_before is None or (
                record.window_before == "" and not record.in_flight
            )
            if opening or record.window_before == turnsteps.FILES_NOTED:
                record = turnsteps.start_window(
                    repo, record, call.paths, opening=opening, named=call.named
                )
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
                if turnplace.not_here(repo, slot, record):
                    return ""
                record = slot.read()
            if record is None:
                if gone or slot.lost_here():  # its folder, or its record file alone, removed
                    _lost_in_call(repo, call)
                    slot.forget()  # (the mark says it from here on)
                return ""  # no `before` for it: not a call of an open turn of ours
            record = _left(record, call)
            mark = record.extra.get(turnsteps.ASKED)
            question = record.extra.get(turnsteps.ASKED_KIND) == Asked.QUESTION.value
            if isinstance(mark, str) and not (question and record.in_flight):
                # The call that waited for the person went on (`asking`); a question's mark
                # stays while calls remain, the one asking among them, until it is answered.
                marks = (turnsteps.ASKED, turnsteps.ASKED_KIND)
                extra = {k: v for k, v in record.extra.items() if k not in marks}
                record = records.replace(record, extra=extra)
                forget_mark(repo, record, mark)
            if not record.in_flight and record.window_before is not None:
                record = turnsteps.close_window(repo, record)
            unheld = record.extra.get(turnkeys.UNHELD)
            ignored = record.extra.get(turnkeys.IGNORED_WRITTEN)
            if unheld or ignored:
                told = (turnkeys.UNHELD, turnkeys.IGNORED_WRITTEN)
                extra = {k: v for k, v in record.extra.items() if k not in told}
                record = records.replace(record, extra=extra)
            slot.write(record)
        said = []
        for pair in ignored if isinstance(ignored, list) else ():
            from git_atomic.core.printable import printable  # (only where there is one)

            path, blob = [*pair, "", ""][:2] if isinstance(pair, list) else ("", "")
            old = f" (its bytes before the call: `git cat-file -p {blob}`)" if blob else ""
            said.append(
                f"not protected (ignored): {printable(str(path))}; no checkpoint holds an "
                f"ignored file, so taking this turn back leaves what this call wrote there{old}"
            )
        if isinstance(unheld, list) and unheld:
            said.append(
                f"not protected (larger than max_new_file_size): {', '.join(map(str, unheld))}; "
                "no checkpoint holds them, so taking this turn back leaves them as they are"
            )
        elsewhere = turnfiles.outside(repo, call.paths or call.named)
        if elsewhere:
            said.append(
                f"not protected (outside the worktree): {', '.join(elsewhere)}; no checkpoint "
                "holds it, so taking this turn back leaves what this call wrote there"
            )
        if call.folder and turnfiles.outside(repo, (call.folder,)):
            said.append(
                f"this call runs in {call.folder}, outside the worktree: what it changes there "
                "is not protected (no checkpoint holds it)"
            )
        return "\n".join(said)
    except AtomicError as exc:
        # The window stays open: the next checkpoint (another call's, or the turn's end)
        # closes it, so the call's changes still belong to the turn.
        with slot.held():
            record = slot.read()
            if record is not None:
                slot.write(_left(record, call))
        return f"the checkpoint after this {call.label} call is deferred: {exc}"


def _lost_in_call(repo: git.Repo, call: Call) -> None:
    """A call ended whose session's folder, record and checkpoint refs are gone, and the mark
    of its open turn too (`rm -rf .git/atomic .git/atomic-open-turns` and `git update-ref -d`
    of refs/atomic/ in its shell): what the turn did can no longer be told, but not in
    silence. The turn is marked again (`mark_open`), so its end says it is not judged and
    nothing was taken back, and a call after this one goes on as a turn that lost its start.
    Only here, where a call's `after` finds its session's folder gone: no cost on any other
    call. (A session whose first hook call is an `after`, its `before` never run, is said the
    same way: that call was not protected either.)"""
    if turnmarks.open_marks(repo.state_dir, call.session).get(repo.worktree_id) is None:
        lost = new_record("", call.session, "", repo.root)
        turnmarks.mark_open(repo.state_dir, repo.worktree_id, lost)


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


def asking(repo: git.Repo, session: str, kind: Asked) -> None:
    """A call of the session's open window waits for the person: a confirmation prompt
    (Gemini CLI's `Notification`, Codex's `PermissionRequest`), an MCP server's question
    (Claude Code's `Elicitation`).
    A checkpoint now marks how far the calls' own effect goes (`turnsteps.ASKED`). A call
    refused at that prompt sends no after-event (Gemini CLI's), and the window, open until
    the next sign that every call is over (the next model request, the next prompt), would
    take what the person changes meanwhile for the turn's: it ends at the mark instead
    (`at_mark`), and where a refused call sends nothing and the model goes on (`kind`
    PERMISSION), at the next call announced (`_refused`). Any call's after-event since (the
    call approved, run) ends the mark, the window going on as before; a question's stays until
    `answered` ends the window at the mark and opens one anew."""
    slot = Slot(repo.state_dir, session, repo.worktree_id)
    with slot.held():
        seen = slot.read()
    if seen is None or not asks(seen):
        return  # nothing of the turn's in flight: no lock taken
    with _holding(repo, "hook: a call waits for you"), slot.held():
        record = slot.read()
        if record is None or not asks(record):
            return
        old = record.extra.get(turnsteps.ASKED)
        record, snap = turnsteps.capture(repo, record, "asked")
        marked = {turnsteps.ASKED: snap.commit, turnsteps.ASKED_KIND: kind.value}
        record = records.replace(record, extra={**record.extra, **marked})
        slot.write(record)
        if isinstance(old, str) and old != snap.commit:
            forget_mark(repo, record, old)


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
        record = at_mark(repo, record)
        if flight:
            record = turnsteps.start_window(repo, record, None, opening=True)
            extra = {**record.extra, turnsteps.CLAIMS: claims}
            record = records.replace(record, in_flight=flight, extra=extra)
        slot.write(record)


def _refused(repo: git.Repo, record: Record, call: Call) -> Record:
    """A call announced while the window's calls wait at a permission prompt that sends nothing
    for a refusal (`Asked.PERMISSION`): they were refused, the model went on. Their window ends
    where they began to wait (`at_mark`), and they leave it: the person's edits since, and until
    the turn's end, are not the turn's. (A call run at once beside them and approved after this
    one was announced would go on outside a window once this one's closes: said in
    docs/agents.md, the price of never taking the person's edits for the turn's.)"""
    if record.extra.get(turnsteps.ASKED_KIND) != Asked.PERMISSION.value or not asks(record):
        return record
    if call.call_id and call.call_id in record.in_flight:
        return record  # its own `before` again
    return at_mark(repo, record)


def asks(record: Record) -> bool:
    """Whether the record's window is open, with a checkpoint at its start, and a call in it."""
    before = record.window_before
    return bool(record.in_flight) and bool(before) and before != turnsteps.FILES_NOTED


def at_mark(repo: git.Repo, record: Record) -> Record:
    """The record's window closed where a call of it began to wait for the person (`asking`),
    when one did; else now."""
    mark = record.extra.get(turnsteps.ASKED)
    if record.window_before is None:
        return record
    if not isinstance(mark, str) or not asks(record):
        return turnsteps.close_window(repo, record)
    from git_atomic.engine import checkpoint

    return turnsteps.close_window(repo, record, at=checkpoint.load(repo, mark))


def forget_mark(repo: git.Repo, record: Record, mark: str) -> None:
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
            record = at_mark(repo, record)
            record = records.replace(record, in_flight=())
            slot.write(record)
    except AtomicError:
        # As `after`: the window stays open for the next checkpoint to close, the calls over.
        with slot.held():
            record = slot.read()
            if record is not None:
                slot.write(records.replace(record, in_flight=()))
        raise


@contextmanager
def _holding(repo: git.Repo, command: str) -> Iterator[None]:
    """The worktree's lock, without the journal: a call's checkpoints need only the lock."""
    from git_atomic.engine.early import holding

    layoutcheck.check_layout(repo)  # as context.opened
    what = gitstate.in_progress(repo)  # as context.check_git_state, without the journal
    if what is not None:
        raise RefusedError(f"{what} is in progress in this worktree; finish or abort it first")
    with holding(repo, command, wait=lock_wait()):
        yield


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
    turnmarks.mark_open(repo.state_dir, slot.worktree, found)  # (the mark named `fresh`)
    return records.replace(
        found,
        labels=(*found.labels, *fresh.labels),
        unprotected=(*found.unprotected, *fresh.unprotected),
        in_flight=fresh.in_flight,
    )


def _new_op_id() -> str:
    from git_atomic.ops.operation import new_op_id

    return new_op_id()
