"""The scan of a worktree: every file a checkpoint holds, as an index and a tree, for about what
one `git status` costs, and often less.

Each worktree has a private *scan index*: the index the last scan left. It holds every file that
scan saw, tracked and untracked alike, with git's stat data and git's untracked cache. The next
scan starts from a hard link to it and asks `git status` what differs. git re-reads only the files
whose stat data changed, and lists only the folders whose mtime changed. The files that differ
are hashed once and the last tree is edited on the folders concerned, while the scan index takes
the same entries in the background; past a few hundred files, `update-index` and `write-tree`
do both.

The scan index describes the worktree, not the user's index, so its set of paths is reconciled
with the user's entries (`finish`): a file the user tracks although it is ignored must be in it,
and a file only the scan index tracks must not be ignored now.

The index is kept as `<common git dir>/atomic/scan-<worktree>-<tree>`, and it is trusted only while
`refs/atomic/scan/<worktree>` names that same tree. That ref keeps every object the index refers
to (its blobs, and the trees of its cache-tree) safe from `git gc`. A scan index without the ref
is never used: a fresh one is seeded from the user's index.

A scan index has no flagged entries (intent-to-add, skip-worktree, assume-unchanged): the caller
seeds one from a copy of the user's index without them (snapshot.py), so it sees the disk.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import process
from git_atomic.core.errors import GitError
from git_atomic.engine import conversion, safefs, watcher
from git_atomic.engine.git import ZERO_OID, RawChange, Repo, worktree_key

SCAN_REFS: Final = "refs/atomic/scan/"

# Our scan indexes keep git's untracked cache, which `git status` uses for `-uall` only when that
# is also the configured mode. (With `core.untrackedCache=false` in your configuration, the scan
# lists every folder: `start`.)
_CONFIG: Final = (
    *conversion.AS_ON_DISK,
    "-c",
    "status.showUntrackedFiles=all",
    "-c",
    "splitIndex.sharedIndexExpire=never",
    "-c",
    "splitIndex.maxPercentChange=100",
)
# A large scan index is a split index (git's `core.splitIndex`): a write of it is then a small
# file of the entries that changed, beside a shared index (`<git dir>/sharedindex.<oid>`) that
# holds the rest. That shared index is ours alone, and only `keep` makes a new one (`_compact`),
# so that we always know which one is no longer needed (`_discard`); git is told never to expire
# shared indexes itself, so that none of yours is ever removed by our writes.
_SPLIT_AT: Final = 4 << 20  # bytes of index (about 40,000 files)
_SHARED: Final = "sharedindex."
_EDIT_AT_MOST: Final = 300  # changed files past which update-index and write-tree are cheaper
_STATUS: Final = (
    "status",
    "--porcelain=v2",
    "-z",
    "--untracked-files=all",
    "--no-renames",
    "--ignore-submodules=dirty",
)


def _verify() -> bool:
    """Under test, every edited tree is checked against git's `write-tree` of the scan index."""
    return os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1"


class Scan:
    def __init__(
        self,
        repo: Repo,
        index: Path,
        base_tree: str | None,
        status: process.Background | None,
        *,
        split: bool = False,
    ) -> None:
        self.repo = repo
        self.index = index  # our copy, scanned; it becomes the next scan index
        self.base_tree = base_tree  # the tree of the scan index it started from (None: seeded)
        self.status = status
        self.untracked: frozenset[bytes] = frozenset()  # what this scan found untracked
        self.deleted: frozenset[bytes] = frozenset()  # files it found gone (or now a folder)
        self.too_large: frozenset[bytes] = frozenset()  # new untracked files over the budget
        self.pending: process.Background | None = None  # the scan index's update, still running
        self.split = split  # written as a split index (`_split`)
        # Instead of `status`: Watchman's list of what changed since the clock kept with the
        # scan index (watcher.py). `clock`: the one this scan's answer holds from, kept with it.
        self.watch: watcher.Query | None = None
        self.clock: watcher.Clock | None = None
        self.rules: list[object] = []  # the ignore rules outside the tree, as of the clock
        # The capture's listing of ignored rule files (ignores.py): known from the last one
        # when Watchman says nothing changed that could change it; made, it is kept with the
        # clock.
        self.extras_known: list[bytes] | None = None
        self.extras_listed: list[bytes] | None = None
        self.untracked_config: tuple[str, ...] = ()

    @property
    def config(self) -> tuple[str, ...]:
        return _config(self.split)


