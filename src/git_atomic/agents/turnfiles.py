"""The files a file tool's calls name: placed in the worktree (`inside`), claimed by the
window (`claiming`), noted as they are where the window takes no checkpoint (`noted_files`),
its start with them as they were (`as_they_were`), and its step pending in the record until
the turn's next capture writes it (`noted_step`, `settle`). Split from turnsteps.py, which
closes a window with them."""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from git_atomic.agents import turnkeys, turnothers
from git_atomic.agents.turnrefs import past_leftovers, written
from git_atomic.agents.turnstate import TURN_REFS, Record, turn_message
from git_atomic.core import failpoints, linkplace, patterns, records
from git_atomic.core.errors import AtomicError
from git_atomic.engine import git, rulefiles
from git_atomic.engine.gittrees import folders_on_the_way

if TYPE_CHECKING:  # (a later call's note of its files reads no checkpoint)
    from git_atomic.engine import checkpoint, safefs


# Once the turn has a step, a window that opens with a file tool (Claude Code's Write,
# Edit...) takes no checkpoint at its start: it notes the files the tool names as they are on
# disk (their bytes stored as blobs; `NOTED` in `Record.extra`, and `window_before` is
# `FILES_NOTED`). Its step then begins at the capture that closes it, with those files as they
# were: what the window's calls changed in them, and nothing else; or, when its end can be
# noted too, at the turn's next capture (`PENDING` below). No capture per tool call instead
# of two. A call that may change anything (a shell) joining such a window takes the
# checkpoint there, and the noted files are put back in it as they were. The blobs are loose
# objects no ref holds until the window closes (then `_keep_notes` holds them, or its
# checkpoints do): git's prune leaves such objects for two weeks, `git atomic gc` keeps them.
FILES_NOTED: Final = turnkeys.FILES_NOTED
NOTED_AT: Final = turnkeys.NOTED_AT  # when (time.time()): the step's window starts then
# A noted file: path from the top -> [mode, blob], or None where there was no file.
Noted = dict[str, list[str] | None]
NOTED: Final = turnkeys.NOTED


def noted_files(repo: git.Repo, paths: tuple[str, ...] | None) -> Noted | None:
    """The files a file tool names, as they are now: path -> [mode, blob], or None where there
    is none. None when one cannot be noted that way, and the window takes a checkpoint: a
    path through a link or a file, anything but a regular file, a rule file (a `.gitignore`,
    a `.gitattributes`, the file `core.excludesFile` or `core.attributesFile` names in the
    worktree: what it changes is more than itself, engine/rulefiles.py), one over the size
    budget."""
    from git_atomic.core.config import capture_settings
    from git_atomic.engine import safefs

    if not paths:
        return None
    rels: list[bytes] = []
    for path in paths:
        named = inside(repo, (path,))
        if named is None or len(set(named)) != 1:
            return None  # outside, in .git, or through a link: its two names differ
        rels.append(os.fsencode(named[0]))
    limit, _ = capture_settings(repo.root)
    found: Noted = {}
    contents: list[tuple[str, str, bytes]] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in rels:
            if rulefiles.is_rule_file(repo, rel):
                return None  # what it changes is more than itself
            missing = False  # a folder on its way is not there: nor is the file
            home = b""  # the innermost folder on its way that is there
            for folder in folders_on_the_way(rel):
                kind = tree.kind(folder)
                if kind is None:
                    missing = True
                    break
                if kind != stat.S_IFDIR:
                    return None  # a link or a file where a folder must be
                home = folder
            try:
                st = None if missing else tree.lstat(rel)
            except OSError:  # a name the filesystem refuses (too long): a checkpoint says
                return None
            if st is None:
                if home and _empty(tree, home):
                    return None  # an empty folder of yours: a checkpoint holds it as one
                found[os.fsdecode(rel)] = None
                continue
            if not stat.S_ISREG(st.st_mode) or (limit is not None and st.st_size > limit):
                return None
            data = tree.read(rel)
            if data is None:
                return None
            mode = "100755" if st.st_mode & 0o100 else "100644"
            contents.append((os.fsdecode(rel), mode, data))
    datas = [data for _, _, data in contents]
    if (repo.state_dir / "lfs").is_dir():
        from git_atomic.engine import lfskeep  # held as the captures hold them: a marker

        oids = lfskeep.noted_blobs(repo, datas)
    else:
        oids = repo.write_blobs(datas)
    for (rel_str, mode, _), oid in zip(contents, oids, strict=True):
        found[rel_str] = [mode, oid]
    return found


