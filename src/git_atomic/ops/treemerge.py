"""Three-way merges of trees, for taking an effect back or making it again (effect.py), and for
what a turn's commit or a diff view would merge (agents/turncommit.py, views/render.py): git's
`merge-tree --write-tree` (isolation.run_merge_tree: per path, per hunk for text, every file
merged as text), each overlap with its kind and, for a content conflict, its lines. Where git's
merge (which always follows renames) finds overlaps, the merge is made again path by path."""

from __future__ import annotations

import os
from collections.abc import Mapping

from git_atomic.core.records import dataclass
from git_atomic.engine import isolation
from git_atomic.engine.git import RawChange, Repo


@dataclass(frozen=True)
class Overlap:
    path: bytes
    kind: str
    lines: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Merged:
    tree: str | None  # None: conflicts
    conflicts: tuple[Overlap, ...] = ()


def merge(repo: Repo, *, base: str, ours: str, theirs: str) -> Merged:
    """Three-way merge of trees with `base` as the merge base (isolation.run_merge_tree), each
    overlap with its kind and, for a content conflict, its lines."""
    if (repo.state_dir / "lfs").is_dir():  # markers for kept LFS content: alike on each side
        from git_atomic.engine import lfskeep

        base, ours, theirs = lfskeep.alike(repo, base, ours, theirs)
    if theirs in (base, ours):
        return Merged(ours)
    if ours == base:
        return Merged(theirs)
    # Per path: an effect is what happened at each path. With git's rename detection a change
    # would follow a rename made since into a file it never touched (you renamed the file it
    # edited), or carry your edit to another name; a rename is a deletion and an addition.
    # git 2.39's merge-tree detects renames whatever `merge.renames` says: what it merged is
    # checked path by path (`_carried_by_renames`), and where it found overlaps, the merge is
    # made again path by path (`_path_by_path`): a rename git saw between files alike (a
    # package moved, then one of its files deleted) is no overlap at any path.
    merged = _by_git(repo, base, ours, theirs)
    if merged.tree is not None:
        return merged
    return _path_by_path(repo, base, ours, theirs) or merged


def _by_git(repo: Repo, base: str, ours: str, theirs: str) -> Merged:
    res = isolation.run_merge_tree(
        repo, base=base, ours=ours, theirs=theirs, messages=True, renames=False
    )
    tree, _, rest = res.stdout.partition(b"\0")
    if res.returncode == 0:
        merged = tree.decode().strip()
        moved = _carried_by_renames(repo, base, ours, theirs, merged)
        return Merged(None, moved) if moved else Merged(merged)
    names, _, messages = rest.partition(b"\0\0")
    kinds = _conflict_kinds(messages)
    overlaps = []
    for path in dict.fromkeys(_named(p, kinds) for p in names.split(b"\0") if p):
        kind = kinds.get(path, "conflict")
        lines = _marker_lines(repo, tree.decode().strip(), path) if kind == "content" else ()
        overlaps.append(Overlap(path, kind, lines))
    return Merged(None, tuple(overlaps))


def _path_by_path(repo: Repo, base: str, ours: str, theirs: str) -> Merged | None:
    """The merge made path by path: what only one side changed is that side's, what both
    changed alike is theirs, a path one side deleted and the other changed is an overlap, and
    the paths both changed otherwise are merged by git on their own (trees of those paths
    alone, so no rename pairs them with any other path). The result is checked path by path as
    git's is; None where that finds what this cannot merge (a file where the other side made a
    folder): git's answer stands then."""
    by_ours = {c.path: c for c in repo.diff_trees(base, ours)}
    edits: dict[bytes, tuple[str, str] | None] = {}
    both: list[bytes] = []
    deleted: list[Overlap] = []
    for change in repo.diff_trees(base, theirs):
        mine = by_ours.get(change.path)
        if mine is None:
            edits[change.path] = _entry(change)
        elif (mine.status == "D") != (change.status == "D"):
            deleted.append(Overlap(change.path, "modify/delete"))
        elif _entry(mine) != _entry(change):
            both.append(change.path)
    if both:
        alone = [
            repo.tree_edit(
                repo.empty_tree,
                {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(tree, both) if e.kind != "tree"},
            )
            for tree in (base, ours, theirs)
        ]
        merged = _by_git(repo, *alone)
        if merged.tree is None:
            return Merged(None, (*deleted, *merged.conflicts))
        for path in both:
            edits[path] = None
        edits.update((e.path, (e.mode, e.oid)) for e in repo.ls_tree_at(merged.tree, both))
    if deleted:
        return Merged(None, tuple(deleted))
    try:
        result = repo.tree_edit(ours, edits)
    except ValueError:  # a file of theirs where yours are in a folder: git's answer names it
        return None
    return None if _carried_by_renames(repo, base, ours, theirs, result) else Merged(result)


