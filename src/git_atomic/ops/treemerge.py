"""Three-way merges of trees, for taking an effect back or making it again (effect.py), and for
what a turn's commit or a diff view would merge (agents/turncommit.py, views/render.py): git's
`merge-tree --write-tree` (isolation.run_merge_tree: per path, per hunk for text, every file
merged as text), each overlap with its kind and, for a content conflict, its lines."""

from __future__ import annotations

import os
from collections.abc import Mapping

from git_atomic.core.records import dataclass
from git_atomic.engine import isolation
from git_atomic.engine.git import Repo


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
    res = isolation.run_merge_tree(repo, base=base, ours=ours, theirs=theirs, messages=True)
    tree, _, rest = res.stdout.partition(b"\0")
    if res.returncode == 0:
        return Merged(tree.decode().strip())
    names, _, messages = rest.partition(b"\0\0")
    kinds = _conflict_kinds(messages)
    overlaps = []
    for path in dict.fromkeys(_named(p, kinds) for p in names.split(b"\0") if p):
        kind = kinds.get(path, "conflict")
        lines = _marker_lines(repo, tree.decode().strip(), path) if kind == "content" else ()
        overlaps.append(Overlap(path, kind, lines))
    return Merged(None, tuple(overlaps))


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
