"""Linked worktrees an operation removed (`git worktree remove --force`, `git worktree prune`
after an `rm -rf`): no checkpoint holds another worktree's files, so none comes back with a
rollback. What a rollback can do is say so, with the folder and the commit its checkout was
on, and never call such an operation one that "changed nothing".

An operation records the other linked worktrees when it begins (`WORKTREES`: folder -> what
its HEAD said, Repo.linked_worktrees) and, when it closes, those gone since (`REMOVED`).

One the operation added (`git worktree add ../wt -b nb`) is outside this worktree, where
git-atomic never writes: its own rollback leaves it, and says so with the `git worktree
remove` that takes it away (its branch stays too, checked out there).

One the operation moved (`git worktree move ../wt ../wt2`) is neither: its files are all
there, in its new folder. Its git dir keeps its name (`worktrees/wt`), which the operation
records when it begins (`NAMES`); a worktree gone from its folder whose git dir is there, at
another folder, is said moved (and where it stays, with the `git worktree move` that takes
it back), never "removed, its uncommitted files gone" nor "added"."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Mapping
from typing import Final

from git_atomic.engine.git import Repo

WORKTREES: Final = "worktrees"  # op detail: the other linked worktrees when it began
REMOVED: Final = "worktrees_removed"  # op detail: those gone when it closed
NAMES: Final = "worktree_names"  # op detail: their git dirs' names when it began
MOVED: Final = "worktrees_moved"  # op detail: those moved when it closed (folder -> now)


def removed(repo: Repo, details: Mapping[str, object]) -> dict[str, str]:
    """The linked worktrees recorded when the operation began that are gone now (not those
    moved elsewhere: `moved`)."""
    before = details.get(WORKTREES)
    if not isinstance(before, dict) or not before:
        return {}
    now = repo.linked_worktrees()
    away = moved(repo, details)
    return {str(k): str(v) for k, v in before.items() if k not in now and k not in away}


def added(repo: Repo, details: Mapping[str, object]) -> dict[str, str]:
    """The linked worktrees there now that were not when the operation began (where it
    recorded them: an operation from before this record has none, and is told nothing), less
    those it moved there."""
    before = details.get(WORKTREES)
    if not isinstance(before, dict):
        return {}
    arrived = set(moved(repo, details).values())
    return {
        k: v for k, v in repo.linked_worktrees().items() if k not in before and k not in arrived
    }


def moved(repo: Repo, details: Mapping[str, object]) -> dict[str, str]:
    """The linked worktrees the operation moved: their folder when it began -> their folder
    now (the same git dir, by its name, at another folder)."""
    names = details.get(NAMES)
    if not isinstance(names, dict) or not names:
        return {}
    now = {name: folder for folder, name in repo.linked_worktree_names().items()}
    return {
        str(folder): now[name]
        for folder, name in names.items()
        if name in now and now[name] != folder
    }


def said(repo: Repo, details: Mapping[str, object]) -> list[str]:
    """The lines for the linked worktrees the operation removed, moved and added."""
    return (
        lines(repo, removed(repo, details))
        + moved_lines(repo, moved(repo, details), locks=details.get("worktree_locks"))
        + added_lines(repo, added(repo, details))
    )


def moved_lines(repo: Repo, away: Mapping[str, str], *, locks: object = None) -> list[str]:
    """One line per worktree the operation moved, for people: where it stays, and how to
    move it back. `locks`: worktreelocks.BEFORE, the locks its rollback puts back (said
    before or after it: the way back of one locked then moves it by `-f -f`)."""
    out = []
    for folder, now in sorted(away.items()):
        head = repo.linked_worktrees().get(now, "")
        was = (
            f" (branch {head[5:].removeprefix('refs/heads/')})"
            if head.startswith("ref: ")
            else (f" (detached at {head[:12]})" if head else "")
        )
        # one locked (yours, put back: worktreelocks.py) moves only by `-f -f`, lock and all
        force = "-f -f " if _locked(repo, now, locks) else ""
        back = f"git worktree move {force}{shlex.quote(now)} {shlex.quote(folder)}"
        if _empty_folder(folder):  # one a rollback made again (a worktree kept inside):
            back = f"rmdir {shlex.quote(folder)} && {back}"  # git would move it into it
        out.append(
            f"the operation moved the linked worktree {folder} to {now}{was}; it stays there, "
            f"with its files: {_why_left(repo, now)}. `{back}` moves it back"
        )
    return out


def added_lines(repo: Repo, added: Mapping[str, str]) -> list[str]:
    """One line per worktree the operation added, for people."""
    out = []
    for folder, head in sorted(added.items()):
        was = (
            f"branch {head[5:].removeprefix('refs/heads/')}"
            if head.startswith("ref: ")
            else f"detached at {head[:12]}"
        )
        shown = shlex.quote(folder)
        remove = f"git worktree remove {shown}"
        if _locked(repo, folder, None):  # git refuses to remove a locked one
            remove = f"git worktree unlock {shown} && {remove}"
        out.append(
            f"the operation added the linked worktree {folder} ({was}); it stays: "
            f"{_why_left(repo, folder)}. `{remove}` takes it away"
        )
    return out


def _why_left(repo: Repo, folder: str) -> str:
    """Why a linked worktree stays where it is: outside this one, never written; inside it
    (`git worktree add inner`), its files are that worktree's, never this one's to take."""
    inside = os.path.realpath(folder).startswith(os.path.join(os.path.realpath(repo.root), ""))
    if inside:
        return (
            "it is a worktree of its own inside this one, whose files git-atomic leaves to it "
            "(a rollback here never removes another worktree's files)"
        )
    return "git-atomic never writes outside this worktree"


def lines(repo: Repo, gone: Mapping[str, str]) -> list[str]:
    """One line per worktree gone, for people: what cannot come back, and how to make the
    worktree again from its branch."""
    out = []
    for folder, head in sorted(gone.items()):
        if head.startswith("ref: "):
            branch = head[5:].removeprefix("refs/heads/")
            oid = repo.rev_parse(head[5:])
            at = f", at {oid[:12]}" if oid else ""
            was = f"branch {branch}{at}"
            again = f"git worktree add {shlex.quote(folder)} {shlex.quote(branch)}"
        else:
            was = f"detached at {head[:12]}"
            again = f"git worktree add --detach {shlex.quote(folder)} {head}"
        out.append(
            f"the operation removed the linked worktree {folder} ({was}); it does not come "
            "back: no checkpoint holds another worktree's files, and any it had that were not "
            f"committed are gone. `{again}` makes it again from the commit"
        )
    return out


def _locked(repo: Repo, folder: str, locks: object) -> bool:
    """Whether the linked worktree at `folder` is locked once the rollback put its lock back
    (`locks`: as noted at PRE-OP), else now (`git worktree lock`)."""
    name = repo.linked_worktree_names().get(folder)
    if name is None:
        return False
    if isinstance(locks, dict) and name in locks:
        return locks[name] is not None
    return os.path.lexists(repo.common_dir / "worktrees" / name / "locked")


def _empty_folder(folder: str) -> bool:
    """Whether `folder` is an empty folder itself (not a link to one)."""
    try:
        return stat.S_ISDIR(os.lstat(folder).st_mode) and not os.listdir(folder)
    except OSError:
        return False
