"""The worktree side of a capture (snapshot.py): the files read by a scan (scan.py) or, when a
scan cannot say, by `git add -A` on a copy of the index; the empty folders git lists beside it,
the ignored files held anyway (heldanyway.py), the temporary files and background processes of
that reading, and the scan index it leaves for the next capture."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence, Set
from pathlib import Path
from typing import Final

from git_atomic.core import failpoints, process
from git_atomic.core.errors import GitError
from git_atomic.core.records import dataclass, field
from git_atomic.engine import (
    conversion,
    folders,
    folderwalk,
    heldanyway,
    ignores,
    indexstate,
    safefs,
    scan,
    scanbits,
    scanindex,
    scankeep,
    scantree,
    staged,
    stalls,
    statuslist,
)
from git_atomic.engine.early import Early
from git_atomic.engine.git import Repo

# The copy of your index that `add -A` reads the files into is thrown away: written whole, never
# split by your `core.splitIndex` (a split one would leave a shared index of its own in your git
# dir, which no index uses, at each capture of a repository that has no index file yet).
_UNSPLIT: Final = ("-c", "core.splitIndex=false")


@dataclass(frozen=True)
class Files:
    """The worktree's files, read, and what the reading found."""

    tree: str  # as git reads them (filters applied), without the files over the budget
    on_disk: str  # as they are on disk: raw bytes (the same tree when no filter applies)
    added: Sequence[bytes]  # paths the staged side lacks: untracked, and intent-to-add entries
    deleted: Set[bytes]  # paths of the staged side that the reading did not find
    gone: Set[bytes]  # those, and files the last scan saw that are not there now
    too_large: frozenset[bytes]  # new untracked files over the budget: left out
    specials: Mapping[bytes, int]  # tracked paths that are FIFOs, sockets, devices: left out
    converting: bool = False  # a line-ending rule or a filter applies (conversion.detect)
    # The permission bits a tree cannot keep (a 0600 key) of the files your index does not
    # hold as they are: untracked and changed ones (heldanyway.private_modes)
    modes: Mapping[bytes, int] = field(default_factory=dict)