def _config(split: bool) -> tuple[str, ...]:
    return (*_CONFIG, "-c", f"core.splitIndex={'true' if split else 'false'}")


def ref_name(repo: Repo) -> str:
    return SCAN_REFS + worktree_key(repo)


def index_file(repo: Repo, tree: str) -> Path:
    return repo.state_dir / f"scan-{worktree_key(repo)}-{tree}"


def start(
    repo: Repo,
    *,
    known_tree: str | None,
    seed: Path | None,
    scratch: Path,
    read_config: bool = True,
) -> Scan | None:
    """Start a scan in the background. `known_tree`: what the scan ref names (None: no ref);
    `seed`: a private copy of the user's index, used when there is no scan index to start from.
    None when there is nothing to start from, or for a private worktree of `run --isolate`
    (it lives for one operation: a scan index would outlive it). `read_config=False`: start
    without reading the configuration first (from a scan index only; see below)."""
    if repo.root.is_relative_to(repo.state_dir):
        return None
    base = index_file(repo, known_tree) if known_tree is not None else None
    # Optional locks on: `status` may write what it learnt (stat data, the untracked cache)
    # into our copy; it is nobody else's file.
    env = {"GIT_INDEX_FILE": str(scratch), "GIT_OPTIONAL_LOCKS": "1"}
    if base is not None and base.exists():
        share(base, scratch)
        split = _split(repo, base)
    elif seed is not None:
        base, known_tree = None, None
        share(seed, scratch)
        # Your index is a split index: ours must never depend on your shared index.
        if (
            _shared_of(repo, scratch) is not None
            and repo.run(
                *_config(False), "update-index", "--no-split-index", env=env, check=False
            ).returncode
            != 0
        ):
            scratch.unlink(missing_ok=True)
            return None
        split = scratch.stat().st_size >= _split_at()
    else:
        return None
    # git's untracked cache trusts folder mtimes; `core.untrackedCache=false` says not to here.
    # A scan index gets the cache when it is made; from then on git's own reading of your
    # setting is ours (unset: keep it; false: drop it), so a scan can start before the
    # configuration is read.
    untracked: tuple[str, ...] = ()
    if read_config or base is None:
        untracked = _untracked_cache(repo)
    if base is not None and known_tree is not None:
        query = watcher.since(repo, worktree_key(repo), known_tree)
        if query is not None:
            watching = Scan(repo, scratch, known_tree, None, split=split)
            watching.watch, watching.untracked_config = query, untracked
            return watching
    scanning = Scan(repo, scratch, known_tree, None, split=split)
    _start_status(scanning, untracked)
    return scanning


def _untracked_cache(repo: Repo) -> tuple[str, ...]:
    cache = (repo.config("core.untrackedCache") or "").lower() not in ("false", "no", "off", "0")
    return ("-c", f"core.untrackedCache={'true' if cache else 'false'}")


def _start_status(scan: Scan, untracked: tuple[str, ...]) -> None:
    """The usual scan: `git status` on our copy, after Watchman's clock when it watches the
    worktree (the next scan then asks it what changed since)."""
    scan.clock = watcher.clock(scan.repo)
    if scan.clock is not None:
        scan.rules = _rules_key(scan.repo)
    env = {"GIT_INDEX_FILE": str(scan.index), "GIT_OPTIONAL_LOCKS": "1"}
    scan.status = scan.repo.start(*_config(scan.split), *untracked, *_STATUS, env=env)


def abandon(scan: Scan) -> None:
    if scan.watch is not None:
        scan.watch.drop()
        scan.watch = None
    if scan.status is not None:
        scan.status.wait(check=False)  # never leave it writing a file that is about to go
        scan.status = None
    settled(scan)
    base = index_file(scan.repo, scan.base_tree) if scan.base_tree is not None else None
    _discard(scan.repo, scan.index, keeping=base)


