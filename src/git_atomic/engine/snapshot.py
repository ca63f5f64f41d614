"""Capture of the exact worktree state (HEAD, branches, index, files) into a checkpoint commit.

A checkpoint is a commit whose tree holds:
  meta        blob  JSON: HEAD (symbolic ref or detached), every local branch, whether there
                    was an index file
  staged      tree  `write-tree` of the index: its entries (and keeps staged blobs reachable)
  index-flags blob  the entry flags a tree cannot hold (indexstate.py); absent when none
  files       tree  every tracked and untracked-not-ignored file, raw bytes, modes, symlinks
  untracked   blob  NUL-separated paths that were untracked (commits mode keeps them out of
                    commits); PRE-OP of a commits-mode operation only
  commit-base tree  what that operation's commits are measured from: the files as a commit
                    would hold them (filtered bytes, untracked files left out); PRE-OP of a
                    commits-mode operation only
  index       blob  the raw index bytes, only when staged tree and flags cannot describe it (an
                    intent-to-add entry whose file is gone or has another mode now, unmerged
                    entries), and in checkpoints of version 1
  gitstate    tree  a merge, rebase, cherry-pick, revert, am or bisect in progress: git's files
                    and refs for it (gitstate.py); absent when there is none
Its parents are HEAD and every branch tip, so `gc --prune=now` can lose none of them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import stat
import time
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from git_atomic.core import failpoints, process
from git_atomic.core.config import capture_settings
from git_atomic.core.errors import GitError, RefusedError
from git_atomic.engine import conversion, gitstate, ignores, indexstate, safefs, scan
from git_atomic.engine.early import Early
from git_atomic.engine.git import ZERO_OID, Repo, TreeEntry

META_VERSION: Final = 2
COMMIT_BASE: Final = b"commit-base"
_counter = itertools.count()


@dataclass(frozen=True)
class Snapshot:
    commit: str
    files_tree: str
    staged_tree: str
    head_ref: str | None  # None: detached
    head_oid: str | None  # None: unborn
    branches: Mapping[str, str]
    index_blob: str | None  # raw index bytes (version 1, or an index flags cannot describe)
    index_mtime_ns: int | None  # the raw index's mtime, for its racy-clean entries
    index_present: bool = True  # whether there was an index file at all
    index_flags: str | None = None  # blob of indexstate.IndexFlags; None: no flagged entry
    empty_folders: str | None = None  # blob: empty folders where files were; None: none seen
    git_state: str | None = None  # gitstate.py's tree: an unfinished merge, rebase...; None: none
    captured_at: float | None = None  # when the disk was captured (time.time()); None: not known

    def index_key(self) -> tuple[object, ...]:
        """Equal keys: equal indexes, as far as a user can tell (entries and flags)."""
        if self.index_blob is not None:
            return ("raw", self.index_blob)
        return ("entries", self.index_present, self.staged_tree, self.index_flags)


@dataclass(frozen=True)
class Captured:
    snapshot: Snapshot
    untracked: frozenset[bytes]  # paths untracked (not ignored) at capture time
    commit_tree: str | None  # commits mode: the files a commit may hold (filtered bytes)
    flags: indexstate.IndexFlags = dataclasses.field(default_factory=indexstate.IndexFlags)
    too_large: frozenset[bytes] = frozenset()  # new untracked files over the budget: not held


def temp_path(repo: Repo, stem: str) -> Path:
    tmp = repo.state_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return tmp / f"{stem}-{os.getpid()}-{next(_counter)}"


def capture(
    repo: Repo,
    *,
    message: str,
    ref: str | None,
    untracked_of_op: frozenset[bytes] | None = None,
    for_commit: bool = False,
    effect_base: bool = False,
    also_capture: Callable[[str], Sequence[bytes]] | None = None,
    early: Early | None = None,
    allow_unmerged: bool = False,
) -> Captured:
    """Write a checkpoint of the worktree as it is now, never touching the user's index.

    `ref`: created (must not exist) in the same step that finishes the objects; None for a probe.
    `for_commit`: also build the tree of files a visible commit may hold (commits.py), leaving
    out `untracked_of_op` — files that were untracked before the operation stay untracked — or,
    when it is None, every file untracked now.
    `effect_base`: the PRE-OP of a commits-mode operation: keep in it what the operation's
    commits are measured from (`commit-base`, `untracked`).
    `also_capture(files_tree)`: paths to add even though git ignores them now (a rescue must hold
    every file that a restore is about to overwrite).
    `early`: may hold a scan of the worktree started with the lock (early.py); the first capture
    of the command takes it, which is why a command starts one only when nothing can change the
    worktree between its lock and that capture.
    `allow_unmerged`: a rescue or a probe keeps unmerged entries (in the raw index) instead of
    refusing them; a state an operation starts from or ends in must have none.
    `.gitignore` and `.gitattributes` files that a rule ignores (typically themselves) are
    always held: left behind by a rollback, one would hide files from every later checkpoint.
    Ignored files matching the configuration's `protect` patterns are always held, and new
    untracked files over its `max_new_file_size` never (`Captured.too_large`).
    """
    limit, protect = capture_settings(repo.root)
    scanning = early.take_scan() if early is not None else None
    # Answered by Watchman, a scan may know the listing is the last one (scan.py): then it
    # waits for the scan's answer, and is made after it only if needed.
    deferred = scanning is not None and scanning.watch is not None and not protect
    extras = None if deferred else ignores.start_listing(repo, protect=protect)
    # A listing kept with a Watchman clock must not be older than it: started after the scan.
    listing_after_scan = scanning is not None
    try:
        refs = repo.refs("refs/heads/", scan.SCAN_REFS, *gitstate.REF_PREFIXES)
        branches = {name: oid for name, oid in refs.items() if name.startswith("refs/heads/")}
        head_ref, head_oid = repo.read_head(branches)
    except BaseException:
        if scanning is not None:
            scan.abandon(scanning)
        raise
    if scanning is not None and scanning.base_tree != refs.get(scan.ref_name(repo)):
        scan.abandon(scanning)  # it started from a scan index that is no longer the one
        scanning = None
    index = repo.index_path
    tmp_index = temp_path(repo, "index")  # a copy of the index: seed of a scan, or `add -A`'s
    tmp_staged = temp_path(repo, "staged")  # stays the index as it is: staged tree, flags
    meta_file = temp_path(repo, "meta")
    flags_file = temp_path(repo, "flags")
    env = {"GIT_INDEX_FILE": str(tmp_index)}
    staged_env = {"GIT_INDEX_FILE": str(tmp_staged)}
    adding: process.Background | None = None

    def scan_the_older_way() -> process.Background:
        # `add -A` on a copy of the index: it honours the index's flags, which a scan index
        # (scan.py) lacks. Started at once when there is no scan index to start from.
        return repo.start(*conversion.AS_ON_DISK, "add", "-A", "--", ".", env=env)

    try:
        index_mtime: int | None = None
        present = index.exists()
        key: str | None = None
        if present:
            scan.share(index, tmp_index)
            index_mtime = tmp_index.stat().st_mtime_ns
            key = _index_checksum(tmp_index)
            if _staged_seen(repo, key) is None:
                scan.share(tmp_index, tmp_staged)
        seen = _staged_seen(repo, key)
        unmerged = False
        if scanning is None:
            # The scan of the tree runs while the staged side is read: two processes, two cores.
            scanning = scan.start(
                repo,
                known_tree=refs.get(scan.ref_name(repo)),
                seed=tmp_index if present else None,
                scratch=temp_path(repo, "scan"),
            )
        if scanning is None:
            adding = scan_the_older_way()
        if seen is not None:
            staged_tree, listing = seen
        else:
            tagging = indexstate.start_listing(repo, staged_env) if present else None
            try:
                staged_tree = _write_tree(repo, staged_env, low_priority=True)
            except UnmergedPaths:
                if not allow_unmerged:
                    if tagging is not None:
                        tagging.wait(check=False)
                    raise
                staged_tree, unmerged = _merged_side(repo, tmp_staged), True
            except BaseException:
                if tagging is not None:
                    tagging.wait(check=False)
                raise
            listing = indexstate.Listing()
            if tagging is not None:
                listing = indexstate.read_listing(repo, staged_env, staged_tree, tagging)
            if key is not None and not listing.flags.intent_to_add and not unmerged:
                _remember_staged(repo, key, staged_tree, listing)
        flags = listing.flags
        if scanning is not None and flags and scanning.base_tree is None:
            # Seeded from your index, it took your flags, and git would take flagged entries
            # as the index says, not as the disk is: seeded again without them.
            scan.abandon(scanning)
            scanning = _unflagged_scan(repo, tmp_index, flags)
            if scanning is None:
                adding = scan_the_older_way()
        raw_index = present and (unmerged or indexstate.ita_not_reproducible(repo, flags))
        in_progress = gitstate.capture(repo, refs, temp_path(repo, "gitstate"))
        to_hash = [meta_file]
        if raw_index:
            to_hash.append(tmp_staged)
        if flags:
            flags_file.write_bytes(flags.encode())
            to_hash.append(flags_file)
        created_at = time.time()
        meta = {
            "version": META_VERSION,
            "head": {"ref": head_ref, "oid": head_oid},
            "branches": branches,
            "index": {"present": present},
            "index_mtime_ns": index_mtime if raw_index else None,
            "worktree": str(repo.root),
            "created_at": created_at,
            "captured_at": created_at,
        }
        meta_file.write_text(json.dumps(meta, sort_keys=True))
        blobs = iter(repo.hash_files(to_hash))
        meta_blob = next(blobs)
        index_blob = next(blobs) if raw_index else None
        flags_blob = next(blobs) if flags else None
        filtered_tree: str | None = None
        if scanning is not None:
            filtered_tree = scan.finish(scanning, staged_tree, limit=limit)
            if filtered_tree is None:  # something a scan index cannot describe
                scan.abandon(scanning)
                scanning, adding = None, scan_the_older_way()
        scanned_index = tmp_index
        scan_gone: frozenset[bytes] = frozenset()  # files the scan found gone since the last
        if scanning is not None and filtered_tree is not None:
            scanned_index = scanning.index
            scan_gone = scanning.deleted
        else:
            assert adding is not None
            _scanned(adding)
            filtered_tree = _write_tree(repo, env)
        files_tree = filtered_tree
        # What the scan added to the index's own entries: the untracked files (and the
        # intent-to-add entries, which the staged tree lacks). Attribute files are the index's
        # and the untracked ones.
        differences = repo.diff_trees(staged_tree, filtered_tree)
        added = [c.path for c in differences if c.status == "A"]
        too_large = scanning.too_large if scanning is not None else frozenset()
        if scanning is None and limit is not None:
            # `add -A` read them already; they are left out all the same.
            big = scan.too_large(repo, [p for p in added if p not in flags.intent_to_add], limit)
            if big:
                too_large = frozenset(big)
                filtered_tree = repo.tree_without(filtered_tree, big)
                added = [p for p in added if p not in too_large]
        attribute_added = [
            p for p in added if p == b".gitattributes" or p.endswith(b"/.gitattributes")
        ]
        rule = conversion.detect(repo, [*listing.attribute_files, *attribute_added])
        if rule.active:
            if scanning is not None and not scan.settled(scanning):
                raise GitError(
                    ["git", "update-index", "--index-info"],
                    1,
                    b"",
                    b"could not update the scan index",
                )
            files_tree = conversion.raw_tree(
                repo, scanned_index, filtered_tree, temp_path(repo, "rawindex")
            )
        # `add -A` takes skip-worktree and assume-unchanged entries as they are in the index,
        # whatever is on disk: the bytes on disk of those files are captured here, and those
        # that are not on disk are left out.
        # A scan index has no flags: its tree is the disk, but for flagged files that an ignore
        # rule now covers (its listing of untracked files leaves them out).
        flagged = flags.skip_worktree | flags.assume_unchanged
        if scanning is None:
            extra = _on_disk(repo, flagged)
            if flagged:
                files_tree = _without_absent(repo, files_tree, flagged.difference(extra))
        elif flags:
            left_out = {c.path for c in differences if c.status == "D"} & flagged
            left_out |= set(flags.intent_to_add).difference(added)
            extra = _on_disk(repo, frozenset(left_out))
        else:
            extra = []
        if also_capture is not None:
            extra += also_capture(files_tree)
        rule_files: list[bytes] | None = None
        if deferred and scanning is not None and scanning.extras_known is not None:
            rule_files = scanning.extras_known
        elif deferred:
            extras = ignores.start_listing(repo, protect=protect)
        if extras is not None:
            rule_files = ignores.listed(extras)
            extras = None
            if scanning is not None and not protect and listing_after_scan:
                scanning.extras_listed = rule_files
        if rule_files is not None:
            extra += [p for p in ignores.known(repo, rule_files, limit=limit) if p not in extra]
        if extra:
            files_tree = _with_raw_files(repo, files_tree, extra, temp_path(repo, "extra"))
        untracked = frozenset(added).difference(flags.intent_to_add)
        commit_tree: str | None = None
        if for_commit:
            # Files untracked before the operation stay out of its commits, unless the
            # operation itself started tracking them (then they are its to commit).
            leave_out = untracked if untracked_of_op is None else untracked_of_op & untracked
            # As your git would commit them (modes it is told to ignore, filters): the
            # checkpoint's `files` keeps the disk's.
            as_git = {
                p: e
                for p, e in conversion.as_git_commits(repo, staged_tree, filtered_tree).items()
                if p not in leave_out
            }
            commit_tree = repo.tree_edit(filtered_tree, {**dict.fromkeys(leave_out), **as_git})
        entries = [
            TreeEntry("100644", "blob", meta_blob, b"meta"),
            TreeEntry("040000", "tree", staged_tree, b"staged"),
            TreeEntry("040000", "tree", files_tree, b"files"),
        ]
        if index_blob is not None:
            entries.append(TreeEntry("100644", "blob", index_blob, b"index"))
        if flags_blob is not None:
            entries.append(TreeEntry("100644", "blob", flags_blob, b"index-flags"))
        if effect_base:
            base = repo.tree_without(filtered_tree, untracked)
            entries.append(TreeEntry("040000", "tree", base, COMMIT_BASE))
        if in_progress is not None:
            entries.append(TreeEntry("040000", "tree", in_progress.tree, b"gitstate"))
        if untracked and effect_base:
            untracked_blob = repo.line(
                "hash-object", "-w", "--stdin", input=b"".join(p + b"\0" for p in sorted(untracked))
            )
            entries.append(TreeEntry("100644", "blob", untracked_blob, b"untracked"))
        # Files gone (tracked ones, and those the last scan saw) may have become empty folders.
        gone = {c.path for c in differences if c.status == "D"}
        folders_blob = _empty_folders_blob(repo, gone | scan_gone)
        if folders_blob is not None:
            entries.append(TreeEntry("100644", "blob", folders_blob, b"empty-folders"))
        tree = repo.mktree(entries)
        kept_by_state = in_progress.keep if in_progress is not None else ()
        parents = list(
            dict.fromkeys(x for x in [head_oid, *branches.values(), *kept_by_state] if x)
        )
        parent_args = [a for p in parents for a in ("-p", p)]
        commit = repo.line(
            "commit-tree", tree, *parent_args, "-m", message, env=repo.identity_env(required=False)
        )
        kept: scan.Scan | None = None
        lines = [f"create {ref} {commit}"] if ref is not None else []
        if scanning is not None:
            lines += scan.keep(scanning, filtered_tree)
            kept, scanning = scanning, None
            failpoints.hit("capture:scan-kept")  # its file in place, not yet its ref
        repo.update_refs(lines, message=f"git-atomic: {message}")
        if kept is not None:
            scan.retire(kept, filtered_tree)
        snap = Snapshot(
            commit,
            files_tree,
            staged_tree,
            head_ref,
            head_oid,
            branches,
            index_blob,
            index_mtime if raw_index else None,
            present,
            flags_blob,
            folders_blob,
            in_progress.tree if in_progress is not None else None,
            created_at,
        )
        return Captured(snap, untracked, commit_tree, flags, too_large=too_large)
    finally:
        if extras is not None:
            extras.wait(check=False)
        if adding is not None:
            adding.wait(check=False)  # never leave it writing a file that is about to go
        if scanning is not None:
            scan.abandon(scanning)
        meta_file.unlink(missing_ok=True)
        flags_file.unlink(missing_ok=True)
        tmp_staged.unlink(missing_ok=True)
        tmp_index.unlink(missing_ok=True)


# The staged side of a capture is a function of the index file's bytes: when the index has not
# changed since the last capture (`run`'s OP-EXEC after a command that left it alone, an `abort`
# after edits that `git status` found no reason to record), its tree and flags are known. Kept in
# memory and in one small file (`gc` removes it); the tree is checked to exist before use.
STAGED_CACHE: Final = "staged-cache.json"
_staged_memo: dict[tuple[str, str], tuple[str, indexstate.Listing]] = {}


def _index_checksum(path: Path) -> str | None:
    """Size and trailing SHA-1 of an index file: equal keys, equal entries and flags."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 32:
            return None
        fh.seek(-20, os.SEEK_END)
        trailer = fh.read(20)
    if trailer == bytes(20):  # index.skipHash: no checksum to trust
        return None
    return f"{size}-{trailer.hex()}"


