"""What a rollback would put back in the git dir beside its checkpoints (gitdirback.py), said
by a dry run (`rollback --dry-run`, moving.py) and written nowhere."""

from __future__ import annotations

import os
from collections.abc import Sequence

from git_atomic.core.journalrows import CheckpointRow, OpRow
from git_atomic.core.vocab import CheckpointKind
from git_atomic.engine import checkpoint
from git_atomic.engine.git import Repo
from git_atomic.ops import gitdirback, gitdirnoted


def foresee(
    repo: Repo, op: OpRow, checkpoints: Sequence[CheckpointRow], *, own: bool = False
) -> list[str]:
    """What put_back_git_files and mend_reflogs would write in the git dir for `op` now, one
    line each, for a dry run (nothing written). `checkpoints`: the op's, oldest first."""
    from git_atomic.engine import gitfolders, memofiles, reflogkeep

    details = op.details
    lines = []
    if checkpoints and checkpoints[0].kind == CheckpointKind.PRE_OP:
        snap = checkpoint.load(repo, checkpoints[0].sha)
        rewritten = reflogkeep.foresee(repo, op.id, snap.branches)
        only = details.get(gitdirback.REFLOGS_REWRITTEN)  # as mend_reflogs: its own alone
        if isinstance(only, list):
            rewritten = [name for name in rewritten if name in only]
        for name in rewritten:
            shown = name.removeprefix("refs/heads/")
            if name.startswith("worktrees/"):
                shown = f"HEAD of the linked worktree {name.split('/')[1]}"
            lines.append(f"reflog of {shown}: written back as before the operation (it rewrote it)")
        pruned = reflogkeep.gone_kept(repo, op.id, rewritten) if rewritten else []
        if pruned:
            lines.append(gitdirback.pruned_words(rewritten, pruned))
        last = checkpoint.load(repo, checkpoints[-1].sha) if checkpoints[1:] else None
        if last is not None and last.repositories != snap.repositories:
            from git_atomic.ops import reposmade  # a .git it made in a folder of files: stays

            lines += reposmade.lines(repo, snap.repositories, last.repositories, ())
    orig = memofiles.foresee(repo, details, own=own)
    if orig is not None:
        lines.append(
            f"ORIG_HEAD: back to {orig.strip()[:12]}, as before the operation"
            if orig
            else "ORIG_HEAD: removed (there was none before the operation)"
        )
    for key in memofiles.memos():
        text = details.get(key)
        if not isinstance(text, str):
            continue
        now = memofiles.read_memo(repo, key)
        if now is None or now == text or not (own or now == details.get(memofiles.left_key(key))):
            continue
        if key == memofiles.GRAFTS:
            lines.append(gitdirback.GRAFTS_SAID[bool(text)].replace(" is removed", ": removed"))
        else:
            lines.append(
                "COMMIT_EDITMSG: back to the message it held before the operation"
                if text
                else "COMMIT_EDITMSG: removed (there was none before the operation)"
            )
    if "submodules" in details:  # as put_back_git_files: one checked out since is said too
        from git_atomic.ops import submodulesback

        end = checkpoints[-1].sha if checkpoints else None
        lines += submodulesback.put_back(repo, details, end, dry_run=True)
    if details.get("packed_refs_absent") and os.path.lexists(repo.common_dir / "packed-refs"):
        from git_atomic.engine import packedrefs

        only = packedrefs.its_own(details.get(packedrefs.LEFT), own=own)
        found = None if only is packedrefs.NOT_ITS else packedrefs.foresee(repo, only)
        if found is not None:
            n, gone = found
            if n == 0 and gone:  # (`git branch -D` of a loose branch writes one so)
                lines.append("packed-refs: removed (git's header alone, made by the operation)")
            else:
                lines.append(
                    f"packed-refs: {n} ref{'s' if n != 1 else ''} written as loose files again"
                    + (
                        ", the file removed"
                        if gone
                        else ", the file stays with the refs packed since"
                    )
                )
    if "replace_refs" in details:
        from git_atomic.engine import replacerefs

        lines += replacerefs.foresee(repo, details, own=own)
    lines += [
        f"{f}/: removed (empty, made by the operation)" for f in gitfolders.foresee(repo, details)
    ]
    if details.get("alternates") or (
        isinstance(details.get("alternates"), str)
        and os.path.lexists(repo.common_dir / "objects" / "info" / "alternates")
    ):
        from git_atomic.engine import alternates

        lines += alternates.put_back(repo, details, dry_run=True)
        lines += alternates.lines(repo, details)
    if "core_place" in details:  # coreplace.BEFORE
        from git_atomic.engine import coreplace

        lines += coreplace.put_back(repo, details, own=own, dry_run=True)
    if details.get("worktree_locks"):  # worktreelocks.BEFORE
        from git_atomic.engine import worktreelocks

        lines += worktreelocks.put_back(repo, details, own=own, dry_run=True)
    if gitdirnoted.original_made(repo, details):
        from git_atomic.engine import originalrefs

        lines += originalrefs.put_back(repo, details, own=own, dry_run=True)
    return lines
