"""The turn engine every agent adapter drives: one agent turn, judged on its own effect.

- A turn opens with its session's first file-changing call. Around each such call the hooks
  take a checkpoint *before* and one *after*; the turn's effect is the sum of those
  (before, after) steps, so what happens between calls — the user's edits, another session's
  calls — is not the turn's. Calls in flight at once (parallel tool calls, subagents) share
  one window: it opens with the first and closes with the last. A window of file tools that
  name their files (Claude Code's Write, Edit...) claims only those: its step ends at its start
  with those files as they are at its end. Any other call claims all a window saw.
- Every call waits for the worktree's lock (bounded: `lock_wait()`), never refused by the
  session's own other calls. A call that still cannot be checkpointed does not drop the turn:
  its window stays open until the next checkpoint, or it is named as unprotected.
- The end of the turn (`end`) judges it (`judge.py`); a turn that ends otherwise (interrupt,
  session end, the next prompt finding it open) is closed (`close`): recorded, not judged,
  so nothing the user does afterwards can be taken back by a later turn.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from git_atomic.agents.turnstate import TURN_REFS, Record, Slot, new_record, worktrees_of
from git_atomic.core.errors import AtomicError, RefusedError
from git_atomic.core.records import dataclass
from git_atomic.engine import checkpoint, discovery, git, gitstate, snapshot

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


def locate(cwd: Path | None, project: Path | None) -> git.Repo | None:
    """The worktree a call acts on.

    The call's own folder when it is in a worktree of the project's repository (a linked
    worktree the agent entered is judged there), else the project's; None outside any.
    """
    repos = []
    for start in dict.fromkeys((cwd, project)):  # one `git rev-parse` when they are the same
        if start is not None and start.is_dir():
            try:
                repos.append(discovery.discover_with_config(str(start)))
            except AtomicError:
                continue
    if not repos:
        return None
    if len(repos) == 2 and repos[0].common_dir != repos[1].common_dir:
        return repos[1]  # the agent wandered into another repository: the project is ours
    return repos[0]


def before(repo: git.Repo, platform: str, call: Call) -> str:
    """Before a file-changing call: open the turn and a window. Returns a note for the agent
    ('' when the call is protected)."""
    slot = Slot(repo.state_dir, call.session, repo.worktree_id)
    try:
        with _holding(repo, "hook: before a tool call"), slot.held():
            record = slot.read() or new_record(_new_op_id(), call.session, platform, repo.root)
            opening = record.window_before is None
            if opening or record.window_before == _FILES_NOTED:
                record = _start_window(repo, record, call, opening=opening)
            slot.write(_claiming(_joined(record, call), repo, call, opening=opening))
        return ""
    except AtomicError as exc:
        with slot.held():
            record = slot.read() or new_record(_new_op_id(), call.session, platform, repo.root)
            if record.window_before is None:
                record = dataclasses.replace(record, window_before="")
            record = _claiming(_joined(record, call), repo, dataclasses.replace(call, paths=None))
            slot.write(dataclasses.replace(record, unprotected=(*record.unprotected, call.label)))
        return f"this {call.label} call is not protected: {exc}"


def after(repo: git.Repo, call: Call) -> str:
    """After a call (or its failure): close the window when it was the last one in flight."""
    slot = Slot(repo.state_dir, call.session, repo.worktree_id)
    try:
        with _holding(repo, "hook: after a tool call"), slot.held():
            record = slot.read()
            if record is None:
                return ""  # no `before` for it: not a call of an open turn of ours
            record = _left(record, call)
            if not record.in_flight and record.window_before is not None:
                record = _close_window(repo, record)
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


def end(repo: git.Repo, session: str, *, history: str = "shadow") -> list[judge.Verdict]:
    """The turn ended: judge it in every worktree it changed (nothing when it changed none).
    `history`: "commits" makes a kept turn one commit on the branch."""
    return _finish_all(repo, session, ending=None, history=history)


def close(repo: git.Repo, session: str, why: str) -> list[judge.Verdict]:
    """The turn ended without its end event (`why`): record it as it is, judge nothing."""
    return _finish_all(repo, session, ending=why)


def _finish_all(
    repo: git.Repo, session: str, *, ending: str | None, history: str = "shadow"
) -> list[judge.Verdict]:
    verdicts = []
    for worktree in worktrees_of(repo.state_dir, session):
        slot = Slot(repo.state_dir, session, worktree)
        record = slot.read()
        where = _worktree_repo(repo, record)
        if record is None or where is None:
            slot.remove()  # its worktree is gone, and with it what the turn changed
            continue
        verdict = _finish(where, slot, ending=ending, history=history)
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts


def _finish(
    repo: git.Repo, slot: Slot, *, ending: str | None, history: str
) -> judge.Verdict | None:
    from git_atomic.agents import judge
    from git_atomic.core.vocab import HistoryMode

    try:
        with _locked(repo, "hook: end of turn") as ctx_lock:
            with slot.held():  # the turn leaves its slot before the gates run
                record = slot.read()
                if record is None:
                    return None
                if record.window_before is not None:
                    record = _close_window(repo, record)
                slot.remove()
            if not record.steps:
                forget_refs(repo, record)
                return None
            mode = HistoryMode.parse(history, what="history")
            return judge.judge(repo, ctx_lock, record, ending=ending, history=mode)
    except AtomicError as exc:
        record = slot.read()
        return judge.not_judged(record, repo, str(exc)) if record is not None else None


@contextmanager
def _holding(repo: git.Repo, command: str) -> Iterator[None]:
    """The worktree's lock, without the journal: a call's checkpoints need only the lock."""
    from git_atomic.engine.early import holding

    what = gitstate.in_progress(repo)  # as context.check_git_state, without the journal
    if what is not None:
        raise RefusedError(f"{what} is in progress in this worktree; finish or abort it first")
    with holding(repo, command, wait=lock_wait()):
        yield


@contextmanager
def _locked(repo: git.Repo, command: str) -> Iterator[judge.Held]:
    from git_atomic.ops import context

    with context.opened(command, wait=lock_wait(), start=str(repo.root)) as ctx:
        yield ctx


def _capture(repo: git.Repo, record: Record, what: str) -> tuple[Record, checkpoint.Snapshot]:
    record, ref = record.next_ref(what)
    captured = snapshot.capture(
        repo, message=f"git-atomic turn {what}: {record.platform} [{record.op_id}]", ref=ref
    )
    return record, captured.snapshot


def _close_window(repo: git.Repo, record: Record) -> Record:
    """The checkpoint after the window; a window that changed nothing is no step. A window
    of file tools only claims the files they name: when anything else changed meanwhile (you,
    another session), its step ends at the state it began from with those files as they are
    now (`_narrowed`), so what others did to other files is not the turn's."""
    before_sha = record.window_before
    claims = _claims(record)
    noted = record.extra.get(_NOTED)
    record, after = _capture(repo, record, "after")
    known = record.extra.get(_WINDOW_STATE)
    gone = (_WINDOW_STATE, _CLAIMS, _NOTED)
    extra = {k: v for k, v in record.extra.items() if k not in gone}
    record = dataclasses.replace(record, window_before=None, in_flight=(), extra=extra)
    if not before_sha:
        return record  # its start could not be taken: named as unprotected already
    if isinstance(noted, dict):
        record, before_sha, start = _as_they_were(repo, record, before_sha, after, noted)
    elif isinstance(known, dict) and known.get("commit") == before_sha:
        start = known.get("state")
    else:
        start = _state(checkpoint.load(repo, before_sha))
    after_sha = after.commit
    if claims is not None and isinstance(start, list) and start != _state(after):
        record, after_sha = _narrowed(repo, record, before_sha, start, after, claims)
        if after_sha == before_sha:
            forget_refs(repo, record, only=(before_sha,))
            return record
    elif start == _state(after):
        forget_refs(repo, record, only=(before_sha, after.commit))
        return record
    return dataclasses.replace(record, steps=(*record.steps, (before_sha, after_sha)))


