"""The worktree's folders, walked and remembered: the empty ones no rule ignores, and where the
rule files are, for the cost of what changed since the last walk.

A capture needs every empty folder git would not ignore (folders.py), and the ignored rule files
(ignores.py). Asking git meant two more walks of the whole tree beside the scan's `git status`:
at 100,000 files about 500 ms of processor time. This walk looks at each folder git would look
into (one `fstat`), reads only the folders whose stat data changed since the last walk (a
folder's entries change only with its mtime), and asks git only about folders it has not seen
before (what git said of a few folders gone since is kept too), or all of them when an ignore
rule may have changed: `git check-ignore --no-index`, one
process for all the folders of a depth, and for the new folders below them, read ahead (a new
`a/b/c` is one question, not three). What it keeps is a cache beside the scan index; a walk
without it (or with a damaged one) reads every folder.

What git ignores is never decided here: git says. A folder is read again when its stat data
changed or when it changed within `_RACY_NS` of the walk that saw it (a change in the same tick
of a coarse clock leaves the stat data as it was, as git's untracked cache knows). What git
ignores is asked again when a rule file in a folder walked, `info/exclude`, `core.excludesFile`
or `core.ignoreCase` is not as it was, or changed that close to the walk.

Folders are opened one from another without following links (`O_NOFOLLOW`), never through a
link; a folder holding a `.git` (a repository of its own) is never looked into, as in git's
own walk.
"""

from __future__ import annotations

import contextlib
import errno
import marshal
import os
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic.core import failpoints, wholefile
from git_atomic.engine import ignoredinside, reconcile, safefs, stalls
from git_atomic.engine.git import Repo, worktree_key

# The rule files whose place a walk notes (ignores.py asks git which of them it ignores).
RULE_FILES: Final = stalls.RULE_FILES
_VERSION: Final = 6
_RACY_NS: Final = 3_000_000_000
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
# Verdicts kept on folders a walk did not meet (`walk`): an `abort` removes the operation's new
# folders, and the next one that makes them again is not asked about them again.
_GONE_KEPT: Final = 256


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
    # when all of those rules are older than `_RACY_NS`; None when one is newer or the walk is
    # not kept. Equal stamps, same rules and folders (ignores.py remembers git's answer about
    # the rule files by it).
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


# A folder as a walk read it: (st_dev, st_ino, st_mtime_ns, st_ctime_ns, nothing in it, holds a
# `.git`, the names of the folders in it (not links), the names of the rule files in it, its
# permission bits, the inodes of the folders in it as its entries name them, the names of the
# FIFOs, sockets and devices in it). A `chmod` changes its ctime: a record kept by its stat data
# keeps its bits.
_Record = tuple[
    int,
    int,
    int,
    int,
    bool,
    bool,
    tuple[bytes, ...],
    tuple[bytes, ...],
    int,
    tuple[int, ...],
    tuple[bytes, ...],
]
_EMPTY: Final = 4
_OWN: Final = 5
_FOLDERS: Final = 6
_RULES: Final = 7
_BITS: Final = 8
_INODES: Final = 9
_SPECIALS: Final = 10
_USUAL_BITS: Final = 0o755
_RuleStat = tuple[int, int, int, int, int]  # mtime, ctime, size, inode, mode (ns)


def cache_file(repo: Repo) -> Path | None:
    """Where a worktree's walk is kept; None for a private worktree of `run --isolate`, which
    lives for one operation."""
    if repo.root.is_relative_to(repo.state_dir):
        return None
    return repo.state_dir / f"walk-{worktree_key(repo)}"


class _Kept(NamedTuple):
    records: dict[bytes, _Record]
    verdicts: dict[bytes, bool]  # folder -> a rule ignores it
    rules: list[object]  # reconcile.rules_key when the verdicts were made
    rule_stats: dict[bytes, _RuleStat]
    icase: bool  # core.ignoreCase when the records were read (which folders hold a `.git`)
    inside: dict[bytes, ignoredinside.Listed]  # the folders listed inside ignored ones