def _entry(change: RawChange) -> tuple[str, str] | None:
    return None if change.status == "D" else (change.new_mode, change.new_oid)


def _carried_by_renames(
    repo: Repo, base: str, ours: str, theirs: str, merged: str
) -> tuple[Overlap, ...]:
    """Where git's merge followed a rename (git 2.39's merge-tree always detects them), the
    paths whose result is not what a merge path by path gives: a change carried into a file
    the other side renamed (so made to a file it never touched), or a path one side deleted
    and the other changed, merged as a rename instead of an overlap. Each is an overlap: an
    effect is what happened at each path."""
    by_ours = {c.path: c for c in repo.diff_trees(base, ours)}
    by_theirs = {c.path: c for c in repo.diff_trees(base, theirs)}
    result = {c.path: c for c in repo.diff_trees(base, merged)}

    def same(a: RawChange | None, b: RawChange | None) -> bool:
        if a is None or b is None:
            return a is b
        if (a.status == "D") != (b.status == "D"):
            return False
        return a.status == "D" or (a.new_mode, a.new_oid) == (b.new_mode, b.new_oid)

    found: list[Overlap] = []
    for path in sorted({*by_ours, *by_theirs, *result}):
        o, t, r = by_ours.get(path), by_theirs.get(path), result.get(path)
        if o is None or t is None:  # one side changed it (or neither): the result is that side
            if not same(r, o if t is None else t):
                found.append(Overlap(path, "rename"))
        elif (o.status == "D") != (t.status == "D"):  # deleted on one side, changed on the other
            found.append(Overlap(path, "modify/delete"))
    return tuple(found)


def _named(path: bytes, kinds: Mapping[bytes, str]) -> bytes:
    """The path itself for the name merge-tree gives one side of a file/directory overlap
    (`path~<id>`, a name in no tree of yours), when its messages name the path."""
    head, sep, tail = path.rpartition(b"~")
    hexadecimal = len(tail) in (40, 64) and all(c in b"0123456789abcdef" for c in tail)
    return head if sep and hexadecimal and head in kinds else path


def _conflict_kinds(messages: bytes) -> Mapping[bytes, str]:
    """`<n> NUL <path>... NUL <type> NUL <message> NUL`, repeated: path -> conflict type."""
    fields = messages.split(b"\0")
    kinds: dict[bytes, str] = {}
    i = 0
    while i < len(fields) and fields[i].isdigit():
        n = int(fields[i])
        paths, kind = fields[i + 1 : i + 1 + n], fields[i + 1 + n]
        i += n + 3
        if kind.startswith(b"CONFLICT ("):
            text = kind[len(b"CONFLICT (") :].rstrip(b")").decode("utf-8", "replace")
            for path in paths:
                kinds.setdefault(path, "content" if text == "contents" else text)
    return kinds


def _marker_lines(repo: Repo, tree: str, path: bytes) -> tuple[tuple[int, int], ...]:
    """The line ranges of the conflict markers git left in the merged file."""
    res = repo.run("cat-file", "blob", f"{tree}:{os.fsdecode(path)}", check=False)
    if res.returncode != 0:
        return ()
    ranges, start = [], None
    for number, line in enumerate(res.stdout.split(b"\n"), 1):
        if line.startswith(b"<<<<<<< "):
            start = number
        elif line.startswith(b">>>>>>> ") and start is not None:
            ranges.append((start, number))
            start = None
    return tuple(ranges)