def finish(scan: Scan, staged_tree: str, *, limit: int | None = None) -> str | None:
    """The tree of every file of the worktree, or None when this scan cannot say (the caller
    then scans the older way). `staged_tree`: the user's index entries. `limit`: new untracked
    files larger than that many bytes are left out, unread (`scan.too_large`)."""
    repo = scan.repo
    repo.read_config()  # what the rest asks of it is read while the scan still runs
    parsed: tuple[list[bytes], list[bytes], list[bytes]] | None = None
    if scan.watch is not None:
        query, scan.watch = scan.watch, None
        assert scan.base_tree is not None
        rules = _rules_key(repo)
        answer = watcher.answer(repo, query, scan.base_tree, rules)
        if answer is not None:
            parsed, scan.clock, scan.rules = answer[:3], answer.clock, rules
            scan.extras_known = answer.extras
        else:  # the usual scan after all
            _start_status(scan, scan.untracked_config or _untracked_cache(repo))
    returncode = 0
    if parsed is None:
        assert scan.status is not None
        res = scan.status.wait(check=False)
        scan.status = None
        returncode = res.returncode
        parsed = _parse_status(res.stdout) if res.returncode == 0 else None
    if parsed is None:
        if returncode != 0 and scan.base_tree is not None:
            # Unreadable (say, a split index whose shared part git expired): seed anew next time.
            _discard(repo, index_file(repo, scan.base_tree))
        return None
    deleted, changed, untracked = parsed
    if limit is not None and untracked:
        big = too_large(repo, untracked, limit)
        if big:
            scan.too_large = frozenset(big)
            untracked = [p for p in untracked if p not in scan.too_large]
            changed = [p for p in changed if p not in scan.too_large]
    scan.untracked = frozenset(untracked)
    scan.deleted = frozenset(deleted)
    tree: str | None
    if not changed and not deleted and scan.base_tree is not None:
        tree = scan.base_tree
    else:
        # Editing the tree costs per folder it touches; past a few hundred files git's own
        # update-index and write-tree (a fixed cost, about two index writes) are cheaper.
        few = len(deleted) + len(changed) <= _EDIT_AT_MOST
        try:
            edits = _edits(repo, deleted, changed) if few and scan.base_tree is not None else None
        except (GitError, OSError):  # a file that changed again while it was read
            return None
        if edits is not None and scan.base_tree is not None:
            tree = _apply_edits(scan, scan.base_tree, edits)
        else:
            tree = _update_from_disk(scan, deleted, changed)
    if tree is None:
        return None
    return _reconcile(scan, staged_tree, tree)


def _edits(
    repo: Repo, deleted: Sequence[bytes], changed: Sequence[bytes]
) -> dict[bytes, tuple[str, str] | None] | None:
    """What changed, as tree entries: files hashed once, here. None when a plain reading of
    the disk is not git's (a filesystem that folds case, a folder where a file was tracked, a
    file too large to hold, several files an attribute converts). Modes and links are read as
    the disk has them, as the scan's git calls do (conversion.AS_ON_DISK)."""
    if (repo.config("core.ignorecase") or "false").lower() in ("true", "yes", "on", "1"):
        return None
    edits: dict[bytes, tuple[str, str] | None] = dict.fromkeys(deleted)
    regular: list[tuple[bytes, str, bytes]] = []
    links: list[tuple[bytes, bytes]] = []
    # Each path reached without following a link (safefs.py), and read here: git is given the
    # bytes, never a name it would read through a folder swapped for a link meanwhile.
    attributes = (
        _converting_start(repo, changed) if _attributes_may_apply(repo, deleted, changed) else None
    )
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in changed:
            st = tree.lstat(path)
            if st is None:
                edits[path] = None
                continue
            kind = st.st_mode
            if stat.S_ISREG(kind):
                data = tree.read(path) if st.st_size <= _READ_AT_MOST else None
                if data is None:
                    _drop(attributes)
                    return None  # too large to hold, or changed again meanwhile
                regular.append((path, "100755" if kind & 0o100 else "100644", data))
            elif stat.S_ISLNK(kind):
                target = tree.readlink(path)
                if target is None:
                    _drop(attributes)
                    return None  # changed again meanwhile
                links.append((path, target))
            else:
                _drop(attributes)
                return None  # a folder: a submodule, or a repository inside this one
    converted = _converting(attributes) if attributes is not None else set()
    if converted is None or len(converted) > 8:
        return None  # one process each: past a few, update-index reads them all at once
    plain = [("120000", p, target) for p, target in links]
    plain += [(mode, p, data) for p, mode, data in regular if p not in converted]
    for (mode, path, _), oid in zip(plain, repo.write_blobs([d for *_, d in plain]), strict=True):
        edits[path] = (mode, oid)
    for path, mode, data in regular:
        if path in converted:
            # The conversion `git add` applies (attributes by path), never line endings.
            name = os.fsdecode(path)
            oid = repo.line(
                *conversion.NO_AUTOCRLF,
                "hash-object",
                "-w",
                "--stdin",
                f"--path={name}",
                input=data,
            )
            edits[path] = (mode, oid)
    return edits