class Disk:
    """The worktree side of one capture: a scan of it (scan.py), or `git add -A` on a copy of
    the index when a scan cannot say; its temporary files and background processes."""

    def __init__(self, repo: Repo, early: Early | None, protect: Sequence[str]) -> None:
        self.repo = repo
        self.protect = protect
        self.scanning = early.take_scan() if early is not None else None
        early_folders, early_rules = early.take_listings() if early is not None else (None, None)
        # The walk of the folders (folderwalk.py): the empty ones, where the rule files are.
        # It does not depend on any index, so it stays whichever way the files are read.
        self.walked = early.take_walk() if early is not None else None
        self.refs: Mapping[str, str] | None = None  # the capture's refs, once listed
        # Answered by Watchman, a scan may know the listing of ignored files held anyway is the
        # last one (scan.py): then it waits for the scan's answer, and is made after it only if
        # needed. A listing kept with a Watchman clock must not be older than it: only one
        # started after the scan is kept.
        self.deferred = self.scanning is not None and self.scanning.watch is not None
        self.deferred = self.deferred and not protect
        self.listing_after_scan = self.scanning is not None
        if early_rules is not None and (self.deferred or early_rules.protect != tuple(protect)):
            early_rules.wait(check=False)  # a listing of what this capture does not ask
            early_rules = None
        self.extras = early_rules  # started in `start` otherwise, after the scan and the walk
        self.adding: process.Background | None = None
        # Folders or files named `.git` in another letter case that `add -A` refused (a scan
        # finds its own: scan.Scan.unholdable).
        self.left_out: frozenset[bytes] = frozenset()
        # git's listing of folders (folders.py), against the scan's own index, where the walk
        # could not be made.
        self.folders: process.Background | None = early_folders
        self.index_copy = repo.scratch_path("index")  # a scan's seed, or `add -A`'s index
        self.staged_copy = repo.scratch_path("staged")  # stays the index as it is
        self.flags_file = repo.scratch_path("flags")
        # The bits of the clean files (scanbits.py), kept with the scan index by `publish`
        self.clean_bits: dict[bytes, int] | None = None
        # What the raw record may trust of them too (conversion.Settled)
        self.settled: conversion.Settled | None = None

    def start(self, known_tree: str | None, *, seeded: bool) -> None:
        """A scan from the scan index the ref names (`known_tree`), else seeded from the copy
        of the user's index; `add -A` when neither can be."""
        if self.scanning is not None and (
            self.scanning.base_tree != known_tree
            or not scan.same_seed(self.scanning, self.index_copy if seeded else None)
        ):
            # It started from a scan index that is no longer the one, or (seeded early, with
            # no scan index yet) from an index file that is no longer yours.
            scan.abandon(self.scanning)
            self.scanning = None
            self.walked = None  # made with it: walked again with the new scan (cheaply)
            if self.folders is not None:
                self.folders.wait(check=False)  # of that scan's index
                self.folders = None
        if self.scanning is None:
            self.scanning = scan.start(
                self.repo,
                known_tree=known_tree,
                seed=self.index_copy if seeded else None,
                scratch=self.repo.scratch_path("scan"),
            )
        if self.scanning is None:
            self._add_all()
        elif self.scanning.watch is None:
            self._walk(self.scanning.index)
        # (Asking Watchman, the scan may know the empty folders are the last walk's: the walk
        # waits for its answer, `empty_folders`.)
        if self.extras is None and not self.deferred:
            self.extras = ignores.start_listing(
                self.repo, protect=self.protect, walked=self._walked_for_rules()
            )

    def _add_all(self) -> None:
        # `add -A` on a copy of the index: it honours the index's flags, which a scan index
        # (scan.py) lacks. Started at once when there is no scan index to start from.
        # `--sparse`: in a sparse checkout, new files outside its patterns are read too (the
        # skip-worktree entries stay as they are).
        stalls.check_git_dir(self.repo)
        self._walk(self.index_copy)
        env = {"GIT_INDEX_FILE": str(self.index_copy)}
        pointers = scanindex.lfs_pointers(self.repo)
        add_all = (*conversion.AS_ON_DISK, *_UNSPLIT, *pointers, "add", "-A", "--sparse", "--", ".")
        self.adding = self.repo.start(*add_all, env=env)

    def _walk(self, index: Path) -> None:
        """The walk of the folders, unless made; where it cannot be, git's listing of them,
        against the index the reading starts from, alongside it."""
        if self.walked is not None:
            return
        try:
            self.walked = folderwalk.walk(self.repo)
        except stalls.Stalled:
            self.stop()  # git's reading started beside the walk waits on that file
            raise
        if self.walked is None:
            if self.folders is not None:
                self.folders.wait(check=False)
            self.folders = folders.start_listing(self.repo, index)

    def walk_anyway(self) -> None:
        """The walk, where Watchman's answer made none (snapshot.py: the FIFOs it finds)."""
        if self.walked is None and self.scanning is not None:
            try:
                self.walked = folderwalk.walk(self.repo)
            except stalls.Stalled:
                self.stop()
                raise

    def _walked_for_rules(self) -> folderwalk.Walk | None:
        """The walk, for the listing of ignored rule files (which needs none with `protect`)."""
        if self.protect:
            return None
        if self.walked is None and self.scanning is not None:
            self._walk(self.scanning.index)
        return self.walked

    def empty_folders(self, files: Files, staged_tree: str) -> frozenset[bytes] | None:
        """Every empty folder no rule ignores (none where your index has a submodule);
        None when git could not list them."""
        scanning = self.scanning
        if self.walked is None and self.folders is None and scanning is not None:
            if scanning.empty_known is not None:
                return frozenset(scanning.empty_known)
            self._walk(scanning.index)  # after the scan's clock, so it may be kept
        listing, self.folders = self.folders, None
        every: frozenset[bytes] | None = None
        if self.walked is not None:
            every = folders.outside_submodules(self.repo, self.walked.empty, staged_tree)
        elif listing is not None:
            every = folders.collect(self.repo, listing, files.added)
        if scanning is not None and every is not None:
            scanning.empty_listed = sorted(every)
        return every

    def index_unreadable(self) -> None:
        """git cannot read your index (staged.Staged.unreadable): the files are read from no
        index at all. A scan seeded from it cannot be one; one from our own scan index is."""
        if self.scanning is not None and self.scanning.base_tree is None:
            scan.abandon(self.scanning)
            self.scanning = None
        if self.adding is not None:
            self.adding.wait(check=False)
            self.adding = None
        self.index_copy.unlink(missing_ok=True)  # `add -A` starts a new one
        if self.scanning is None:
            self._add_all()

    def drop_flags(self, flags: indexstate.IndexFlags) -> None:
        """Seeded from your index, a scan took your flags, and git would take flagged entries
        as the index says, not as the disk is: seeded again without them."""
        if self.scanning is not None and flags and self.scanning.base_tree is None:
            scan.abandon(self.scanning)
            self.scanning = heldanyway.unflagged_scan(self.repo, self.index_copy, flags)
            if self.scanning is None:
                self._add_all()
            else:
                self._walk(self.scanning.index)

    def finish(
        self, side: staged.Staged, limit: int | None, exempt: frozenset[bytes] = frozenset()
    ) -> Files:
        """The files read: the scan's tree, or `add -A`'s when the scan cannot say. `exempt`:
        files read whatever `limit` says (and the paths of unmerged entries: tracked, if in
        no tree of the index's)."""
        repo = self.repo
        exempt = exempt | side.unmerged_paths
        tree: str | None = None
        if self.scanning is not None:
            tree = scan.finish(
                self.scanning, side.tree, limit=limit, exempt=exempt.union(side.flags.intent_to_add)
            )
            if tree is None:  # something a scan index cannot describe
                scan.abandon(self.scanning)
                self.scanning = None
                self._add_all()
        if self.scanning is not None and tree is not None:
            index, scan_gone = self.scanning.index, self.scanning.deleted
            specials: Mapping[bytes, int] = {}
            brought: scanbits.Brought | None = None
            if not self.scanning.split:  # (a split one's names cannot be read: scanbits.py)
                base_tree = self.scanning.base_tree
                brought = scanbits.brought_up_to_date(
                    repo,
                    index,
                    base_tree=base_tree,
                    base_index=scanindex.index_file(repo, base_tree) if base_tree else None,
                    changed=self.scanning.changed,
                    gone=scan_gone,
                )
                if brought is not None:
                    self.clean_bits = brought.bits
            self.settled = conversion.Settled(
                brought.since if brought is not None else None,
                brought.looked if brought is not None else frozenset(),
                self.scanning.since,
            )
        else:
            assert self.adding is not None
            specials, self.left_out = _scanned(repo, self.adding, self.index_copy)
            index, scan_gone = self.index_copy, frozenset()
            tree = staged.write_tree(repo, {"GIT_INDEX_FILE": str(index)}, config=_UNSPLIT)
        # What the reading added to the index's own entries: the untracked files (and the
        # intent-to-add entries, which the staged tree lacks).
        changes = repo.diff_trees(side.tree, tree)
        added = [c.path for c in changes if c.status == "A"]
        deleted = {c.path for c in changes if c.status == "D"}
        too_large = self.scanning.too_large if self.scanning is not None else frozenset()
        if self.scanning is None and limit is not None:
            # `add -A` read them already; they are left out all the same.
            asked = [p for p in added if p not in side.flags.intent_to_add and p not in exempt]
            big = scantree.too_large(repo, asked, limit)
            if big:
                too_large = frozenset(big)
                tree = repo.tree_without(tree, big)
                added = [p for p in added if p not in too_large]
        on_disk = tree  # the raw tree, when a rule converts files (below)
        # git applies every attributes file: tracked ones (from the index when gone from the
        # disk), untracked ones, and ones a rule ignores (the walk finds those).
        walked = self.walked.rule_files if self.walked is not None else ()
        attributes = [p for p in [*added, *walked] if _is_attributes(p)]
        rule = conversion.detect(
            repo, [*side.listing.attribute_files, *attributes], staged=side.listing.attribute_files
        )
        if not rule.active and self.walked is not None and self.walked.ignored:
            beside = conversion.in_ignored_folders(repo, side.tree, self.walked.ignored)
            rule = conversion.detect(repo, beside) if beside else rule
        if rule.active:
            if self.scanning is not None and not scan.settled(self.scanning):
                raise GitError(
                    ["git", "update-index", "--index-info"],
                    1,
                    b"",
                    b"could not update the scan index",
                )
            on_disk = conversion.raw_tree(
                repo,
                index,
                tree,
                repo.scratch_path("rawindex"),
                leave_out=too_large,
                listed=self.refs,
                settled=self.settled,
            )
        elif self.scanning is not None and repo.quarantine is None:
            # The scan index this capture keeps takes stat data after the raw record was last
            # checked (a folder renamed in since, its files' ctimes older): the record's stamp
            # goes, else a later scan from that index would trust it (conversion.raw_tree).
            conversion.RawRecord.stamp(repo, "", None)
        # One lstat each for the files your index does not hold as they are (untracked,
        # changed): a clean tracked file is as git made it, and is not looked at.
        differing = [c.path for c in changes if c.status in ("A", "M") and c.path not in too_large]
        # A clean file's bits, as the scan's record has them (scanbits.py): no lstat of them.
        modes = {
            p: bits
            for p, bits in (self.clean_bits or {}).items()
            if p not in deleted and p not in scan_gone and p not in too_large
        }
        modes.update(
            heldanyway.private_modes(
                repo,
                [*differing, *sorted(too_large), *self._tracked_protected(differing)],
                walked=self.walked.walked if self.walked is not None else frozenset(),
            )
        )
        return Files(
            tree,
            on_disk,
            added,
            deleted,
            deleted | scan_gone,
            too_large,
            specials,
            rule.active,
            # And the files over the budget (a few), whose folders a move back makes again;
            # and the tracked files `protect` names, clean or not: a tree keeps no 0640.
            modes,
        )

    def _tracked_protected(self, differing: Sequence[bytes]) -> list[bytes]:
        """The tracked files `protect`'s patterns name that `differing` lacks: one `ls-files`
        of your index, only where `protect` names something."""
        if not self.protect:
            return []
        listed = self.repo.run(
            "ls-files",
            "-z",
            "--cached",
            "--",
            *ignores.pathspecs(self.protect, icase=ignores.folds_case(self.repo)),
            check=False,
        )
        if listed.returncode != 0:
            return []
        seen = set(differing)
        return [p for p in dict.fromkeys(listed.stdout.split(b"\0")) if p and p not in seen]

    def held_anyway(
        self,
        files: Files,
        flags: indexstate.IndexFlags,
        also_capture: Callable[[str], Sequence[bytes]] | None,
        limit: int | None,
        specials: dict[bytes, int],
        modes: dict[bytes, int] | None = None,
    ) -> str:
        """The files read, and what git did not show the reading (heldanyway.py)."""
        return heldanyway.held_anyway(
            self.repo,
            files.on_disk,
            scanned=self.scanned,
            added=files.added,
            deleted=files.deleted,
            flags=flags,
            ignored=self.ignored_to_hold(limit, gone=files.deleted),
            also_capture=also_capture,
            specials=specials,
            modes=modes,
        )

    def ignored_to_hold(self, limit: int | None, *, gone: Set[bytes] = frozenset()) -> list[bytes]:
        """The ignored files held anyway: ignore files that a rule ignores, `protect`ed ones.
        `gone`: your index's paths not read from the disk, where `protect` looks into a folder
        that stands there now (git's listing names no ignored folder at an index entry's path)."""
        rule_files: list[bytes] | None = None
        scanning = self.scanning
        if self.deferred and scanning is not None and scanning.extras_known is not None:
            rule_files = scanning.extras_known
        elif self.deferred:
            self.extras = ignores.start_listing(
                self.repo, protect=self.protect, walked=self._walked_for_rules()
            )
        extras, self.extras = self.extras, None
        if extras is not None:
            rule_files = ignores.listed(extras)
            if scanning is not None and not self.protect and self.listing_after_scan:
                scanning.extras_listed = rule_files
        if rule_files is not None and self.protect and gone:
            rule_files = rule_files + ignores.protected_in_folders_at(self.repo, self.protect, gone)
        return ignores.known(self.repo, rule_files, limit=limit) if rule_files is not None else []

    @property
    def unholdable(self) -> frozenset[bytes]:
        """The names that are `.git` in another letter case, left out of the reading."""
        return self.scanning.unholdable if self.scanning is not None else self.left_out

    @property
    def scanned(self) -> bool:
        """Whether a scan read the files (not `add -A`): its tree is the disk, flags or not."""
        return self.scanning is not None

    def publish(self, ref: str | None, commit: str, tree: str, message: str) -> None:
        """Create `ref` at the checkpoint and, in the same transaction, make the scan's index
        the next scan's start (for `tree`, the files it read)."""
        kept: scan.Scan | None = None
        lines = [f"create {ref} {commit}"] if ref is not None else []
        if self.scanning is not None and (
            self.repo.quarantine is not None or scan.goes_back(self.scanning)
        ):
            # A dry run keeps no cache: the objects its index names go with its own store. A
            # rescue keeps the one its restore goes back to (scan.RESTORING_TO).
            scan.abandon(self.scanning)
            self.scanning = None
        if self.scanning is not None:
            # The bits record goes before the scan index it holds for is replaced (a kill
            # between the two must not leave it naming the new one: scanbits.py), then is kept
            # anew.
            scanbits.forget(self.repo)
            kept_lines = scankeep.keep(self.scanning, tree)
            lines += kept_lines
            kept, self.scanning = self.scanning, None
            # The bits hold for whichever scan index the ref names next (scanbits.py)
            named = tree if kept_lines or tree == kept.base_tree else kept.base_tree
            if self.clean_bits is not None and named is not None:
                scanbits.save(self.repo, named, kept.since, self.clean_bits)
            failpoints.hit("capture:scan-kept")  # its file in place, not yet its ref
        self.repo.update_refs(lines, message=f"git-atomic: {message}")
        if kept is not None:
            scankeep.retire(kept, tree)

    def stop(self) -> None:
        """Stop every git process of this reading still running (stalls.py): none is waited
        for."""
        for running in (self.adding, self.folders, self.extras):
            if running is not None:
                running.stop()
        self.adding = self.folders = self.extras = None
        if self.scanning is not None:
            scan.abandon(self.scanning, stop=True)
            self.scanning = None

    def close(self) -> None:
        if self.extras is not None:
            self.extras.wait(check=False)
        if self.adding is not None:
            self.adding.wait(check=False)  # never leave it writing a file that is about to go
        if self.folders is not None:
            self.folders.wait(check=False)
        if self.scanning is not None:
            scan.abandon(self.scanning)
        for path in (self.flags_file, self.staged_copy, self.index_copy):
            path.unlink(missing_ok=True)