def as_they_were(
    repo: git.Repo,
    record: Record,
    before_sha: str,
    after: checkpoint.Snapshot,
    noted: Mapping[str, object],
    noted_at: float | None,
) -> tuple[Record, str, checkpoint.Snapshot]:
    """The start of a window that noted files: the checkpoint it took (or, when it took none,
    the capture that closes it) with those files as they were noted. A noted file that is not
    in that checkpoint was ignored then, as it is now: not the turn's. Returns the record, the
    start's commit and the start. Its capture time is when the files were noted (`noted_at`):
    the step's window, in which an ignored file the window's calls made is theirs, starts
    then."""
    from git_atomic.engine import checkpoint

    base = after if before_sha == FILES_NOTED else checkpoint.load(repo, before_sha)
    wanted = [os.fsencode(p) for p in noted]
    present = {e.path for e in repo.ls_tree_at(base.files_tree, wanted)}
    changes: dict[bytes, tuple[str, str] | None] = {}
    for path, was in noted.items():
        rel = os.fsencode(path)
        if rel not in present:
            continue  # ignored (or in a submodule): in no checkpoint, as it was not before
        if was is None:
            changes[rel] = None  # made by the window's calls
        elif isinstance(was, list) and len(was) == 2:
            changes[rel] = (str(was[0]), str(was[1]))
    files = repo.tree_edit(base.files_tree, changes) if changes else base.files_tree
    when = base.captured_at if noted_at is None else noted_at
    start = records.replace(base, files_tree=files, captured_at=when)
    if files == base.files_tree and when == base.captured_at:
        return record, base.commit, base
    record, commit = written(repo, record, start, "before")
    return record, commit, records.replace(start, commit=commit)


# A window that noted its files closes without a capture when it can: it notes them again as
# they are now, and the pair of notes is its step, kept in `Record.extra` (`PENDING`) until
# the turn's next capture (`settle`). Each pending step is then written as two checkpoints: that
# capture with its files as they were noted before its calls, then after (an older step: from
# the start of the one after it). No capture per file tool call; the bytes noted are kept
# reachable meanwhile by one ref of the turn (`_keep_notes`). A pending step holds only
# files a capture would hold: ones the last checkpoint has, or new ones git does not ignore; for
# any other (an ignored file the configuration protects, a path git cannot answer for) the
# window takes its capture, as before.
PENDING: Final = "steps_pending"


def _empty(tree: safefs.Tree, rel: bytes) -> bool:
    """Whether the folder `rel` holds nothing: a new file's in it makes it no empty folder, which
    a note of the file alone cannot tell the step's start (its take-back would remove it)."""
    fd = tree.folder(rel)
    if fd is None:
        return False
    with os.scandir(fd) as entries:
        return next(entries, None) is None


