"""What an operation is about to change in the git dir beside its checkpoints, noted in its
journal detail when it begins (`note_at_begin`: on every `begin`'s and checkpoint's way, a few
`lstat`s and small reads) and what it leaves there when it closes (`note_at_close`). Put back
by gitdirback.py, which says what each note is; split from it so that noting imports none of
the putting back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo


def note_at_begin(repo: Repo, detail: dict[str, object]) -> None:
    """Into the journal detail of an operation about to begin: the git dir's state its
    rollback puts back."""
    # To name one the operation removes (none of its files come back) or adds (it stays).
    detail["worktrees"] = repo.linked_worktrees()
    if detail["worktrees"]:  # to tell one it moves (`git worktree move`) from one removed
        detail["worktree_names"] = names = repo.linked_worktree_names()
        from git_atomic.engine import worktreelocks  # their locks: a lstat each

        detail[worktreelocks.BEFORE] = worktreelocks.note(repo, names.values())
    if not os.path.lexists(repo.common_dir / "packed-refs"):
        # packedrefs.ABSENT (not imported on this path): its rollback removes one it
        # leaves with only git's header (packedrefs.py)
        detail["packed_refs_absent"] = True
    if os.path.lexists(repo.common_dir / "refs" / "original"):  # (rare: a filter-branch's)
        from git_atomic.engine import originalrefs  # its copies, yours: read from the files

        copies = originalrefs.note_on_disk(repo)
        if copies is not None:
            detail[originalrefs.BEFORE] = copies
    if not os.path.lexists(repo.common_dir / "objects" / "info" / "alternates"):
        detail["alternates"] = ""  # alternates.BEFORE: its rollback names one it adds
    else:  # (rare: a shared clone) its text, to name a change of it
        from git_atomic.engine import alternates

        text = alternates.read(repo)
        if text is not None:
            detail[alternates.BEFORE] = text
    if os.path.lexists(repo.common_dir / "refs" / "replace") or os.path.lexists(
        repo.common_dir / "packed-refs"
    ):  # replace refs (`git replace`), taken back by its rollback (replacerefs.py)
        from git_atomic.engine import replacerefs

        detail[replacerefs.BEFORE] = replacerefs.note(repo)
    else:
        detail["replace_refs"] = {}  # none: no git process
    from git_atomic.engine import gitfolders  # the ref folders git leaves empty

    absent = gitfolders.absent(repo.git_dir)  # (a bisect's refs/bisect/): lstat alone
    if absent:
        detail[gitfolders.ABSENT] = absent
    absent = gitfolders.absent_common(repo.common_dir)  # (`git replace`'s refs/replace/)
    if absent:
        detail[gitfolders.COMMON_ABSENT] = absent
    # The submodules checked out: where there is a `.gitmodules`, or their git dirs (a sparse
    # checkout may leave `.gitmodules` out of the worktree: git reads the index's, as `note`
    # does; t7418). Two lstat calls: no git process where there is neither.
    if os.path.lexists(repo.root / ".gitmodules") or os.path.lexists(repo.common_dir / "modules"):
        from git_atomic.ops import submodulesnoted

        detail[submodulesnoted.KEY] = submodulesnoted.note(repo)
        detail[submodulesnoted.SINCE] = submodulesnoted.clock()
    from git_atomic.engine import memofiles  # ORIG_HEAD, put back by its rollback

    orig_head = memofiles.read(repo)
    if orig_head is not None:
        detail[memofiles.BEFORE] = orig_head
    for key in memofiles.memos():  # info/grafts, COMMIT_EDITMSG
        text = (
            memofiles.read_memo(repo, key)
            if os.path.lexists(memofiles.memo_path(repo, key))
            else ""  # none (the usual case for grafts): one lstat
        )
        if text is not None:
            detail[key] = text
    from git_atomic.engine import coreplace  # core.bare, core.worktree: two small reads

    # and the digests of the files' lines: its rollback names the settings it changed
    detail[coreplace.BEFORE], detail[coreplace.LINES] = coreplace.note_with_lines(repo)


def note_at_close(
    repo: Repo, detail: Mapping[str, object], *, op_id: str | None = None
) -> Mapping[str, object]:
    """`detail` with what the operation leaves in the git dir as it closes: a later rollback
    of its effect takes back only what is still so. `op_id`: the reflogs it rewrote while it
    ran are noted too (those alone a later move writes back: not one you expire after it)."""
    if op_id is not None and "reflogs_rewritten" not in detail:  # gitdirback.REFLOGS_REWRITTEN
        from git_atomic.engine import reflogkeep  # (imported at its PRE-OP already)

        detail = {**detail, "reflogs_rewritten": reflogkeep.rewritten(repo, op_id)}
    detail = _with_worktrees_removed(repo, detail)
    detail = _with_orig_head_left(repo, detail)
    locks = detail.get("worktree_locks")  # worktreelocks.BEFORE
    if isinstance(locks, dict) and locks:  # those it leaves: a later rollback, as for ORIG_HEAD
        from git_atomic.engine import worktreelocks

        detail = {**detail, worktreelocks.LEFT: worktreelocks.note(repo, map(str, locks))}
    if "core_place" in detail:  # coreplace.BEFORE: a later rollback takes back what is still so
        from git_atomic.engine import coreplace

        core, lines = coreplace.note_with_lines(repo)
        detail = {**detail, coreplace.LEFT: core}
        if coreplace.LINES in detail:  # and names the config lines it left (configmade.py)
            detail[coreplace.LINES_LEFT] = lines
    if "replace_refs" in detail and (
        detail["replace_refs"]
        or os.path.lexists(repo.common_dir / "refs" / "replace")
        or os.path.lexists(repo.common_dir / "packed-refs")
    ):  # the replace refs it leaves: a later rollback takes back those still so
        from git_atomic.engine import replacerefs

        detail = {**detail, replacerefs.LEFT: replacerefs.note(repo)}
    if original_made(repo, detail):
        from git_atomic.engine import originalrefs  # filter-branch's copies it leaves

        detail = {**detail, originalrefs.LEFT: originalrefs.note(repo)}
    if detail.get("packed_refs_absent") and os.path.lexists(
        repo.common_dir / "packed-refs"
    ):  # one it made: the refs it names then are its to write loose again (packedrefs.py)
        from git_atomic.engine import packedrefs

        names = packedrefs.names(repo)
        if names is not None:
            detail = {**detail, packedrefs.LEFT: names}
    return detail


def _with_orig_head_left(repo: Repo, detail: Mapping[str, object]) -> Mapping[str, object]:
    """`detail` with the ORIG_HEAD the operation leaves (memofiles.py), where it noted its
    PRE-OP's: a later rollback of its effect puts that back only while this one stands."""
    from git_atomic.engine import memofiles

    for key in memofiles.memos():  # the grafts (COMMIT_EDITMSG) it leaves: a later
        if detail.get(key) or (  # rollback of its effect takes back those still so
            key in detail and os.path.lexists(memofiles.memo_path(repo, key))
        ):
            text = memofiles.read_memo(repo, key)
            if text is not None:
                detail = {**detail, memofiles.left_key(key): text}
    if memofiles.BEFORE not in detail:
        return detail
    left = memofiles.read(repo)
    return {**detail, memofiles.LEFT: left} if left is not None else detail


