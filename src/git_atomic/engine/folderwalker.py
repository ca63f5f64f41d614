"""One walk of the worktree's folders (folderwalk.py keeps it between walks): each folder opened
from the one above it without following a link (`O_NOFOLLOW`), read where its stat data changed
(folderrecord.py), and git asked which of the new folders it ignores, one process for a depth
and the new folders below them read ahead. A folder holding a `.git` is never looked into.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from git_atomic.engine import folderrecord, ignoredinside, safefs, stalls
from git_atomic.engine.folderrecord import (
    BITS,
    EMPTY,
    FOLDERS,
    INODES,
    OWN,
    RULES,
    SPECIALS,
    Record,
)
from git_atomic.engine.git import Repo

_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_GONE: Final = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
_OPEN_AT_MOST: Final = 256  # folders `_open` keeps open at once, past those on its way
# Depths of folders git is asked about in one walk (one process each): past that, the capture
# asks git's listing, and the next walk goes on from what this one read.
_ROUNDS_AT_MOST: Final = 64
# New folders read ahead of git's answer about the new folders they are in, so that one process
# answers for a new tree of folders (`mkdir -p a/b/c`), not one per depth: at most this many a
# round (a new ignored `node_modules/` costs this many folders read, never more).
_AHEAD_AT_MOST: Final = 32
_USUAL_BITS: Final = 0o755
RuleStat = tuple[int, int, int, int, int]  # a rule file's mtime, ctime (ns), size, inode, mode


class Walk(NamedTuple):
    """What one walk found."""

    empty: frozenset[bytes]  # folders with nothing in them, that no rule ignores
    rule_files: tuple[bytes, ...]  # `.gitignore`/`.gitattributes` in the folders walked
    ignored: tuple[bytes, ...]  # folders a rule ignores, in folders walked: not looked into
    # Folders that hold a `.git`, not looked into either: git looks into one that is not a
    # repository after all (an empty `.git` folder), so ignores.py asks it about those.
    own_repositories: tuple[bytes, ...]
    # The permission bits of the folders walked that are not 0755 (a 0700 `secrets/`, a setgid
    # team folder), named without a slash: a folder holding only clean tracked files is looked
    # at by no other part of a capture, and one made again would get the umask's bits.
    modes: Mapping[bytes, int] = {}
    # What every ignore rule git reads is (the rule files of the folders walked, by their stat
    # data and names, and those outside the tree: reconcile.rules_key), with the folders above,
    # when all of those rules are older than `_RACY_NS` (folderwalk.py); None when one is newer
    # or the walk is not kept. Equal stamps, same rules and folders (ignores.py remembers git's
    # answer about the rule files by it).
    rules_stamp: str | None = None
    # Each folder in a folder walked, the ignored ones too, but the empty ones and those
    # holding a `.git`: its device and inode, read with its folder's entries (no syscall
    # more). A checkpoint keeps them (foldermoves.py): a folder an operation renamed, with
    # the files no checkpoint holds in it, is found again where it went.
    ids: Mapping[bytes, tuple[int, int]] = {}
    # The folders whose bits `modes` states (those not in it have the usual 0755): every
    # folder walked, but the top and those holding a `.git`.
    walked: frozenset[bytes] = frozenset()
    # The FIFOs, sockets and devices in the folders walked (git lists none of them), told from
    # the other entries by the kind their folder's listing gives (`d_type`: no syscall more).
    specials: tuple[bytes, ...] = ()


class Walker:
    def __init__(
        self,
        repo: Repo,
        records: dict[bytes, Record],
        verdicts: dict[bytes, bool],
        *,
        icase: bool,
        inside: dict[bytes, ignoredinside.Listed],
    ) -> None:
        self.repo = repo
        self.icase = icase  # core.ignoreCase: git takes `.GIT` for `.git` too
        self.root = os.fsencode(repo.root)
        self.old = records
        self.records: dict[bytes, Record] = {}
        self.verdicts = verdicts
        self.seen: dict[bytes, bool] = {}  # the verdicts this walk used
        self.rule_stats: dict[bytes, RuleStat] = {}
        self.empty: list[bytes] = []
        self.rule_files: list[bytes] = []
        self.ignored: list[bytes] = []
        self.own_repositories: list[bytes] = []
        self.unknown: list[bytes] = []  # folders git has not yet said anything about
        self._above: dict[bytes, int] = {}  # folders open to open those in them (`_open`)
        self.partial = False  # it stopped after `_ROUNDS_AT_MOST` depths of new folders
        self.old_inside = inside
        self.inside: dict[bytes, ignoredinside.Listed] = {}
        self.met_here: set[bytes] = set()  # the ignored folders taken in where they were met

    def run(self) -> Walk | None:
        if not self.verdicts and self.old:
            # Ask about every folder the kept walk saw at once, not one depth at a time.
            # git refuses them all when one is now beyond a link: then one depth at a time.
            every = [_join(f, n) for f, r in self.old.items() if not r[OWN] for n in r[FOLDERS]]
            # git reads the `.gitignore` of each folder on their way, before this walk has
            # looked at any of them.
            stalls.check_tree(self.root, [_join(f, b".gitignore") for f in self.old])
            self.verdicts = self._ask(every) or {}
        pending: list[bytes] | None = [b""]
        rounds = 0
        try:
            while pending:
                for top in pending:
                    fd = self._open(top)
                    if fd is not None:
                        self._visit(top, fd)
                rounds += 1
                if rounds > _ROUNDS_AT_MOST and self.unknown:
                    self.partial = True  # what it read is kept: the next walk goes further
                    return None
                pending = self._answered()
            if pending is None:
                return None
            try:  # (where each folder in an ignored one is: what it cannot list stays unknown)
                others = [f for f in self.ignored if f not in self.met_here]
                self.inside = ignoredinside.listed(
                    self._open, others, self.inside, self.old_inside, icase=self.icase
                )
            except OSError:
                self.inside = {}
        finally:
            self._close_above()
        # A 0755 folder is left out where `mkdir` makes one so (a restore's folder made
        # again): under `umask 002` it would come back 0775, so every folder is kept.
        made = _mkdir_bits()
        usual = (_USUAL_BITS,) if made is None or made == _USUAL_BITS else ()
        walked, modes, specials, ids = self._gathered(usual)
        return Walk(
            frozenset(self.empty),
            tuple(self.rule_files),
            tuple(self.ignored),
            tuple(self.own_repositories),
            modes,
            ids=ids,
            walked=walked,
            specials=specials,
        )

    def _gathered(
        self, usual: tuple[int, ...]
    ) -> tuple[frozenset[bytes], dict[bytes, int], tuple[bytes, ...], dict[bytes, tuple[int, int]]]:
        """From the records of the folders walked, in one pass: the folders walked (those
        whose bits `modes` states: every one but the top and those holding a `.git`), the bits
        of those not `usual`, the FIFOs, sockets and devices in them, and the device and inode
        of each folder they name (Walk.ids): the ignored ones too, but the empty ones and those
        holding a `.git`."""
        records = self.records
        get = records.get
        walked: list[bytes] = []
        modes: dict[bytes, int] = {}
        specials: list[bytes] = []
        ids: dict[bytes, tuple[int, int]] = {}
        for folder, record in records.items():
            if record[OWN]:
                continue
            prefix = folder + b"/" if folder else b""
            if folder:
                walked.append(folder)
                if record[BITS] not in usual:
                    modes[folder] = record[BITS]
            if record[SPECIALS]:
                specials += [prefix + name for name in record[SPECIALS]]
            if record[0] < 0 or not record[FOLDERS]:
                continue
            device = record[0]  # (once a folder for each of the tree's folders)
            for name, inode in zip(record[FOLDERS], record[INODES], strict=True):
                path = prefix + name
                below = get(path)
                if below is None or not (below[OWN] or below[EMPTY]):
                    ids[path] = (device, inode)
        ids.update(ignoredinside.ids(self.inside))
        return frozenset(walked), modes, tuple(specials), ids

    def _answered(self) -> list[bytes] | None:
        """The folders to walk next: those of the folders git had said nothing about that it
        does not ignore (None: git could not say)."""
        pending: list[bytes] = []
        if self.unknown:
            asked, self.unknown = self.unknown, []
            ahead = self._ahead(asked)
            # The folders in them, asked with them: git's verdict on one is the one it would give
            # once its folder is walked (the rules do not change in between), and it is used
            # only then (`_take`); those in a folder git ignores are never looked at again.
            answer = self._ask([*asked, *ahead]) if ahead else None
            if answer is None:  # none ahead, or git refused one of them (a link since)
                answer = self._ask(asked)
            if answer is None:
                return None
            self.verdicts.update(answer)
            for folder in asked:
                self.seen[folder] = answer[folder]
                if answer[folder]:
                    self.ignored.append(folder)
                else:
                    pending.append(folder)
        return pending

    def _ahead(self, asked: Sequence[bytes]) -> list[bytes]:
        """The folders below the new folders `asked` that git has said nothing about, read
        breadth first (at most `_AHEAD_AT_MOST` folders), none inside a repository of its own,
        nor below a `.gitignore` git would wait on (git reads it to answer for what is below
        it, unless a rule ignores its folder: that folder's own walk refuses it, or not)."""
        found: list[bytes] = []
        queue = list(asked)
        read = 0
        while queue and read < _AHEAD_AT_MOST:
            folder = queue.pop(0)
            fd = self._open(folder)
            if fd is None:
                continue
            try:
                record = self._record(folder, fd)
                rules = (
                    safefs.lstat_at(fd, b".gitignore") if b".gitignore" in record[RULES] else None
                )
            finally:
                os.close(fd)
            read += 1
            if record[OWN] or (rules is not None and stalls.stalls(rules.st_mode)):
                continue
            for name in record[FOLDERS]:
                path = _join(folder, name)
                if path not in self.verdicts:
                    found.append(path)
                    queue.append(path)
        return found

    def _open(self, rel: bytes) -> int | None:
        """The folder `rel` (the caller closes it), opened one component at a time from the
        nearest folder above it still open, no link followed; the folders on the way stay
        open for the next (`_above`: past `_OPEN_AT_MOST`, those not on the way are closed)."""
        if not rel:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        parts = rel.split(b"/")
        if len(self._above) >= _OPEN_AT_MOST:
            self._close_above(keeping=rel)
        start = len(parts) - 1
        while start > 0 and b"/".join(parts[:start]) not in self._above:
            start -= 1
        fd = self._above.get(b"/".join(parts[:start]))
        if fd is None:
            fd = self._above[b""] = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for depth in range(start, len(parts)):
            try:
                below = os.open(parts[depth], _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _GONE or exc.errno == errno.EACCES:
                    return None
                raise
            if depth == len(parts) - 1:
                return below
            fd = self._above[b"/".join(parts[: depth + 1])] = below
        return None  # not reached: the loop returns at the last component

    def _close_above(self, *, keeping: bytes | None = None) -> None:
        """Close the folders `_open` kept open, but those on the way to `keeping`."""
        for path in list(self._above):
            if keeping is None or not (not path or keeping.startswith(path + b"/")):
                os.close(self._above.pop(path))

    def _visit(self, top: bytes, top_fd: int) -> None:
        """Walk from `top` (open as `top_fd`, closed here), depth first, one open folder per
        depth."""
        stack: list[tuple[int, list[bytes]]] = []
        try:
            self._enter(top, top_fd, stack)
            while stack:
                fd, below = stack[-1]
                if not below:
                    stack.pop()
                    os.close(fd)
                    continue
                path = below.pop()
                try:
                    child = os.open(path.rpartition(b"/")[2], _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    # Gone or no longer a folder since its folder was read, or not ours to
                    # read (git cannot list it either).
                    if exc.errno in _GONE or exc.errno == errno.EACCES:
                        continue
                    raise
                self._enter(path, child, stack)
        finally:
            for fd, _ in stack:
                os.close(fd)

    def _enter(self, folder: bytes, fd: int, stack: list[tuple[int, list[bytes]]]) -> None:
        """Take in the folder open as `fd`: closed here, or pushed on `stack` with the folders
        in it still to walk."""
        try:
            below = self._take(folder, fd)
        except BaseException:
            os.close(fd)
            raise
        if below is None:
            os.close(fd)
        else:
            stack.append((fd, below))

    def _take(self, folder: bytes, fd: int) -> list[bytes] | None:
        """The folders in `folder` to walk, open as `fd`; None: none. A folder in it whose
        stat data is as kept and that holds no folder and no rule file is taken in here,
        without opening it."""
        record = self._record(folder, fd)
        self.records[folder] = record
        if record[OWN]:
            self.own_repositories.append(folder)
            return None
        if record[EMPTY] and folder:
            self.empty.append(folder)
        for name in record[RULES]:
            st = safefs.lstat_at(fd, name)
            if st is None:
                continue
            path = _join(folder, name)
            if stalls.stalls(st.st_mode):  # before git is asked about a folder in it
                raise stalls.refusal(path.decode("utf-8", "backslashreplace"), st.st_mode)
            self.rule_stats[path] = (
                st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_mode
            )  # fmt: skip
            self.rule_files.append(path)
        below: list[bytes] = []
        old, verdicts, seen = self.old, self.verdicts, self.seen
        records, unknown, lstat = self.records, self.unknown, os.lstat
        prefix = folder + b"/" if folder else b""
        for name in record[FOLDERS]:
            path = prefix + name
            verdict = verdicts.get(path)
            if verdict is None:
                unknown.append(path)
                continue
            seen[path] = verdict
            if verdict:
                self.ignored.append(path)
                with contextlib.suppress(OSError):
                    if ignoredinside.met(self.inside, fd, path, self.old_inside, icase=self.icase):
                        self.met_here.add(path)
                continue
            kept = old.get(path)
            if kept is not None and (kept[OWN] or not (kept[FOLDERS] or kept[RULES])):
                # (safefs.lstat_at inlined, and the stat data compared field by field: a
                # folder the last walk found with no folder and no rule file in it, of the
                # thousands of a large tree)
                try:
                    st = lstat(name, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in _GONE:
                        continue
                    raise
                if (
                    kept[2] == st.st_mtime_ns
                    and kept[3] == st.st_ctime_ns
                    and kept[1] == st.st_ino
                    and kept[0] == st.st_dev
                ):
                    records[path] = kept
                    if kept[OWN]:
                        self.own_repositories.append(path)
                    elif kept[EMPTY]:
                        self.empty.append(path)
                    continue
            below.append(path)
        return below or None

    def _record(self, folder: bytes, fd: int) -> Record:
        return folderrecord.read(folder, fd, self.old.get(folder), icase=self.icase)

    def _ask(self, paths: Sequence[bytes]) -> dict[bytes, bool] | None:
        """Which of the folders `paths` git ignores (None: git could not say)."""
        ignored = self.repo.ignored(paths)
        return None if ignored is None else {p: p in ignored for p in paths}


def _mkdir_bits() -> int | None:
    """The bits `mkdir` gives a folder in this process (0777 less the umask), read without
    setting the umask (`os.umask` would change it for a moment, for every thread); None
    where the system does not say (not Linux)."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Umask:"):
                    return 0o777 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _join(folder: bytes, name: bytes) -> bytes:
    return folder + b"/" + name if folder else name