def noted_step(repo: git.Repo, record: Record) -> Record | None:
    """The record with the window closed and its step pending; None when the window must take
    its capture (`close_window`)."""
    noted, claims = record.extra.get(NOTED), claims_of(record)
    if not record.steps or not isinstance(noted, dict) or claims is None:
        return None
    if set(claims) != set(noted):
        return None
    now = noted_files(repo, tuple(os.path.join(repo.root, p) for p in noted))
    if now is None:
        return None
    changed = sorted(p for p in noted if noted[p] != now.get(p))
    held = _held(repo, record.steps[-1][1], changed) if changed else set()
    if held is None:
        return None
    noted_at = record.extra.get(NOTED_AT)
    gone = (turnkeys.WINDOW_STATE, CLAIMS, NOTED, NOTED_AT)
    extra = {k: v for k, v in record.extra.items() if k not in gone}
    # A file of yours there before the call that no capture would hold: an ignored one. Its
    # noted blob holds its bytes, but where LFS content is kept a marker may stand for them.
    ignored = [[p, noted[p][1]] for p in changed if p not in held and isinstance(noted[p], list)]
    if ignored:
        lfs = (repo.state_dir / "lfs").is_dir()
        extra[turnkeys.IGNORED_WRITTEN] = [[p, "" if lfs else b] for p, b in ignored]
    if held:
        step = {
            "before": {p: noted[p] for p in changed if p in held},
            "after": {p: now[p] for p in changed if p in held},
            "from": noted_at if isinstance(noted_at, float) else time.time(),
            "to": time.time(),
        }
        extra[PENDING] = [*pending_of(record), step]
        _keep_notes(repo, record, extra[PENDING])
        failpoints.hit("turnfiles:notes-kept")  # its bytes held by the ref, the record not yet
        began = noted_at if isinstance(noted_at, float) else time.time()
        files = ({p: noted[p] for p in held}, {p: now.get(p) for p in held})
        turnothers.note_files(repo, record, files, began)
    return records.replace(record, window_before=None, in_flight=(), extra=extra)


def _notes_ref(record: Record) -> str:
    return f"{TURN_REFS}{record.op_id}/notes"


def _keep_notes(repo: git.Repo, record: Record, pending: list[dict[str, object]]) -> None:
    """Keep the bytes the pending steps noted reachable, as every checkpoint is (a `git gc
    --prune=now` meanwhile loses nothing): one tree naming them, held by a ref of the turn
    until `settle` writes the steps."""
    blobs = noted_blobs([records.replace(record, extra={PENDING: pending})])
    tree = repo.mktree(
        git.TreeEntry("100644", "blob", oid, b"%d" % n) for n, oid in enumerate(blobs)
    )
    repo.update_refs([f"update {_notes_ref(record)} {tree}"], message="git-atomic: turn notes")


def _held(repo: git.Repo, last: str, paths: Sequence[str]) -> set[str] | None:
    """Which of `paths` a capture would hold: those the checkpoint `last` holds, and the new
    ones git does not ignore. None when that cannot be told without a capture: a folder on the
    way that is a file or a submodule there, an ignored file the configuration protects, or a
    path `git check-ignore` does not answer for."""
    from git_atomic.core.config import capture_settings
    from git_atomic.engine import loosetrees

    rels = [os.fsencode(p) for p in paths]
    asked = sorted({*rels, *(f for rel in rels for f in folders_on_the_way(rel))})
    # Read from the loose objects the checkpoint was written as (no process); git is asked
    # once one is packed.
    there = loosetrees.modes_at(repo, f"{last}:files", asked)
    if there is None:
        there = {e.path: e.mode for e in repo.ls_tree_at(f"{last}:files", asked)}
    for rel in rels:
        if any(there.get(f, "040000") != "040000" for f in folders_on_the_way(rel)):
            return None
        if there.get(rel, "100644") not in ("100644", "100755", "120000"):
            return None  # a folder or a submodule where the file is
    new = [rel for rel in rels if rel not in there]
    ignored: set[bytes] = set()
    if new:
        found = repo.ignored(new, by_rules_alone=False)
        if found is None:
            return None
        ignored = found
        if ignored and capture_settings(repo.root)[1]:
            return None  # it may be protected: the capture decides
    return {os.fsdecode(rel) for rel in rels if rel not in ignored}


def noted_blobs(records: Sequence[Record]) -> list[str]:
    """The blobs the open turns `records` noted and hold by no ref yet: the open window's and
    the pending steps' (`gc` keeps them)."""
    notes: list[object] = []
    for record in records:
        notes.append(record.extra.get(NOTED))
        for step in pending_of(record):
            notes += [step.get("before"), step.get("after")]
    return sorted(
        {
            str(entry[1])
            for note in notes
            if isinstance(note, dict)
            for entry in note.values()
            if isinstance(entry, list) and len(entry) == 2 and re.fullmatch(_OID, str(entry[1]))
        }
    )