def _is_attributes(path: bytes) -> bool:
    return path == b".gitattributes" or path.endswith(b"/.gitattributes")


def _scanned(
    repo: Repo, adding: process.Background, index: Path
) -> tuple[dict[bytes, int], frozenset[bytes]]:
    """`add -A` refuses, exit 1, when every path it matched is a skip-worktree entry (a sparse
    checkout, or a tree whose only files are marked so): it had nothing else to add, and those
    entries are captured from disk separately, so that refusal is a finished scan.

    It also refuses, adding nothing, when a tracked path is now a FIFO, a socket or a device:
    git can hold none of them. Such paths are taken out of the index copy (they are not files
    as far as a checkpoint can say, as for git an untracked FIFO is not there) and `add -A`
    runs again. Returns them (path -> st_mode).

    And it refuses, adding nothing, for an untracked repository inside the worktree that has no
    commit yet (`git init sub`): git can hold a nested repository only as the commit it has
    checked out. Nested repositories are not captured (a rollback leaves them alone): such
    folders are left out of the reading, and it runs again.

    And it dies at a name that is `.git` in another letter case (`sub/.GIT/config`), which git
    refuses to track whatever its settings (statuslist.dot_git_variant): such a folder or file
    is left out as a scan leaves it out, and returned with the special paths."""
    res = adding.wait(check=False)
    statuslist.refuse_unreadable(res.stderr, repo.root)
    if res.returncode == 0 or b"outside of your sparse-checkout definition" in res.stderr:
        return {}, frozenset()
    special = {}
    if b"can only add regular files" in res.stderr:
        special = heldanyway.special_entries(repo, index)
    unborn = _unborn_repositories(res.stderr) | _dot_git_variants(res.stderr)
    raw = _unconvertible(res.stderr)
    if not special and not unborn and not raw:
        adding.wait()  # raises, with git's message
    env = {"GIT_INDEX_FILE": str(index)}
    stdin = b"".join(p + b"\0" for p in sorted(special))
    repo.run("update-index", "--force-remove", "-z", "--stdin", input=stdin, env=env)
    lfs = scanindex.lfs_pointers(repo)
    for _ in range(64):  # each round leaves out at least one more such folder or file
        left_out = [f":(exclude,literal){os.fsdecode(p)}" for p in sorted(unborn | raw)]
        add_all = (
            *conversion.AS_ON_DISK,
            *_UNSPLIT,
            *lfs,
            *("add", "-A", "--sparse", "--", ".", *left_out),
        )
        again = repo.run(*add_all, env=env, check=False)
        statuslist.refuse_unreadable(again.stderr, repo.root)
        if again.returncode == 0 or b"outside of your sparse-checkout" in again.stderr:
            _add_as_on_disk(repo, env, raw)
            unholdable = (
                p for p in unborn if statuslist.dot_git_variant(p) or statuslist.gitmodules_link(p)
            )
            return special, frozenset(unholdable)
        more = (_unborn_repositories(again.stderr) | _dot_git_variants(again.stderr)) - unborn
        more_raw = _unconvertible(again.stderr) - raw
        if not more and not more_raw:
            break
        unborn |= more
        raw |= more_raw
    repo.run(*add_all, env=env)  # raises
    return special, frozenset()


