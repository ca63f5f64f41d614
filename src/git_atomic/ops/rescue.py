"""Before a restore writes anything: its target read, and the state it replaces kept as a rescue.

`Engine.rollback_to` calls these in order, between its journal writes: the target is read
only once whatever of git's it could not read through (a HEAD made a link, say) is set aside
(gitlinks.py), and the state now is saved as a rescue checkpoint, with every ignored file the
restore would overwrite (unseen.py), so `undo` brings all of it back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from git_atomic.core import failpoints, records
from git_atomic.core.config import CONFIG_FILE, PYPROJECT_FILE, budget_of
from git_atomic.core.vocab import CheckpointKind, EventKind
from git_atomic.engine import (
    capturerefs,
    checkpoint,
    gitlinks,
    layoutcheck,
    scan,
    snapshot,
    unseen,
)
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.ops.context import Context

if TYPE_CHECKING:
    from git_atomic.engine import foldermoves, restoreplan


def load_target(
    ctx: Context, target_sha: str, op_id: str | None, *, probed: bool = False
) -> tuple[Snapshot, bool, bytes | None]:
    """The target checkpoint, and whether anything of git's was set aside to read it: a
    HEAD git refuses (a link, say) is set aside before git is asked anything, a
    provisional one first, to read the target, then the target's (gitlinks.py). The refs of
    operation `op_id` (whose rescue this rollback writes) are looked into too. Last, the refs
    as the rescue's capture reads them, listed once for both (None: a branch on our refs was
    made a branch again since, the capture lists them anew). `probed`: the caller's probe
    (a capture of this instant, no command of yours since) listed them: its listing, with our
    updates since (`Repo.listed_again`), is taken."""
    repo = ctx.repo
    # The git dir gone, or moved into the worktree: refused (a packed-refs that is no file of
    # git's: set aside below).
    layoutcheck.check_layout(repo, aside=True)
    damaged = gitlinks.head_damaged(repo.git_dir)
    ours = frozenset({op_id.encode()}) if op_id is not None else frozenset()
    set_aside = gitlinks.set_aside(
        repo.git_dir, repo.common_dir, head=target_sha.encode(), thorough=ours
    )
    target = checkpoint.load(repo, target_sha)
    # A HEAD set aside, or one that was not there at all (nothing to set aside): the target's,
    # not the provisional one, which the rescue would hold and `undo` put back.
    if damaged or gitlinks.aside_holds_head(repo.git_dir):
        gitlinks.write_head(repo.git_dir, gitlinks.head_text(target.head_ref, target.head_oid))
    # Listed with the lock (early.py), or by the caller's probe (with our updates since:
    # Repo.listed_again), where nothing was set aside since: not listed again.
    early = ctx.early.take_refs() if ctx.early is not None else None
    if early is None and probed and not set_aside:
        early = repo.listed_again(*capturerefs.prefixes(repo))
    listed: bytes | None = (
        early if early is not None and not set_aside else snapshot.refs_listing(repo)
    )
    if gitlinks.branches_off_ours(repo, target.branches, listed):
        set_aside, listed = True, None
    return target, set_aside, listed


def save(
    ctx: Context,
    op_id: str | None,
    ref: str,
    target: Snapshot,
    *,
    event: EventKind,
    paths: Sequence[bytes],
    probe: Snapshot | None,
    refs_listed: bytes | None = None,
) -> tuple[Snapshot, frozenset[bytes]]:
    """The state about to be replaced, kept as a rescue checkpoint at `ref` (with every ignored
    file the restore would overwrite): the caller's `probe` of this instant when it holds them
    all, else a capture (`refs_listed`: as `load_target` listed them). Also the new files too
    large for it to hold (none with a probe)."""
    repo = ctx.repo
    too_large: frozenset[bytes] = frozenset()
    # An operation's own rollback (no probe: abort, a failed run, recover) goes by at least
    # its target's budget. A move worked out from a probe (undo, rollback --op) goes by the
    # probe's: a file it did not see is not one the move takes back.
    floor = _budget_before(repo, target) if probe is None else None
    if probe is not None and not unseen.overwritten_ignored(repo, probe.files_tree, target, paths):
        repo.update_refs(
            [f"create {ref} {probe.commit}"], message=f"git-atomic: rescue before {event}"
        )
        current = probe
    else:
        # An operation's own rollback: a folder git cannot list that it made so is refused,
        # not left behind as a folder nobody captured (scan.UNLISTABLE_SINCE).
        since = scan.UNLISTABLE_SINCE.set(target.captured_at if probe is None else None)
        # The target's scan index, where the scan starts from it, stays the worktree's
        # (scan.goes_back): a selective restore leaves the other files as they are.
        back = scan.RESTORING_TO.set(None if paths else target.files_tree)
        try:
            captured = snapshot.capture(
                repo,
                message=f"git-atomic rescue before {event}",
                ref=ref,
                also_capture=lambda tree: unseen.overwritten_ignored(repo, tree, target, paths),
                early=ctx.early,
                allow_unmerged=True,
                budget_at_least=floor,
                refs_listed=refs_listed,
            )
        finally:
            scan.RESTORING_TO.reset(back)
            scan.UNLISTABLE_SINCE.reset(since)
        too_large = captured.too_large
        current = captured.snapshot
    failpoints.hit(f"{event}:rescue-unrecorded")
    if op_id is not None:
        ctx.journal.add_checkpoint(
            op_id, CheckpointKind.RESCUE, current.commit, ref, f"before {event}"
        )
    return current, too_large


def _budget_before(repo: Repo, target: Snapshot) -> tuple[int | None] | None:
    """The size budget the target was captured under, where a configuration file was changed
    since (an operation that set `max_new_file_size = "1B"` kept its own new files out of its
    rollback): a rescue holds at least what that budget held. None when no file changed."""
    changed = False
    for name in (CONFIG_FILE, PYPROJECT_FILE):
        try:
            st = os.lstat(repo.root / name)
        except OSError:
            continue
        changed = changed or target.captured_at is None or st.st_mtime >= target.captured_at
    if not changed:
        return None
    names = [CONFIG_FILE.encode(), PYPROJECT_FILE.encode()]
    held = {e.path: e.oid for e in repo.ls_tree_at(target.files_tree, names)}
    raw = [repo.cat_blob(held[n]) if n in held else None for n in names]
    return (budget_of(raw[0], raw[1]),)


def probe_half_restored(
    ctx: Context, target: Snapshot | None = None, paths: Sequence[bytes] = ()
) -> Snapshot:
    """The tree as a restore a crash interrupted left it (its rescue was saved already): only
    read, with no ref, so `undo` still finds the state before the restore. With its `target`
    (and `paths`), the files git ignores now that the restore takes away are read too, as its
    rescue read them (`save`): files the state being left hid behind rules it changed (a
    virtualenv's own `.gitignore`), which a probe without them would leave behind."""
    repo = ctx.repo
    also = None
    if target is not None:
        also = lambda tree: unseen.overwritten_ignored(repo, tree, target, paths)  # noqa: E731
    return snapshot.capture(
        repo, message="git-atomic probe", ref=None, allow_unmerged=True, also_capture=also
    ).snapshot


def folders_back(
    ctx: Context,
    current: Snapshot,
    target: Snapshot,
    paths: Sequence[bytes],
    known: Mapping[bytes, tuple[int, int]] | None = None,
    *,
    effect: tuple[Mapping[bytes, tuple[int, int]], Sequence[str]] | None = None,
) -> tuple[Snapshot, foldermoves.Moved | None]:
    """Before a whole restore: each folder the state now has where the target had it elsewhere
    (`mv build out`), moved back whole with the files no checkpoint holds in it
    (foldermoves.py); the state the restore then starts from (probed again where a folder
    moved), and what was moved. `effect`: an effect's folders (effectfolders.py), the only
    ones that move, and the lines for those it leaves."""
    if paths or current.folder_ids is None:
        return current, None
    if effect is None and target.folder_ids is None:
        return current, None
    from git_atomic.engine import folderhidden, foldermoves  # only where both know their folders

    only = dict(effect[0]) if effect is not None else None
    moved = foldermoves.take_back(ctx.repo, current, target, dict(known or {}), only=only)
    if effect is not None and effect[1]:
        moved = records.replace(moved, left=(*effect[1], *moved.left))
    if moved.back or moved.made:
        probed = probe_half_restored(ctx)
        files, left = folderhidden.hidden_there(ctx.repo, current, probed, moved.back, target)
        current = records.replace(probed, files_tree=files)
        if left:
            moved = records.replace(moved, left=(*moved.left, *folderhidden.said_left(left)))
    return current, moved


def tell_folders_back(moved: foldermoves.Moved | None, outcome: restoreplan.Outcome) -> None:
    """Say what `folders_back` did: a note for each folder moved back, a problem for each
    left."""
    if moved is None:
        return
    from git_atomic.ops import output

    for line in moved.notes:
        output.say(f"git-atomic: note: {line}")
    outcome.notes += moved.notes
    outcome.problems += moved.left
    from git_atomic.engine import folderplace  # what the restore took of those left: said now

    outcome.problems += [folderplace.refused_line(moved.root, f, t) for f, t in moved.refused]
    outcome.folders_moved.update(moved.was)