_OID: Final = patterns.keep(r"[0-9a-f]{40}|[0-9a-f]{64}")


def pending_of(record: Record) -> list[dict[str, object]]:
    value = record.extra.get(PENDING)
    return [step for step in value if isinstance(step, dict)] if isinstance(value, list) else []


def settle(repo: git.Repo, record: Record, end: checkpoint.Snapshot) -> Record:
    """The record with its pending steps written as steps, oldest first. `end` is a state
    captured after them and before anything later of the turn: the newest step ends there with
    its files as they were noted after its calls, and starts there with them as they were noted
    before; each older one likewise, from the start of the one after it. So what others changed
    meanwhile is in both ends of a step, never its change, and the turn's last checkpoint is
    what was on disk. Each checkpoint's capture time is its note's (the step's window)."""
    pending = pending_of(record)
    if not pending:
        return record
    from git_atomic.engine import checkpoint

    so_far: dict[bytes, tuple[str, str] | None] = {}
    edits: list[dict[bytes, tuple[str, str] | None]] = []
    times: list[float] = []
    for step in reversed(pending):  # the newest step's end first, then its start...
        for side, clock in (("after", "to"), ("before", "from")):
            files = step.get(side)
            for path, entry in _entries(files if isinstance(files, dict) else {}).items():
                _put(so_far, path, entry)
            edits.append(dict(so_far))
            when = step.get(clock)
            times.append(float(when) if isinstance(when, (int, float)) else time.time())
    base = _without_listed(repo, end, set(so_far))
    trees = repo.tree_edits(end.files_tree, edits[::-1])
    commits = []
    for tree, at in zip(trees, times[::-1], strict=True):
        parts = records.replace(base, files_tree=tree, captured_at=at)
        message = turn_message(repo.worktree_id, record, "step: the files its calls named")
        commits.append(checkpoint.write(repo, parts, message=message).commit)

    def named(record: Record) -> Record:
        lines = []
        for n, commit in enumerate(commits):
            record, ref = record.next_ref("before" if n % 2 == 0 else "after")
            lines.append(f"create {ref} {commit}")
        lines.append(f"delete {_notes_ref(record)}")  # the steps' checkpoints hold the bytes
        repo.update_refs(lines, message="git-atomic: turn checkpoint")
        return record

    try:
        record = named(record)
    except AtomicError:
        past = past_leftovers(repo, record)
        if past is None:
            raise
        record = named(past)
    failpoints.hit("turnfiles:settled")  # the steps' refs made, the record not yet written
    steps = tuple(zip(commits[0::2], commits[1::2], strict=True))
    extra = {k: v for k, v in record.extra.items() if k != PENDING}
    return records.replace(record, steps=(*record.steps, *steps), extra=extra)


def _put(
    edit: dict[bytes, tuple[str, str] | None], path: bytes, entry: tuple[str, str] | None
) -> None:
    """`path` set in `edit`, which then names no file under it (a file there replaces what was
    under it) and no file on its way (a folder is there): a file and a folder at one path, a
    state the user's changes between two steps can make, is never asked of a tree."""
    if entry is not None:
        under = path + b"/"
        for other in [p for p in edit if p.startswith(under)]:
            del edit[other]
    for folder in folders_on_the_way(path):
        if edit.get(folder) is not None:
            del edit[folder]
    edit[path] = entry


def _entries(files: Mapping[str, object]) -> dict[bytes, tuple[str, str] | None]:
    """A note's files (path -> [mode, blob] or None) as a tree edit."""
    found: dict[bytes, tuple[str, str] | None] = {}
    for path, was in files.items():
        if isinstance(was, list) and len(was) == 2:
            found[os.fsencode(path)] = (str(was[0]), str(was[1]))
        elif was is None:
            found[os.fsencode(path)] = None
    return found


