"""Whether this is the worktree an operation (or a move) was begun in: `core.worktree`,
`GIT_WORK_TREE` or `GIT_DIR` set since would have a rollback write another folder. An
operation records its folder (`root_identity`, under ROOT_KEY in its detail); what acts on it
later refuses where git now takes another folder for this worktree."""

from __future__ import annotations

import os
from typing import Final

from git_atomic.core.errors import RefusedError
from git_atomic.core.journalrows import EventRow, OpRow
from git_atomic.engine import git

ROOT_KEY: Final = "worktree_root"  # an operation's detail: the folder it was begun in


def root_identity(repo: git.Repo) -> dict[str, object]:
    """The worktree's folder as an operation records it: its path, its device and inode, and
    where it is from the git dir (`..` for a `.git` folder in it)."""
    st = os.stat(repo.root)
    return {
        "path": os.fsdecode(repo.root),
        "id": [st.st_dev, st.st_ino],
        "from_git_dir": _from_git_dir(repo),
    }


def _from_git_dir(repo: git.Repo) -> str:
    return os.path.relpath(os.path.realpath(repo.root), os.path.realpath(repo.git_dir))


def same_worktree(repo: git.Repo, op: OpRow | None) -> None:
    """Refuse (exit 3, nothing touched) to act on an operation begun in another folder than
    the one git now says is this worktree: `core.worktree`, `GIT_WORK_TREE` or `GIT_DIR` set
    since (by the operation, or in this shell) would have a rollback write that folder. The
    same folder moved (same inode) is still it, and so is a copy of the repository whole (the
    worktree where it was from its git dir)."""
    if op is not None:
        same_folder(repo, op.details.get(ROOT_KEY), f"operation {op.id} ({op.name}) was begun")


def same_event_folder(repo: git.Repo, event: EventRow | None) -> None:
    """`same_worktree` for a move of no operation (`emergency`, `rollback --to`, their
    `undo`): its rescue, the state it replaced, is of the folder its event recorded."""
    if event is None or not event.detail:
        return
    import json  # (a move's, never a checkpoint's)

    try:
        detail = json.loads(event.detail)
    except ValueError:
        return
    if isinstance(detail, dict):
        rescue = (event.rescue or "")[:12]
        what = f"the {event.kind} that saved rescue {rescue} was made"
        same_folder(repo, detail.get(ROOT_KEY), what)


def same_folder(repo: git.Repo, begun: object, what: str) -> None:
    """Refuse, naming `what`, where `begun` (root_identity's record) is not this worktree's
    folder; nothing where none was recorded (before roots were)."""
    if not isinstance(begun, dict):
        return
    try:
        st = os.stat(repo.root)
    except OSError:
        return
    if begun.get("id") == [st.st_dev, st.st_ino] or begun.get("from_git_dir") == _from_git_dir(
        repo
    ):
        return
    raise RefusedError(
        f"{what} in the worktree at {begun.get('path')}, "
        f"and git now takes {os.fsdecode(repo.root)} for this worktree; nothing was changed",
        hint="run it there, or put back what tells git where the worktree is: "
        "core.worktree, GIT_WORK_TREE, GIT_DIR",
    )