def _with_worktrees_removed(repo: Repo, detail: Mapping[str, object]) -> Mapping[str, object]:
    """`detail` with the linked worktrees gone since the operation began (worktreesgone.py),
    where it recorded any."""
    if not detail.get("worktrees"):
        return detail
    from git_atomic.ops import worktreesgone

    gone = worktreesgone.removed(repo, detail)
    away = worktreesgone.moved(repo, detail)
    out = {**detail, worktreesgone.REMOVED: gone} if gone else detail
    return {**out, worktreesgone.MOVED: away} if away else out


def original_made(repo: Repo, details: Mapping[str, object]) -> bool:
    """Whether the copies `git filter-branch` keeps in `refs/original/` are to be looked at
    (originalrefs.py): the operation's PRE-OP noted those there were, or had none
    (gitfolders.COMMON_ABSENT) and there may be one of its now, a folder or in a `packed-refs`
    it made. A few lstat calls."""
    if "original_refs_before" in details:  # originalrefs.BEFORE: copies of yours were noted
        return True
    noted = details.get("common_folders_absent")
    if not isinstance(noted, list) or "refs/original" not in noted:
        return False
    return os.path.lexists(repo.common_dir / "refs" / "original") or bool(
        details.get("packed_refs_absent") and os.path.lexists(repo.common_dir / "packed-refs")
    )