def walk(repo: Repo) -> Walk | None:
    """Walk the worktree now; None when it could not be (git could not say what it ignores,
    too many folders open): the caller asks git's own listing instead."""
    failpoints.hit("capture:walk")
    path = cache_file(repo)
    kept = _load(path) if path is not None else None
    made = time.time_ns()
    rules = reconcile.rules_key(repo)
    icase = repo.config_bool("core.ignoreCase")
    if kept is not None and kept.icase != icase:
        kept = None  # its records say which folders hold a `.git` by the other rule
    records = kept.records if kept is not None else {}
    verdicts = kept.verdicts if kept is not None and kept.rules == rules else {}
    inside = kept.inside if kept is not None else {}
    walker = _Walker(repo, records, dict(verdicts), icase=icase, inside=inside)
    try:
        found = walker.run()
        # A rule in the tree may have changed since the kept verdicts: ask again.
        if found is not None and verdicts and kept and walker.rule_stats != kept.rule_stats:
            walker = _Walker(repo, walker.records, {}, icase=icase, inside=walker.inside)
            found = walker.run()
            verdicts = {}
    except stalls.Stalled:
        raise  # a rule file git would wait on for ever: git's listing would too
    except Exception:  # a cache (or a tree) that cannot be walked: git's listing says
        found = None
        walker.partial = False
    if found is None and not walker.partial:
        if path is not None:
            with contextlib.suppress(OSError):  # it may be what failed: the next walk starts anew
                path.unlink(missing_ok=True)
        return None
    if path is not None:
        racy = made - _RACY_NS
        steady = all(max(s[0], s[1]) < racy for s in walker.rule_stats.values()) and all(
            max((v for v in part[1:3] if isinstance(v, int)), default=0) < racy
            for part in rules
            if isinstance(part, list)
        )
        # A walk that stopped part way (`_ROUNDS_AT_MOST`) never checked the kept verdicts
        # against the rule files: only those it asked itself are worth keeping.
        steady = steady and not (walker.partial and verdicts)
        # The verdicts on folders this walk did not meet (gone since: an operation's new
        # folders, which its rollback removed) are kept too, a few, under the same rules: git
        # says the same of the same path while no rule is other (a rule file that changed,
        # came or went, in the tree or outside it, and every verdict is asked again).
        gone = [(f, v) for f, v in verdicts.items() if f not in walker.seen][-_GONE_KEPT:]
        now = _Kept(
            {k: r for k, r in walker.records.items() if r[1] >= 0 and r[2] < racy and r[3] < racy},
            {**dict(gone), **walker.seen} if steady else {},
            rules if steady else [],
            walker.rule_stats,
            icase,
            {k: r for k, r in walker.inside.items() if max(r[2], r[3]) < racy},
        )
        if now != kept and repo.quarantine is None:  # (a dry run keeps no cache)
            _store(path, now, repo.scratch_path("walk"))
        if found is not None and steady and not walker.partial:
            stats = sorted(walker.rule_stats.items())
            stamp = (rules, stats, found.rule_files, found.ignored, found.own_repositories)
            found = found._replace(rules_stamp=repr(stamp))
    return found


class _Walker:
    def __init__(
        self,
        repo: Repo,
        records: dict[bytes, _Record],
        verdicts: dict[bytes, bool],
        *,
        icase: bool,
        inside: dict[bytes, ignoredinside.Listed],
    ) -> None:
        self.repo = repo
        self.icase = icase  # core.ignoreCase: git takes `.GIT` for `.git` too
        self.root = os.fsencode(repo.root)
        self.old = records
        self.records: dict[bytes, _Record] = {}
        self.verdicts = verdicts
        self.seen: dict[bytes, bool] = {}  # the verdicts this walk used
        self.rule_stats: dict[bytes, _RuleStat] = {}
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
            every = [_join(f, n) for f, r in self.old.items() if not r[_OWN] for n in r[_FOLDERS]]
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
        walked = frozenset(
            {folder for folder, record in self.records.items() if folder and not record[_OWN]}
        )
        return Walk(
            frozenset(self.empty),
            tuple(self.rule_files),
            tuple(self.ignored),
            tuple(self.own_repositories),
            {
                folder: record[_BITS]
                for folder, record in self.records.items()
                if folder and record[_BITS] not in usual and not record[_OWN]
            },
            ids=self._ids(),
            walked=walked,
            specials=tuple(
                _join(folder, name)
                for folder, record in self.records.items()
                if not record[_OWN]
                for name in record[_SPECIALS]
            ),
        )

    def _ids(self) -> dict[bytes, tuple[int, int]]:
        """The device and inode of each folder the folders walked name (Walk.ids)."""
        records = self.records
        get = records.get
        ids: dict[bytes, tuple[int, int]] = {}
        # (Once a folder for each of the tree's folders: `_join` inlined, the record's device
        # taken once.)
        for folder, record in records.items():
            if record[_OWN] or record[0] < 0 or not record[_FOLDERS]:
                continue
            prefix, device = folder + b"/" if folder else b"", record[0]
            for name, inode in zip(record[_FOLDERS], record[_INODES], strict=True):
                path = prefix + name
                below = get(path)
                if below is None or not (below[_OWN] or below[_EMPTY]):
                    ids[path] = (device, inode)
        return ids | ignoredinside.ids(self.inside)

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
                    safefs.lstat_at(fd, b".gitignore") if b".gitignore" in record[_RULES] else None
                )
            finally:
                os.close(fd)
            read += 1
            if record[_OWN] or (rules is not None and stalls.stalls(rules.st_mode)):
                continue
            for name in record[_FOLDERS]:
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
        if record[_OWN]:
            self.own_repositories.append(folder)
            return None
        if record[_EMPTY] and folder:
            self.empty.append(folder)
        for name in record[_RULES]:
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
        prefix = folder + b"/" if folder else b""
        for name in record[_FOLDERS]:
            path = prefix + name
            verdict = verdicts.get(path)
            if verdict is None:
                self.unknown.append(path)
                continue
            seen[path] = verdict
            if verdict:
                self.ignored.append(path)
                with contextlib.suppress(OSError):
                    if ignoredinside.met(self.inside, fd, path, self.old_inside, icase=self.icase):
                        self.met_here.add(path)
                continue
            kept = old.get(path)
            if kept is not None and (kept[_OWN] or not (kept[_FOLDERS] or kept[_RULES])):
                st = safefs.lstat_at(fd, name)
                if st is None:
                    continue
                if kept[:4] == (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns):
                    self.records[path] = kept
                    if kept[_OWN]:
                        self.own_repositories.append(path)
                    elif kept[_EMPTY]:
                        self.empty.append(path)
                    continue
            below.append(path)
        return below or None

    def _record(self, folder: bytes, fd: int) -> _Record:
        st = os.fstat(fd)
        old = self.old.get(folder)
        if old is not None and old[:4] == (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns):
            return old
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
        bits = st.st_mode & 0o7777
        try:
            with os.scandir(fd) as listing:
                entries = list(listing)
        except PermissionError:  # opened but not listable: not empty as far as anyone can say
            return (-1, -1, -1, -1, False, False, (), (), bits, (), ())  # never kept
        if not entries:
            return (*key, True, False, (), (), bits, (), ())
        # Per entry, as little as can be: most are files, of which only the names are looked at.
        # The kind is the listing's own (`d_type`), but where a filesystem gives none.
        # One call an entry, as when only the folders were picked: the few that are not files
        # (folders, links, FIFOs, sockets, devices) looked at again.
        names = {e.name for e in entries}
        others = [e for e in entries if not e.is_file(follow_symlinks=False)]
        folders = sorted(
            (os.fsencode(e.name), e.inode()) for e in others if e.is_dir(follow_symlinks=False)
        )
        specials = [
            os.fsencode(e.name)
            for e in others
            if not (e.is_dir(follow_symlinks=False) or e.is_symlink())
        ]
        # A repository of its own, as git's walk tells one: a `.git` there (`.GIT` too with
        # core.ignoreCase). It is not looked into.
        own = ".git" in names or (
            self.icase and any(n.lower() == ".git" for n in names if len(n) == 4)
        )
        if not folder:  # the top: its `.git` is the repository's own
            folders = [f for f in folders if (f[0].lower() if self.icase else f[0]) != b".git"]
            specials = [n for n in specials if (n.lower() if self.icase else n) != b".git"]
            own = False
        rules = tuple(n for n in RULE_FILES if os.fsdecode(n) in names)
        return (
            *key,
            False,
            own,
            tuple(n for n, _ in folders),
            rules,
            bits,
            tuple(i for _, i in folders),
            tuple(sorted(specials)),
        )

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


