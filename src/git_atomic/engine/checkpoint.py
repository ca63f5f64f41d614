"""The checkpoint format: what a checkpoint commit's tree holds, written and read in one place.

A checkpoint is a commit whose tree holds:
  meta          blob  JSON: HEAD (symbolic ref or detached), every local branch, whether there
                      was an index file, the worktree, when it was written (and captured),
                      the bytes of `.git/info/exclude` and of the worktree's
                      `info/sparse-checkout`, and the branch sections of its config
                      (infoexclude.py)
  staged        tree  `write-tree` of the index: its entries (and keeps staged blobs reachable)
  index-flags   blob  the entry flags a tree cannot hold (indexstate.py); absent when none
  files         tree  every tracked and untracked-not-ignored file, raw bytes, modes, symlinks
  untracked     blob  NUL-separated paths that were untracked (commits mode keeps them out of
                      commits); PRE-OP of a commits-mode operation only
  commit-base   tree  what that operation's commits are measured from: the files as a commit
                      would hold them (filtered bytes, untracked files left out); PRE-OP of a
                      commits-mode operation, and each checkpoint that commits (what the
                      next commit is measured from, phasecommit.py)
  empty-folders blob  NUL-separated empty folders (the innermost ones); absent when none. Meta
                      says whether it lists every empty folder git does not ignore
                      (`all_empty_folders`) or, in checkpoints written before, only those
                      where files went
  index         blob  the raw index bytes, only when staged tree and flags cannot describe it
                      (an intent-to-add entry whose file is gone or has another mode now,
                      unmerged entries), and in checkpoints of version 1
  gitstate      tree  a merge, rebase, cherry-pick, revert, am or bisect in progress: git's
                      files and refs for it (gitstate.py); absent when there is none
  too-large     blob  NUL-separated files on disk over the size budget, not held
  attributes    blob  JSON: the extended attributes (an ACL, a `user.` label) of the files
                      `modes` lists (path and names as latin-1, values in hex): a file a
                      restore makes again gets them back; absent when none
  too-large-ids blob  `<device>:<inode>:<size> <path>` NUL-separated for the files of
                      too-large: a file the operation only moved (a rename keeps device and
                      inode) is found again, and one git wrote anew with the bytes the
                      operation committed (a rebase, a stash) has its size
  specials      blob  FIFOs, sockets and devices where the capture looked (a tracked path, or
                      one a restore writes): `<octal st_mode> <path>` NUL-separated, so that a
                      restore may take one away and `undo` make a FIFO again; absent when none
  modes         blob  the permission bits (`<octal> <path>` NUL-separated) of the regular files
                      the capture looked at itself (those it read, those `protect` holds)
                      and of the clean ones its scan's record keeps (scanbits.py), which a
                      tree cannot keep (a 0600 key): a file a restore makes again
                      gets them back; absent when none
  folder-ids    blob  `<device>:<inode> <path>` NUL-separated for the folders the walk of the
                      folders saw (the ignored ones too, not the empty ones): a folder the
                      operation renamed is found where it went (foldermoves.py); absent when
                      the walk could not be made, and in a state worked out from trees
  stash         blob  your stashes: the commit `refs/stash` names, then its reflog's bytes
                      (stashstate.py); absent when there is none, or (meta: no `stash_known`)
                      when the checkpoint says nothing of them
Its parents are HEAD, every branch tip and every stash, so `gc --prune=now` can lose none of
them.

A capture (snapshot.py) writes one from the disk; a state worked out from trees (an effect
taken back, a private worktree's result applied, a commit checked out) is written here too,
from the same `Parts`, so every checkpoint is read back by `load`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

from git_atomic.core.errors import RefusedError
from git_atomic.engine import dotgit, indexstate, infoexclude

# The record of what a checkpoint holds, importable from here as before (checkpointparts.py).
from git_atomic.engine.checkpointparts import Parts as Parts
from git_atomic.engine.checkpointparts import Snapshot as Snapshot
from git_atomic.engine.git import Repo, TreeEntry

META_VERSION: Final = 2
META: Final = b"meta"
STAGED: Final = b"staged"
FILES: Final = b"files"
INDEX: Final = b"index"
INDEX_FLAGS: Final = b"index-flags"
INDEX_WHOLE: Final = b"index-whole"
UNTRACKED: Final = b"untracked"
COMMIT_BASE: Final = b"commit-base"
EMPTY_FOLDERS: Final = b"empty-folders"
GITSTATE: Final = b"gitstate"
TOO_LARGE: Final = b"too-large"
SPECIALS: Final = b"specials"
MODES: Final = b"modes"
TOO_LARGE_IDS: Final = b"too-large-ids"
ATTRIBUTES: Final = b"attributes"
# Folders that hold a repository of their own that git read as folders (the index has paths
# under them: `git init sub` where files were): their files are that repository's, which no
# restore touches, so `show --diff` and `log` do not count them as an operation's.
REPOSITORIES: Final = b"repositories"
STASH: Final = b"stash"
FOLDER_IDS: Final = b"folder-ids"
TAGS: Final = b"tags"  # `<oid> <ref>` NUL-separated: the tags when captured (checkpointtags.py)
_BLOB: Final = "100644"
_TREE: Final = "040000"


def write(repo: Repo, parts: Parts, *, message: str, keep: Sequence[str] = ()) -> Snapshot:
    """Write the checkpoint of `parts` (objects only: the caller makes a ref to it). Its parents
    are HEAD, every branch and `keep` (commits a state in progress names)."""
    meta: dict[str, object] = {
        "version": META_VERSION,
        "head": {"ref": parts.head_ref, "oid": parts.head_oid},
        "branches": dict(parts.branches),
        "index": {"present": parts.index_present}
        | ({"version": parts.index_version} if parts.index_version is not None else {})
        | ({"entries": parts.index_entries} if parts.index_entries is not None else {})
        | ({"shared": parts.index_shared} if parts.index_shared is not None else {}),
        "worktree": parts.worktree if parts.worktree is not None else str(repo.root),
        "created_at": parts.captured_at if parts.captured_at is not None else time.time(),
        **parts.origin,
        **infoexclude.to_meta(parts.info_exclude),
        **infoexclude.to_meta(parts.info_attributes, infoexclude.ATTRIBUTES),
        **infoexclude.to_meta(parts.sparse_checkout, infoexclude.SPARSE),
        **infoexclude.to_meta(parts.shallow, infoexclude.SHALLOW),
        **infoexclude.to_meta(parts.branch_config, infoexclude.CONFIG),
        **dotgit.to_meta(parts.dot_git),
    }
    if parts.index_mtime_ns is not None:
        meta["index_mtime_ns"] = parts.index_mtime_ns
    if parts.index_split:
        meta["index_split"] = True
    if parts.captured_at is not None:
        meta["captured_at"] = parts.captured_at
    if parts.made_within:
        meta["made_within"] = [list(w) for w in parts.made_within]
    if parts.all_empty_folders:
        meta["all_empty_folders"] = True
    if parts.stash_known:
        meta["stash_known"] = True
    if parts.symrefs is not None:
        meta["symrefs"] = dict(parts.symrefs)
    # Written as git writes a loose object, without a process (Repo.write_blobs).
    [meta_blob] = repo.write_blobs([json.dumps(meta, sort_keys=True).encode()])
    optional = [
        (_BLOB, parts.index_blob, INDEX),
        (_BLOB, parts.index_flags, INDEX_FLAGS),
        (_BLOB, parts.index_whole, INDEX_WHOLE),
        (_TREE, parts.commit_base, COMMIT_BASE),
        (_TREE, parts.git_state, GITSTATE),
        (_BLOB, parts.untracked, UNTRACKED),
        (_BLOB, parts.empty_folders, EMPTY_FOLDERS),
        (_BLOB, parts.too_large, TOO_LARGE),
        (_BLOB, parts.too_large_ids, TOO_LARGE_IDS),
        (_BLOB, parts.specials, SPECIALS),
        (_BLOB, parts.modes, MODES),
        (_BLOB, parts.attributes, ATTRIBUTES),
        (_BLOB, parts.stash if parts.stash_known else None, STASH),
        (_BLOB, parts.repositories, REPOSITORIES),
        (_BLOB, parts.folder_ids, FOLDER_IDS),
        (_BLOB, parts.tags, TAGS),
    ]
    tree = repo.mktree(
        [
            TreeEntry(_BLOB, "blob", meta_blob, META),
            TreeEntry(_TREE, "tree", parts.staged_tree, STAGED),
            TreeEntry(_TREE, "tree", parts.files_tree, FILES),
            *(
                TreeEntry(mode, "tree" if mode == _TREE else "blob", oid, name)
                for mode, oid, name in optional
                if oid is not None
            ),
        ]
    )
    parents = dict.fromkeys(x for x in [parts.head_oid, *parts.branches.values(), *keep] if x)
    commit = repo.commit_tree(
        tree, list(parents), message, identity=repo.identity_env(required=False)
    )
    return parts.written(commit)


def load(repo: Repo, commit: str) -> Snapshot:
    """Read a checkpoint commit back."""
    entries = {e.path: e.oid for e in repo.ls_tree(commit)}
    try:
        meta = json.loads(repo.cat_blob(entries[META]))
    except (KeyError, ValueError) as exc:
        raise RefusedError(f"{commit[:12]} is not a git-atomic checkpoint") from exc
    present = meta["index"]["present"] if "index" in meta else INDEX in entries
    return Snapshot(
        commit=commit,
        files_tree=entries[FILES],
        staged_tree=entries[STAGED],
        head_ref=meta["head"]["ref"],
        head_oid=meta["head"]["oid"],
        branches=dict(meta["branches"]),
        index_blob=entries.get(INDEX),
        index_mtime_ns=meta.get("index_mtime_ns"),
        index_split=bool(meta.get("index_split")),
        index_whole=entries.get(INDEX_WHOLE),
        index_entries=meta.get("index", {}).get("entries"),
        index_present=bool(present),
        index_shared=meta.get("index", {}).get("shared"),
        index_version=meta.get("index", {}).get("version"),
        index_flags=entries.get(INDEX_FLAGS),
        empty_folders=entries.get(EMPTY_FOLDERS),
        too_large=entries.get(TOO_LARGE),
        too_large_ids=entries.get(TOO_LARGE_IDS),
        specials=entries.get(SPECIALS),
        modes=entries.get(MODES),
        attributes=entries.get(ATTRIBUTES),
        all_empty_folders=bool(meta.get("all_empty_folders")),
        git_state=entries.get(GITSTATE),
        info_exclude=infoexclude.from_meta(meta),
        info_attributes=infoexclude.from_meta(meta, infoexclude.ATTRIBUTES),
        sparse_checkout=infoexclude.from_meta(meta, infoexclude.SPARSE),
        shallow=infoexclude.from_meta(meta, infoexclude.SHALLOW),
        branch_config=infoexclude.from_meta(meta, infoexclude.CONFIG),
        # Only a capture saw the disk; a state computed from trees (a commit made a checkpoint,
        # an effect taken back) cannot tell which files were there.
        captured_at=meta.get("captured_at"),
        made_within=tuple((float(a), float(b)) for a, b in meta.get("made_within", ())),
        commit_base=entries.get(COMMIT_BASE),
        untracked=entries.get(UNTRACKED),
        worktree=meta.get("worktree"),
        origin={k: str(meta[k]) for k in ("from_commit", "isolated_in") if k in meta},
        stash=entries.get(STASH),
        stash_known=bool(meta.get("stash_known")),
        dot_git=dotgit.from_meta(meta),
        repositories=entries.get(REPOSITORIES),
        folder_ids=entries.get(FOLDER_IDS),
        tags=entries.get(TAGS),
        symrefs=dict(meta["symrefs"]) if "symrefs" in meta else None,
    )


def paths_blob(repo: Repo, paths: Iterable[bytes]) -> str | None:
    """A blob of NUL-separated paths, sorted (equal sets, equal blobs); None for no path."""
    listed = sorted(set(paths))
    if not listed:
        return None
    return repo.write_blob(b"".join(p + b"\0" for p in listed))


def paths_of(repo: Repo, blob: str | None) -> frozenset[bytes]:
    """The paths a `paths_blob` holds."""
    return _paths(repo, blob)


def _paths(repo: Repo, blob: str | None) -> frozenset[bytes]:
    if blob is None:
        return frozenset()
    return frozenset(p for p in repo.cat_blob(blob).split(b"\0") if p)


def load_flags(repo: Repo, snap: Parts) -> indexstate.IndexFlags:
    if snap.index_flags is None:
        return indexstate.IndexFlags()
    return indexstate.IndexFlags.decode(repo.cat_blob(snap.index_flags))


def load_too_large(repo: Repo, snap: Parts) -> frozenset[bytes]:
    """The files that were on disk, over the size budget, when the checkpoint was captured: it
    does not hold them, and a restore to it must not take them for files it lacks."""
    return _paths(repo, snap.too_large)


def too_large_ids_blob(repo: Repo, found: Mapping[bytes, tuple[int, int, int]]) -> str | None:
    """A blob of the files over the budget's identities (path -> (st_dev, st_ino, st_size))."""
    if not found:
        return None
    data = b"".join(b"%d:%d:%d " % found[p] + p + b"\0" for p in sorted(found))
    return repo.write_blob(data)


