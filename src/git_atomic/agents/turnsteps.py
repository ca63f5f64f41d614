"""How a turn's window becomes a step: the checkpoints at its two ends, and the files its calls
claim.

A window opens with a call and closes when no call is in flight. Its start is a checkpoint
(`start_window`), or, once the turn has a step and the window has only file tools, a note of
the files they name as they are (`noted_files`); its end is the capture that closes it
(`close_window`), or, for a window that noted its files, a second note of them: its step then
waits in the record (`PENDING`) until the turn's next capture writes it (`settle`). A window of
file tools claims only the files they name (`claiming`): its step holds their change and
nothing else anyone did meanwhile (`narrowed`, `as_they_were`). A window that changed nothing
is no step, and its checkpoints' refs go (`forget_refs`).

This module opens and closes windows; the files a file tool names (placed, claimed, noted,
their steps pending) are turnfiles.py's, the turn's checkpoint refs turnrefs.py's.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Final

from git_atomic.agents import turnbeside, turnkeys, turnothers

# The names imported `as` themselves are importable from here as before the split (turn.py,
# turnend.py, turnabandoned.py, gc.py use them).
from git_atomic.agents.turnfiles import CLAIMS as CLAIMS
from git_atomic.agents.turnfiles import FILES_NOTED as FILES_NOTED
from git_atomic.agents.turnfiles import NOTED as NOTED
from git_atomic.agents.turnfiles import NOTED_AT as NOTED_AT
from git_atomic.agents.turnfiles import PENDING as PENDING
from git_atomic.agents.turnfiles import as_they_were, claims_of, noted_files, noted_step
from git_atomic.agents.turnfiles import claiming as claiming
from git_atomic.agents.turnfiles import noted_blobs as noted_blobs
from git_atomic.agents.turnfiles import pending_of as pending_of
from git_atomic.agents.turnfiles import settle as settle
from git_atomic.agents.turnrefs import forget_refs as forget_refs
from git_atomic.agents.turnrefs import past_leftovers, written
from git_atomic.agents.turnstate import Record, turn_message
from git_atomic.core import records
from git_atomic.core.errors import AtomicError
from git_atomic.engine import git, objectformat

if TYPE_CHECKING:  # (a file tool's later call notes files: no checkpoint read, no scan)
    from git_atomic.engine import checkpoint, infoexclude


def capture(
    repo: git.Repo, record: Record, what: str, *, ref: bool = True, raw_index: bool = False
) -> tuple[Record, checkpoint.Snapshot]:
    """A checkpoint of the worktree for the turn (`ref`: kept by a ref of the turn). The files
    its pending steps made are held whatever their size, as a capture that had seen them would
    hold them (max_new_file_size is for new files). `raw_index`: an index git cannot read is
    held as its bytes (the turn's end, to take the turn back), not refused."""
    # (Imported here: a file tool's later call notes files and takes no capture.)
    from git_atomic.engine import snapshot

    start, name = record, None
    if ref:
        record, name = record.next_ref(what)
    made = frozenset(
        os.fsencode(path)
        for step in pending_of(record)
        if isinstance(after := step.get("after"), dict)
        for path, note in after.items()
        if note is not None
    )

    def take(name: str | None) -> snapshot.Captured:
        return snapshot.capture(
            repo,
            message=turn_message(repo.worktree_id, record, what),
            ref=name,
            known_files=made,
            allow_unmerged=raw_index,
        )

    try:
        captured = take(name)
    except AtomicError:
        past = past_leftovers(repo, start) if name is not None else None
        back = (
            turnbeside.stores_back(repo, record, record.extra.get(WINDOW_STATE))
            if past is None
            else None
        )
        if past is not None:
            record, name = past.next_ref(what)
        elif back is not None:
            record = back
        else:
            raise
        captured = take(name)
    else:
        # Taken, yet a call removed the store HEAD's objects are read through (the trees the
        # capture checks were in the repository's own store): written back all the same.
        window = record.extra.get(WINDOW_STATE)
        if turnbeside.store_gone_and_needed(repo, window):
            record = turnbeside.stores_back(repo, record, window) or record
    return record, captured.snapshot


def close_window(
    repo: git.Repo,
    record: Record,
    *,
    raw_index: bool = False,
    at: checkpoint.Snapshot | None = None,
) -> Record:
    """The checkpoint after the window; a window that changed nothing is no step. A window
    of file tools only claims the files they name: when anything else changed meanwhile (you,
    another session), its step ends at the state it began from with those files as they are
    now (`_narrowed`), so what others did to other files is not the turn's. A window that
    noted its files takes no capture at all when it can (`noted_step`). `at`: the window
    ends at that checkpoint of the turn's, taken earlier (where a call began to wait for
    the person: `ASKED`), not now."""
    if record.window_before == FILES_NOTED and at is None:
        quick = noted_step(repo, record)
        if quick is not None:
            return quick
    before_sha = record.window_before
    claims = claims_of(record)
    noted, noted_at = record.extra.get(NOTED), record.extra.get(NOTED_AT)
    closing = time.time()
    if at is None:
        from git_atomic.engine import scan  # (only where a window closes with a capture)

        # A folder the call made, or made unlistable, since its window began is the call's:
        # refused by name (scan.UNLISTABLE_SINCE), not left out of its step, so that its files,
        # once readable again, are the turn's to take back, not yours.
        window = record.extra.get(WINDOW_STATE)
        opened = window.get("at") if isinstance(window, dict) else noted_at
        token = scan.UNLISTABLE_SINCE.set(
            opened if isinstance(opened, float) else record.started_at
        )
        try:
            record, after = capture(repo, record, "after", raw_index=raw_index)
        finally:
            scan.UNLISTABLE_SINCE.reset(token)
    else:
        after = at
    unmarked = {k: v for k, v in record.extra.items() if k not in (ASKED, ASKED_KIND)}
    record = records.replace(record, extra=unmarked)
    known = record.extra.get(WINDOW_STATE)
    record = turnbeside.written_in(repo, record, known)
    large = claims is not None and after.too_large  # (a claimed window's: turnunheld)
    if at is None and (large or IGNORED_BEFORE in record.extra):
        from git_atomic.agents import turnunheld  # (a window of file tools that wrote such files)

        record = turnunheld.claimed(repo, record, after, claims, str(before_sha or ""))
    gone = (WINDOW_STATE, CLAIMS, NOTED, NOTED_AT, IGNORED_BEFORE)
    extra = {k: v for k, v in record.extra.items() if k not in gone}
    record = records.replace(record, window_before=None, in_flight=(), extra=extra)
    if not before_sha:
        return record  # its start could not be taken: named as unprotected already
    start: object
    if isinstance(noted, dict):
        when = noted_at if isinstance(noted_at, float) else None
        record, before_sha, start_snap = as_they_were(repo, record, before_sha, after, noted, when)
        start = state_of(start_snap)
        record = settle(repo, record, start_snap)  # the steps pending, before this one
    elif isinstance(known, dict) and known.get("commit") == before_sha:
        start = known.get("state")
    else:
        from git_atomic.engine import checkpoint

        start = state_of(checkpoint.load(repo, before_sha))
    after_sha = after.commit
    if claims is not None and isinstance(start, list) and start != state_of(after):
        record, after_sha = narrowed(repo, record, before_sha, start, after, claims)
        if after_sha == before_sha:
            forget_refs(repo, record, only=(before_sha,))
            return _quiet(record, known, after)
    elif (
        start == state_of(after)
        and not _branch_on_ours(repo)
        and not _folder_moved(repo, known, after)
    ):
        forget_refs(repo, record, only=(before_sha, after.commit))
        return _quiet(record, known, after)
    step, since = (before_sha, after_sha), known.get(TAKEN) if isinstance(known, dict) else None
    began = noted_at if isinstance(noted, dict) else None  # its files noted first
    if began is None and isinstance(known, dict):
        began = known.get(BEGAN)
    if at is None and isinstance(began, float):
        turnothers.note(repo, record, step, began)
    parts = [step]
    if at is None and claims is None and isinstance(since, float):
        record, parts = turnothers.outside_others(repo, record, step, since=since, until=closing)
    held_before = start[5] if isinstance(start, list) and len(start) > 5 else None  # state_of's
    if at is None and claims is None and after.too_large and after.too_large != held_before:
        from git_atomic.agents import turnunheld

        record = turnunheld.new_files(repo, record, before_sha, after)
    return records.replace(record, steps=(*record.steps, *parts))


def _quiet(record: Record, known: object, after: checkpoint.Snapshot) -> Record:
    """The record with a window that is no step kept as a span of its calls (QUIET_WINDOWS):
    a call that only installed a git hook (`pre-commit install`) or left a lock made it
    within the turn's calls."""
    began = known.get("at", known.get(BEGAN)) if isinstance(known, dict) else None
    if not isinstance(began, float) or after.captured_at is None:
        return record
    spans = turnkeys.quiet_windows(record.extra.get(QUIET_WINDOWS))
    extra = {**record.extra, QUIET_WINDOWS: [*map(list, spans), [began, after.captured_at]]}
    return records.replace(record, extra=extra)


FOLDERS: Final = "folders"  # the window's start's folder-ids blob, in WINDOW_STATE


def _folder_moved(repo: git.Repo, known: object, after: checkpoint.Snapshot) -> bool:
    """Whether the window moved a folder (`mv F out` where `F` holds only ignored files: no
    tree differs): a step all the same, which the turn's end takes back (effectfolders.py).
    The two folder-ids blobs are read only where they differ."""
    was = known.get(FOLDERS) if isinstance(known, dict) else None
    if not isinstance(was, str) or after.folder_ids is None or was == after.folder_ids:
        return False
    from git_atomic.engine import folderids

    then = {ident: path for path, ident in folderids.load(repo, was).items()}
    return any(then.get(i, p) != p for p, i in folderids.load(repo, after.folder_ids).items())


def _branch_on_ours(repo: git.Repo) -> bool:
    """Whether a branch is a symbolic ref to one of our refs (`git symbolic-ref refs/heads/x
    refs/atomic/turns/...`): a checkpoint holds no such ref, so a window that made one looks
    as if it changed nothing; it is a step all the same, which the turn's end takes back
    (turnend.py), and its refs stay, not left dangling."""
    from git_atomic.engine import gitlinks

    return bool(gitlinks.branches_on_ours(repo))


# The checkpoint taken when a call of the open window began to wait for the person (a
# confirmation prompt, an MCP server's question): where the window ends when that call ends
# without running (`turn.asking`).
ASKED: Final = "window_asked"
ASKED_KIND: Final = "window_asked_kind"  # what the call waits for (`turn.Asked`)


def start_window(
    repo: git.Repo,
    record: Record,
    paths: tuple[str, ...] | None,
    *,
    opening: bool,
    named: tuple[str, ...] = (),
) -> Record:
    """A call opens a window (`opening`) or joins one that noted files only. Until the turn
    has a step, a window takes its checkpoint: the first step's start is the state the turn
    began from, where the judge asks whether a failing gate failed already (judge.py)."""
    noted = noted_files(repo, paths) if record.steps else None
    if noted is not None:
        held = record.extra.get(NOTED) if not opening else None
        files = {**noted, **(held if isinstance(held, dict) else {})}  # the earliest stays
        since = record.extra.get(NOTED_AT) if not opening else None
        when = since if isinstance(since, float) else time.time()
        extra = {**record.extra, NOTED: files, NOTED_AT: when}
        return records.replace(record, window_before=FILES_NOTED, extra=extra)
    began = time.time()
    if opening and not record.steps and not pending_of(record):
        from git_atomic.engine import gitlinks  # (only where a turn's first window opens)

        gitlinks.refuse_found(repo.git_dir, repo.common_dir)  # a link in refs is yours
    record, before = capture(repo, record, "before")
    taken = time.time()
    if (paths or named) and before.commit:  # a file tool's: its ignored files told if written
        from git_atomic.agents import turnunheld

        record = turnunheld.ignored_before(repo, record, before, paths or named)
    if opening and not record.steps and not pending_of(record):
        # The turn's start, its PRE-OP: the branches' reflogs, for a take-back that makes one
        # its calls deleted or renamed again (reflogkeep.py), imported only here.
        from git_atomic.engine import reflogkeep
        from git_atomic.ops import context  # (the journal's: not a later call's import)

        reflogkeep.keep(repo, record.op_id, before.branches)
        # Where our refs no row names are (their Stop holds them again if a call changed it).
        record = records.replace(
            record, extra={**record.extra, context.UNNAMED: context.unnamed_folders(repo)}
        )
    if opening:
        record = settle(repo, record, before)  # the steps pending end where this one starts
    # What the window starts from, kept with it: closing it then reads nothing back.
    beside = turnbeside.beside_now(repo, before.branches)
    window: dict[str, object] = {
        "commit": before.commit,
        "state": state_of(before),
        turnbeside.BESIDE: beside,
        BEGAN: began,
        TAKEN: taken,
    }
    if before.captured_at is not None:
        window["at"] = before.captured_at
    if before.folder_ids is not None:
        window[FOLDERS] = before.folder_ids
    return records.replace(
        record, window_before=before.commit, extra={**record.extra, WINDOW_STATE: window}
    )


def narrowed(
    repo: git.Repo,
    record: Record,
    before_sha: str,
    start: list[object],
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
    if len(mine) == len(changes) and start[1:] == state_of(after)[1:]:
        return record, after.commit
    forget_refs(repo, record, only=(after.commit,))
    if not mine:
        return record, before_sha
    from git_atomic.engine import checkpoint

    before = checkpoint.load(repo, before_sha)
    files = repo.tree_edit(
        before.files_tree,
        {c.path: None if c.status == "D" else (c.new_mode, c.new_oid) for c in mine},
    )
    folders = _claimed_folders(repo, before, after, wanted)
    end = records.replace(before, files_tree=files, empty_folders=folders)
    return written(repo, record, end, "after")


def _claimed_folders(
    repo: git.Repo, before: checkpoint.Snapshot, after: checkpoint.Snapshot, wanted: list[bytes]
) -> str | None:
    """The empty folders of a narrowed step's end: `before`'s, but on the way to the files it
    claims `after`'s (an empty folder of yours its file went into is empty again when the
    step is taken back; one its calls made for it is not)."""
    if not (before.all_empty_folders and after.all_empty_folders):
        return before.empty_folders

    def on_the_way(folder: bytes) -> bool:
        return any(w.startswith(folder + b"/") for w in wanted)

    from git_atomic.engine import checkpoint

    was = checkpoint.load_empty_folders(repo, before)
    now = checkpoint.load_empty_folders(repo, after)
    kept = {f for f in was if not on_the_way(f)} | {f for f in now if on_the_way(f)}
    return checkpoint.paths_blob(repo, kept)


# The record's note of the state its window started from (`_state` of `window_before`), and
# when its checkpoint began to be taken and was taken (time.time(): turnothers.py).
WINDOW_STATE: Final = turnkeys.WINDOW_STATE
BEGAN: Final = turnkeys.BEGAN
TAKEN: Final = turnkeys.TAKEN
IGNORED_BEFORE: Final = turnkeys.IGNORED_BEFORE
QUIET_WINDOWS: Final = turnkeys.QUIET_WINDOWS


def state_of(snap: checkpoint.Snapshot) -> list[object]:
    """What makes two checkpoints the same state: files, index, HEAD and branches, the
    permission bits no tree holds (a call's `chmod 644` of a 0600 key is a step, which the
    turn's end takes back) and the names of the files over the budget, which no tree holds
    either (a call's `mv a.db b.db` is a step: a later one's `mv b.db c.db` goes back whole);
    and the rest a rollback puts back that no tree holds: the empty folders (a call's `mkdir
    -p out/logs`), the FIFOs, sockets and devices (a call's `mkfifo`), the stash list (a
    call's `git stash drop` of yours), `.git/info/exclude`, `info/attributes`,
    `info/sparse-checkout` and `shallow` (a window that changed only one of these was taken
    for one that changed nothing, and the turn's end left it; a file tool's first window,
    whose step is its capture when only its files changed in the tree, took your `mkdir`
    meanwhile as its own); in the shape it takes once written to the record
    (JSON), so that both compare alike."""
    key = [
        snap.files_tree,
        list(snap.index_key()),
        snap.head_ref,
        snap.head_oid,
        snap.modes,
        snap.too_large,
        [snap.empty_folders, snap.all_empty_folders],
        [snap.stash, snap.stash_known],
        *(_rules_key(rules) for rules in _rules_of(snap)),
        snap.specials,  # the FIFOs and sockets a call made or removed (effectfifos.py)
    ]
    shaped: list[object] = json.loads(json.dumps([*key, dict(sorted(snap.branches.items()))]))
    return shaped


def _rules_of(snap: checkpoint.Snapshot) -> tuple[infoexclude.Rules, ...]:
    return (snap.info_exclude, snap.info_attributes, snap.sparse_checkout, snap.shallow)


def _rules_key(rules: infoexclude.Rules) -> list[object]:
    """A file of git's the checkpoint keeps in its meta, by its digest (the record stays small;
    Python's own SHA-256, never hashlib's OpenSSL: objectformat.py)."""
    return [rules.known, None if rules.data is None else objectformat.sha256_hex(rules.data)]