# git's words (LC_ALL=C) for a file its `working-tree-encoding` cannot convert: it refuses to
# store it at all (`add` dies), where a checkpoint must hold the bytes on disk.
_UNCONVERTIBLE: Final = (
    re.compile(rb"BOM is (?:required|prohibited) in '(.+?)' if encoded as ", re.S),
    re.compile(rb"failed to encode '(.+?)' from ", re.S),
    re.compile(rb"encoding '(.+?)' from \S+ to \S+ and back is not the same", re.S),
)


def _unconvertible(stderr: bytes) -> set[bytes]:
    return {m.group(1) for pattern in _UNCONVERTIBLE for m in pattern.finditer(stderr)}


def _add_as_on_disk(repo: Repo, env: Mapping[str, str], paths: set[bytes]) -> None:
    """The files git could not convert, held as the bytes on disk (no attribute applies to
    `hash-object --no-filters`), as a restore writes them back."""
    found: list[tuple[bytes, bytes, bytes]] = []
    with safefs.Tree(os.fsencode(repo.root)) as tree:  # never through a link
        for path in sorted(paths):
            st = tree.lstat(path)
            data = tree.read(path) if st is not None and stat.S_ISREG(st.st_mode) else None
            if st is not None and data is not None:
                found.append((b"100755" if st.st_mode & 0o100 else b"100644", path, data))
    oids = repo.write_blobs([data for _, _, data in found]) if found else []
    entries = [
        mode + b" " + oid.encode() + b"\t" + path + b"\0"
        for (mode, path, _), oid in zip(found, oids, strict=True)
    ]
    if entries:
        repo.run("update-index", "-z", "--index-info", input=b"".join(entries), env=env)


