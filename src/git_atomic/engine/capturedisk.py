"""The worktree side of a capture (snapshot.py): the files read by a scan (scan.py) or, when a
scan cannot say, by `git add -A` on a copy of the index (addall.py), as started by
diskreading.py; the empty folders git lists beside it, the ignored files held anyway
(heldanyway.py), and the scan index it leaves for the next capture (scankeep.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set

from git_atomic.core import failpoints
from git_atomic.core.errors import GitError
from git_atomic.core.records import dataclass, field
from git_atomic.engine import (
    conversion,
    folders,
    heldanyway,
    ignoredattrs,
    ignores,
    indexstate,
    scan,
    scanbits,
    scanindex,
    scankeep,
    scantree,
    staged,
)
from git_atomic.engine.diskreading import Reading


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


class Disk(Reading):
    """The worktree side of one capture: a scan of it (scan.py), or `git add -A` on a copy of
    the index when a scan cannot say; what it read."""

    def _repositories_again(self, staged_tree: str, tree: str) -> bool:
        """Whether the scan's `tree`, read through a scan index of an earlier capture, has as
        a folder of files one that is a repository of its own now (reposagain.py). Asked of
        the walk of the folders: made now where Watchman's answer made none and no folder
        changed was not its answer (the empty folders need it then all the same). A seeded
        scan started from your index: nothing of an earlier capture in it."""
        scanning = self.scanning
        if scanning is None or scanning.base_tree is None:
            return False
        if self.walked is None and scanning.empty_known is None:
            self.walk_anyway()
        walked = self.walked
        folders = [f for f in walked.own_repositories if f] if walked is not None else []
        if not folders:
            return False
        from git_atomic.engine import reposagain  # only where a `.git` is below the top

        return bool(reposagain.stale(self.repo, folders, staged_tree, tree))

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
            if tree is not None and self._repositories_again(side.tree, tree):
                # Its record has a repository of its own as a folder of files (reposagain.py):
                # read anew, and the next scan seeded from your index, not from that record
                # (a dry run, which keeps no cache, leaves it: the command that follows drops it).
                base = self.scanning.base_tree
                if base is not None and repo.quarantine is None:
                    scanindex.discard(repo, scanindex.index_file(repo, base))
                tree = None
            if tree is None:  # something a scan index cannot describe
                scan.abandon(self.scanning)
                self.scanning = None
                self._add_all()
        if self.scanning is not None and tree is not None:
            index, scan_gone = self.scanning.index, self.scanning.deleted
            specials: Mapping[bytes, int] = {}
            base_tree = self.scanning.base_tree
            brought = scanbits.brought_up_to_date(
                repo,
                index,
                base_tree=base_tree,
                base_index=scanindex.index_file(repo, base_tree) if base_tree else None,
                changed=self.scanning.changed,
                gone=scan_gone,
                scanned=self.scanning.since,
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
            from git_atomic.engine import addall  # (imported by `_add_all`, which started it)

            specials, self.left_out = addall.finish(repo, self.adding, self.index_copy)
            index, scan_gone = self.index_copy, frozenset()
            tree = staged.write_tree(repo, {"GIT_INDEX_FILE": str(index)}, config=addall.UNSPLIT)
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
            # (kept between processes for the same tree and folders: ignoredattrs.py)
            beside = ignoredattrs.in_ignored_folders(repo, side.tree, self.walked.ignored)
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
                # A rescue's scan index stays as the restore will need it: not this tree's.
                index_current=self.scanning is None or not self.scanning.index_behind,
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


def _is_attributes(path: bytes) -> bool:
    return path == b".gitattributes" or path.endswith(b"/.gitattributes")
