"""What an operation changes in the git dir beside its checkpoints, which no checkpoint holds:
noted when it begins (`note_at_begin`) and when it closes (`note_at_close`), in its journal
detail (gitdirnoted.py); put back by whatever takes its effect back (`put_back_beside`: its own
rollback, `rollback --op`, `undo`, `recover`, an agent turn's take-back); foreseen by a dry run
(gitdirforesee.py).

What: the reflogs it rewrote (reflogkeep.py), ORIG_HEAD, `info/grafts` and COMMIT_EDITMSG
(memofiles.py), a header-only or new `packed-refs` (packedrefs.py), replace refs
(replacerefs.py), an alternate object store (alternates.py), the ref folders git leaves empty
(gitfolders.py), the copies `git filter-branch` keeps of your branches (originalrefs.py),
submodules de-initialised, moved or checked out (submodulesback.py), linked worktrees
removed, moved or added (worktreesgone.py), and their locks (worktreelocks.py),
`core.bare`, `core.worktree` and the sparse-checkout settings (coreplace.py); the other
settings of the config are only named, from a digest of each line noted beside them
(configmade.py). Each is noted with a few `lstat`s and small reads where there is nothing to
note (the usual case), each module imported only where there is something of its kind: no
git process on a checkpoint's path, but one (`git config --blob`) where the worktree has a
`.gitmodules`; the replace refs are read from their files (`for-each-ref` only where those
cannot be trusted: replacerefs.on_disk). An agent turn notes the same before and after each
call that takes a checkpoint (agents/turnsteps.py, turnbeside.py).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from git_atomic.engine import checkpoint
from git_atomic.ops import gitdirnoted

if TYPE_CHECKING:
    from git_atomic.engine.git import Repo


# An agent turn's journal detail: the reflogs its calls rewrote (turnsteps.py); absent, every
# reflog the operation's PRE-OP kept is the operation's to mend.
REFLOGS_REWRITTEN: Final = "reflogs_rewritten"


def put_back_beside(
    repo: Repo,
    details: Mapping[str, object],
    *,
    pre_op: str,
    op_id: str,
    own: bool,
    problems: list[str],
    end: str | None,
    worktrees: bool = False,
    changed: dict[str, object] | None = None,
    ended: float | None = None,
    done: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """After an effect was taken back (an operation's rollback, `rollback --op`, `recover`, an
    agent turn's take-back): what its checkpoints do not hold, beside the files, put back as
    its `details` noted it when it began (put_back_git_files), the reflogs it rewrote written
    back (mend_reflogs) and, with `worktrees`, each linked worktree it removed or added named
    (worktreesgone.py). Returns the reflogs mended and the lines to say. `changed`: as
    put_back_git_files fills it, and `done`."""
    lines = put_back_git_files(
        repo, details, own=own, problems=problems, end=end, changed=changed, ended=ended, done=done
    )
    rewritten = details.get(REFLOGS_REWRITTEN)  # (an agent turn's: only those its calls did)
    only = [str(n) for n in rewritten] if isinstance(rewritten, list) else None
    mended, unmended = mend_reflogs(repo, pre_op, op_id, only=only)
    lines += unmended
    # Tags it made, deleted or moved: left, but named (tagsleft.py, imported only then); and
    # the folders of files it made repositories of their own (reposmade.py): one listing each.
    listed = (_top_entries(repo, pre_op), _top_entries(repo, end)) if end else None
    tags = (listed[0].get(checkpoint.TAGS), listed[1].get(checkpoint.TAGS)) if listed else None
    if listed and listed[1].get(checkpoint.REPOSITORIES) != listed[0].get(checkpoint.REPOSITORIES):
        from git_atomic.ops import reposmade

        had, has = (entries.get(checkpoint.REPOSITORIES) for entries in listed)
        lines += reposmade.lines(repo, had, has, problems)
    if tags is not None and tags[0] is not None and tags[1] is not None and tags[0] != tags[1]:
        from git_atomic.ops import tagsleft

        lines += tagsleft.lines(repo, tags[0], tags[1])
    # (Imported only where there was or is a linked worktree: an abort's usual way does not.)
    if (
        worktrees
        and "worktrees" in details
        and (details["worktrees"] or repo.has_other_worktrees())
    ):
        from git_atomic.ops import worktreesgone

        lines += worktreesgone.said(repo, details)
    return mended, lines


def mend_reflogs(
    repo: Repo, pre_op: str, op_id: str, *, only: Collection[str] | None = None
) -> tuple[list[str], list[str]]:
    """Write back the reflogs the operation rewrote (`reflog expire`, `reflog delete`) as its
    PRE-OP kept them, plus the lines written since (reflogkeep.mend): by its own rollback, and
    by any later one that takes its effect back (`rollback --op`, `undo`), since `branch@{1}`
    may be all that names a commit. The names mended, and one line for each left (its ref
    locked). Nothing is ever removed from a reflog: it is idempotent."""
    from git_atomic.engine import reflogkeep  # imported only here (reflogkeep.py)

    snap = checkpoint.load(repo, pre_op)
    mended, unmended = reflogkeep.mend(repo, op_id, snap.branches, only=only)
    lines = [  # said: its @{1} and older are gone unless you write it back
        f"the reflog of {name.removeprefix('refs/heads/')} the operation rewrote was not "
        f"written back: {repo.common_dir / f'{name}.lock'} exists (a git command holds it, "
        "or died); left as it is"
        for name in unmended
    ]
    pruned = reflogkeep.gone(repo, mended) if mended else []
    if pruned:  # written back, the reflogs name commits git no longer has
        lines.append(pruned_words(mended, pruned))
    return mended, lines


def pruned_words(names: Sequence[str], pruned: Sequence[str]) -> str:
    """How a rollback (and its dry run) says that the reflogs it writes back name commits git
    no longer has (reflogkeep.gone)."""
    shown = ", ".join(n.removeprefix("refs/heads/") for n in names)
    ids = ", ".join(oid[:12] for oid in pruned[:3]) + (", ..." if len(pruned) > 3 else "")
    many = len(pruned) > 1
    return (
        f"the reflogs written back ({shown}) name {len(pruned)} commit{'s' if many else ''} "
        f"git no longer has ({ids}): pruned while the operation ran (`git gc` after `reflog "
        f"expire`), no rollback can make {'them' if many else 'it'} again"
    )


def _top_entries(repo: Repo, commit: str) -> dict[bytes, str]:
    """A checkpoint's top-level entries, {name: object id}."""
    return {e.path: e.oid for e in repo.ls_tree(commit)}


def put_back_git_files(
    repo: Repo,
    details: Mapping[str, object],
    *,
    own: bool = False,
    problems: list[str],
    end: str | None = None,
    changed: dict[str, object] | None = None,
    ended: float | None = None,
    done: list[str] | None = None,
) -> list[str]:
    """A `packed-refs` holding only git's header, where the operation's PRE-OP had none, goes
    (packedrefs.py): after its rollback, and any later one that takes its effect back. So does
    the ORIG_HEAD it wrote (memofiles.py; `own`: its own rollback, whatever is there now), and
    a submodule it de-initialised is checked out again (submodulesback.py): the lines that
    say so (the restore's `problems` that they correct go). `end`: the checkpoint of the
    state the operation left. `changed`: filled with what was written, as [before, after]
    (gitdirredo.py: what an `undo` of this move writes back; not ORIG_HEAD nor COMMIT_EDITMSG,
    which it leaves yours, but for the ORIG_HEAD of git's half-way state, memofiles.HALFWAY).
    `done`: filled with those of the lines that only say what was put back as it was (a
    setting set back, grafts removed): no exception to "as before" (output.summary_line)."""
    done = [] if done is None else done
    from git_atomic.engine import memofiles

    was = memofiles.read(repo) if changed is not None else None
    written = memofiles.put_back(repo, details, own=own)
    # Where git goes by it (`git am --abort`, in the half-way state an `undo` brings back):
    # for that `undo` to write it again.
    if written and was is not None and changed is not None and _halfway(repo, end):
        changed[memofiles.HALFWAY] = [was, details.get(memofiles.BEFORE) or ""]
    lines = []
    for key in memofiles.memos():  # info/grafts, COMMIT_EDITMSG
        if not details.get(key) and not os.path.lexists(memofiles.memo_path(repo, key)):
            continue
        was = memofiles.read_memo(repo, key)
        text = memofiles.memo_back(repo, key, details, own=own)
        if text is not None and key == memofiles.GRAFTS:  # (COMMIT_EDITMSG: said by none)
            lines.append(GRAFTS_SAID[bool(text)])
            done.append(GRAFTS_SAID[bool(text)])
            if changed is not None and was is not None:  # (COMMIT_EDITMSG: `undo` leaves yours)
                changed[key] = [was, text]
    if "submodules" in details:  # noted where there was a .gitmodules or modules/, even none out
        from git_atomic.ops import submodulesback

        said = submodulesback.put_back(repo, details, end)
        submodulesback.remember(said, changed)  # for an `undo` of this move to name
        problems[:] = submodulesback.superseded(problems, said)  # "only its folder": no more
        lines += said
        if own:  # what changed in them while it ran, not what you changed there since
            lines += submodulesback.changed_inside(repo, details)
        elif ended is not None:  # taken back later: what changed there until it ended
            lines += submodulesback.changed_inside(repo, details, until=ended)
    if details.get("packed_refs_absent") and os.path.lexists(repo.common_dir / "packed-refs"):
        from git_atomic.engine import packedrefs

        left = details.get(packedrefs.LEFT)  # what it left packed; since: not its own
        packed = packedrefs.raw(repo) if changed is not None else None
        only = packedrefs.its_own(left, own=own)
        if (
            only is not packedrefs.NOT_ITS
            and packedrefs.unpack(repo, only)
            and packed is not None
            and changed is not None
            and not os.path.lexists(repo.common_dir / "packed-refs")
        ):  # the file it removed, for an `undo` to make again (gitdirredo.py)
            changed[packedrefs.LEFT] = packed.decode("utf-8", "surrogateescape")
    if details.get("replace_refs") or (
        "replace_refs" in details
        and (
            os.path.lexists(repo.common_dir / "refs" / "replace")
            or os.path.lexists(repo.common_dir / "packed-refs")
        )
    ):
        from git_atomic.engine import replacerefs

        replaced: dict[str, list[str | None]] = {}
        lines += _put(done, replacerefs.put_back(repo, details, own=own, changed=replaced))
        if replaced and changed is not None:
            changed[replacerefs.BEFORE] = replaced
    if details.get("alternates") or (
        isinstance(details.get("alternates"), str)
        and os.path.lexists(repo.common_dir / "objects" / "info" / "alternates")
    ):
        from git_atomic.engine import alternates  # (only where there is or was one)

        lines += _put(done, alternates.put_back(repo, details))
        lines += alternates.lines(repo, details)
    if gitdirnoted.original_made(repo, details):
        from git_atomic.engine import originalrefs  # (before its folder goes, below)

        copies: dict[str, list[str | None]] = {}
        lines += _put(done, originalrefs.put_back(repo, details, own=own, changed=copies))
        if copies and changed is not None:  # an `undo` makes them again
            changed[originalrefs.REDONE] = copies
    if details.get("git_folders_absent") or details.get("common_folders_absent"):
        from git_atomic.engine import gitfolders

        gitfolders.drop_made(repo, details)
    if "core_place" in details:  # coreplace.BEFORE
        from git_atomic.engine import coreplace

        sparse: dict[str, dict[str, list[str | None]]] = {}
        lines += _put(done, coreplace.put_back(repo, details, own=own, changed=sparse))
        if sparse and changed is not None:  # an `undo` makes them as the operation left them
            changed[coreplace.REDONE] = sparse
    if details.get("worktree_locks"):  # worktreelocks.BEFORE
        from git_atomic.engine import worktreelocks

        lines += _put(done, worktreelocks.put_back(repo, details, own=own))
    return lines


def _put(done: list[str], lines: list[str]) -> list[str]:
    """`lines`, those of them that say a thing was put back as it was kept in `done` too (not
    one that says it could not be)."""
    done += [line for line in lines if "could not" not in line]
    return lines


def alternates_first(repo: Repo, details: Mapping[str, object]) -> list[str]:
    """The `objects/info/alternates` the operation's PRE-OP had and it removed (a `clone
    --shared`'s), written back before anything is restored: its checkpoints, and the commits
    they name, may be in that store alone, and without it the restore cannot read them (its
    rollback failed: "cannot be restored: objects missing"). Adding a store loses nothing.
    The line that says so, or none (one lstat where there is nothing to do)."""
    if not details.get("alternates") or os.path.lexists(
        repo.common_dir / "objects" / "info" / "alternates"
    ):
        return []
    from git_atomic.engine import alternates

    return alternates.put_back(repo, details)


GRAFTS_SAID: Final = (
    "the .git/info/grafts the operation wrote (it cut or rewrote your history for every git "
    "command) is removed",
    ".git/info/grafts is as before the operation again",
)


def _halfway(repo: Repo, end: str | None) -> bool:
    """Whether the state the operation left (`end`) holds git's half-way state (a merge, rebase,
    `am`... waiting): one or two small reads, only where a rollback wrote ORIG_HEAD."""
    if end is None:
        return False
    from git_atomic.engine import gitstate

    return bool(gitstate.waiting_in(repo, checkpoint.load(repo, end).git_state))