# git's words for a path it refuses to track: the same path twice, so a name holding a quote or
# a newline is still read whole.
_INVALID_PATH: Final = re.compile(rb"error: invalid path '(.+?)'\nerror: unable to add '\1'", re.S)


def _dot_git_variants(stderr: bytes) -> set[bytes]:
    """The outermost component that is `.git` in another letter case, of each path `add -A`
    refused (`sub/.GIT/config` -> `sub/.GIT`): the whole folder is left out in one round."""
    found = set()
    for m in _INVALID_PATH.finditer(stderr):
        if statuslist.gitmodules_link(m.group(1)):  # a `.gitmodules` link: refused as well
            found.add(m.group(1))
            continue
        parts = m.group(1).split(b"/")
        for at, part in enumerate(parts):
            if part.lower() == b".git" and part != b".git":
                found.add(b"/".join(parts[: at + 1]))
                break
    return found


def _unborn_repositories(stderr: bytes) -> set[bytes]:
    """The folders `add -A` named as repositories without a commit (git speaks English to us:
    process.py sets LC_ALL=C): `error: 'sub/' does not have a commit checked out`."""
    found = set()
    head, tail = b"error: '", b"' does not have a commit checked out"
    # Split on the message, not on lines: a folder's name may hold a newline.
    for chunk in stderr.split(tail)[:-1]:
        at = chunk.rfind(head)
        if at >= 0:
            found.add(chunk[at + len(head) :].rstrip(b"/"))
    return found