_READ_AT_MOST: Final = 64 << 20  # a larger changed file is left to git's update-index
# Attributes under which `git add` stores other bytes than the disk's (filters are off for
# every call of ours: Repo.no_filters).
_CONVERTING: Final = ("text", "eol", "ident", "working-tree-encoding", "crlf")


def _drop(listing: process.Background | None) -> None:
    if listing is not None:
        listing.wait(check=False)


def _attributes_may_apply(repo: Repo, deleted: Sequence[bytes], changed: Sequence[bytes]) -> bool:
    """Whether any attributes file could apply to `changed` (one in a folder on their way, the
    repository's info/attributes, a global one) or is among what changed: else no `check-attr`
    process is needed."""
    paths = [*deleted, *changed]
    if any(os.path.basename(p) == b".gitattributes" for p in paths):
        return True
    if (repo.common_dir / "info" / "attributes").exists() or repo.config("core.attributesFile"):
        return True
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    if os.path.exists(os.path.join(xdg, "git", "attributes")):
        return True
    folders = {b""}
    for path in changed:
        while b"/" in path:
            path = path.rsplit(b"/", 1)[0]
            folders.add(path)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        return any(
            tree.lstat(f + b"/.gitattributes" if f else b".gitattributes") is not None
            for f in folders
        )


def _converting_start(repo: Repo, paths: Sequence[bytes]) -> process.Background:
    return repo.start(
        "check-attr", "-z", "--stdin", *_CONVERTING, input=b"".join(p + b"\0" for p in paths)
    )


def _converting(listing: process.Background) -> set[bytes] | None:
    """The paths an attribute converts (`text`, `eol`...: not unspecified nor unset)."""
    res = listing.wait(check=False)
    if res.returncode != 0:
        return None
    fields = res.stdout.split(b"\0")
    return {
        fields[i]
        for i in range(0, len(fields) - 2, 3)
        if fields[i + 2] not in (b"unspecified", b"unset")
    }


def _apply_edits(scan: Scan, base: str, edits: dict[bytes, tuple[str, str] | None]) -> str | None:
    """The new tree by editing the old one (`mktree` on the folders concerned), while the scan
    index takes the same entries in the background. Its entries get no stat data: the next
    `status` looks at those few files again, and only marks them clean if their bytes are the
    ones recorded, so a file written while this ran is never taken for what it was."""
    info = b"".join(
        (f"{new[0]} {new[1]}".encode() if new else b"0 " + ZERO_OID.encode()) + b"\t" + p + b"\0"
        for p, new in edits.items()
    )
    scan.pending = scan.repo.start(
        *scan.config,
        "update-index",
        "-z",
        "--index-info",
        input=info,
        env={"GIT_INDEX_FILE": str(scan.index)},
    )
    try:
        tree = scan.repo.tree_edit(base, edits)
    except ValueError:
        return None
    if _verify() or os.urandom(1)[0] < 16:
        # Now and then (always under test): git's own tree of the scan index, which also brings
        # its cached trees up to date for the next `status`. They must agree.
        if not settled(scan):
            return None
        written = _write_tree(scan)
        if written != tree:
            if _verify():
                raise AssertionError(f"scan: edited tree {tree} != written tree {written}")
            return None
    return tree


def settled(scan: Scan) -> bool:
    """Wait for the scan index's update in the background (`finish` may return before it
    ends); False when it failed."""
    pending, scan.pending = scan.pending, None
    return pending is None or pending.wait(check=False).returncode == 0