# Once the turn has a step, a window that opens with a file tool (Claude Code's Write,
# Edit...) takes no checkpoint at its start: it notes the files the tool names as they are on
# disk (their bytes stored as blobs; `_NOTED` in `Record.extra`, and `window_before` is
# `_FILES_NOTED`). Its step then begins at the capture that closes it, with those files as they
# were: what the window's calls changed in them, and nothing else. One capture per tool call
# instead of two. A call that may change anything (a shell) joining such a window takes the
# checkpoint there, and the noted files are put back in it as they were. The blobs are loose
# objects no ref holds until the window closes: git's prune leaves such objects for two weeks.
_FILES_NOTED: Final = "files-noted"
_NOTED: Final = "window_files_before"


def _start_window(repo: git.Repo, record: Record, call: Call, *, opening: bool) -> Record:
    """A call opens a window (`opening`) or joins one that noted files only. Until the turn
    has a step, a window takes its checkpoint: the first step's start is the state the turn
    began from, where the judge asks whether a failing gate failed already (judge.py)."""
    noted = _files_as_they_are(repo, call) if record.steps else None
    if noted is not None:
        held = record.extra.get(_NOTED) if not opening else None
        files = {**noted, **(held if isinstance(held, dict) else {})}  # the earliest stays
        return dataclasses.replace(
            record, window_before=_FILES_NOTED, extra={**record.extra, _NOTED: files}
        )
    record, before = _capture(repo, record, "before")
    # What the window starts from, kept with it: closing it then reads nothing back.
    seen = {_WINDOW_STATE: {"commit": before.commit, "state": _state(before)}}
    return dataclasses.replace(record, window_before=before.commit, extra={**record.extra, **seen})


