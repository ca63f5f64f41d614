"""Paths of a worktree reached component by component, never through a symbolic link.

Each folder on the way is opened with `O_NOFOLLOW | O_DIRECTORY` from the one before it,
starting at the top of the worktree, and the last component is then looked at or read
relative to that folder's descriptor (`fstatat` without following, `openat`, `readlinkat`). A
link, a file or nothing where a folder must be means the path is not there: what lies beyond a
link is never ours, as git itself sees it. `Reach` owns the folders' descriptors (kept while it
is open, so many files of one folder open that folder once), the folders made where missing,
and the reads; safefs.py's `Tree` adds the writes and removals on top of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence
from types import TracebackType
from typing import Final, Self

from git_atomic.engine import fdcalls

DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS: Final = (
    os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
)  # never a fifo's wait
# Errors that mean "a component is not a folder we may enter": a link (ELOOP), a file
# (ENOTDIR), nothing (ENOENT).
NOT_THERE: Final = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


class Blocked(Exception):
    """Something that is not a folder (a link, a file) stands where a folder must be."""

    def __init__(self, path: bytes) -> None:
        super().__init__(path)
        self.path = path  # from the top of the worktree


class Reach:
    """A worktree's folders and files, reached from its top folder without following links,
    and read."""

    def __init__(self, root: bytes | str) -> None:
        self.root = os.fsencode(root)
        self._fds: dict[bytes, int] = {}
        # The folders `make_folders` made, in the order made: a restore gives each the bits
        # its target's capture saw (restorespecials.Specials.give_bits).
        self.made: list[bytes] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)

    # --- folders -------------------------------------------------------------------------
    def folder(self, rel: bytes) -> int | None:
        """A descriptor of the folder `rel` (b"" for the top); None when a component is
        missing, a link or not a folder."""
        fd = self._fds.get(rel)
        if fd is not None:
            return fd
        if not rel:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        else:
            parent, name = split(rel)
            parent_fd = self.folder(parent)
            if parent_fd is None:
                return None
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
            except OSError as exc:
                if exc.errno in NOT_THERE:
                    return None
                raise
        self._fds[rel] = fd
        return fd

    def make_folders(self, rel: bytes) -> int:
        """The folder `rel`, made where missing (mode 0777 less the umask, as `mkdir -p`).
        Raises `Blocked` naming the first component that is there but not a folder."""
        fd = self.folder(rel)
        if fd is not None:
            return fd
        if not rel:
            raise Blocked(rel)  # the top of the worktree is gone
        parent, name = split(rel)
        parent_fd = self.make_folders(parent)
        made = False
        with contextlib.suppress(FileExistsError):  # a link or a file: found just below
            os.mkdir(name, 0o777, dir_fd=parent_fd)
            made = True
        fd = self.folder(rel)
        if fd is None:
            raise Blocked(rel)
        if made:
            fdcalls.give(fd, fdcalls.owner_of(parent_fd))
            self.made.append(rel)
        return fd

    def forget(self, rel: bytes) -> None:
        """Close the descriptors of `rel` and of everything under it (it was removed)."""
        prefix = rel + b"/"
        for key in [k for k in self._fds if k == rel or k.startswith(prefix)]:
            os.close(self._fds.pop(key))

    # --- entries -------------------------------------------------------------------------
    def _parent(self, rel: bytes) -> tuple[int, bytes] | None:
        parent, name = split(rel)
        fd = self.folder(parent)
        return None if fd is None else (fd, name)

    def lstat(self, rel: bytes) -> os.stat_result | None:
        """What is at `rel` itself (a link is a link); None when nothing is, or when the path
        goes through a link or a file."""
        where = self._parent(rel)
        if where is None:
            return None
        try:
            return os.stat(where[1], dir_fd=where[0], follow_symlinks=False)
        except OSError as exc:
            if exc.errno in NOT_THERE:
                return None
            raise

    def lstat_many(self, rels: Sequence[bytes]) -> list[os.stat_result | None]:
        """`lstat` of each of `rels`, each folder looked up once for a run of paths in it
        (git lists paths sorted, so those of a folder come together)."""
        found: list[os.stat_result | None] = []
        last: bytes | None = None
        fd: int | None = None
        for rel in rels:
            parent, name = split(rel)
            if parent != last:
                last, fd = parent, self.folder(parent)
            if fd is None:
                found.append(None)
                continue
            try:
                found.append(os.stat(name, dir_fd=fd, follow_symlinks=False))
            except OSError as exc:
                if exc.errno not in NOT_THERE:
                    raise
                found.append(None)
        return found

    def kind(self, rel: bytes) -> int | None:
        """`stat.S_IFMT` of what is at `rel`, or None (see `lstat`)."""
        st = self.lstat(rel)
        return None if st is None else stat.S_IFMT(st.st_mode)

    def read(self, rel: bytes) -> bytes | None:
        """The bytes of the regular file at `rel`; None when it is not one (or not there)."""
        fd = self._open_regular(rel)
        if fd is None:
            return None
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _open_regular(self, rel: bytes) -> int | None:
        """A descriptor of the regular file at `rel`, reached without following a link; None
        when there is none (a folder, a fifo, a device: never read one)."""
        where = self._parent(rel)
        if where is None:
            return None
        try:
            fd = os.open(where[1], FILE_FLAGS, dir_fd=where[0])
        except OSError as exc:
            if exc.errno in NOT_THERE:
                return None
            raise
        regular = False
        try:
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        finally:
            if not regular:
                os.close(fd)
        return fd if regular else None

    def attributes(self, rel: bytes) -> tuple[tuple[str, bytes], ...]:
        """The extended attributes of the regular file at `rel` (an ACL is one:
        `system.posix_acl_access`), for the file written over it (`write`): none where there
        are none, where the system has none, or where they cannot be read."""
        if not hasattr(os, "listxattr"):
            return ()
        where = self._parent(rel)
        if where is None:
            return ()
        # Most files have none: asked in one call by the folder's descriptor (Linux's
        # /proc/self/fd; the name itself not followed), without opening the file. Those that
        # have some are read from the file opened as a regular one.
        with contextlib.suppress(OSError):
            proc = b"/proc/self/fd/%d/" % where[0] + where[1]
            if not os.listxattr(proc, follow_symlinks=False):
                return ()
        try:
            fd = self._open_regular(rel)
        except OSError:
            return ()
        if fd is None:
            return ()
        try:
            return tuple((name, os.getxattr(fd, name)) for name in os.listxattr(fd))
        except OSError:
            return ()
        finally:
            os.close(fd)

    def readlink(self, rel: bytes) -> bytes | None:
        """The target of the link at `rel` (never followed); None when it is not a link."""
        where = self._parent(rel)
        if where is None:
            return None
        try:
            return os.readlink(where[1], dir_fd=where[0])
        except OSError as exc:
            if exc.errno in (*NOT_THERE, errno.EINVAL):
                return None
            raise

    def reachable(self, rel: bytes) -> bool:
        """Whether every folder on the way to `rel` is a real folder (not a link, not a
        file): a path git may be given to read."""
        return self._parent(rel) is not None

    def export(self, rel: bytes, dest: bytes) -> bool:
        """Copy the regular file at `rel` to `dest` outside the worktree, for git to read there:
        git reading `rel` by name would follow a link in its folders. (A copy, not a hard link:
        a link changes the file's ctime, and git would take it for changed.) False when `rel`
        is not a regular file."""
        import shutil

        fd = self._open_regular(rel)
        if fd is None:
            return False
        with os.fdopen(fd, "rb") as source, open(dest, "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        return True


def lstat_at(dir_fd: int, name: bytes) -> os.stat_result | None:
    """What is at `name` in the folder open as `dir_fd`, itself (a link is a link); None when
    nothing is there (any more)."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in NOT_THERE:
            return None
        raise


def split(rel: bytes) -> tuple[bytes, bytes]:
    parent, _, name = rel.rpartition(b"/")
    if not name or name in (b".", b"..") or b"\0" in rel:
        raise ValueError(f"not a path inside a worktree: {rel!r}")
    return parent, name