def _update_from_disk(scan: Scan, deleted: Sequence[bytes], changed: Sequence[bytes]) -> str | None:
    """The scan index brought up to date by git itself (`update-index`), and its tree."""
    repo = scan.repo
    env = {"GIT_INDEX_FILE": str(scan.index)}
    root = os.fsencode(repo.root)
    calls: list[tuple[str, Sequence[bytes]]] = [("--remove", [*deleted, *changed])]
    if any(_beyond_symlink(root, p) for p in deleted):
        # git refuses to look at a path beyond what is now a symlink: those go without a look.
        calls = [("--force-remove", deleted), ("--remove", changed)]
    for option, paths in calls:
        if (
            paths
            and repo.run(
                *scan.config,
                "update-index",
                "--add",
                option,
                "--replace",
                "-z",
                "--stdin",
                input=b"".join(p + b"\0" for p in paths),
                env=env,
                check=False,
            ).returncode
            != 0
        ):
            return None
    return _write_tree(scan)


def _beyond_symlink(root: bytes, path: bytes) -> bool:
    parts = path.split(b"/")[:-1]
    for i in range(1, len(parts) + 1):
        try:
            if stat.S_ISLNK(os.lstat(root + b"/" + b"/".join(parts[:i])).st_mode):
                return True
        except OSError:
            return False
    return False


def follow(repo: Repo, from_tree: str, to_tree: str) -> None:
    """After a restore turned the worktree from `from_tree`'s files into `to_tree`'s: the scan
    index that described `from_tree` is made to describe `to_tree`, so that the next capture
    does not read again every file the restore wrote. Worth an index write only for a large
    restore; a small one the next scan finds by itself. Its entries for those files get no
    stat data: the next `status` reads them, and trusts them only if their bytes match."""
    if from_tree == to_tree or repo.root.is_relative_to(repo.state_dir):
        return
    # A cache: the rollback it follows is done whatever happens here, and the next scan would
    # find those files by itself.
    with contextlib.suppress(OSError, GitError):
        _follow(repo, from_tree, to_tree)


def _follow(repo: Repo, from_tree: str, to_tree: str) -> None:
    changes = repo.diff_trees(from_tree, to_tree)
    base = index_file(repo, from_tree)
    if len(changes) < _EDIT_AT_MOST or not base.exists():
        return
    scratch = repo.state_dir / "tmp" / f"scan-follow-{os.getpid()}"
    scratch.unlink(missing_ok=True)
    share(base, scratch)
    info = b"".join(
        (f"{c.new_mode} {c.new_oid}".encode() if c.status != "D" else b"0 " + ZERO_OID.encode())
        + b"\t"
        + c.path
        + b"\0"
        for c in changes
    )
    try:
        config = _config(_split(repo, base))
        env = {"GIT_INDEX_FILE": str(scratch)}
        if (
            repo.run(
                *config, "update-index", "-z", "--index-info", input=info, env=env, check=False
            ).returncode
            != 0
        ):
            return
        # Its cached trees, which those entries made stale: without them the next `status`
        # compares the folders concerned with HEAD entry by entry. Its tree is `to_tree`.
        if repo.run(*config, "write-tree", env=env, check=False).stdout.decode().strip() != to_tree:
            return
        target = index_file(repo, to_tree)
        _replace(repo, scratch, target)
        # Only if the ref still names what this started from (another capture may have moved it).
        if (
            repo.run(
                "update-ref",
                "-m",
                "git-atomic: scan follows a restore",
                ref_name(repo),
                to_tree,
                from_tree,
                check=False,
            ).returncode
            == 0
        ):
            _discard(repo, base, keeping=target)
    finally:
        _discard(repo, scratch, keeping=base if base.exists() else target)