def load_too_large_ids(repo: Repo, snap: Parts) -> dict[bytes, tuple[int, int, int]]:
    """Where the files over the budget were, by device and inode: none in a state worked out
    from trees, or in checkpoints written before they were kept."""
    if snap.too_large_ids is None:
        return {}
    found = {}
    for record in repo.cat_blob(snap.too_large_ids).split(b"\0"):
        ident, _, path = record.partition(b" ")
        fields = ident.split(b":")
        if path and len(fields) == 3:
            found[path] = (int(fields[0]), int(fields[1]), int(fields[2]))
    return found


def specials_blob(repo: Repo, found: Mapping[bytes, int]) -> str | None:
    """A blob of FIFOs, sockets and devices (path -> st_mode); None for none."""
    if not found:
        return None
    data = b"".join(b"%o " % found[p] + p + b"\0" for p in sorted(found))
    return repo.write_blob(data)


def load_specials(repo: Repo, snap: Parts) -> dict[bytes, int]:
    """The FIFOs, sockets and devices the capture saw (path -> st_mode); none in a state
    worked out from trees, or in checkpoints written before they were held."""
    return _modes_in(repo, snap.specials)


def _modes_in(repo: Repo, blob: str | None) -> dict[bytes, int]:
    if blob is None:
        return {}
    found = {}
    for record in repo.cat_blob(blob).split(b"\0"):
        mode, _, path = record.partition(b" ")
        if path:
            found[path] = int(mode, 8)
    return found


