"""What git's plumbing prints, read into typed records: the entries of `ls-tree -z`, the lines
of `diff-tree -r -z --raw`, the refs of `for-each-ref`. Parsing only: git.py runs the commands.

On the hot path (git.py imports it before the scan starts, tests/test_hot_path.py): its records
are named tuples, not dataclasses."""

from __future__ import annotations

from typing import NamedTuple


# Records are named tuples and plain classes, not dataclasses, in every module the scan needs
# (the hot path, tests/test_hot_path.py): the dataclasses module costs 4 ms to import and each
# class a fraction more, all before the scan can start.
class TreeEntry(NamedTuple):
    mode: str
    kind: str  # blob | tree | commit
    oid: str
    path: bytes


class RawChange(NamedTuple):
    """One line of `diff-tree -r --raw`: how `path` differs from side A to side B."""

    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    status: str  # A, D, M, T
    path: bytes


def tree_entries(listing: bytes) -> list[TreeEntry]:
    """The entries of an `ls-tree -z --full-tree` listing."""
    entries = []
    for item in listing.split(b"\0"):
        if item:
            head, _, path = item.partition(b"\t")
            mode, kind, oid = head.decode().split()
            entries.append(TreeEntry(mode, kind, oid, path))
    return entries


def parse_raw_diff(raw: bytes) -> list[RawChange]:
    changes: list[RawChange] = []
    items = raw.split(b"\0")
    i = 0
    while i < len(items) - 1:
        head = items[i]
        if not head.startswith(b":"):
            i += 1
            continue
        old_mode, new_mode, old_oid, new_oid, status = head[1:].decode().split()
        changes.append(RawChange(old_mode, new_mode, old_oid, new_oid, status[0], items[i + 1]))
        i += 2
    return changes


# What `for-each-ref` prints for parse_refs: a ref's name holds no space.
REFS_FORMAT = "%(objectname) %(refname) %(symref)"


def parse_refs(raw: bytes) -> dict[str, str]:
    """Refs (refname -> object) of `for-each-ref --format=REFS_FORMAT`, but for symbolic ones
    (`git symbolic-ref refs/heads/alias refs/heads/main`): such a ref names no commit of its
    own but another ref, which git moves, creates and deletes through it. Taken for a branch
    of its own, a rollback that deleted one an operation made deleted the branch it names."""
    result: dict[str, str] = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        oid, name, symref = line.split(" ", 2)
        if not symref:
            result[name] = oid
    return result


def parse_symrefs(raw: bytes) -> dict[str, str]:
    """The branches of that listing that are symbolic refs (`git symbolic-ref
    refs/heads/alias refs/heads/main`): branch -> the ref it names. (One naming a ref that is
    not there git lists not: engine/symrefs.py.)"""
    result: dict[str, str] = {}
    if raw.count(b" \n") == raw.count(b"\n"):
        return result  # every line ends in an empty %(symref): none (the usual listing)
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        _, name, symref = line.split(" ", 2)
        if symref and name.startswith("refs/heads/"):
            result[name] = symref
    return result