def _reconcile(scan: Scan, staged_tree: str, tree: str) -> str | None:
    """The scan index's paths made the user's: a file the user tracks although it is ignored
    is in; a file only the scan index tracks, and that is ignored now, is out."""
    repo = scan.repo
    root = os.fsencode(repo.root)
    memo = repo.state_dir / f"reconciled-{worktree_key(repo)}.json"
    rules = _rules_key(repo)
    known = _still_reconciled(root, memo, staged_tree, tree, rules)
    if known is not None:
        repo.remember_diff(staged_tree, tree, known)  # the capture lists the same changes
        return tree
    must_add: list[bytes] = []
    only_ours: list[bytes] = []
    absent: list[bytes] = []  # yours, not on disk as a file
    changes = repo.diff_trees(staged_tree, tree)
    with safefs.Tree(root) as on_disk:
        for c in changes:
            if c.status == "A" and c.path not in scan.untracked:
                only_ours.append(c.path)  # tracked by the scan index since an earlier scan
            elif c.status == "D":
                absent.append(c.path)
                st = on_disk.lstat(c.path)  # beyond a link: not there
                if st is None:
                    continue  # deleted: gone from both
                mode = st.st_mode
                if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                    if c.old_mode == "160000":
                        return None
                    must_add.append(c.path)  # tracked by the user although ignored
                elif not stat.S_ISDIR(mode) or c.old_mode == "160000":
                    return None  # a submodule the scan index lacks, or an odd file: the older way
    must_remove = ignored(repo, only_ours)
    if not must_add and not must_remove:
        _remember_reconciled(memo, staged_tree, tree, rules, absent, changes)
        return tree
    if not settled(scan):
        return None
    env = {"GIT_INDEX_FILE": str(scan.index)}
    for option, paths in (("--add", must_add), ("--force-remove", must_remove)):
        if (
            paths
            and repo.run(
                *scan.config,
                "update-index",
                option,
                "--replace",
                "-z",
                "--stdin",
                input=b"".join(p + b"\0" for p in paths),
                env=env,
                check=False,
            ).returncode
            != 0
        ):
            return None
    return _write_tree(scan)


# Reconciling costs a `diff-tree` and a `check-ignore`, and its answer is almost always the last
# one: same staged tree, same scan tree, nothing to add or remove. That answer is remembered in
# `reconciled-<worktree>.json` with what else could change it: the ignore rules that live
# outside the tree (info/exclude, core.excludesFile), and your tracked paths the scan lacks,
# which are looked at again (one that is now a file on disk is a file to add). The changes
# between the two trees go with it (two trees' difference never changes): the capture lists
# them too.
def _rules_key(repo: Repo) -> list[object]:
    configured = repo.config("core.excludesFile")
    if configured:
        outside = Path(os.path.expanduser(configured))
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        outside = Path(xdg) / "git" / "ignore"
    key: list[object] = [repo.config("core.ignoreCase") or ""]
    for path in (repo.common_dir / "info" / "exclude", outside):
        try:
            st = path.stat()
            key.append([str(path), st.st_mtime_ns, st.st_size, st.st_ino])
        except OSError:
            key.append([str(path)])
    return key


def _still_reconciled(
    root: bytes, memo: Path, staged_tree: str, tree: str, rules: list[object]
) -> list[RawChange] | None:
    """The changes from the staged tree to the scan's when the answer is still the one
    remembered; None when it must be worked out."""
    import json

    try:
        data = json.loads(memo.read_text())
        if [data["staged"], data["tree"], data["rules"]] != [staged_tree, tree, rules]:
            return None
        absent = [os.fsencode(p) for p in data["absent"]]
        changes = [
            RawChange(f[0], f[1], f[2], f[3], f[4], os.fsencode(f[5])) for f in data["changes"]
        ]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    with safefs.Tree(root) as on_disk:
        for path in absent:
            kind = on_disk.kind(path)
            if kind is not None and kind != stat.S_IFDIR:
                return None
    return changes


def _remember_reconciled(
    memo: Path,
    staged_tree: str,
    tree: str,
    rules: list[object],
    absent: Sequence[bytes],
    changes: Sequence[RawChange],
) -> None:
    import json

    if len(absent) > 1000 or len(changes) > 20_000:
        return  # looking at them again, or reading them back, would cost what it saves
    scratch = memo.with_name(f"{memo.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        scratch.write_text(
            json.dumps(
                {
                    "staged": staged_tree,
                    "tree": tree,
                    "rules": rules,
                    "absent": [os.fsdecode(p) for p in absent],
                    "changes": [[*c[:5], os.fsdecode(c.path)] for c in changes],
                }
            )
        )
        os.replace(scratch, memo)


