"""The index's format once an effect is applied (taken back, or made again): version 4 or not,
split on a shared index or whole. Each is yours to choose (`index.version`,
`update-index --index-version`, `--split-index`): a change that switched it switches it again
where it is still as the change left it; otherwise it stays as it is now."""

from __future__ import annotations

from collections.abc import Sequence

from git_atomic.engine.checkpoint import Snapshot


def version_after(current: Snapshot, pairs: Sequence[tuple[Snapshot, Snapshot]]) -> int | None:
    """The format's version: 4 (prefix-compressed paths) or not (2 and 3 are one to git)."""
    version = current.index_version
    for frm, to in pairs:
        if None in (version, frm.index_version, to.index_version):
            continue
        if (frm.index_version == 4) != (to.index_version == 4) and (version == 4) == (
            frm.index_version == 4
        ):
            version = to.index_version
    return version


def shared_after(current: Snapshot, pairs: Sequence[tuple[Snapshot, Snapshot]]) -> str | None:
    """The shared index the index is split on ("": whole; None: not known): an operation that
    made your split index whole has it split again, on the shared index it had, when its
    effect is taken back; one that split it has it whole again; one that moved it to a new
    shared index has it on the old one again, where it is still on the new one."""
    shared = current.index_shared
    for frm, to in pairs:
        if None in (shared, frm.index_shared, to.index_shared):
            continue
        if frm.index_shared == to.index_shared:
            continue
        if shared == frm.index_shared or (
            bool(frm.index_shared) != bool(to.index_shared)
            and bool(shared) == bool(frm.index_shared)
        ):
            shared = to.index_shared
    return shared
