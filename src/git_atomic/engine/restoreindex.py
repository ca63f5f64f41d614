"""A restore's writes of git's own state (a command left half way) and of the index, after the
files and before the refs: the whole index (indexfile.put_index), or a selective restore's
entries under the paths it names, with their flags (rebuilt on a copy of the index where both
states keep it as entries and flags: indexbuild.py; else `update-index --index-info`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from git_atomic.engine import checkpoint, gitstate, indexbuild, indexfile, indexstate
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import Plan


def put_index(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    the_plan: Plan,
    paths: Sequence[bytes],
    stale: Sequence[bytes],
) -> None:
    """git's own state (a command left half way), then the index: all of it, or a selective
    restore's entries under `paths`. The entries of the files it wrote whose status data says
    another size than the file's (`stale`) lose that data, also where the index is otherwise
    the same (indexbuild.rebuild): git takes such a file for changed without reading it, and
    the data was taken of other bytes with the same id (CRLF, where LF came back)."""
    if the_plan.git_state_changes:
        # Before the index: a stale index.lock the operation left would block writing it.
        gitstate.put(repo, target.git_state)
    if paths:
        _restore_index_paths(repo, current, target, paths, stale)
        return
    if the_plan.index_changes or stale:
        indexfile.put_index(repo, current, target, restat=stale)


def _restore_index_paths(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    paths: Sequence[bytes],
    stale: Sequence[bytes] = (),
) -> None:
    """Selective: the index entries under `paths`, with their flags (intent-to-add,
    skip-worktree, assume-unchanged), as the target had them; every other entry as it is. The
    paths are names, never patterns (`c.*` is the file of that name)."""
    spec = [os.fsdecode(p) for p in paths]
    literal = {"GIT_LITERAL_PATHSPECS": "1"}
    wanted = repo.out(
        "ls-tree", "-r", "-z", "--full-tree", target.staged_tree, "--", *spec, env=literal
    )
    if _both_as_entries(current, target):
        _rebuild_index_paths(repo, current, target, paths, _entries(wanted), stale)
        return
    present = repo.out("ls-files", "-z", "-s", "--", *spec, env=literal)
    info = b""
    kept: set[bytes] = set()
    for item in wanted.split(b"\0"):
        if item:
            head, _, path = item.partition(b"\t")
            mode, _kind, oid = head.decode().split()
            info += f"{mode} {oid}\t".encode() + path + b"\0"
            kept.add(path)
    for item in present.split(b"\0"):
        if item:
            path = item.partition(b"\t")[2]
            if path not in kept:
                info += b"0 " + repo.zero_oid.encode() + b"\t" + path + b"\0"
    if info:
        repo.run("update-index", "-z", "--index-info", input=info)


def _both_as_entries(current: Snapshot, target: Snapshot) -> bool:
    """Whether both indexes are kept as entries and flags (not raw bytes: unmerged entries)."""
    return (
        current.index_present
        and target.index_present
        and current.index_blob is None
        and target.index_blob is None
    )


def _entries(listing: bytes) -> dict[bytes, tuple[str, str]]:
    """`ls-tree -r -z` output as path -> (mode, object id)."""
    found: dict[bytes, tuple[str, str]] = {}
    for item in listing.split(b"\0"):
        if item:
            head, _, path = item.partition(b"\t")
            mode, _kind, oid = head.decode().split()
            found[path] = (mode, oid)
    return found


def _rebuild_index_paths(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    paths: Sequence[bytes],
    wanted: dict[bytes, tuple[str, str]],
    stale: Sequence[bytes] = (),
) -> None:
    """The index as `current` holds it, its entries and flags under `paths` made the target's,
    built on a copy of the index and put in place as a whole restore puts one
    (indexbuild.rebuild, indexfile.install_index): the flags of every other entry are not
    touched, and those under `paths` come back with their entries."""

    def under(path: bytes) -> bool:
        return any(q == b"." or path == q or path.startswith(q + b"/") for q in paths)

    spec = [os.fsdecode(p) for p in paths]
    have = repo.out(
        "ls-tree",
        "-r",
        "-z",
        "--full-tree",
        current.staged_tree,
        "--",
        *spec,
        env={"GIT_LITERAL_PATHSPECS": "1"},
    )
    edits: dict[bytes, tuple[str, str] | None] = dict.fromkeys(_entries(have))
    edits.update(wanted)
    mixed = repo.tree_edit(current.staged_tree, edits)

    def selected(flags: indexstate.IndexFlags) -> indexstate.IndexFlags:
        return indexstate.IndexFlags(
            intent_to_add={p: m for p, m in flags.intent_to_add.items() if under(p)},
            skip_worktree=frozenset(p for p in flags.skip_worktree if under(p)),
            assume_unchanged=frozenset(p for p in flags.assume_unchanged if under(p)),
        )

    scratch = repo.scratch_path("index")
    try:
        indexbuild.rebuild(
            repo,
            current_tree=current.staged_tree,
            current_flags=selected(checkpoint.load_flags(repo, current)),
            target_tree=mixed,
            target_flags=selected(checkpoint.load_flags(repo, target)),
            scratch=scratch,
            restat=stale,
        )
        indexfile.install_index(repo, scratch)
    finally:
        scratch.unlink(missing_ok=True)