def _files_as_they_are(repo: git.Repo, call: Call) -> dict[str, list[str] | None] | None:
    """The files a file tool names, as they are now: path -> [mode, blob], or None where there
    is none. None when one cannot be noted that way, and the window takes a checkpoint: a
    path through a link or a file, anything but a regular file, an ignore or attributes file
    (what it changes is more than itself), one over the size budget."""
    from git_atomic.core.config import capture_settings
    from git_atomic.engine import safefs
    from git_atomic.engine.restoreplan import folders_on_the_way

    if call.paths is None or not call.paths:
        return None
    rels: list[bytes] = []
    for path in call.paths:
        named = _inside(repo, (path,))
        if named is None or len(set(named)) != 1:
            return None  # outside, in .git, or through a link: its two names differ
        rels.append(os.fsencode(named[0]))
    limit, _ = capture_settings(repo.root)
    found: dict[str, list[str] | None] = {}
    contents: list[tuple[str, str, bytes]] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in rels:
            if os.path.basename(rel) in (b".gitignore", b".gitattributes"):
                return None
            missing = False  # a folder on its way is not there: nor is the file
            for folder in folders_on_the_way(rel):
                kind = tree.kind(folder)
                if kind is None:
                    missing = True
                    break
                if kind != stat.S_IFDIR:
                    return None  # a link or a file where a folder must be
            st = None if missing else tree.lstat(rel)
            if st is None:
                found[os.fsdecode(rel)] = None
                continue
            if not stat.S_ISREG(st.st_mode) or (limit is not None and st.st_size > limit):
                return None
            data = tree.read(rel)
            if data is None:
                return None
            mode = "100755" if st.st_mode & 0o100 else "100644"
            contents.append((os.fsdecode(rel), mode, data))
    oids = repo.write_blobs([data for _, _, data in contents])
    for (rel_str, mode, _), oid in zip(contents, oids, strict=True):
        found[rel_str] = [mode, oid]
    return found


def _as_they_were(
    repo: git.Repo,
    record: Record,
    before_sha: str,
    after: checkpoint.Snapshot,
    noted: dict[str, Any],
) -> tuple[Record, str, Any]:
    """The start of a window that noted files: the checkpoint it took (or, when it took none,
    the capture that closes it) with those files as they were noted. A noted file that is not
    in that checkpoint was ignored then, as it is now: not the turn's. Returns the record, the
    start's commit and its `_state`."""
    base = after if before_sha == _FILES_NOTED else checkpoint.load(repo, before_sha)
    wanted = [os.fsencode(p) for p in noted]
    present = {e.path for e in repo.ls_tree_at(base.files_tree, wanted)}
    changes: dict[bytes, tuple[str, str] | None] = {}
    for path, was in noted.items():
        rel = os.fsencode(path)
        if rel not in present:
            continue
        if was is None:
            changes[rel] = None  # made by the window's calls
        elif isinstance(was, list) and len(was) == 2:
            changes[rel] = (str(was[0]), str(was[1]))
    files = repo.tree_edit(base.files_tree, changes) if changes else base.files_tree
    start = dataclasses.replace(base, files_tree=files)
    if files == base.files_tree:
        return record, base.commit, _state(start)
    record, ref = record.next_ref("before")
    return record, _with_files(repo, base, files, ref), _state(start)


# The files the open window's calls claim, in `Record.extra`: a list of paths from the top of
# the worktree, or None once a call that may change anything joined it. Absent: none may be
# narrowed (a window opened before this was recorded).
_CLAIMS: Final = "window_claims"


def _claiming(record: Record, repo: git.Repo, call: Call, *, opening: bool = False) -> Record:
    """The record with the call's files added to its window's claims."""
    mine = _inside(repo, call.paths)
    held = [] if opening else _claims(record)
    claims = None if mine is None or held is None else sorted({*held, *mine})
    return dataclasses.replace(record, extra={**record.extra, _CLAIMS: claims})