def _staged_seen(repo: Repo, key: str | None) -> tuple[str, indexstate.Listing] | None:
    if key is None:
        return None
    store = str(repo.common_dir)
    if (store, key) in _staged_memo:
        return _staged_memo[store, key]
    try:
        data = json.loads((repo.state_dir / STAGED_CACHE).read_text())
        if data.get("key") != key:
            return None
        tree, listing = str(data["tree"]), indexstate.Listing.decode(data["listing"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not repo.is_loose(tree) and (
        repo.run("cat-file", "-e", f"{tree}^{{tree}}", check=False).returncode != 0
    ):
        return None
    _staged_memo[store, key] = (tree, listing)
    return tree, listing


def _remember_staged(repo: Repo, key: str, tree: str, listing: indexstate.Listing) -> None:
    _staged_memo.clear()
    _staged_memo[str(repo.common_dir), key] = (tree, listing)
    scratch = temp_path(repo, "staged-cache")
    try:
        scratch.write_text(json.dumps({"key": key, "tree": tree, "listing": listing.encode()}))
        os.replace(scratch, repo.state_dir / STAGED_CACHE)
    except OSError:
        scratch.unlink(missing_ok=True)  # a cache: losing it costs time, never correctness


def _unflagged_scan(repo: Repo, index: Path, flags: indexstate.IndexFlags) -> scan.Scan | None:
    """A scan seeded from a copy of your index without its flags: skip-worktree and
    assume-unchanged entries as plain entries, intent-to-add entries left out (the scan lists
    their files as untracked), so that it sees every file as it is on disk."""
    seed = temp_path(repo, "seed")
    env = {"GIT_INDEX_FILE": str(seed)}
    try:
        scan.share(index, seed)
        steps = [
            (("--no-skip-worktree",), flags.skip_worktree),
            (("--no-assume-unchanged",), flags.assume_unchanged),
            (("--force-remove",), frozenset(flags.intent_to_add)),
        ]
        for options, paths in steps:
            if (
                paths
                and repo.run(
                    "update-index",
                    *options,
                    "-z",
                    "--stdin",
                    input=b"".join(p + b"\0" for p in sorted(paths)),
                    env=env,
                    check=False,
                ).returncode
                != 0
            ):
                return None
        return scan.start(repo, known_tree=None, seed=seed, scratch=temp_path(repo, "scan"))
    finally:
        seed.unlink(missing_ok=True)


def _on_disk(repo: Repo, paths: frozenset[bytes]) -> list[bytes]:
    """The files and symlinks among `paths` that exist on disk."""
    found = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in sorted(paths):
            if tree.kind(rel) in (stat.S_IFREG, stat.S_IFLNK):
                found.append(rel)
    return found


def _without_absent(repo: Repo, tree: str, paths: frozenset[bytes]) -> str:
    """`tree` without those of `paths` it holds as files (their files are not on disk)."""
    if not paths:
        return tree
    env = {"GIT_LITERAL_PATHSPECS": "1", "GIT_INDEX_FILE": str(repo.state_dir / "no-index")}
    wanted = sorted(paths)
    held: list[bytes] = []
    for i in range(0, len(wanted), 1000):  # a sparse checkout may flag most of the tree
        listing = repo.out(
            "ls-tree",
            "-z",
            "--full-tree",
            tree,
            "--",
            *[os.fsdecode(p) for p in wanted[i : i + 1000]],
            env=env,
        )
        held += [item.partition(b"\t")[2] for item in listing.split(b"\0") if item]
    return repo.tree_without(tree, [p for p in held if p in paths])


def _with_raw_files(repo: Repo, tree: str, paths: Sequence[bytes], scratch: Path) -> str:
    """`tree` plus the given files' raw bytes (rare: files git ignores right now, or whose index
    entries tell git not to look at the worktree)."""
    env = {"GIT_INDEX_FILE": str(scratch)}
    try:
        repo.run("read-tree", tree, env=env)
        regular: list[tuple[str, bytes]] = []
        links: list[tuple[bytes, bytes]] = []
        with safefs.Tree(os.fsencode(repo.root)) as files:
            for rel in paths:
                st = files.lstat(rel)  # None beyond a link: never read through one
                if st is None:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    target = files.readlink(rel)
                    if target is not None:
                        links.append((rel, target))
                elif stat.S_ISREG(st.st_mode):
                    regular.append(("100755" if st.st_mode & 0o100 else "100644", rel))
        info = b""
        if regular:
            oids = repo.hash_worktree_files([p for _, p in regular])
            for mode, rel in regular:
                if rel in oids:
                    info += f"{mode} {oids[rel]}\t".encode() + rel + b"\0"
        for rel, target in links:
            oid = repo.line("hash-object", "-w", "--stdin", input=target)
            info += f"120000 {oid}\t".encode() + rel + b"\0"
        if info:
            repo.run("update-index", "-z", "--add", "--index-info", input=info, env=env)
        return repo.line("write-tree", env=env)
    finally:
        scratch.unlink(missing_ok=True)


def _empty_folders_blob(repo: Repo, candidates: Set[bytes]) -> str | None:
    """Where a file was and a folder of nothing but empty folders is now (an operation's
    `rm x && mkdir x`, or `rm x/f` that leaves x empty): those folders, as a blob of
    NUL-separated paths, so that a restore makes them again. Only where files went: finding
    every empty folder would take a walk of the whole tree at every capture."""
    if not candidates:
        return None
    found: set[bytes] = set()
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in sorted(candidates):
            # The file itself may be a folder now, or the folder it was in may be left empty.
            folder = path
            while folder and tree.kind(folder) != stat.S_IFDIR:
                folder = os.path.dirname(folder)
            if folder:
                found.update(tree.empty_folders(folder) or ())
    if not found:
        return None
    return repo.line(
        "hash-object", "-w", "--stdin", input=b"".join(p + b"\0" for p in sorted(found))
    )


def load_empty_folders(repo: Repo, snap: Snapshot) -> frozenset[bytes]:
    """The empty folders a checkpoint holds (none in checkpoints written before they were)."""
    if snap.empty_folders is None:
        return frozenset()
    return frozenset(p for p in repo.cat_blob(snap.empty_folders).split(b"\0") if p)


def _scanned(adding: process.Background) -> None:
    """`add -A` refuses, exit 1, when every path it matched is a skip-worktree entry (a sparse
    checkout, or a tree whose only files are marked so): it had nothing else to add, and those
    entries are captured from disk separately, so that refusal is a finished scan."""
    res = adding.wait(check=False)
    if res.returncode != 0 and b"outside of your sparse-checkout definition" not in res.stderr:
        adding.wait()  # raises, with git's message


def _write_tree(repo: Repo, env: Mapping[str, str], *, low_priority: bool = False) -> str:
    res = repo.run("write-tree", env=env, check=False, low_priority=low_priority)
    if res.returncode != 0:
        if b"unmerged" in res.stderr or b"not able to write tree" in res.stderr.lower():
            raise UnmergedPaths(
                "the index has unmerged paths; resolve the conflict (or git merge --abort) first"
            )
        raise GitError(["git", "write-tree"], res.returncode, res.stdout, res.stderr)
    return res.stdout.decode().strip()


class UnmergedPaths(RefusedError):
    """The index has unmerged entries (a conflict waits for the user)."""


def _merged_side(repo: Repo, index: Path) -> str:
    """The tree of an index's merged entries: its unmerged ones are kept by the raw index."""
    scratch = temp_path(repo, "merged")
    env = {"GIT_INDEX_FILE": str(scratch)}
    try:
        shutil.copy2(index, scratch)
        listing = repo.out("ls-files", "-u", "-z", env=env)
        paths = {item.partition(b"\t")[2] for item in listing.split(b"\0") if item}
        repo.run(
            "update-index",
            "--force-remove",
            "-z",
            "--stdin",
            input=b"".join(p + b"\0" for p in sorted(paths)),
            env=env,
        )
        return _write_tree(repo, env)
    finally:
        scratch.unlink(missing_ok=True)


def load(repo: Repo, commit: str) -> Snapshot:
    """Read a checkpoint commit back."""
    entries = {e.path: e for e in repo.ls_tree(commit)}
    try:
        meta = json.loads(repo.cat_blob(entries[b"meta"].oid))
    except (KeyError, ValueError) as exc:
        raise RefusedError(f"{commit[:12]} is not a git-atomic checkpoint") from exc
    index = entries.get(b"index")
    flags = entries.get(b"index-flags")
    folders = entries.get(b"empty-folders")
    in_progress = entries.get(b"gitstate")
    present = meta["index"]["present"] if "index" in meta else index is not None
    return Snapshot(
        commit=commit,
        files_tree=entries[b"files"].oid,
        staged_tree=entries[b"staged"].oid,
        head_ref=meta["head"]["ref"],
        head_oid=meta["head"]["oid"],
        branches=dict(meta["branches"]),
        index_blob=index.oid if index else None,
        index_mtime_ns=meta.get("index_mtime_ns"),
        index_present=bool(present),
        index_flags=flags.oid if flags else None,
        empty_folders=folders.oid if folders else None,
        git_state=in_progress.oid if in_progress else None,
        # Only a capture saw the disk; a state computed from trees (a commit made a checkpoint,
        # an effect taken back) cannot tell which files were there.
        captured_at=meta.get("captured_at"),
    )


def load_flags(repo: Repo, snap: Snapshot) -> indexstate.IndexFlags:
    if snap.index_flags is None:
        return indexstate.IndexFlags()
    return indexstate.IndexFlags.decode(repo.cat_blob(snap.index_flags))


def put_index(repo: Repo, current: Snapshot, target: Snapshot) -> None:
    """Make the worktree's index `target`'s, where it now is `current`'s (a fresh capture)."""
    if target.index_blob is not None:
        write_index_bytes(repo, repo.cat_blob(target.index_blob), target.index_mtime_ns)
        return
    if not target.index_present:
        repo.index_path.unlink(missing_ok=True)
        return
    scratch = temp_path(repo, "index")
    try:
        indexstate.rebuild(
            repo,
            # An index kept raw (unmerged entries) is built anew, not edited.
            current_tree=(
                current.staged_tree
                if current.index_present and current.index_blob is None
                else None
            ),
            current_flags=load_flags(repo, current),
            target_tree=target.staged_tree,
            target_flags=load_flags(repo, target),
            scratch=scratch,
        )
        install_index(repo, scratch)
    finally:
        scratch.unlink(missing_ok=True)


def install_index(repo: Repo, source: Path) -> None:
    """Make `source` the worktree's index the way git does: O_EXCL lock, then rename.

    A rename keeps the file's mtime, which git's racy-clean check depends on.
    """
    lock = _lock_index(repo)
    try:
        try:
            os.replace(source, lock)
        except OSError:
            shutil.copy2(source, lock)
        os.replace(lock, repo.index_path)
    except BaseException:
        lock.unlink(missing_ok=True)
        raise


def write_index_bytes(repo: Repo, data: bytes | None, mtime_ns: int | None) -> None:
    """Put saved raw index bytes back, with the mtime they had (racy-git safety)."""
    if data is None:
        repo.index_path.unlink(missing_ok=True)
        return
    lock = _lock_index(repo)
    try:
        with open(lock, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mtime_ns is not None:
            os.utime(lock, ns=(mtime_ns, mtime_ns))
        os.replace(lock, repo.index_path)
    except BaseException:
        lock.unlink(missing_ok=True)
        raise


def _lock_index(repo: Repo) -> Path:
    lock = repo.index_path.with_name("index.lock")
    for _ in range(50):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            time.sleep(0.1)
            continue
        os.close(fd)
        return lock
    raise RefusedError(
        f"{lock} exists: another git process is writing the index",
        hint="if no git command is running (one may have been killed), remove that file, "
        "then run the command again (`git atomic recover` after a crash)",
    )


def ref_changes(
    current: Mapping[str, str], target: Mapping[str, str], *, skip: Sequence[str] = ()
) -> list[str]:
    """`update-ref --stdin` lines that move branches from `current` to `target`, by CAS."""
    lines: list[str] = []
    for name in sorted(set(current) | set(target)):
        old, new = current.get(name), target.get(name)
        if old == new or name in skip:
            continue
        lines.append(f"update {name} {new or ZERO_OID} {old or ZERO_OID}")
    return lines
