"""`git atomic gc`: retire the checkpoints and journal rows of old, closed operations.

What goes: for every operation closed more than DAYS ago (in any worktree of the repository),
its refs under `refs/atomic/ops/<id>/`, its journal rows (operation, checkpoints, gates,
events) and its gate logs; refs under `refs/atomic/rescue/` and `refs/atomic/commits/` older
than DAYS; refs of operations the journal does not know (copied from another repository, left
by a journal removed, by a `begin` that failed, or by a killed gc), and refs of agent turns
that are not open (copied, or of a session that never came back), whose newest checkpoint is
older than DAYS, as any checkpoint ages; an open turn of any worktree whose session made no
hook call for DAYS (and at least a day: turnabandoned.close_abandoned) is closed first, recorded and
not judged, its refs then its operation's (another worktree's under that worktree's lock;
one busy, or whose folder is gone, is left and said); our temporary files left by dead
processes.
What stays, always: every open operation (interrupted ones included); in every worktree the
newest rescue checkpoint, so `git atomic undo` keeps working however old it is; and every
checkpoint that a remaining journal row still names (rows go first, refs after, so a kill in
between leaves refs without rows, which the next gc retires, never rows without refs).

Objects: deleting a ref is what makes a checkpoint's objects prunable. gc then runs
`git prune --expire=<gc.pruneExpire>` (git's default: 2.weeks.ago), exactly what `git gc`
itself would run: loose objects unreachable for longer than the user's grace period go now, and
nothing younger, nothing in a reflog, nothing that another git process is writing this minute.
Objects in packs, or younger than that period, go with the next `git gc`; the report says so.
The bytes an open agent turn noted and has not yet written into checkpoints stay too.
The scan of this worktree is taken anew first, so that its ref (refs/atomic/scan/) holds the
files on disk now and not one deleted since, nor a file now over the size budget; so is the
record of raw files under a line-ending rule (refs/atomic/raw/), which goes altogether once no
rule asks for it (that capture did not write it), as does a Watchman clock for another tree.
Git LFS content kept by a hard link for checkpoints (engine/lfskeep.py) goes once git stores no
marker for it any more.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Final

from git_atomic.agents import turnmarks, turnstate, turnsteps
from git_atomic.core import failpoints
from git_atomic.core.errors import UsageError
from git_atomic.core.journal import Journal
from git_atomic.engine import (
    besideleft,
    conversion,
    dotgit,
    git,
    gitconfig,
    gitlinks,
    lfskeep,
    reflogkeep,
    scanindex,
    scratch,
    snapshot,
    staged,
    trash,
)
from git_atomic.ops import commandresults, context, output

_REFS: Final = "refs/atomic/"
_OP_REF: Final = re.compile(r"^refs/atomic/ops/([0-9a-f]+)/")
# An agent turn's checkpoints while it is open (turnstate.TURN_REFS).
_TURN_REF: Final = re.compile(r"^refs/atomic/turns/([0-9a-f]+)/")
# Refs outside any operation, named by their creation time in milliseconds (hex): rescues of
# moves outside an operation, and commits made checkpoints for `emergency` / `rollback --to`.
_TIMED_REF: Final = re.compile(r"^refs/atomic/(?:rescue|commits)/([0-9a-f]+)-")
_DEFAULT_EXPIRE: Final = "2.weeks.ago"


def gc(*, older_than_days: float, json_out: bool) -> int:
    # `nan` compared false with every age and retired nothing, exit 0 (t0040-parse-options:
    # a bad number is a usage error); `inf` is a number of days no operation is older than.
    if not older_than_days >= 0:
        raise UsageError(f"--older-than: expected a number of days >= 0, got {older_than_days:g}")
    cutoff = time.time() - older_than_days * 86400
    with context.opened("gc", check_state=False) as ctx:
        # A link in refs: its probe would set it aside (yours, or an open operation's, whose
        # abort sets it aside itself); refused by name, before anything is retired.
        gitlinks.refuse_found(ctx.repo.git_dir, ctx.repo.common_dir)
        from git_atomic.agents import turnabandoned

        # A turn whose session never came back (no Stop, no next prompt): nothing else ends it.
        closed = turnabandoned.close_abandoned(ctx, cutoff)
        # (and those of the other worktrees)
        elsewhere, left = turnabandoned.close_abandoned_elsewhere(ctx.repo, cutoff)
        closed += elsewhere
        abandoned = min(cutoff, time.time() - turnstate.ABANDONED_AFTER)
        closed += turnmarks.forget_abandoned_marks(ctx.repo.state_dir, abandoned)
        result = _retire(ctx.repo, ctx.journal, cutoff)
        precious = _precious(ctx.repo)
    if closed:
        output.say(
            f"git-atomic: closed {closed} agent turn{'s' if closed != 1 else ''} whose session "
            f"made no hook call in {older_than_days:g} days: recorded, not judged, nothing "
            "taken back (`git atomic log`)"
        )
    for line in left:
        output.say(f"git-atomic: warning: {line}")
    if json_out:
        output.emit(result)
        return 0
    later = (
        ""
        if result.expire in ("now", "all")
        else "; their objects stay: git keeps every object here (extensions.preciousObjects)"
        if precious
        else "; objects younger than gc.pruneExpire or in packs go with the next `git gc`"
    )
    output.say(
        f"git-atomic: retired {result.operations} operation"
        f"{'s' if result.operations != 1 else ''} and {result.refs} checkpoint ref"
        f"{'s' if result.refs != 1 else ''}; freed {_size(result.bytes_freed)}{later}"
    )
    return 0


def _retire(repo: git.Repo, journal: Journal, cutoff: float) -> commandresults.GcResult:
    refs = repo.refs("refs/atomic/")
    keep = _newest_rescues(journal)
    known = journal.op_ids()
    old_ops = journal.closed_before(cutoff)
    holding = journal.ops_holding(keep)
    retire = [op_id for op_id in old_ops if op_id not in holding]
    candidates: dict[str, str] = {}
    strays = _stray_ops_taken(repo, known, refs)
    retiring = _retiring(repo)  # a gc killed after their rows went: they go now
    # A turn that is open, or whose record a call removed (its mark: turnmarks.mark_open).
    turns = {r.op_id for r in turnstate.open_turns(repo.state_dir)}
    turns |= turnmarks.marked_turns(repo.state_dir)
    stray_turns = _stray_ops_taken(repo, turns, refs, _TURN_REF)
    for name, oid in refs.items():
        m = _OP_REF.match(name)
        op = m.group(1) if m else None
        stray = op in strays and (op in retiring or strays[op] < cutoff)
        if op is not None and (op in retire or stray):
            candidates[name] = oid
        m = _TURN_REF.match(name)
        if m and stray_turns.get(m.group(1), cutoff) < cutoff:
            candidates[name] = oid
        m = _TIMED_REF.match(name)
        if m and int(m.group(1), 16) / 1000 < cutoff:
            candidates[name] = oid
    # Journal rows first, refs after: a row must never name a checkpoint that is gone.
    # Every checkpoint a journal row still names keeps its ref, whatever its age.
    if retire or retiring:
        _note_retiring(repo, [*(retiring - known), *retire])
    events = journal.delete_ops(retire, events_before=cutoff, spare=keep)
    named = journal.named_shas() | keep
    # A ref HEAD or a branch points at (`git symbolic-ref refs/heads/main refs/atomic/...`, an
    # agent's shell call): deleting it would leave the commits made on it named by nothing.
    pointed = _pointed_at(repo)
    for name in sorted(pointed & candidates.keys()):
        output.say(f"git-atomic: warning: {name} kept: HEAD or a branch is a symbolic ref to it")
    doomed = {
        name: oid for name, oid in candidates.items() if oid not in named and name not in pointed
    }
    failpoints.hit("gc:after-journal")
    repo.update_refs(
        [f"delete {name} {oid}" for name, oid in sorted(doomed.items())], message="git-atomic gc"
    )
    (repo.state_dir / _RETIRING).unlink(missing_ok=True)
    logs = 0
    # An open agent turn is in no journal row yet: the reflogs its first call kept stay, as
    # those of an operation or turn the journal does not know whose checkpoints are kept yet.
    young = {op for op, at in strays.items() if at >= cutoff and op not in retiring}
    young |= {op for op, at in stray_turns.items() if at >= cutoff}
    unknown = [o for o in _reflog_ops(repo) if o not in known | turns | young]
    reflogkeep.retire(repo, [*retire, *unknown])
    for op_id in retire:
        folder = repo.state_dir / "logs" / op_id
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            logs += 1
    for path in besideleft.sweep(repo.root, repo.state_dir / "tmp"):  # beside your files
        output.say(f"git-atomic: {path}: a file a killed restore moved aside, out of your files")
    scratch.remove_dead(repo.state_dir / "tmp")
    trash.empty_folder(repo.state_dir / "trash")  # a killed emptier's leftovers
    scratch.remove_dead_asides(
        repo.state_dir, repo.common_dir / turnstate.OPEN_MARKS, git_dir=repo.git_dir
    )
    dotgit.remove_left(repo)  # a `.git` written back by a restore killed before its rename
    gitlinks.remove_left(repo.git_dir, repo.common_dir)  # a ref, HEAD, commondir: the same
    # The scan ref holds the files of the last scan: make that the files on disk now.
    raw_before = repo.refs(conversion.RAW_REFS).get(conversion.raw_ref_name(repo))
    started = time.time_ns()
    snapshot.capture(repo, message="git-atomic probe", ref=None, allow_unmerged=True)
    raw_retired = raw_before is not None and conversion.retire_raw(repo, unused_since=started)
    # The last staged tree captures remember may belong to a checkpoint retired just now.
    (repo.state_dir / staged.STAGED_CACHE).unlink(missing_ok=True)
    scan_now = repo.refs(scanindex.SCAN_REFS).get(scanindex.ref_name(repo))
    logged = _drop_our_reflogs(repo)  # (an earlier version's, under logAllRefUpdates=always)
    # Scan indexes a crash left without their ref (this worktree's; the ref keeps its objects).
    scanindex.tidy(repo, scan_now)
    expire = _prune_expire(repo)
    freed = 0
    moved = scan_now != refs.get(scanindex.ref_name(repo)) or raw_retired or logged
    if (doomed or moved or raw_before is not None) and expire is not None:
        objects = repo.common_dir / "objects"
        before = _tree_size(objects)
        # The bytes an open agent turn noted (its steps not yet written): no ref holds them.
        noted = _blobs(repo, turnsteps.noted_blobs(turnstate.open_turns(repo.state_dir)))
        repo.run("prune", f"--expire={expire}", "--", *noted)
        freed = max(0, before - _tree_size(objects))
    # LFS content kept for checkpoints (lfskeep.py): its link goes once git no longer stores
    # any marker for it (the marker blobs go with the checkpoints, at git's prune horizon).
    freed += lfskeep.retire(repo, _blobs(repo, list(lfskeep.markers(repo))))
    return commandresults.GcResult(len(retire), len(doomed), events, logs, freed, expire)


_OUR_LOGS: Final = b"logs/refs/atomic"


def _drop_our_reflogs(repo: git.Repo) -> bool:
    """Remove the reflogs of refs of ours an earlier version let git write under your
    `core.logAllRefUpdates=always` (our refs move with none now: git.OURS_UNLOGGED): the scan's
    held every tree it ever named, the bytes of files you deleted since with them. Regular
    files only, reached without a link; True where one was removed. One lstat where none is."""
    if not os.path.lexists(repo.common_dir / os.fsdecode(_OUR_LOGS)):
        return False
    from git_atomic.engine import safefs

    removed = False
    with safefs.Tree(os.fsencode(repo.common_dir)) as tree:
        folders = [_OUR_LOGS]
        while folders:
            rel = folders.pop()
            fd = tree.folder(rel)
            if fd is None:
                continue
            with os.scandir(fd) as entries:
                found = [
                    (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
                    for e in entries
                ]
            for name, is_dir, is_file in found:
                below = rel + b"/" + os.fsencode(name)
                if is_dir:
                    folders.append(below)
                elif is_file:
                    with contextlib.suppress(OSError):
                        removed |= tree.unlink(below)
        with contextlib.suppress(OSError):
            tree.remove_empty_folders(_OUR_LOGS)
    return removed


# In our folder while a gc retires operations: their ids, so that the refs of those whose rows
# went before a kill are retired by the next gc at once (unknown refs otherwise age first).
_RETIRING: Final = "gc-retiring"


def _retiring(repo: git.Repo) -> set[str]:
    try:
        fd = os.open(repo.state_dir / _RETIRING, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, encoding="utf-8") as fh:
            return set(fh.read().split())
    except (OSError, ValueError):
        return set()


def _note_retiring(repo: git.Repo, op_ids: list[str]) -> None:
    path = repo.state_dir / _RETIRING
    tmp = path.with_name(f"{_RETIRING}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(tmp, flags, 0o644), "w", encoding="utf-8") as out:
        out.write("".join(f"{op_id}\n" for op_id in sorted(set(op_ids))))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _stray_ops_taken(
    repo: git.Repo, owned: set[str], refs: dict[str, str], pattern: re.Pattern[str] = _OP_REF
) -> dict[str, float]:
    """The operations (or turns, with `_TURN_REF`) whose refs `pattern` matches and that are
    not in `owned` (copied from another repository, left by a journal removed, by a `begin`
    that failed, by a killed gc, by a turn whose session never came back), each with when its
    newest checkpoint was taken (its meta's `created_at`, else the commit's date): they age as
    any checkpoint does, never retired younger than DAYS. One or two git processes, only where
    there are some; one with no date at all counts as taken now (kept)."""
    theirs: dict[str, list[str]] = {}
    for name, oid in refs.items():
        m = pattern.match(name)
        if m is not None and m.group(1) not in owned:
            theirs.setdefault(m.group(1), []).append(oid)
    if not theirs:
        return {}
    oids = sorted({oid for found in theirs.values() for oid in found})
    made = _created_at(repo, oids)
    if len(made) < len(oids):  # not a checkpoint (no meta): the commit's date
        listed = repo.out("for-each-ref", "--format=%(objectname) %(committerdate:unix)", _REFS)
        for line in listed.decode("utf-8", "replace").splitlines():
            oid, _, when = line.partition(" ")
            if oid not in made and when.isdigit():
                made[oid] = float(when)
    now = time.time()
    return {
        op: max((made[oid] for oid in found if oid in made), default=now)
        for op, found in theirs.items()
    }


def _created_at(repo: git.Repo, commits: list[str]) -> dict[str, float]:
    """When each checkpoint was taken, from its meta (absent where it cannot be read)."""
    import json

    asked = "".join(f"{oid}:meta\n" for oid in commits).encode()
    raw = repo.run("cat-file", "--batch", input=asked, check=False).stdout
    found: dict[str, float] = {}
    pos = 0
    for oid in commits:
        nl = raw.find(b"\n", pos)
        if nl < 0:
            break
        header = raw[pos:nl].split()
        pos = nl + 1
        if len(header) != 3 or header[1] != b"blob":
            continue  # "<name> missing": no meta
        size = int(header[2])
        body, pos = raw[pos : pos + size], pos + size + 1
        with contextlib.suppress(ValueError, AttributeError):
            at = json.loads(body).get("created_at")
            if isinstance(at, (int, float)):
                found[oid] = float(at)
    return found


def _pointed_at(repo: git.Repo) -> set[str]:
    """Our refs this worktree's HEAD or a branch names as a symbolic ref."""
    listed = repo.run("for-each-ref", "--format=%(symref)", "refs/heads/", check=False).stdout
    head = repo.run("symbolic-ref", "-q", "HEAD", check=False).stdout
    names = (listed + head).decode("utf-8", "surrogateescape").splitlines()
    return {name for name in names if name.startswith("refs/atomic/")}


