"""The folders an effect moved (`mv F out` in an operation, in an agent turn's call), for the
move that takes the effect back (or makes it again) on top of the state now to move back
(foldermoves.py): an effect, not a state, so only those, whatever else moved since.

A folder the effect moved is one that each change's two ends keep (folderids: device and
inode) at two paths, or that the change's start kept and its end could not see (moved into a
folder a rule ignores: found now, folderfound.in_ignored). It goes back only where it is now
where the effect left it, and holds only what the effect left in it: its files as the
effect's end holds them, and no folder in it written since the effect ended (a file you
made, removed or renamed there since is yours: moved with the folder, it would be moved by a
take-back of what is not yours). Otherwise it stays where it is, and a line says so. Its old
place must be free too (foldermoves.py says where it is not).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

from git_atomic.core.records import dataclass, field
from git_atomic.engine import folderfound, folderids, foldermoves, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo

_CLOCK_LAG: Final = 0.05  # seconds: a folder written that close to the effect's end is its own
_LOOK_AT_MOST: Final = 10_000  # folders in a moved one looked at: past it, it stays


@dataclass(frozen=True)
class Folders:
    """Where each folder the effect moved goes (the `want` of foldermoves.take_back), and a
    line for each that stays."""

    ids: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    left: tuple[str, ...] = ()


def moved_back(
    repo: Repo,
    current: Snapshot,
    pairs: Sequence[tuple[Snapshot, Snapshot]],
    ended: float | None = None,
) -> Folders:
    """The folders the changes `frm -> to` (applied in order on top of `current`) move, each
    from where it is now. `ended`: when the state the changes start from ended (the
    operation's end; else the first change's start was captured). Nothing where `current`
    knows no folders (no walk: nothing to find them by)."""
    # Only a change whose ends' blobs differ can have moved a folder: read only those.
    differ = [(a, b) for a, b in pairs if a.folder_ids != b.folder_ids and b.folder_ids]
    if current.folder_ids is None or not differ:
        return Folders()
    now = folderids.load(repo, current.folder_ids)
    kept = {s.folder_ids: folderids.load(repo, s.folder_ids) for pair in differ for s in pair}
    ends = [(kept[a.folder_ids], kept[b.folder_ids]) for a, b in differ]
    since = min((b.captured_at for _, b in differ if b.captured_at is not None), default=None)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        if since is not None:  # where a change's start has a folder its end does not show
            unseen = {p: i for a, b in ends for p, i in b.items() if a.get(p) != i}
            now = folderfound.in_ignored(repo, tree, unseen, now, since)
        pos = {ident: path for path, ident in now.items()}
        start: dict[tuple[int, int], bytes] = {}
        for a, b in ends:
            at_start = {ident: path for path, ident in a.items()}
            for path, ident in b.items():
                at = pos.get(ident)
                if at is None or at == path or at_start.get(ident, at) != at:
                    continue  # gone, not moved, or moved elsewhere since the change
                start.setdefault(ident, at)
                pos[ident] = path
        moved = {i: (start[i], pos[i]) for i in start if start[i] != pos[i]}
        nowhere: list[str] = []  # (brought by the change from where no capture looked)
        for (a, b), (_, to_snap) in zip(ends, differ, strict=True):
            still = {p: i for p, i in a.items() if now.get(p) == i}
            found = foldermoves.from_nowhere(repo, tree, to_snap, b, still)
            nowhere += [line for line in found if line not in nowhere]
        if not moved:
            return Folders(left=tuple(nowhere))
        end = pairs[0][0]
        until = ended if ended is not None else end.captured_at
        outer = sorted(
            (frm, to, i)
            for i, (frm, to) in moved.items()
            if not any(frm.startswith(o + b"/") for o, _ in moved.values())
        )
        left: list[str] = []
        stays: list[bytes] = []
        for frm, to, _ in outer:
            if _changed_since(repo, tree, current, end, frm, until):
                stays.append(frm)
                left.append(
                    f"{_show(to)}/: the effect moved it to {_show(frm)}/, which changed since "
                    f"(files made, removed or changed there): {_show(frm)}/ is left where it "
                    "is, with the files no checkpoint holds in it (move it back yourself)"
                )
    ids = {
        to: i
        for i, (frm, to) in moved.items()
        if not any(frm == s or frm.startswith(s + b"/") for s in stays)
    }
    return Folders(ids, tuple(left + nowhere))


def _changed_since(
    repo: Repo,
    tree: safefs.Tree,
    current: Snapshot,
    end: Snapshot,
    folder: bytes,
    until: float | None,
) -> bool:
    """Whether the folder at `folder` holds other files than the effect left in it: the files
    the state now holds there differ from those the effect's end held, or a folder in it was
    written after `until` (unknown: changed). A bounded look."""
    if until is None:
        return True
    now = repo.ls_tree_at(current.files_tree, [folder])
    then = repo.ls_tree_at(end.files_tree, [folder])
    if [(e.mode, e.oid) for e in now] != [(e.mode, e.oid) for e in then]:
        return True
    top = tree.folder(folder)
    if top is None:
        return True
    return _written_since(os.dup(top), until + _CLOCK_LAG, [0])


def _written_since(fd: int, until: float, looked: list[int]) -> bool:
    """Whether the folder `fd` or one in it (never through a link) was written after `until`,
    or there are more than `_LOOK_AT_MOST` of them (`looked`: how many so far); `fd` closed."""
    try:
        looked[0] += 1
        if looked[0] > _LOOK_AT_MOST or os.fstat(fd).st_mtime > until:
            return True
        with os.scandir(fd) as listing:
            names = [e.name for e in listing if e.is_dir(follow_symlinks=False)]
        for name in names:
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            if _written_since(os.open(name, flags, dir_fd=fd), until, looked):
                return True
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