def _claims(record: Record) -> list[str] | None:
    value = record.extra.get(_CLAIMS)
    return [str(p) for p in value] if isinstance(value, list) else None


def _inside(repo: git.Repo, paths: tuple[str, ...] | None) -> list[str] | None:
    """The worktree paths a file tool's absolute paths name, as written and with links
    resolved (a tool writes through a link: the file it reaches is the one that changes).
    None when one cannot be placed in the worktree: the call may then change anything."""
    if paths is None:
        return None
    root, real_root = os.path.normpath(repo.root), os.path.realpath(repo.root)
    found: list[str] = []
    for path in paths:
        if not os.path.isabs(path):
            return None
        named = [
            os.path.relpath(os.path.normpath(path), root),
            os.path.relpath(os.path.realpath(path), real_root),
        ]
        inside = [p for p in named if p.split(os.sep)[0] not in (".", "..", ".git")]
        if not inside or any(".git" in p.split(os.sep) for p in inside):
            return None
        found += inside
    return found


def _narrowed(
    repo: git.Repo,
    record: Record,
    before_sha: str,
    start: list[Any],
    after: checkpoint.Snapshot,
    claims: list[str],
) -> tuple[Record, str]:
    """The end of a step that claims only `claims` (and what is under them): `after` itself
    when nothing else changed, else the window's start with those files as `after` holds them
    (kept by a ref of the turn; the full capture's ref goes). `before_sha` when none of them
    changed."""
    wanted = [os.fsencode(p) for p in claims]
    changes = repo.diff_trees(str(start[0]), after.files_tree)
    mine = [c for c in changes if any(c.path == w or c.path.startswith(w + b"/") for w in wanted)]
    if len(mine) == len(changes) and start[1:] == _state(after)[1:]:
        return record, after.commit
    forget_refs(repo, record, only=(after.commit,))
    if not mine:
        return record, before_sha
    before = checkpoint.load(repo, before_sha)
    files = repo.tree_edit(
        before.files_tree,
        {c.path: None if c.status == "D" else (c.new_mode, c.new_oid) for c in mine},
    )
    record, ref = record.next_ref("after")
    return record, _with_files(repo, before, files, ref)


def _with_files(repo: git.Repo, snap: checkpoint.Snapshot, files: str, ref: str) -> str:
    """A checkpoint that is `snap` with another files tree, made reachable by `ref`."""
    parents = repo.line("show", "-s", "--format=%P", snap.commit).split()
    commit = checkpoint.write(
        repo,
        dataclasses.replace(snap, files_tree=files),
        message="git-atomic turn after: the files its calls named",
        keep=parents,
    ).commit
    repo.update_refs([f"create {ref} {commit}"], message="git-atomic: turn checkpoint")
    return commit


# The record's note of the state its window started from (`_state` of `window_before`).
_WINDOW_STATE: Final = "window_state"


def _state(snap: checkpoint.Snapshot) -> Any:
    """What makes two checkpoints the same state: files, index, HEAD and branches; in the
    shape it takes once written to the record (JSON), so that both compare alike."""
    key = [snap.files_tree, list(snap.index_key()), snap.head_ref, snap.head_oid]
    return json.loads(json.dumps([*key, dict(sorted(snap.branches.items()))]))


def forget_refs(repo: git.Repo, record: Record, *, only: Sequence[str] = ()) -> None:
    """Drop an open turn's checkpoint refs (all of them, or those naming `only`)."""
    prefix = f"{TURN_REFS}{record.op_id}/"
    drop = [
        f"delete {name} {oid}" for name, oid in repo.refs(prefix).items() if not only or oid in only
    ]
    repo.update_refs(drop, message="git-atomic: a turn's checkpoints that changed nothing")


def _joined(record: Record, call: Call) -> Record:
    labels = record.labels if call.label in record.labels else (*record.labels, call.label)
    background = (*record.background, call.label) if call.background else record.background
    return dataclasses.replace(
        record, in_flight=(*record.in_flight, call.call_id), labels=labels, background=background
    )


def _left(record: Record, call: Call) -> Record:
    flight = list(record.in_flight)
    if call.call_id in flight:
        flight.remove(call.call_id)
    elif flight and not call.call_id:
        flight.pop()
    return dataclasses.replace(record, in_flight=tuple(flight))


def _worktree_repo(repo: git.Repo, record: Record | None) -> git.Repo | None:
    if record is None:
        return None
    if Path(record.root) == repo.root:
        return repo
    try:
        return discovery.discover(record.root)
    except AtomicError:
        return None


def _new_op_id() -> str:
    from git_atomic.ops.operation import new_op_id

    return new_op_id()
