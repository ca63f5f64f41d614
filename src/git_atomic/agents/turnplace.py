"""Which worktree an agent's hook call is about, and whether a turn's record is this one's.

A call's folder (the payload's `cwd`) in a worktree of the project's repository is judged there;
a folder where git finds no worktree, or another one, because a call of the session's turn set
`core.bare` or `core.worktree`, is the worktree of that turn's record (`locate`). A record that
names another folder than the worktree's, still there, came with a copy (`not_here`).
"""

from __future__ import annotations

import os
from pathlib import Path

from git_atomic.agents import turnstate
from git_atomic.agents.turnstate import Record, Slot
from git_atomic.core.errors import AtomicError, NotARepository, RefusedError
from git_atomic.engine import discovery, git, gitdirfiles


def locate(cwd: Path | None, project: Path | None, session: str | None = None) -> git.Repo | None:
    """The worktree a call acts on.

    The call's own folder when it is in a worktree of the project's repository (a linked
    worktree the agent entered is judged there), else the project's; None outside any.
    `session`: where git finds no worktree at a folder, or another one than the folder's (a
    call of the session's turn ran `git config core.bare true`, or set `core.worktree`), the
    worktree of the session's open turn that the folder is in (`_of_turn`).
    """
    repos = []
    refused: AtomicError | None = None
    for start in dict.fromkeys((cwd, project)):  # one `git rev-parse` when they are the same
        if start is not None and _is_folder(start):
            bare = False
            try:
                found: git.Repo | None = _discover(start, session)
            except AtomicError as exc:
                found = None
                # (a folder in no repository at all costs no process more)
                bare = isinstance(exc, NotARepository) and "bare repository" in exc.message
                if not _nothing_to_protect(exc, bare=bare):
                    refused = refused or exc
            if session and (bare or (found is not None and _elsewhere(start, found))):
                found = _of_turn(start, session) or found
            if found is not None:
                repos.append(found)
    if not repos:
        if refused is not None:
            raise NotHere(refused)
        return None
    if len(repos) == 2 and repos[0].common_dir != repos[1].common_dir:
        return repos[1]  # the agent wandered into another repository: the project is ours
    return repos[0]


def _discover(start: Path, session: str | None) -> git.Repo:
    """The repository found from `start`; where its `packed-refs` is no file of git's and a
    call of `session`'s turn open there made it so, that set aside first (turnpacked.py)."""
    try:
        return discovery.discover_with_config(str(start))
    except gitdirfiles.ForeignPackedRefs:
        from git_atomic.agents import turnpacked

        if not session or not turnpacked.set_aside(start, session):
            raise
    return discovery.discover_with_config(str(start))


class NotHere(RefusedError):
    """The repository a call is about is one git-atomic refuses to work in (git refuses it,
    a file of its would have git wait for ever, a variable points git elsewhere): each adapter
    says it in its platform's answer, at every event, a turn's end too. Before, such a call was
    taken for one outside any repository: a turn whose call made `.git/config` a fifo ended
    with no word, neither judged nor taken back."""

    def __init__(self, refused: AtomicError) -> None:
        why = refused.message + (f" ({refused.hint})" if refused.hint else "")
        super().__init__(
            f"this agent's calls here are not checkpointed, and its turn is not judged: {why}"
        )


def _nothing_to_protect(exc: AtomicError, *, bare: bool) -> bool:
    """Whether discovery's refusal means there is no worktree of ours here (a folder in no
    repository, a bare repository of yours), not one git-atomic cannot work in."""
    if not isinstance(exc, NotARepository):
        return False
    if bare:  # (with a hint where our folder is in it: a call may have made it bare)
        return exc.hint is None
    return exc.message.startswith("not a git repository")


def _elsewhere(start: Path, found: git.Repo) -> bool:
    """Whether the worktree git found from `start` is another folder than `start`'s own (not
    one it is in, or one without its `.git`: `core.worktree` points elsewhere). One lstat."""
    return not _within(start, found.root) or not os.path.lexists(found.root / ".git")


