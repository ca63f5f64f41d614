"""What a checkpoint holds, as a record: its parts before it is a commit (the object ids of its
blobs and trees, and what its meta says), and the checkpoint written. The format they are
written in and read from is checkpoint.py's (`write`, `load`), which names these records too.
"""

from __future__ import annotations

from collections.abc import Mapping

from git_atomic.core.records import dataclass, field
from git_atomic.engine import infoexclude


@dataclass(frozen=True, kw_only=True)
class Parts:
    """What a checkpoint holds, before it is a commit (object ids of its blobs and trees). The
    names in the comments below (`specials_blob`, `REPOSITORIES`...) are checkpoint.py's."""

    files_tree: str
    staged_tree: str
    head_ref: str | None  # None: detached
    head_oid: str | None  # None: unborn
    branches: Mapping[str, str]
    index_blob: str | None = None  # raw index bytes (version 1, or an index flags cannot describe)
    index_mtime_ns: int | None = None  # the raw index's mtime, for its racy-clean entries
    # The raw index was a split one (core.splitIndex, `update-index --split-index`) (in meta)
    index_split: bool = False
    # blob: that split raw index written whole, for where its shared index is gone (git
    # expires one no index uses) by the time it comes back; None: whole already, or older
    index_whole: str | None = None
    # blob: the raw index's entries as `ls-files -s -t -v` lists them (no stat data); None:
    # not raw, git could not read it, or written before this was recorded
    index_entries: str | None = None
    index_present: bool = True  # whether there was an index file at all
    # The shared index a split index used (`sharedindex.<hex>`), "" for a whole one (in meta);
    # None: not known (a state worked out, not captured; a checkpoint older than this record)
    index_shared: str | None = None
    index_version: int | None = None  # its format (2, 3, 4); None: not known, or no index
    index_flags: str | None = None  # blob of indexstate.IndexFlags; None: no flagged entry
    empty_folders: str | None = None  # blob of empty folders; None: none seen
    too_large: str | None = None  # blob of files on disk over the size budget, not held
    too_large_ids: str | None = None  # blob of their device and inode (too_large_ids_blob)
    specials: str | None = None  # blob of FIFOs, sockets, devices seen (specials_blob)
    modes: str | None = None  # blob of regular files' permission bits seen (modes_blob)
    attributes: str | None = None  # blob of those files' extended attributes (attributes_blob)
    all_empty_folders: bool = False  # they are every empty folder (False: where files went)
    git_state: str | None = None  # gitstate.py's tree: an unfinished merge, rebase...; None: none
    info_exclude: infoexclude.Rules = infoexclude.UNKNOWN  # .git/info/exclude (in meta)
    # .git/info/attributes (in meta; infoexclude.ATTRIBUTES)
    info_attributes: infoexclude.Rules = infoexclude.UNKNOWN
    # The worktree's .git/info/sparse-checkout (in meta; infoexclude.SPARSE)
    sparse_checkout: infoexclude.Rules = infoexclude.UNKNOWN
    shallow: infoexclude.Rules = infoexclude.UNKNOWN  # .git/shallow (in meta; SHALLOW)
    # The branch sections of the repository's config (in meta; infoexclude.CONFIG)
    branch_config: infoexclude.Rules = infoexclude.UNKNOWN
    captured_at: float | None = None  # when the disk was captured (time.time()); None: not known
    # A worked-out target (an effect taken back or made again): the windows, from the capture
    # before each step to the one after it, in which the effect was made; () otherwise.
    made_within: tuple[tuple[float, float], ...] = ()
    # A line-ending rule or a filter applied to the files when they were captured: what the
    # capture knows, not kept with the checkpoint (False once loaded).
    converting: bool = False
    # The names no checkpoint can hold that a capture which does not refuse them (a rescue, a
    # probe) found (statuslist.unholdable_left): what the capture knows, not kept with the
    # checkpoint (() once loaded). A restore from it leaves them, and names each.
    unholdable: tuple[bytes, ...] = ()
    commit_base: str | None = None  # tree: what a commits-mode operation's commits start from
    untracked: str | None = None  # blob: the files untracked at that operation's start
    worktree: str | None = None  # the worktree the state is of; None: the repository's own
    origin: Mapping[str, str] = field(default_factory=dict)  # from_commit, isolated_in
    stash: str | None = None  # blob of stashstate's record; None: no stash (when known)
    dot_git: bytes | None = None  # the worktree's `.git` file naming this git dir (dotgit.py)
    stash_known: bool = False  # whether the stash was looked at (False: left alone)
    repositories: str | None = None  # blob of REPOSITORIES' folders; None: none (or not known)
    folder_ids: str | None = None  # blob of the folders' devices and inodes (foldermoves.py)
    tags: str | None = None  # blob of TAGS (an empty one: none); None: not captured
    # The branches that are symbolic refs (`git symbolic-ref refs/heads/alias refs/heads/main`),
    # each -> the ref it names (in meta); None: not known (older than this record)
    symrefs: Mapping[str, str] | None = None

    def index_key(self) -> tuple[object, ...]:
        """Equal keys: equal indexes, as far as a user can tell (entries, flags, and whether
        the format is version 4: versions 2 and 3 are one format to git, and a version not
        known is taken for it)."""
        if self.index_entries is not None:  # its stat data (git status refreshes it) aside
            return ("raw", self.index_entries, self.index_flags)
        if self.index_blob is not None:
            return ("raw", self.index_blob)
        v4 = self.index_version == 4
        return ("entries", self.index_present, self.staged_tree, self.index_flags, v4)

    def split_differs(self, other: Parts) -> bool:
        """Whether the two indexes are one split and one whole, where both are known: not a
        difference `index_key` shows (a state worked out does not know it), but a restore
        puts it back (`update-index --split-index` is yours to choose, as the version is)."""
        if self.index_shared is None or other.index_shared is None:
            return False
        return (self.index_shared == "") != (other.index_shared == "")

    def shared_differs(self, other: Parts) -> bool:
        """`split_differs`, or both split on two shared indexes: what a restore to `other`
        has to write (an operation that only moved your index to a new shared index has that
        to take back). Not a change since that makes a move worked out: git moves your index
        to a new one as it writes it (`splitIndex.maxPercentChange`)."""
        if self.index_shared is None or other.index_shared is None:
            return False
        return self.index_shared != other.index_shared

    def written(self, commit: str) -> Snapshot:
        """These parts as the checkpoint `commit` holds them."""
        return Snapshot(
            commit=commit,
            files_tree=self.files_tree,
            staged_tree=self.staged_tree,
            head_ref=self.head_ref,
            head_oid=self.head_oid,
            branches=self.branches,
            index_blob=self.index_blob,
            index_mtime_ns=self.index_mtime_ns,
            index_split=self.index_split,
            index_whole=self.index_whole,
            index_entries=self.index_entries,
            index_present=self.index_present,
            index_shared=self.index_shared,
            index_version=self.index_version,
            index_flags=self.index_flags,
            empty_folders=self.empty_folders,
            too_large=self.too_large,
            too_large_ids=self.too_large_ids,
            specials=self.specials,
            modes=self.modes,
            attributes=self.attributes,
            all_empty_folders=self.all_empty_folders,
            git_state=self.git_state,
            info_exclude=self.info_exclude,
            info_attributes=self.info_attributes,
            sparse_checkout=self.sparse_checkout,
            shallow=self.shallow,
            branch_config=self.branch_config,
            captured_at=self.captured_at,
            made_within=self.made_within,
            converting=self.converting,
            unholdable=self.unholdable,
            commit_base=self.commit_base,
            untracked=self.untracked,
            worktree=self.worktree,
            origin=self.origin,
            stash=self.stash,
            stash_known=self.stash_known,
            dot_git=self.dot_git,
            repositories=self.repositories,
            folder_ids=self.folder_ids,
            tags=self.tags,
            symrefs=self.symrefs,
        )


@dataclass(frozen=True, kw_only=True)
class Snapshot(Parts):
    """A checkpoint written: its commit and its parts."""

    commit: str
