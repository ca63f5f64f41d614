"""What an open operation has changed so far, for `status`: the paths that differ from its
PRE-OP checkpoint, on disk and in the index.

One probe capture (the scan a checkpoint or a rollback's dry run makes, ref-less, its objects
in a quarantine outside the repository: moves.probe) and two diffs of trees, never a process
per path. Only an open operation pays for it: `status` with none open does not import this
module. A rename is said where git's exact rename is free to see: a path gone and a path new
with the same content and mode, one of each (content alike but not the same is an add and a
delete, as `diff --no-renames` says).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.printable import printable
from git_atomic.core.vocab import CheckpointKind
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.gitoutput import RawChange
from git_atomic.ops.commandresults import ChangedPath, OpChanges

_WORDS: Final = {"A": "added", "D": "deleted", "T": "type", "M": "modified"}
# An empty file is no evidence of a rename (git does not pair empty files either).
_EMPTY_BLOBS: Final = frozenset(
    {
        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
        "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813",
    }
)


def _names(paths: frozenset[bytes]) -> set[str]:
    return {_decoded(p) for p in paths}


def _decoded(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def paired(changes: Sequence[RawChange]) -> tuple[ChangedPath, ...]:
    """`changes` said as people read them, a path gone and one new with the same content and
    mode (the only such pair for that content) as one rename; sorted by path."""
    gone: dict[tuple[str, str], list[RawChange]] = {}
    new: dict[tuple[str, str], list[RawChange]] = {}
    for c in changes:
        if c.status == "D" and c.old_oid not in _EMPTY_BLOBS:
            gone.setdefault((c.old_oid, c.old_mode), []).append(c)
        elif c.status == "A" and c.new_oid not in _EMPTY_BLOBS:
            new.setdefault((c.new_oid, c.new_mode), []).append(c)
    renamed: dict[bytes, bytes] = {}  # new path -> old path
    for key, olds in gone.items():
        news = new.get(key, [])
        if len(olds) == 1 and len(news) == 1:
            renamed[news[0].path] = olds[0].path
    sources = set(renamed.values())
    out = []
    for c in changes:
        if c.path in sources and c.status == "D":
            continue
        if c.path in renamed and c.status == "A":
            out.append(ChangedPath(_decoded(c.path), "renamed", _decoded(renamed[c.path])))
            continue
        action = _WORDS.get(c.status, "modified")
        if c.status == "M" and c.old_oid == c.new_oid:
            action = "mode"
        out.append(ChangedPath(_decoded(c.path), action))
    return tuple(sorted(out, key=lambda p: p.path))


def of_operation(repo: Repo, journal: Journal, op: OpRow) -> OpChanges | None:
    """What `op` (open) has changed since its PRE-OP checkpoint; None where it has none (yet)."""
    pre = next((c for c in journal.checkpoints(op.id) if c.kind == CheckpointKind.PRE_OP), None)
    if pre is None:
        return None
    from git_atomic.engine import checkpoint
    from git_atomic.ops import moves

    try:
        before = checkpoint.load(repo, pre.sha)
        with repo.quarantined():  # (nothing written in the repository, not even objects)
            now = moves.probe(repo)
            worktree = repo.diff_trees(before.files_tree, now.files_tree)
            staged = repo.diff_trees(before.staged_tree, now.staged_tree)
            on_disk = _beside_trees(repo, before, now, paired(worktree))
            in_index = _unmerged(repo, now, paired(staged))
    except (AtomicError, OSError) as exc:
        why = exc.message if isinstance(exc, AtomicError) else str(exc)
        return OpChanges(pre.sha, (), (), unknown=printable(why.splitlines()[0] if why else "?"))
    return OpChanges(pre.sha, on_disk, in_index)


def _unmerged(
    repo: Repo, now: Snapshot, staged: tuple[ChangedPath, ...]
) -> tuple[ChangedPath, ...]:
    """`staged` with the index's unmerged paths (a merge's conflicts) said `unmerged`: its
    tree leaves them out, which would say them deleted (or not say them at all)."""
    if now.index_blob is None or now.index_entries is None:  # (no unmerged entry then)
        return staged
    conflicted = set()
    for record in repo.cat_blob(now.index_entries).split(b"\0"):  # `ls-files -z -s -t -v`
        head, _, path = record.partition(b"\t")
        if path and head.split()[-1:] != [b"0"]:
            conflicted.add(_decoded(path))
    if not conflicted:
        return staged
    kept = [c for c in staged if c.path not in conflicted]
    kept += [ChangedPath(path, "unmerged") for path in conflicted]
    return tuple(sorted(kept, key=lambda c: c.path))


def _beside_trees(
    repo: Repo, before: Snapshot, now: Snapshot, in_trees: tuple[ChangedPath, ...]
) -> tuple[ChangedPath, ...]:
    """`in_trees` (the files trees' diff) with what a checkpoint holds beside its trees, which
    a rollback puts back too: empty folders made or removed (`path/`), FIFOs, sockets and
    devices, and files over the size budget (no tree holds their bytes: one new, or one that
    became so large, is `added` or `modified`; one as large at both ends is not seen to change)."""
    from git_atomic.engine import checkpoint

    said = {c.path: c for c in in_trees}
    found: list[ChangedPath] = []
    if before.all_empty_folders and now.all_empty_folders:  # (else a partial list: unsaid)
        was, is_now = (_names(checkpoint.load_empty_folders(repo, s)) for s in (before, now))
        filled = {f for f in was - is_now if any(p.startswith(f + "/") for p in said)}
        found += [ChangedPath(f + "/", "added") for f in is_now - was]
        found += [ChangedPath(f + "/", "deleted") for f in was - is_now - filled]
    old_specials, new_specials = (
        {_decoded(p): m for p, m in checkpoint.load_specials(repo, s).items()}
        for s in (before, now)
    )
    for path in old_specials.keys() | new_specials.keys():
        old, new = old_specials.get(path), new_specials.get(path)
        if old == new or path in said:
            continue
        if old is None or new is None:
            found.append(ChangedPath(path, "added" if old is None else "deleted"))
        else:  # (the same kind: its permission bits; else a FIFO became a socket...)
            same_kind = (old ^ new) & ~0o7777 == 0
            found.append(ChangedPath(path, "mode" if same_kind else "type"))
    large_before, large_now = (_names(checkpoint.load_too_large(repo, s)) for s in (before, now))
    for path in large_now - large_before:  # over the budget now: its tree entry, if any, gone
        found.append(ChangedPath(path, "modified" if said.pop(path, None) else "added"))
    for path in large_before - large_now:  # over the budget at PRE-OP: held now, or gone
        found.append(ChangedPath(path, "modified" if said.pop(path, None) else "deleted"))
    return tuple(sorted((*said.values(), *found), key=lambda c: c.path))


def of_turn(
    repo: Repo, steps: Sequence[tuple[str, str]], noted: Sequence[Mapping[str, object]] = ()
) -> tuple[ChangedPath, ...] | None:
    """The files an agent turn's calls changed so far, on disk: its steps' diffs (each a
    before and after checkpoint of its calls: agents/turnstate.Record), then the files its
    later file tool calls noted (`noted`: turnfiles.pending_of, each step's files before and
    after as [mode, blob] or null), a path from how the first step that touched it found it to
    how the last left it; what others did between its calls is in no step. No scan: what its
    hook calls wrote already. None where a step's checkpoint cannot be read (gone with `gc`)."""
    first: dict[bytes, _Entry] = {}
    last: dict[bytes, _Entry] = {}
    try:
        for before, after in steps:
            for c in repo.diff_trees(f"{before}:files", f"{after}:files"):
                first.setdefault(c.path, _entry(c.old_mode, c.old_oid))
                last[c.path] = _entry(c.new_mode, c.new_oid)
    except AtomicError:
        return None
    for step in noted:
        was, now = step.get("before"), step.get("after")
        for path, entry in _noted(was).items():
            first.setdefault(path, entry)
        for path, entry in _noted(now).items():
            last[path] = entry
            first.setdefault(path, None)  # (a file it made that no `before` names)
    summed = []
    for path, start in first.items():
        end = last.get(path, start)
        if start == end:
            continue  # put back as it was
        old_mode, old_oid = start or ("000000", "0" * 40)
        new_mode, new_oid = end or ("000000", "0" * 40)
        status = "A" if start is None else "D" if end is None else _letter(old_mode, new_mode)
        summed.append(RawChange(old_mode, new_mode, old_oid, new_oid, status, path))
    return paired(summed)


_Entry = tuple[str, str] | None  # (mode, blob); None: no file


def _entry(mode: str, oid: str) -> _Entry:
    return None if set(mode) == {"0"} else (mode, oid)


def _noted(files: object) -> dict[bytes, _Entry]:
    """A noted step's files (path -> [mode, blob] or null), as entries."""
    found: dict[bytes, _Entry] = {}
    if isinstance(files, dict):
        for path, was in files.items():
            if isinstance(was, list) and len(was) == 2:
                found[os.fsencode(str(path))] = (str(was[0]), str(was[1]))
            elif was is None:
                found[os.fsencode(str(path))] = None
    return found


def _letter(old_mode: str, new_mode: str) -> str:
    """git's letter for a file whose mode goes from `old_mode` to `new_mode`: T where a file
    becomes a link or a repository's commit (or back)."""
    return "T" if old_mode[:2] != new_mode[:2] else "M"