def modes_blob(repo: Repo, found: Mapping[bytes, int]) -> str | None:
    """A blob of regular files' permission bits (path -> st_mode & 0o7777); None for none."""
    if not found:
        return None
    data = b"".join(b"%o " % (found[p] & 0o7777) + p + b"\0" for p in sorted(found))
    return repo.write_blob(data)


Attributes = Mapping[bytes, tuple[tuple[str, bytes], ...]]


def attributes_blob(repo: Repo, found: Attributes) -> str | None:
    """A blob of files' extended attributes (path -> ((name, value), ...)); None for none."""
    kept = {
        p.decode("latin-1"): [[n, v.hex()] for n, v in attrs] for p, attrs in found.items() if attrs
    }
    if not kept:
        return None
    data = json.dumps(kept, sort_keys=True).encode()
    return repo.write_blob(data)


def load_attributes(repo: Repo, snap: Parts) -> dict[bytes, tuple[tuple[str, bytes], ...]]:
    """The extended attributes of the files whose permission bits the capture kept; none in a
    state worked out from trees, or in checkpoints written before they were kept."""
    if snap.attributes is None:
        return {}
    try:
        kept = json.loads(repo.cat_blob(snap.attributes))
        return {
            p.encode("latin-1"): tuple((n, bytes.fromhex(v)) for n, v in attrs)
            for p, attrs in kept.items()
        }
    except (ValueError, TypeError, AttributeError):
        return {}


def load_modes(repo: Repo, snap: Parts) -> dict[bytes, int]:
    """The permission bits of the regular files the capture looked at itself (path -> bits);
    none in a state worked out from trees, or in checkpoints written before they were kept."""
    return _modes_in(repo, snap.modes)


def load_empty_folders(repo: Repo, snap: Folders) -> frozenset[bytes]:
    """The empty folders a checkpoint holds (none in checkpoints written before they were)."""
    return _paths(repo, snap.empty_folders)


def load_untracked(repo: Repo, snap: Parts) -> frozenset[bytes]:
    """The files untracked when a commits-mode operation started (its PRE-OP's `untracked`)."""
    return _paths(repo, snap.untracked)


class Folders(Protocol):
    """A state's empty folders (a checkpoint's, or a result's that is not one yet)."""

    @property
    def empty_folders(self) -> str | None: ...

    @property
    def all_empty_folders(self) -> bool: ...

    @property
    def files_tree(self) -> str: ...
