"""The permission bits a tree cannot keep (a 0600 key, a 0700 folder, a setgid bit), closed
again by a restore where they are more open now than the target's capture saw them, never
through a link, never opened (checkpoint.modes); a dry run lists them (ops/dryrun.py).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Set as AbstractSet

from git_atomic.engine import checkpoint, safefs
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo


def closed_again(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    changed: AbstractSet[bytes] = frozenset(),
    *,
    only: AbstractSet[bytes] | None = None,
    dry_run: bool = False,
    record: dict[bytes, tuple[int, int]] | None = None,
) -> list[tuple[bytes, str]]:
    """The files whose bytes stay as the target has them, and the folders, that are more open
    now than the target's capture saw them (an operation's `chmod 644` of a 0600 key, a
    folder made again 0755 where it was 0700: a tree keeps no such bit, so nothing else would
    tell), closed again to the bits it saw (checkpoint.modes), the executable bit alike, and a
    setuid, setgid or sticky bit lost put back. Never opened: one closed more since stays so.
    `only`: those paths alone. The paths closed (`dry_run`: to close), or that could not be,
    with why; `record`: filled with each closed, path -> (its bits as they were, as written)."""
    modes = {
        p: m
        for p, m in checkpoint.load_modes(repo, target).items()
        if p not in changed and (only is None or p in only)
    }
    if modes and current.files_tree != target.files_tree:
        same = _same_at(repo, current, target, sorted(p for p in modes if p[-1:] != b"/"))
        modes = {p: m for p, m in modes.items() if p in same or p[-1:] == b"/"}
    said: list[tuple[bytes, str]] = []
    if not modes:
        return said
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path, bits in sorted(modes.items()):
            folder = path[-1:] == b"/"
            st = tree.lstat(path.rstrip(b"/"))
            if st is None or not (stat.S_ISDIR if folder else stat.S_ISREG)(st.st_mode):
                continue
            now = st.st_mode & 0o7777
            # Opened (a bit it lacked), or its setuid, setgid or sticky bit lost (a `chmod
            # 755` of a 2755 file): a file's executable bit is the tree's own.
            if now & ~bits == 0 and bits & 0o7000 & ~now == 0:
                continue
            if not folder and (now ^ bits) & 0o100:
                continue
            closed = bits & (now | 0o7000)
            try:
                if dry_run or _chmod(tree, path.rstrip(b"/"), closed, folder):
                    said.append((path, ""))
                    if record is not None and not dry_run:
                        record[path] = (now, closed)
            except OSError as exc:
                said.append((path, exc.strerror or str(exc)))
    return said


def _chmod(tree: safefs.Tree, rel: bytes, mode: int, folder: bool) -> bool:
    """The mode of the file or folder at `rel` set, never through a link."""
    if not folder:
        return tree.chmod(rel, mode)
    fd = tree.folder(rel)
    if fd is None:
        return False
    os.fchmod(fd, mode)
    return True


def _same_at(repo: Repo, current: Snapshot, target: Snapshot, paths: list[bytes]) -> set[bytes]:
    """Those of `paths` both states hold with the same bytes and mode."""
    ours = {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(current.files_tree, paths)}
    theirs = {e.path: (e.mode, e.oid) for e in repo.ls_tree_at(target.files_tree, paths)}
    return {p for p in paths if p in ours and ours[p] == theirs.get(p)}
