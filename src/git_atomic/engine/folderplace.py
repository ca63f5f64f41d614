"""A folder moved aside and put in its place, for foldermoves.py: never through a link, never
over anything (a rename over an empty folder would replace it), and a place taken only where
what is there can go (empty folders; or a folder whose every file, or a file or link, the
state a restore starts from holds there as it is, so the rescue has them all).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
from typing import Final

from git_atomic.engine import folderids, safefs, scratch
from git_atomic.engine.git import Repo

_NAMES: Final = itertools.count()


def aside(
    tree: safefs.Tree, path: bytes, ident: tuple[int, int], aside: bytes
) -> tuple[int, bytes] | None:
    """The folder at `path` renamed into `aside` (or, on another file system, to a hidden
    name beside it), still the folder `ident` names; (the folder it is in, its name there),
    or None where it is not (put back) or cannot be moved."""
    parent = tree.folder(os.path.dirname(path))
    if parent is None:
        return None
    name = os.path.basename(path)
    # Named as safefs.Tree.take names what it moves aside: kept by every sweep of our scratch
    # folder (scratch.remove_dead), put back by the next restore to the target (foldermoves.py).
    moved = b"%sfolder-%d-%d" % (scratch.REMOVED.encode(), os.getpid(), next(_NAMES))
    try:
        os.makedirs(aside, exist_ok=True)
        dest = os.open(aside, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        dest = None
    try:
        try:
            if dest is None:
                raise OSError(errno.EXDEV, "no folder aside")
            os.rename(name, moved, src_dir_fd=parent, dst_dir_fd=dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                return None
            if dest is not None:
                os.close(dest)
            dest, moved = os.dup(parent), b".git-atomic-" + moved
            os.rename(name, moved, src_dir_fd=parent, dst_dir_fd=dest)
    except OSError:
        if dest is not None:
            os.close(dest)
        return None
    tree.forget(path)
    st = safefs.lstat_at(dest, moved)
    if st is None or (st.st_dev, st.st_ino) != ident:  # another's, put there meanwhile
        rename_no_replace(dest, moved, parent, name)
        os.close(dest)
        return None
    return dest, moved


def place(
    tree: safefs.Tree,
    folder: int,
    name: bytes,
    to: bytes,
    want: folderids.Ids,
    held_only: Held | None,
) -> bool:
    """The folder `name` in `folder` (aside) renamed to `to`: where nothing is, where only
    empty folders are (they go, but those `want` records), or where a folder is whose every
    file the state the restore starts from holds there as it is (`held_only`: the rescue
    has them all; a restore would take them away or write over them). Closes `folder` once
    placed."""
    try:
        dest = tree.make_folders(os.path.dirname(to))
    except safefs.Blocked as blocked:
        if not _clear_way(tree, blocked.path, held_only):
            return False
        try:
            dest = tree.make_folders(os.path.dirname(to))
        except (safefs.Blocked, OSError):
            return False
    except OSError:
        return False
    there = tree.lstat(to)
    gone = None
    if there is not None:
        if _recorded(want, to, there):
            return False
        if not stat.S_ISDIR(there.st_mode):  # a file or link the operation put there (`ln -s
            # out build`): it goes where the state holds it as it is (the rescue has it)
            if not (stat.S_ISREG(there.st_mode) or stat.S_ISLNK(there.st_mode)):
                return False  # a FIFO, a socket: never opened
            if held_only is None or not held_only.holds(tree, {to: there.st_mode}):
                return False
            gone = aside(tree, to, (there.st_dev, there.st_ino), os.fsencode(held_only.aside))
            if gone is None:
                return False
        elif not tree.remove_empty_folders(to):
            if held_only is None or not held_only(tree, to):
                return False
            gone = aside(tree, to, (there.st_dev, there.st_ino), os.fsencode(held_only.aside))
            if gone is None:
                return False
    if not rename_no_replace(folder, name, dest, os.path.basename(to)):
        if gone is not None:
            rename_no_replace(gone[0], gone[1], dest, os.path.basename(to))
            os.close(gone[0])
        return False
    tree.forget(to)
    os.close(folder)
    if gone is not None:
        _removeaside(*gone)
    return True


def _clear_way(tree: safefs.Tree, path: bytes, held_only: Held | None) -> bool:
    """The file or link at `path`, where a folder on the way to a folder's place must be
    (`mv junk/F F2 && rm -rf junk && ln -s elsewhere junk`), set aside and removed where the
    state the restore starts from holds it there as it is: the rescue has it, and the
    restore, whose target has a folder there, would take it away. Never through it."""
    there = tree.lstat(path)
    if held_only is None or there is None:
        return False
    if not (stat.S_ISREG(there.st_mode) or stat.S_ISLNK(there.st_mode)):
        return False
    if not held_only.holds(tree, {path: there.st_mode}):
        return False
    gone = aside(tree, path, (there.st_dev, there.st_ino), os.fsencode(held_only.aside))
    if gone is None:
        return False
    _removeaside(*gone)
    return True


class Held:
    """Whether a folder holds only files and links the files tree holds at their paths, as
    they are, and folders (a bounded look: at most `_LOOK_AT_MOST` entries)."""

    def __init__(self, repo: Repo, files_tree: str) -> None:
        self.repo = repo
        self.files_tree = files_tree
        self.aside = repo.state_dir / "tmp"

    def __call__(self, tree: safefs.Tree, path: bytes) -> bool:
        found = _contents(tree, path)
        return found is not None and bool(found) and self.holds(tree, found)

    def holds(self, tree: safefs.Tree, found: dict[bytes, int]) -> bool:
        """Whether the files tree holds each of `found` (path: st_mode) at its path, as it is."""
        entries = {e.path: e for e in self.repo.ls_tree_at(self.files_tree, sorted(found))}
        files = [p for p, mode in found.items() if stat.S_ISREG(mode)]
        ids = self.repo.hash_worktree_files(files) if files else {}
        for p, mode in found.items():
            entry = entries.get(p)
            if entry is None:
                return False
            if stat.S_ISREG(mode):
                executable = "100755" if mode & 0o100 else "100644"
                if ids.get(p) != entry.oid or entry.mode != executable:
                    return False
            elif entry.mode != "120000" or tree.readlink(p) != self.repo.cat_blob(entry.oid):
                return False
        return True


_LOOK_AT_MOST: Final = 1000


def _contents(tree: safefs.Tree, path: bytes) -> dict[bytes, int] | None:
    """The files and links below the folder `path` (their st_mode); None where anything
    else is there (a FIFO), or more than `_LOOK_AT_MOST`."""
    found: dict[bytes, int] = {}
    stack = [path]
    while stack:
        folder = stack.pop()
        fd = tree.folder(folder)
        if fd is None:
            return None
        with os.scandir(fd) as listing:
            names = [(os.fsencode(e.name), e.is_dir(follow_symlinks=False)) for e in listing]
        for name, is_dir in names:
            rel = folder + b"/" + name
            if is_dir:
                stack.append(rel)
                continue
            st = tree.lstat(rel)
            if st is None or not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                return None
            found[rel] = st.st_mode
            if len(found) > _LOOK_AT_MOST:
                return None
    return found


def _removeaside(folder: int, name: bytes) -> None:
    """What was set aside as `name` in `folder` (a folder, a file or a link) removed, never
    through a link (the rescue holds its files); `folder` closed."""
    import shutil

    try:
        with contextlib.suppress(OSError):
            st = safefs.lstat_at(folder, name)
            if st is not None and not stat.S_ISDIR(st.st_mode):
                os.unlink(name, dir_fd=folder)  # a file or link that stood in the place
            else:
                shutil.rmtree(name, dir_fd=folder)
    finally:
        os.close(folder)


def _recorded(want: folderids.Ids, path: bytes, st: os.stat_result) -> bool:
    """Whether the folder at `path` is one `want` records (somewhere): never removed."""
    return (st.st_dev, st.st_ino) in set(want.values())


def rename_no_replace(src_fd: int, src: bytes, dst_fd: int, dst: bytes) -> bool:
    """Rename, never over anything at `dst` (a rename over an empty folder would replace it)."""
    if safefs.lstat_at(dst_fd, dst) is not None:
        return False
    try:
        os.rename(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
    except OSError:
        return False
    return True


def refused_line(root: bytes, frm: bytes, to: bytes) -> str:
    """The line for a folder found at `frm` that could not go back to `to` (the operation
    made something of its own there), said once the restore is done: it took the files a
    checkpoint holds in it into the rescue, as every file the state restored lacks, so
    what is left at `frm` is what no checkpoint holds (files a rule ignores), or nothing."""
    head = (
        f"{_shown(to)}/: found at {_shown(frm)}/ (the same folder, moved since), and "
        f"{_shown(to)} is not free now (the operation made something of its own there): "
        f"{_shown(frm)}/ is not moved back; "
    )
    undo = "`git atomic undo` brings them back there"
    with safefs.Tree(root) as tree:
        fd = tree.folder(frm)
        names = sorted(os.listdir(fd)) if fd is not None else []
        kind = tree.kind(frm)
    if kind is None:
        return head + f"the restore took its files into the rescue ({undo}), and it is gone"
    if not names:
        return head + f"the restore took its files into the rescue ({undo}); it stays, empty"
    shown = ", ".join(names[:3])  # (str: a descriptor's listing)
    more = f" and {len(names) - 3} more" if names[3:] else ""
    return head + (
        f"the restore took the files a checkpoint holds in it into the rescue ({undo}); it "
        f"stays with what the restore left in it ({shown}{more}: what no checkpoint holds, "
        "files a rule ignores)"
    )


def _shown(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