def _without_listed(
    repo: git.Repo, snap: checkpoint.Snapshot, paths: set[bytes]
) -> checkpoint.Snapshot:
    """`snap` whose lists of files too large to hold and of special files (a socket...) name
    none of `paths`: a pending step's files are held, regular files, at both its ends."""
    from git_atomic.engine import checkpoint

    too_large = checkpoint.load_too_large(repo, snap) if snap.too_large else frozenset()
    specials = checkpoint.load_specials(repo, snap) if snap.specials else {}
    if not (too_large & paths or set(specials) & paths):
        return snap
    return records.replace(
        snap,
        too_large=checkpoint.paths_blob(repo, too_large - paths),
        specials=checkpoint.specials_blob(
            repo, {p: m for p, m in specials.items() if p not in paths}
        ),
    )


# The files the open window's calls claim, in `Record.extra`: a list of paths from the top of
# the worktree, or None once a call that may change anything joined it. Absent: none may be
# narrowed (a window opened before this was recorded).
CLAIMS: Final = turnkeys.CLAIMS


def claiming(
    record: Record, repo: git.Repo, paths: tuple[str, ...] | None, *, opening: bool = False
) -> Record:
    """The record with the call's files added to its window's claims."""
    mine = inside(repo, paths)
    held = [] if opening else claims_of(record)
    claims = None if mine is None or held is None else sorted({*held, *mine})
    return records.replace(record, extra={**record.extra, CLAIMS: claims})


def claims_of(record: Record) -> list[str] | None:
    value = record.extra.get(CLAIMS)
    return [str(p) for p in value] if isinstance(value, list) else None


def inside(repo: git.Repo, paths: tuple[str, ...] | None) -> list[str] | None:
    """The worktree paths a file tool's absolute paths name, as written and with links
    resolved (a tool writes through a link: the file it reaches is the one that changes).
    None when one cannot be placed in the worktree, or is a file of several names (a hard
    link: a tool that writes into it changes them all): the call may then change anything."""
    if paths is None:
        return None
    root, real_root = os.path.normpath(repo.root), os.path.realpath(repo.root)
    tops = linkplace.spelled_tops(str(repo.root), real_root)
    found: list[str] = []
    for path in paths:
        if not os.path.isabs(path) or "\0" in path or not _a_file_name(path):
            return None  # no file has such a name
        # Where it really is: None where a link leads out (nothing out there is looked at).
        real = linkplace.within(real_root, path, spellings=tops)
        named = [os.path.relpath(os.path.normpath(path), root), real or os.pardir]
        inside = [p for p in named if p.split(os.sep)[0] not in (".", "..", ".git")]
        if not inside or any(".git" in p.split(os.sep) for p in inside):
            return None
        if real is not None and _names_of(os.path.join(real_root, real)) > 1:
            return None
        found += inside
    return found


def outside(repo: git.Repo, paths: tuple[str, ...] | None) -> list[str]:
    """The paths a file tool names that lead out of the worktree, by their name (`/elsewhere`,
    `../x`) or through a link in it: what the call writes there is in no checkpoint, and
    taking the turn back leaves it (nothing outside the worktree is ever written). Found as
    `inside` places them, where the file the tool writes really is, without a look at anything
    outside (core/linkplace.py)."""
    real_root = os.path.realpath(repo.root)
    tops = linkplace.spelled_tops(str(repo.root), real_root)
    found = []
    for path in paths or ():
        named = os.path.isabs(path) and "\0" not in path and _a_file_name(path)
        if named and linkplace.within(real_root, path, spellings=tops) is None:
            found.append(path)
    return found


def _a_file_name(path: str) -> bool:
    """Whether `path` can name a file: JSON carries lone surrogates (`"\\ud83d"`) that no
    file name's bytes decode to."""
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        return False
    return True


def _names_of(real: str) -> int:
    """How many names the file at `real` (no link on its way: resolved, in the worktree) has;
    0 where there is none."""
    try:
        return os.lstat(real).st_nlink
    except OSError:
        return 0