_MAGIC: Final = b"git-atomic walk\n"
_LARGEST: Final = 256 << 20  # a kept walk larger than this is not one of ours


def ignored_met(repo: Repo) -> list[bytes] | None:
    """The folders a rule ignores that the last walk met in the folders it walked (it does not
    look into them), as its kept verdicts say, and the folders it listed inside them
    (ignoredinside.py); None where it kept no verdicts (a walk that could not keep them: a
    rule file changed within the last seconds, a walk that stopped part way, or none yet). A
    walk that found what it kept rewrites nothing: the file is as new as its content,
    whatever its time."""
    path = cache_file(repo)
    kept = _load(path) if path is not None else None
    if kept is None or not kept.verdicts:
        return None
    return [folder for folder, ignored in kept.verdicts.items() if ignored] + list(kept.inside)


def _store(path: Path, kept: _Kept, tmp: Path) -> None:
    """Keep `kept` at `path`: a header, the CRC-32 of the body, the body (`marshal`)."""
    body = marshal.dumps((_VERSION, *kept))
    try:
        wholefile.write_new(tmp, _MAGIC + zlib.crc32(body).to_bytes(4, "big") + body)
        os.replace(tmp, path)
    except OSError:  # a cache: the next walk reads every folder
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _load(path: Path) -> _Kept | None:
    """The walk kept at `path`; None when there is none, or it is not one. It is read only as
    a regular file (never through a link), and decoded only when its checksum is right: a
    damaged file could crash `marshal`. A record that is still not what a walk writes makes the
    walk fail (`walk` then removes the file, and the capture asks git)."""
    body = wholefile.read_checked(path, _MAGIC, limit=_LARGEST)
    if body is None:
        return None
    try:
        decoded = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(decoded, tuple) and len(decoded) == 7 and decoded[0] == _VERSION):
        return None
    _, records, verdicts, rules, rule_stats, icase, inside = decoded
    if not all(isinstance(x, dict) for x in (records, verdicts, rule_stats)):
        return None
    if not ignoredinside.valid(inside):
        return None
    if not isinstance(rules, list):
        return None
    return _Kept(records, verdicts, rules, rule_stats, bool(icase), inside)
