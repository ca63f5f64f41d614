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

from collections.abc import Sequence
from typing import Final

from git_atomic.core.errors import AtomicError
from git_atomic.core.journal import Journal
from git_atomic.core.journalrows import OpRow
from git_atomic.core.vocab import CheckpointKind
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
    except (AtomicError, OSError) as exc:
        why = exc.message if isinstance(exc, AtomicError) else str(exc)
        return OpChanges(pre.sha, (), (), unknown=why)
    return OpChanges(pre.sha, paired(worktree), paired(staged))
