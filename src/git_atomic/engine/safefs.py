"""The worktree's files written and removed, never through a symbolic link.

Every file the engine reads or writes in a worktree goes through a `Tree`: its paths are
reached as safereach.py's `Reach` reaches them (each folder opened from the one before it,
`O_NOFOLLOW | O_DIRECTORY`), and the last component is then written, removed or changed
relative to that folder's descriptor (`openat`, `mkdirat`, `unlinkat`, `symlinkat`). A link is
only ever looked at, read (`readlink`) or removed itself. Because every step starts from a
descriptor already held, swapping a folder for a link at any instant cannot send a write
elsewhere: at worst the step finds the link and stops. A removal is a compare-and-swap
(`take`): what is removed is moved aside first and looked at there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from git_atomic.engine import fdcalls
from git_atomic.engine.safereach import DIR_FLAGS, FILE_FLAGS, NOT_THERE, Reach, split
from git_atomic.engine.safereach import Blocked as Blocked  # the package's, named from here
from git_atomic.engine.safereach import lstat_at as lstat_at

if TYPE_CHECKING:
    from git_atomic.engine.trash import Bin

_FIFO_FLAGS = FILE_FLAGS  # a FIFO made again, opened to give it its bits


class Taken(NamedTuple):
    """A file `Tree.take` moved aside and holds: from `name` in the folder `dir_fd`, now
    `moved` in the folder `aside`."""

    dir_fd: int
    name: bytes
    aside: int
    moved: bytes


class Tree(Reach):
    """A worktree's files, reached from its top folder without following links. `aside`: a
    folder of ours (the git dir's), into which `take` moves what it removes (None, or on
    another file system: a hidden name beside the file). `trash`: a folder of ours, beside
    `aside`, where what is removed for good goes, emptied after (trash.py); None: removed at
    once."""

    def __init__(
        self,
        root: bytes | str,
        *,
        aside: bytes | str | None = None,
        trash: bytes | str | None = None,
    ) -> None:
        super().__init__(root)
        self._aside = None if aside is None else os.fsencode(aside)
        self._bin: Bin | None = None
        if trash is not None:  # a restore's (imported by it alone)
            from git_atomic.engine.trash import Bin

            self._bin = Bin(os.fsencode(trash))
        self._aside_fd: int | None = None
        self._taken = 0
        self._pid = os.getpid()  # in the names `take` moves files to (a system call each time)

    def close(self) -> None:
        super().close()
        if self._aside_fd is not None:
            os.close(self._aside_fd)
            self._aside_fd = None
        if self._bin is not None:
            self._bin.close()

    # --- removal by compare-and-swap ------------------------------------------------------
    def take(
        self,
        dir_fd: int,
        name: bytes,
        same: Callable[[os.stat_result], bool],
        *,
        hold: list[Taken] | None = None,
    ) -> bool | None:
        """Remove the file or link `name` of the folder open as `dir_fd` if it is still what
        `same` says of its status data: moved aside first (one atomic rename), looked at
        there, and removed only if it is; else put back (a hard link, which never replaces
        anything). So a file another writer put at the name after the caller's last look (an
        editor's save by rename) is never removed. True: removed; False: not the same, left;
        None: nothing there. Aside is the `aside` folder, or, where that is on another file
        system, a hidden name in the file's own folder (`.git-atomic-removed-*`). `hold`: the
        file moved aside is kept there (appended to `hold`) until the caller `drop`s it, or
        puts it back (`give_back`) when what was to replace it cannot be written (a full
        disk)."""
        self._taken += 1
        moved = b"removed-%d-%d" % (self._pid, self._taken)
        aside = self._aside_folder()
        try:
            if aside is not None:
                try:
                    os.rename(name, moved, src_dir_fd=dir_fd, dst_dir_fd=aside)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                    self._aside, aside = None, None  # another file system
            if aside is None:
                aside, moved = dir_fd, b".git-atomic-" + moved
                self._note_beside(dir_fd, name)  # so `recover` finds it, were we killed
                os.rename(name, moved, src_dir_fd=dir_fd, dst_dir_fd=aside)
        except OSError as exc:
            if exc.errno in NOT_THERE:
                self._forget_beside(moved)
                return None
            raise
        st = lstat_at(aside, moved)
        if st is not None and same(st):
            if hold is not None:
                hold.append(Taken(dir_fd, name, aside, moved))
            else:
                self._discard(aside, moved)
                self._forget_beside(moved)
            return True
        self._put_back(aside, moved, dir_fd, name)
        self._forget_beside(moved)
        return False

    def _note_beside(self, dir_fd: int, name: bytes) -> None:
        from git_atomic.engine import besidenote

        folder = next((rel for rel, fd in self._fds.items() if fd == dir_fd), None)
        besidenote.note(self._aside_fd, self._pid, self._taken, folder, name)

    def _forget_beside(self, moved: bytes) -> None:
        if moved.startswith(b".git-atomic-"):
            from git_atomic.engine import besidenote

            besidenote.forget(self._aside_fd, moved)

    def drop(self, taken: Taken) -> None:
        """What `take` held, removed for good."""
        self._discard(taken.aside, taken.moved)
        self._forget_beside(taken.moved)

    def _discard(self, folder: int, name: bytes) -> None:
        if self._bin is not None and self._bin.put(folder, name):
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=folder)

    def give_back(self, taken: Taken) -> None:
        """What `take` held, put back at its name (never over anything there now)."""
        self._put_back(taken.aside, taken.moved, taken.dir_fd, taken.name)
        self._forget_beside(taken.moved)

    @staticmethod
    def _put_back(aside: int, moved: bytes, dir_fd: int, name: bytes) -> None:
        """Back where it was, by a hard link, which never replaces anything; where a third
        writer took the name meanwhile, theirs stays and this one goes beside it, under a name
        that says why. Where the system refuses a hard link (a file of another user, with
        `fs.protected_hardlinks`), by a rename to a name nothing holds."""
        for n in range(1000):
            back = name if n == 0 else name + b".git-atomic-kept-%d" % n
            try:
                os.link(moved, back, src_dir_fd=aside, dst_dir_fd=dir_fd, follow_symlinks=False)
            except FileExistsError:
                continue
            except OSError:
                if lstat_at(dir_fd, back) is not None:
                    continue
                os.rename(moved, back, src_dir_fd=aside, dst_dir_fd=dir_fd)
                return
            os.unlink(moved, dir_fd=aside)
            return

    def _aside_folder(self) -> int | None:
        if self._aside_fd is None and self._aside is not None:
            try:
                os.makedirs(self._aside, exist_ok=True)
                self._aside_fd = os.open(self._aside, DIR_FLAGS)
            except OSError:
                self._aside = None
        return self._aside_fd if self._aside is not None else None

    def unlink(self, rel: bytes) -> bool:
        """Remove the file or link at `rel` (the link itself); False when nothing was there."""
        where = self._parent(rel)
        if where is None:
            return False
        try:
            os.unlink(where[1], dir_fd=where[0])
        except OSError as exc:
            if exc.errno in NOT_THERE:
                return False
            raise
        return True

    def rename(self, rel: bytes, to: bytes) -> bool:
        """Rename the folder `rel` to `to`, where nothing is (both reached without a link);
        False when either folder above them is not there, or `rel` is no folder."""
        source, dest = self._parent(rel), self._parent(to)
        if source is None or dest is None or self.kind(rel) != stat.S_IFDIR:
            return False
        if self.kind(to) is not None:
            return False
        os.rename(source[1], dest[1], src_dir_fd=source[0], dst_dir_fd=dest[0])
        self.forget(rel)
        return True

    def rmdir(self, rel: bytes, *, refused: list[tuple[bytes, OSError]] | None = None) -> bool:
        """Remove the empty folder at `rel`; False when it is not there, not empty or not a
        folder (a link is never removed this way). `refused`: where the system refuses to
        remove it (a read-only or immutable folder above it, a mount point), noted."""
        where = self._parent(rel)
        if where is None:
            return False
        try:
            os.rmdir(where[1], dir_fd=where[0])
        except OSError as exc:
            if refused is not None and exc.errno in (
                errno.EPERM, errno.EACCES, errno.EROFS, errno.EBUSY
            ):  # fmt: skip
                refused.append((rel, exc))
            return False
        self.forget(rel)
        return True

    def empty_folders(self, rel: bytes, *, limit: int = 1000) -> list[bytes] | None:
        """The folder `rel` as empty folders only: the innermost ones (each names the folders
        above it); None when anything else is in it (a file, a link) or past `limit`."""
        fd = self.folder(rel)
        if fd is None:
            return None
        leaves: list[bytes] = []
        with os.scandir(fd) as entries:
            names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        if not names:
            return [rel]
        for name, is_dir in sorted(names):
            if not is_dir:
                return None
            below = self.empty_folders(rel + b"/" + os.fsencode(name), limit=limit - len(leaves))
            if below is None:
                return None
            leaves += below
            if len(leaves) > limit:
                return None
        return leaves

    def remove_empty_folders(self, rel: bytes) -> bool:
        """Remove the folder `rel` when it holds nothing but empty folders; False (and nothing
        removed) otherwise."""
        leaves = self.empty_folders(rel)
        if leaves is None:
            return False
        for leaf in sorted(leaves, reverse=True):
            folder = leaf
            while folder != rel and self.rmdir(folder):
                folder = os.path.dirname(folder)
        return self.rmdir(rel)

    def write(
        self,
        rel: bytes,
        data: bytes,
        mode: int,
        *,
        owner: tuple[int, int] | None = None,
        attributes: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Create the regular file `rel` (it must not exist) with `data` and `mode`; its
        folders must exist (`make_folders`). The mode is set before any byte is written: a
        process killed while writing leaves a file whose bytes are not the target's (the
        next restore writes it again), never the target's bytes under another mode, which
        git's comparison (the executable bit only) would take for done. `owner` (uid, gid):
        the file is given to them where we may (root may), as the file it replaces was
        theirs; without one, a file (as a folder `make_folders` makes) made in a folder of
        someone else's is given to the folder's owner: a checkpoint holds no owner, and
        root's rollback in a user's worktree must not leave the user files they cannot
        write. `attributes`: the extended attributes of the file it replaces (`attributes`),
        set after the mode (an ACL's mask is the group's bits), each where we may (a
        `security.` or `trusted.` one only root may set: left out)."""
        parent, name = split(rel)
        fd_dir = self.folder(parent)
        if fd_dir is None:
            raise Blocked(parent)
        fd = os.open(
            name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=fd_dir,
        )
        # Written on the descriptor itself: a file object around it would ask the system
        # three more things of each file (fstat, isatty, lseek).
        open_fd: int | None = fd
        try:
            if owner is not None:
                fdcalls.give(fd, owner, group_too=True)
            else:
                fdcalls.give(fd, fdcalls.owner_of(fd_dir))
            os.fchmod(fd, mode)
            for key, value in attributes:
                with contextlib.suppress(OSError):
                    os.setxattr(fd, key, value)
            fdcalls.write_all(fd, data)
            open_fd = None
            os.close(fd)
        except BaseException:  # a full disk: no file cut short stands at `rel`
            if open_fd is not None:
                os.close(open_fd)
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=fd_dir)
            raise

    def mkfifo(self, rel: bytes, mode: int) -> None:
        """Create the FIFO `rel` (it must not exist) with the bits of `mode`, the umask's
        aside; its folders must exist."""
        parent, name = split(rel)
        fd_dir = self.folder(parent)
        if fd_dir is None:
            raise Blocked(parent)
        bits = mode & 0o7777
        os.mkfifo(name, bits, dir_fd=fd_dir)
        st = lstat_at(fd_dir, name)
        if st is None or st.st_mode & 0o7777 == bits:
            return
        # The bits the umask took, given back through the FIFO itself: opened to read without
        # waiting for a writer (O_NONBLOCK) and never through a link, so no other file's.
        # (One closed to its owner, 0200 say, cannot be opened so: it keeps the umask's.)
        try:
            fd = os.open(name, _FIFO_FLAGS, dir_fd=fd_dir)
        except PermissionError:
            return
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.fchmod(fd, bits)
        finally:
            os.close(fd)

    def chmod_fifo(self, rel: bytes, bits: int) -> bool:
        """Give the FIFO at `rel` the permission bits `bits`, through the FIFO itself (opened
        to read without waiting for a writer, never through a link, as `mkfifo` does); False
        where it is not a FIFO, or cannot be opened so (one closed to its owner, 0200 say)."""
        parent, name = split(rel)
        fd_dir = self.folder(parent)
        if fd_dir is None:
            return False
        try:
            fd = os.open(name, _FIFO_FLAGS, dir_fd=fd_dir)
        except OSError as exc:
            if exc.errno in NOT_THERE or isinstance(exc, PermissionError):
                return False
            raise
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                return False
            os.fchmod(fd, bits & 0o7777)
        finally:
            os.close(fd)
        return True

    def symlink(self, rel: bytes, target: bytes) -> None:
        parent, name = split(rel)
        fd_dir = self.folder(parent)
        if fd_dir is None:
            raise Blocked(parent)
        os.symlink(target, name, dir_fd=fd_dir)
        uid, gid = fdcalls.owner_of(fd_dir)
        with contextlib.suppress(OSError):  # as _give, for the link itself; best effort
            if os.stat(name, dir_fd=fd_dir, follow_symlinks=False).st_uid != uid:
                os.chown(name, uid, gid, dir_fd=fd_dir, follow_symlinks=False)

    def chmod(self, rel: bytes, mode: int) -> bool:
        """Set the mode of the regular file at `rel` (never through a link); False when it
        is not one, or when it has other names (a hard link to a file elsewhere: its mode
        is not the worktree's alone to change)."""
        where = self._parent(rel)
        if where is None:
            return False
        try:
            fd = os.open(where[1], FILE_FLAGS, dir_fd=where[0])
        except PermissionError:
            return fdcalls.chmod_unreadable(where[0], where[1], mode)
        except OSError as exc:
            if exc.errno in NOT_THERE:
                return False
            raise
        try:
            if not fdcalls.own_file(os.fstat(fd)):
                return False
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return True
