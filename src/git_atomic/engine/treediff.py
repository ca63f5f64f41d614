"""How a tree differs from itself edited, known from the edit: `Repo.tree_edit(remember=True)`
notes it, so that a capture and a rollback after a scan that edited its tree run no
`diff-tree` for it (checked against git's under test: scantree.py, reconcile.py)."""

from __future__ import annotations

from collections.abc import Mapping

from git_atomic.engine.gitoutput import RawChange


def entries_at(
    listed: Mapping[bytes, Mapping[bytes, bytes]],
    changes: Mapping[bytes, tuple[str, str] | None],
    dirs: set[bytes],
) -> dict[bytes, tuple[str, str] | None] | None:
    """The entries (mode, object) the changed paths have before the edit (None: none), from
    `Repo._listing`; None where a changed path is a folder, or a folder on the way a file (or a
    submodule): the difference then holds more than these paths."""
    for folder in dirs:
        if folder:
            parent, _, name = folder.rpartition(b"/")
            if parent in listed and name in listed[parent]:
                return None  # a folder looked into is not named in its parent: a file is
    found: dict[bytes, tuple[str, str] | None] = {}
    for path in changes:
        if path in dirs:
            return None
        parent, _, name = path.rpartition(b"/")
        head = listed[parent].get(name)
        if head is None:
            found[path] = None
            continue
        mode, kind, oid = head.decode().split(" ")
        if kind == "tree":
            return None
        found[path] = (mode, oid)
    return found


def raw_changes(
    before: Mapping[bytes, tuple[str, str] | None],
    after: Mapping[bytes, tuple[str, str] | None],
    zero_oid: str,
) -> list[RawChange]:
    """What `diff-tree -r --raw` says of the paths `before` names, changed to `after`, in its
    order (git's trees and indexes sort whole paths byte by byte)."""
    found = []
    for path in sorted(before):
        old, new = before[path], after[path]
        if old == new:
            continue
        if old is None:
            assert new is not None
            found.append(RawChange("000000", new[0], zero_oid, new[1], "A", path))
        elif new is None:
            found.append(RawChange(old[0], "000000", old[1], zero_oid, "D", path))
        else:
            kind_changed = int(old[0], 8) & 0o170000 != int(new[0], 8) & 0o170000
            found.append(RawChange(old[0], new[0], old[1], new[1], "TM"[not kind_changed], path))
    return found


def inverse(change: RawChange) -> RawChange:
    status = {"A": "D", "D": "A"}.get(change.status, change.status)
    old_mode, new_mode, old_oid, new_oid = change[:4]
    return RawChange(new_mode, old_mode, new_oid, old_oid, status, change.path)