def keep(scan: Scan, tree: str) -> list[str]:
    """Make this scan's index the worktree's scan index for `tree`; the `update-ref --stdin`
    lines that make it trusted (the caller runs them, with its own ref if it has one)."""
    base = index_file(scan.repo, scan.base_tree) if scan.base_tree is not None else None
    if not settled(scan):  # the scan index could not take the edits: the old one stays
        _discard(scan.repo, scan.index, keeping=base)
        return []
    target = index_file(scan.repo, tree)
    source = scan.index
    try:
        if scan.split:
            _compact(scan.repo, scan.index, base=base)
        _replace(scan.repo, source, target)
    except OSError:  # a cache: a full disk costs the next capture time, not this one its work
        _discard(scan.repo, source, keeping=base)
        return []
    if scan.clock is not None:
        watcher.remember(
            scan.repo,
            worktree_key(scan.repo),
            tree,
            scan.clock,
            target,
            scan.rules,
            scan.extras_known if scan.extras_known is not None else scan.extras_listed,
        )
    # A rename onto another name of the same file (nothing was written since the link) does
    # nothing at all: that name goes here.
    source.unlink(missing_ok=True)
    if tree == scan.base_tree:
        return []
    return [f"update {ref_name(scan.repo)} {tree}"]


def retire(scan: Scan, tree: str) -> None:
    """After the ref names `tree`: the scan index it named before is no longer needed."""
    if scan.base_tree is not None and scan.base_tree != tree:
        _discard(
            scan.repo, index_file(scan.repo, scan.base_tree), keeping=index_file(scan.repo, tree)
        )


def tidy(repo: Repo, known_tree: str | None) -> int:
    """Remove this worktree's scan indexes that its ref does not name (a crash between the two
    steps of `keep`); the number removed."""
    prefix = f"scan-{worktree_key(repo)}-"
    keep_name = index_file(repo, known_tree).name if known_tree else None
    removed = 0
    try:
        names = os.listdir(repo.state_dir)
    except OSError:
        return 0
    keeping = repo.state_dir / keep_name if keep_name else None
    for name in names:
        if name.startswith(prefix) and name != keep_name:
            _discard(repo, repo.state_dir / name, keeping=keeping)
            removed += 1
    _expire_shared(repo, keeping)
    watcher.forget_other(repo, worktree_key(repo), known_tree)
    return removed


def _expire_shared(repo: Repo, keeping: Path | None) -> None:
    """git's own rule for shared indexes, which our writes turn off: one that no index uses
    and that nothing read or wrote for two weeks goes. (A crash in the middle of a capture can
    leave one of ours unused.)"""
    import time

    in_use = {_shared_of(repo, repo.index_path)}
    if keeping is not None:
        in_use.add(_shared_of(repo, keeping))
    cutoff = time.time() - 14 * 86400
    with contextlib.suppress(OSError):
        for name in os.listdir(repo.git_dir):
            path = repo.git_dir / name
            if name.startswith(_SHARED) and name not in in_use and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)


def ignored(repo: Repo, paths: Sequence[bytes]) -> list[bytes]:
    """Those of `paths` that git's ignore rules match now, whatever any index says."""
    if not paths:
        return []
    res = repo.run(
        "check-ignore",
        "-z",
        "--stdin",
        "--no-index",
        input=b"".join(p + b"\0" for p in paths),
        check=False,
    )
    return [p for p in res.stdout.split(b"\0") if p]


def too_large(repo: Repo, paths: Sequence[bytes], limit: int) -> list[bytes]:
    """The regular files among `paths` larger than `limit` bytes (one lstat each, never
    through a link)."""
    from git_atomic.engine import safefs

    found = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in paths:
            st = tree.lstat(path)
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_size > limit:
                found.append(path)
    return found


def _parse_status(out: bytes) -> tuple[list[bytes], list[bytes], list[bytes]] | None:
    """(files gone from the disk, other files that differ from the scan index, untracked files)
    from `status -z --porcelain=v2`; None for anything a scan index should never show (unmerged
    entries, renames, an untracked nested repository)."""
    deleted: list[bytes] = []
    changed: list[bytes] = []
    untracked: list[bytes] = []
    for record in out.split(b"\0"):
        if not record:
            continue
        kind = record[:2]
        if kind == b"1 ":
            fields = record.split(b" ", 8)
            if len(fields) != 9:
                return None
            worktree = fields[1][1:2]
            if worktree == b"D":
                deleted.append(fields[8])
            elif worktree != b".":
                changed.append(fields[8])
        elif kind == b"? ":
            path = record[2:]
            if path.endswith(b"/"):
                return None
            untracked.append(path)
            changed.append(path)
        else:
            return None
    return deleted, changed, untracked


