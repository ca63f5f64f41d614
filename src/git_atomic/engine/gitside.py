"""A capture's git side: HEAD, the branches, your index (read through a copy, never written)
and git's own state (a command left half way, your stashes, the rules in the git dir), read while
the scan of the files runs (snapshot.py starts it from here, seeded from the index's copy). An
index its entries and flags cannot describe is held as its bytes, written here as blobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from git_atomic.core import wholefile
from git_atomic.core.errors import GitError
from git_atomic.core.records import dataclass
from git_atomic.engine import (
    capturerefs,
    gitstate,
    indexstate,
    infoexclude,
    scanindex,
    splitindex,
    staged,
    stashstate,
    symrefsloose,
)
from git_atomic.engine.capturedisk import Disk
from git_atomic.engine.git import Repo
from git_atomic.engine.gitoutput import parse_refs, parse_symrefs


@dataclass(frozen=True)
class GitSide:
    """HEAD, the branches, the index and git's own state (a command left half way), read while
    the scan of the files starts (seeded from the copy of the index) and runs."""

    head_ref: str | None
    head_oid: str | None
    branches: Mapping[str, str]
    index: staged.Copy
    index_version: int | None
    side: staged.Staged
    raw_index: bool  # held as its bytes: its entries and flags cannot describe it
    index_split: bool  # held as its bytes, and a split index
    index_shared: str | None  # the shared index it is split on; "": whole; None: no index
    index_blob: str | None
    index_whole: str | None  # a split raw index's bytes written whole
    entries_blob: str | None  # the raw index's entries without their stat data
    flags_blob: str | None
    in_progress: gitstate.Saved | None
    rules: infoexclude.Rules  # .git/info/exclude: the ignore rules the scan goes by
    attributes: infoexclude.Rules  # .git/info/attributes
    # Your stashes (stashstate.py): the record's blob and the commits it names; None: not known
    stash: tuple[str | None, tuple[str, ...]] | None
    sparse: infoexclude.Rules  # the worktree's .git/info/sparse-checkout
    shallow: infoexclude.Rules  # .git/shallow
    branch_config: infoexclude.Rules  # the branch sections of the config
    tags: Mapping[str, str] | None  # None: not listed (capturerefs.tags_listed)
    symrefs: Mapping[str, str]  # branches that are symbolic refs -> the ref each names


def read(repo: Repo, disk: Disk, *, allow_unmerged: bool, refs_listed: bytes | None) -> GitSide:
    """The git side, the scan started from it (`disk.start`): `refs_listed` as `capture`'s
    (snapshot.py), None to list them here."""
    listed = capturerefs.listing(repo) if refs_listed is None else refs_listed
    refs = parse_refs(listed)
    branches = {name: oid for name, oid in refs.items() if name.startswith("refs/heads/")}
    head_ref, head_oid = repo.read_head(branches)
    index = staged.copy(repo, disk.index_copy, disk.staged_copy)
    index_version = indexstate.version(disk.index_copy) if index.present else None
    # Your index written split (core.splitIndex): read before the scan seeds from the copy.
    shared = (splitindex.shared_of(repo, disk.index_copy) or "") if index.present else None
    rules = infoexclude.read(repo)  # the ignore rules the scan below goes by
    attributes = infoexclude.read(repo, infoexclude.ATTRIBUTES)
    sparse = infoexclude.read(repo, infoexclude.SPARSE)
    shallow = infoexclude.read(repo, infoexclude.SHALLOW)
    branch_config = infoexclude.branch_config(repo)
    # The scan of the tree runs while the staged side is read: two processes, two cores.
    disk.start(refs.get(scanindex.ref_name(repo)), seeded=index.present)
    disk.refs = refs  # the raw record's among them (conversion.RawRecord.load)
    side = staged.read(repo, index, disk.staged_copy, allow_unmerged=allow_unmerged)
    if (
        allow_unmerged
        and index.seen is not None
        and not staged.checksum_holds(disk.index_copy, sha256=repo.sha256)
    ):
        # A rescue or a probe of what an operation left, its index remembered by its size and
        # checksum: written over in place, it is kept as its bytes all the same.
        scanindex.share(disk.index_copy, disk.staged_copy)
        side = staged.Staged(repo.empty_tree, indexstate.Listing(), unreadable=True)
    if side.unreadable:
        if shared == "":  # split on a shared index gone (removed, expired): split all the same
            shared = splitindex.named(repo, disk.index_copy) or ""
        disk.index_unreadable()
    disk.drop_flags(side.flags)
    raw_index = index.present and (side.unmerged or side.unreadable)
    in_progress = gitstate.capture(repo, refs)
    stash = stashstate.capture(repo, refs)
    index_blob, whole_blob, entries_blob, flags_blob = _index_blobs(
        repo, disk, side, raw_index=raw_index
    )
    return GitSide(
        head_ref=head_ref,
        head_oid=head_oid,
        branches=branches,
        index=index,
        index_version=index_version,
        side=side,
        raw_index=raw_index,
        index_split=raw_index and bool(shared),
        index_shared=shared,
        index_blob=index_blob,
        index_whole=whole_blob,
        entries_blob=entries_blob,
        flags_blob=flags_blob,
        in_progress=in_progress,
        rules=rules,
        attributes=attributes,
        stash=stash,
        sparse=sparse,
        shallow=shallow,
        branch_config=branch_config,
        tags=(
            {n: o for n, o in refs.items() if n.startswith(capturerefs.TAGS)}
            if capturerefs.tags_listed(repo)
            else None
        ),
        symrefs=_symrefs(repo, listed, refs),
    )


def _symrefs(repo: Repo, listed: bytes, refs: Mapping[str, str]) -> dict[str, str]:
    """The branches that are symbolic refs: those the listing gave, and those naming a ref
    that is not there, which it does not (their loose files: symrefsloose.py)."""
    found = parse_symrefs(listed)
    found.update(symrefsloose.unlisted(repo.common_dir, {*refs, *found}))
    return found


def _index_blobs(
    repo: Repo, disk: Disk, side: staged.Staged, *, raw_index: bool
) -> tuple[str | None, str | None, str | None, str | None]:
    """The raw index (only when its entries and flags cannot describe it), the same written
    whole where it is split, its entries as git lists them (so that two copies of it that
    differ in stat data alone are one index), and its flags, as blobs, in one process; Nones
    when none is needed."""
    to_write = [disk.staged_copy.read_bytes()] if raw_index else []
    whole = _whole(repo, disk.staged_copy) if raw_index and not side.unreadable else None
    if whole is not None:
        to_write.append(whole)
    entries = _raw_entries(repo, disk) if raw_index and not side.unreadable else None
    if entries is not None:
        to_write.append(entries)
    if side.flags:
        flags = side.flags.encode()
        wholefile.write_new(disk.flags_file, flags)
        to_write.append(flags)
    blobs = iter(repo.write_blobs(to_write) if to_write else [])
    index_blob = next(blobs) if raw_index else None
    whole_blob = next(blobs) if whole is not None else None
    entries_blob = next(blobs) if entries is not None else None
    return index_blob, whole_blob, entries_blob, (next(blobs) if side.flags else None)


def _whole(repo: Repo, index: Path) -> bytes | None:
    """A split raw index (unmerged entries in its own part, on its shared index) written
    whole by git, on a copy: its own bytes are unreadable once git expires that shared index
    (`splitIndex.sharedIndexExpire`, a write of yours that moved the index to a new one).
    None: a whole index, or one git cannot write whole."""
    if splitindex.shared_of(repo, index) is None:
        return None
    copy = repo.scratch_path("index-whole")
    try:
        indexstate.copy_index(index, copy)
        repo.run(
            "-c",
            "core.splitIndex=false",
            "update-index",
            "--no-split-index",
            env={"GIT_INDEX_FILE": str(copy)},
        )
        return copy.read_bytes()
    except (GitError, OSError):
        return None
    finally:
        copy.unlink(missing_ok=True)


def _raw_entries(repo: Repo, disk: Disk) -> bytes | None:
    """Every entry of the raw index: its tag (flags), mode, object, stage and path."""
    env = {"GIT_INDEX_FILE": str(disk.staged_copy)}
    try:
        return repo.out("ls-files", "-z", "-s", "-t", "-v", env=env)
    except GitError:
        return None
