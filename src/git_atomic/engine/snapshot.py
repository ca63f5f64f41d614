"""Capture of the exact worktree state (HEAD, branches, index, files) into a checkpoint commit.

The format of what is written is checkpoint.py's. A capture reads three things at once: the
index's staged side (staged.py), the worktree's files (capturedisk.py: the scan, scan.py,
started first so that both run together on two cores), and HEAD, the branches and any git
command left half way (gitstate.py). Then it adds what git would not show it (files an index
flag hides, ignore files that ignore themselves, `protect`ed files, files a restore is about to
overwrite), and writes the checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from git_atomic.core import records
from git_atomic.core.config import capture_settings
from git_atomic.core.errors import RefusedError, UnholdableName
from git_atomic.core.records import dataclass, field
from git_atomic.engine import (
    capturerefs,
    checkpoint,
    checkpointtags,
    dotgit,
    folderids,
    folders,
    folderwalk,
    gitdirfiles,
    gitlinks,
    gitside,
    heldanyway,
    ignoredthen,
    indexstate,
    layoutcheck,
    staged,
    statuslist,
)
from git_atomic.engine.capturedisk import Disk, Files
from git_atomic.engine.checkpoint import Parts, Snapshot
from git_atomic.engine.early import Early
from git_atomic.engine.git import Repo
from git_atomic.engine.gitside import GitSide


@dataclass(frozen=True)
class Captured:
    snapshot: Snapshot
    untracked: frozenset[bytes]  # paths untracked (not ignored) at capture time
    commit_tree: str | None  # commits mode: the files a commit may hold (filtered bytes)
    flags: indexstate.IndexFlags = field(default_factory=indexstate.IndexFlags)
    too_large: frozenset[bytes] = frozenset()  # new untracked files over the budget: not held


def capture(
    repo: Repo,
    *,
    message: str,
    ref: str | None,
    untracked_of_op: frozenset[bytes] | None = None,
    before: ignoredthen.Before | None = None,
    for_commit: bool = False,
    effect_base: bool = False,
    also_capture: Callable[[str], Sequence[bytes]] | None = None,
    early: Early | None = None,
    allow_unmerged: bool = False,
    known_files: frozenset[bytes] = frozenset(),
    budget_at_least: tuple[int | None] | None = None,
    refs_listed: bytes | None = None,
) -> Captured:
    """Write a checkpoint of the worktree as it is now, never touching the user's index.

    `ref`: created (must not exist) in the same step that finishes the objects; None for a probe.
    `for_commit`: also build the tree of files a visible commit may hold (commits.py), leaving
    out `untracked_of_op` — files that were untracked before the operation stay untracked — or,
    when it is None, every file untracked now; and the untracked files there before PRE-OP
    (`before`, ignoredthen.there_before): ignored then (`.env`, `target/`), not the operation's,
    though it changed the rules that hid them.
    `effect_base`: the PRE-OP of a commits-mode operation: keep in it what the operation's
    commits are measured from (`commit-base`, `untracked`).
    `also_capture(files_tree)`: paths to add even though git ignores them now (a rescue must hold
    every file that a restore is about to overwrite).
    `early`: may hold a scan of the worktree started with the lock (early.py); the first capture
    of the command takes it, which is why a command starts one only when nothing can change the
    worktree between its lock and that capture.
    `allow_unmerged`: a rescue or a probe keeps unmerged entries (in the raw index) instead of
    refusing them; a state an operation starts from or ends in must have none.
    `known_files`: files held whatever their size, as if an earlier capture had seen them (an
    agent turn's steps made them without one: turnsteps.py).
    `refs_listed`: the refs of `REFS` as the caller listed them (`Repo.refs_listing`) just
    before, with nothing of ours changed since: not listed again (a rollback lists them to
    look for branches on our refs first: rescue.py).
    `.gitignore` and `.gitattributes` files that a rule ignores (typically themselves) are
    always held: left behind by a rollback, one would hide files from every later checkpoint.
    Ignored files matching the configuration's `protect` patterns are always held, and new
    untracked files over its `max_new_file_size` never (`Captured.too_large`).
    """
    # The git dir moved into the worktree under another name (an operation's `mv .git x && ln
    # -s x .git`): its files would be held as yours, and a restore would delete git's own.
    # (A packed-refs that is no file of git's: set aside below, before git reads a ref.)
    layoutcheck.check_layout(repo, aside=True)
    if not allow_unmerged:  # a state an operation starts from or ends in
        refuse_blocked_index(repo, early)
    # The configuration as it is now: a command or gate may have run `git config` since it was
    # read (a filter of its own would run inside our calls, and be held as what git reads).
    repo.config_current()
    # Listed with the lock, before the scan the command's first capture takes (early.py).
    early_refs = early.take_refs() if early is not None else None
    if refs_listed is None:
        refs_listed = early_refs
    # A ref or reflog made a link is read through by git, and our own folder made one would
    # take every scratch file outside: set aside first (gitlinks.py).
    if gitlinks.set_aside(repo.git_dir, repo.common_dir):
        refs_listed = None  # a ref was set aside: listed again
    limit, protect = capture_settings(repo.root)
    if budget_at_least is not None:  # a rescue: never a smaller budget than its target's
        (floor,) = budget_at_least
        limit = None if limit is None or floor is None else max(limit, floor)
    disk = Disk(repo, early, protect)
    try:
        git_side = gitside.read(repo, disk, allow_unmerged=allow_unmerged, refs_listed=refs_listed)
        held = _read_files(repo, disk, git_side.side, limit, also_capture, known_files)
        unholdable = [p for p in held.files.added if statuslist.dot_git_variant(p)]
        unholdable += sorted(disk.unholdable)
        if not allow_unmerged:  # a state an operation starts from or ends in
            _refuse_unholdable(unholdable)
        # Repositories of their own git reads as folders (a rescue names them too: `show`).
        read_as_folders, strays = _refuse_stray_dot_git(
            repo, disk.walked, held.files.tree, refuse=not allow_unmerged
        )
        parts = _parts(repo, git_side, held, effect_base=effect_base)
        if unholdable or strays:  # a rescue's, or a probe's: a restore from it names them
            left = statuslist.unholdable_left([*unholdable, *strays])
            parts = records.replace(parts, unholdable=left)
        if read_as_folders:
            parts = records.replace(
                parts, repositories=checkpoint.paths_blob(repo, read_as_folders)
            )
        commit_tree = None
        if for_commit:
            commit_tree = _commit_tree(
                repo, git_side.side, held, untracked_of_op, before, read_as_folders
            )
            # Kept by the checkpoint: the operation's next commit is measured from it.
            parts = records.replace(parts, commit_base=commit_tree)
        in_progress = git_side.in_progress
        kept_by_state = in_progress.keep if in_progress is not None else ()
        if git_side.stash is not None:
            kept_by_state = (*kept_by_state, *git_side.stash[1])
        snap = checkpoint.write(repo, parts, message=message, keep=kept_by_state)
        if disk.scanning is not None and disk.walked is not None:  # kept with the clock
            disk.scanning.folder_ids_listed = snap.folder_ids
        disk.publish(ref, snap.commit, held.files.tree, message)
        flags, too_large = git_side.side.flags, held.files.too_large
        return Captured(snap, held.untracked, commit_tree, flags, too_large=too_large)
    finally:
        disk.close()


def refuse_blocked_index(repo: Repo, early: Early | None = None) -> None:
    """An index git would wait on for ever (a FIFO, a device, a split index whose shared index
    is one) is no state to start an operation from, nor to end one in: refused by name, exit
    3, nothing changed. (A link there is git dir state, kept as the link: gitstate.py. A
    rescue reads such an index as none, and its restore puts a regular index back: an
    operation's rollback, where the operation made it; `undo` and the rollback of a finished
    operation, where it is yours, refuse it here as `begin` does, since their rescue could not
    hold it and `undo` would not give it back.)"""
    blocked = gitdirfiles.index_blocked(repo.git_dir)
    if blocked is None or repo.index_path.is_symlink():
        return
    if early is not None:
        early.drop(stop=True)
    raise RefusedError(
        f"{blocked}, so no checkpoint can be made; git-atomic changed nothing",
        hint="remove it (git then reads no index) or put a regular index there, then run this "
        "again (`git atomic recover` where `git atomic status` shows an operation interrupted)",
    )


def _refuse_unholdable(unholdable: Sequence[bytes]) -> None:
    """A file or folder named `.git` in another letter case (`.GIT`, `sub/.Git/`), or a
    `.gitmodules` that is a symbolic link (`unholdable`: those git listed as untracked, and
    those the reading found): git refuses to track it, so no index a capture reads the tree
    through can hold it, and a checkpoint would miss it (an operation that deleted it lost it).
    Refused before the operation changes anything; a rescue leaves such a name where it is,
    and its restore names it (Snapshot.unholdable)."""
    for path in unholdable:
        what = statuslist.unholdable_what(path)
        raise UnholdableName(path.decode("utf-8", "backslashreplace"), what)


def _refuse_stray_dot_git(
    repo: Repo, walked: folderwalk.Walk | None, tree: str, *, refuse: bool
) -> tuple[list[bytes], list[bytes]]:
    """A `.git` in a folder that is no repository after all (straydotgit.py): no checkpoint
    holds it, so an operation that deleted its folder lost it. Refused as the names above are,
    where the walk of the folders found one (folderwalk.py). Returns the repositories of their
    own the tree has as folders all the same (`git init sub` in a folder of files: git lists
    their files as the folder's while the index has paths under it), and, where not refused,
    each such `.git` (a rescue's: its restore names them)."""
    folders = [f for f in walked.own_repositories if f] if walked is not None else []
    if not folders:
        return [], []
    from git_atomic.engine import straydotgit  # only then: a capture's usual way has none

    strays, as_folders = straydotgit.found(repo, folders, tree)
    if strays and refuse:
        raise UnholdableName(
            strays[0].decode("utf-8", "backslashreplace"), "a .git that is no repository"
        )
    return as_folders, strays


def refs_listing(repo: Repo) -> bytes:
    """The refs a capture reads (`capture`'s `refs_listed`)."""
    return capturerefs.listing(repo)


@dataclass(frozen=True)
class _Held:
    """The files as the checkpoint holds them: those read, and what git did not show."""

    files: Files
    tree: str
    untracked: frozenset[bytes]  # not ignored, and not in the index (intent-to-add aside)
    specials: Mapping[bytes, int]
    empty_folders: frozenset[bytes] | None  # all of them; None: git could not list them
    where_files_went: set[bytes]
    captured_at: float
    modes: Mapping[bytes, int]  # permission bits a tree cannot keep (heldanyway.private_modes)
    folder_ids: Mapping[bytes, tuple[int, int]]  # folderwalk.Walk.ids: {} where no walk was made
    # Where no walk was made as Watchman said no folder changed: the last walk's blob of them
    folder_ids_kept: str | None = None


def _read_files(
    repo: Repo,
    disk: Disk,
    side: staged.Staged,
    limit: int | None,
    also_capture: Callable[[str], Sequence[bytes]] | None,
    known_files: frozenset[bytes] = frozenset(),
) -> _Held:
    captured_at = time.time()
    files = disk.finish(side, limit, exempt=known_files)
    specials = dict(files.specials)
    modes = dict(files.modes)
    files_tree = disk.held_anyway(files, side.flags, also_capture, limit, specials, modes)
    untracked = frozenset(files.added).difference(side.flags.intent_to_add)
    every = disk.empty_folders(files, side.tree)
    specials.update(_walked_specials(repo, disk, specials))
    if disk.walked is not None:
        # The bits of every folder, those holding clean files alone too, which no lstat of a
        # file's above looked at: the walk stats each folder anyway (folderwalk.py).
        for folder, bits in disk.walked.modes.items():
            modes.setdefault(folder + b"/", bits)
    # Files gone (tracked ones, and those the last scan saw) may be empty folders now: git
    # lists no folder its index has files in.
    where_files_went = folders.where_files_went(repo, files.gone)
    ids = disk.walked.ids if disk.walked is not None else {}
    kept = None
    if disk.walked is None and disk.scanning is not None:
        kept = folderids.still_kept(repo, disk.scanning.folder_ids_known)
    return _Held(
        files,
        files_tree,
        untracked,
        specials,
        every,
        where_files_went,
        captured_at,
        modes,
        ids,
        kept,
    )


def _walked_specials(repo: Repo, disk: Disk, known: Mapping[bytes, int]) -> dict[bytes, int]:
    """The FIFOs, sockets and devices elsewhere than `known` (git lists none of them), so that
    a restore to this state makes a FIFO an operation removed again, and names a socket it
    cannot: those the walk found; where Watchman said no folder changed (no walk made), those
    the last walk found, kept with its clock (or a walk made for them, where none were kept:
    its kept records make it cheap)."""
    scanning = disk.scanning
    if disk.walked is None and scanning is not None and scanning.empty_known is not None:
        if scanning.specials_known is not None:
            return {p: m for p, m in scanning.specials_known.items() if p not in known}
        disk.walk_anyway()
    if disk.walked is None:
        return {}
    found = heldanyway.walked_specials(repo, disk.walked.specials, {})
    if scanning is not None:  # kept with the clock (watcher.remember)
        scanning.specials_listed = found
    return {p: m for p, m in found.items() if p not in known}


def _parts(repo: Repo, git_side: GitSide, held: _Held, *, effect_base: bool) -> Parts:
    """What the checkpoint holds (its blobs written). `effect_base`: also what a commits-mode
    operation's commits are measured from."""
    in_progress = git_side.in_progress
    empty_folders = (held.empty_folders or set()) | held.where_files_went
    parts = Parts(
        files_tree=held.tree,
        staged_tree=git_side.side.tree,
        converting=held.files.converting,
        head_ref=git_side.head_ref,
        head_oid=git_side.head_oid,
        branches=git_side.branches,
        index_blob=git_side.index_blob,
        index_mtime_ns=git_side.index.mtime_ns if git_side.raw_index else None,
        index_split=git_side.index_split,
        index_whole=git_side.index_whole,
        index_shared=git_side.index_shared,
        index_entries=git_side.entries_blob,
        index_present=git_side.index.present,
        index_version=git_side.index_version,
        index_flags=git_side.flags_blob,
        empty_folders=checkpoint.paths_blob(repo, empty_folders),
        all_empty_folders=held.empty_folders is not None,
        too_large=checkpoint.paths_blob(repo, held.files.too_large),
        too_large_ids=checkpoint.too_large_ids_blob(
            repo, heldanyway.identities(repo, sorted(held.files.too_large))
        ),
        specials=checkpoint.specials_blob(repo, held.specials),
        modes=checkpoint.modes_blob(repo, held.modes),
        attributes=checkpoint.attributes_blob(
            repo, heldanyway.attributes_of(repo, sorted(p for p in held.modes if p[-1:] != b"/"))
        ),
        git_state=in_progress.tree if in_progress is not None else None,
        info_exclude=git_side.rules,
        info_attributes=git_side.attributes,
        sparse_checkout=git_side.sparse,
        shallow=git_side.shallow,
        branch_config=git_side.branch_config,
        dot_git=dotgit.read(repo),
        captured_at=held.captured_at,
        stash=git_side.stash[0] if git_side.stash is not None else None,
        stash_known=git_side.stash is not None,
        folder_ids=held.folder_ids_kept or folderids.blob(repo, held.folder_ids),
        tags=None if git_side.tags is None else checkpointtags.tags_blob(repo, git_side.tags),
        symrefs=git_side.symrefs,
    )
    if effect_base:
        # Measured as the commits are: your git's view of the files (a file outside the
        # sparse-checkout patterns is no deletion, a filtered one no change of yours).
        parts = records.replace(
            parts,
            commit_base=_commit_tree(repo, git_side.side, held, None, None),
            untracked=checkpoint.paths_blob(repo, held.untracked),
        )
    return parts


def _commit_tree(
    repo: Repo,
    side: staged.Staged,
    held: _Held,
    untracked_of_op: frozenset[bytes] | None,
    before: ignoredthen.Before | None,
    repositories: Sequence[bytes] = (),
) -> str:
    """The files a visible commit may hold, as your git would commit them (commitview.py: the
    checkpoint's `files` keeps the disk's). Files untracked before the operation stay out of its
    commits, unless the operation itself started tracking them (then they are its to commit);
    with `untracked_of_op` None, every file untracked now stays out."""
    from git_atomic.engine import commitview  # commits mode's only: not on a checkpoint's way

    untracked = held.untracked
    leave_out = untracked if untracked_of_op is None else untracked_of_op & untracked
    new = sorted(untracked - untracked_of_op) if untracked_of_op is not None else []
    if new and before is not None:
        leave_out = leave_out | set(ignoredthen.there_before(repo, new, before, held.tree))
    # A repository of its own git reads as a folder (the index has paths under it): its
    # untracked files are its own, never committed on your branch as files.
    inside = tuple(r + b"/" for r in repositories)
    if inside:
        leave_out = leave_out | {p for p in untracked if p.startswith(inside)}
    return commitview.as_git_would(
        repo,
        staged_tree=side.tree,
        flags=side.flags,
        tree=held.files.tree,
        raw_tree=held.files.on_disk,
        leave_out=frozenset(leave_out),
    )