def _write_tree(scan: Scan) -> str | None:
    res = scan.repo.run(
        *scan.config, "write-tree", env={"GIT_INDEX_FILE": str(scan.index)}, check=False
    )
    return res.stdout.decode().strip() if res.returncode == 0 else None


def share(source: Path, copy: Path) -> None:
    """A private copy of an index file that keeps its mtime, so git still sees entries as racily
    clean (git-facts 1). A hard link is one: git never writes an index in place, it writes
    `<name>.lock` and renames it, so git calls on the link leave the other name's file alone."""
    try:
        os.link(source, copy)
    except OSError:
        import shutil

        shutil.copy2(source, copy)


def _split(repo: Repo, index: Path) -> bool:
    """Whether a scan index is written split: when large, or when it already is."""
    try:
        if index.stat().st_size >= _split_at():
            return True
    except OSError:
        return False
    return _shared_of(repo, index) is not None


def _split_at() -> int:
    """Tests set GIT_ATOMIC_SPLIT_SCAN_AT (bytes) to have small scan indexes split too."""
    return int(os.environ.get("GIT_ATOMIC_SPLIT_SCAN_AT") or _SPLIT_AT)


def _shared_of(repo: Repo, index: Path) -> str | None:
    """The name of the shared index a split index file uses, None for a whole one. The "link"
    extension of a split index holds its shared index's object name, which names the file."""
    try:
        names = [n for n in os.listdir(repo.git_dir) if n.startswith(_SHARED)]
        if not names:
            return None
        # Not the last 20 bytes: an index file's own checksum, which a shared index written
        # from the same entries has for its name.
        data = index.read_bytes()[:-20]
    except OSError:
        return None
    for name in names:
        try:
            oid = bytes.fromhex(name[len(_SHARED) :])
        except ValueError:
            continue
        if len(oid) == 20 and oid in data:
            return name
    return None


def _compact(repo: Repo, index: Path, *, base: Path | None) -> None:
    """A new shared index for a split index whose own part grew past a quarter of it (the
    changes it has gathered since), so that its writes stay small. `base`: the scan index it
    started from, which may still use the old shared index."""
    shared = _shared_of(repo, index)
    try:
        if shared is not None and (
            index.stat().st_size * 4 < (repo.git_dir / shared).stat().st_size
        ):
            return
    except OSError:
        return
    if (
        repo.run(
            *_config(True),
            "-c",
            "splitIndex.maxPercentChange=0",
            "update-index",
            "--force-write-index",
            env={"GIT_INDEX_FILE": str(index)},
            check=False,
        ).returncode
        != 0
    ):
        return  # a cache: it stays as it is
    if shared is not None and _shared_of(repo, index) != shared:
        _drop_shared(repo, shared, keeping=base)


def _replace(repo: Repo, source: Path, target: Path) -> None:
    """`os.replace` for scan indexes: the shared index only the replaced one used goes too."""
    old = _shared_of(repo, target) if target.exists() else None
    os.replace(source, target)
    if old is not None:
        _drop_shared(repo, old, keeping=target)


def _discard(repo: Repo, index: Path, *, keeping: Path | None = None) -> None:
    """Remove a scan index file (or a scan's copy), and the shared index that it used if
    `keeping` (the scan index that stays) does not use it."""
    shared = _shared_of(repo, index)
    index.unlink(missing_ok=True)
    if shared is not None:
        _drop_shared(repo, shared, keeping=keeping)


def _drop_shared(repo: Repo, name: str, *, keeping: Path | None) -> None:
    # Only ever one of ours (a scan index never uses yours: `start`), and never one that your
    # index or the scan index that stays uses.
    if keeping is not None and _shared_of(repo, keeping) == name:
        return
    if _shared_of(repo, repo.index_path) == name:
        return
    with contextlib.suppress(OSError):  # a cache's leftover: never a reason to fail
        (repo.git_dir / name).unlink(missing_ok=True)