def _reflog_ops(repo: git.Repo) -> list[str]:
    """The operations that kept reflogs (reflogkeep.py)."""
    try:
        return os.listdir(repo.state_dir / "reflogs")
    except OSError:
        return []


def _blobs(repo: git.Repo, oids: list[str]) -> list[str]:
    """Those of `oids` (object ids) that are blobs here (`git prune` refuses a name it cannot
    find)."""
    if not oids:
        return []
    check = "--batch-check=%(objectname) %(objecttype)"
    answer = repo.out("cat-file", check, input=("\n".join(oids) + "\n").encode())
    return [line.split()[0] for line in answer.decode().splitlines() if line.endswith(" blob")]


def _newest_rescues(journal: Journal) -> set[str]:
    """The newest rescue of each worktree: what `undo` would bring back there."""
    keep: set[str] = set()
    for worktree in journal.worktrees():
        keep |= journal.newest_rescues(worktree)
    return keep


def _prune_expire(repo: git.Repo) -> str | None:
    if _precious(repo):
        return None  # git refuses to prune there (its own gc skips the prune)
    value = repo.config("gc.pruneExpire") or _DEFAULT_EXPIRE
    return None if value == "never" else value


def _precious(repo: git.Repo) -> bool:
    """Whether git keeps every object of this repository (`extensions.preciousObjects`, which
    git honours at any `core.repositoryFormatVersion`): `git prune` is refused there."""
    value = repo.config("extensions.preciousObjects")
    return value is not None and gitconfig.git_bool(value)


def _tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"