def _within(folder: Path, root: Path) -> bool:
    here, top = os.path.realpath(folder), os.path.realpath(root)
    return here == top or here.startswith(top.rstrip(os.sep) + os.sep)


def _of_turn(start: Path, session: str) -> git.Repo | None:
    """The worktree of `session`'s turn open in the repository git finds from `start`, where
    `start` is in the folder its record names and that folder's `.git` is that git dir; None
    otherwise. For a folder where git finds no worktree, or another: a call of the turn set
    `core.bare true` (or `core.worktree`), and every later hook call of it, its Stop too,
    would be silent, the setting and the turn's changes left (its take-back puts the setting
    back: coreplace.py). One `git rev-parse` more, on that path only."""
    dirs = discovery.git_dirs(str(start))
    if dirs is None:
        return None
    git_dir, common = dirs
    probe = git.Repo(root=start, git_dir=git_dir, common_dir=common)
    record = Slot(probe.state_dir, session, probe.worktree_id).read()
    if record is None or not _within(start, Path(record.root)):
        return None
    if _git_dir_of(record.root) != os.path.realpath(git_dir):
        return None
    return git.Repo(root=Path(record.root), git_dir=git_dir, common_dir=common)


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for a path (a payload's): no folder we can work in
        return False


def not_here(repo: git.Repo, slot: Slot, record: Record) -> str:
    """Why the turn in `slot`, whose record names another folder than this worktree's, is not
    this worktree's to go on with, judge or take back ('' when it is: the worktree was moved
    here). The folder it names is still there, another one than this: this one is a copy of
    it (`cp -a` while the turn ran), and the turn's calls ran there. A copy of the whole
    repository has its own copy of the record: it goes, with its mark, and nothing is taken
    back here. A copy of a linked worktree (its `.git` file names the same git dir) shares
    the record with the worktree: it is left for that one. Called with the slot held."""
    try:
        there, here = os.stat(record.root), os.stat(repo.root)
    except OSError:
        return ""  # the folder it names is gone: moved here
    if (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino):
        return ""  # the same folder, by another name
    noted = record.extra.get(turnstate.ROOT_ID)
    if isinstance(noted, list) and noted != [there.st_dev, there.st_ino]:
        return ""  # another folder there now: the turn's moved here
    if not os.path.lexists(os.path.join(record.root, ".git")):
        return ""
    if _git_dir_of(record.root) == os.path.realpath(repo.git_dir):
        return (
            f"this folder is a copy of the worktree {record.root} (its .git names the same git "
            "dir), where this session's turn is open: nothing here is checkpointed, judged or "
            "taken back for it"
        )
    slot.remove()
    return (
        f"this repository is a copy of {record.root}, made while this session's turn was "
        "open there: that turn's record came with the copy and was dropped here; nothing "
        "was judged or taken back in this copy"
    )


def _git_dir_of(root: str) -> str:
    """The git dir a worktree folder's `.git` names (the folder itself, or a `gitdir:` file's),
    resolved; '' where it cannot be read."""
    dotgit = os.path.join(root, ".git")
    if os.path.isdir(dotgit):
        return os.path.realpath(dotgit)
    try:
        with open(dotgit, "rb") as fh:
            text = fh.read(4096).decode("utf-8", "surrogateescape")
    except OSError:
        return ""
    if not text.startswith("gitdir: "):
        return ""
    named = text[len("gitdir: ") :].strip()
    return os.path.realpath(os.path.join(root, named))


def worktree_repo(repo: git.Repo, root: str | None) -> git.Repo | None:
    if root is None:
        return None
    if Path(root) == repo.root:
        return repo
    try:
        return discovery.discover(root)
    except (AtomicError, OSError):  # (a folder that is gone: no process starts in it)
        return None
