"""Branches another tool manages, on which a commit of ours must not land.

GitButler keeps HEAD on a branch of its own (`gitbutler/workspace`; `gitbutler/integration`
before 0.13) whose commit it rewrites from its lanes: a `pre-commit` hook it installs refuses
every commit there, and a commit made on it anyway is dropped by the app (or asks you for a
reset that loses it: gitbutlerapp/gitbutler#15832). Our commits run no hooks, so that
refusal would never come: a commit on your branch (commits mode, an agent turn's, an isolated
run's) is refused here instead, in one line, before anything changes. HEAD is read from its
file (git.head_text: never through a link), no process started.

Nor must one land on a branch git has locked: a `reference-transaction` hook runs while its
git holds `HEAD.lock` and the branch's lock, and a lock a git killed half way left stays. A
run in commits mode there ran the command, then failed to move the branch and rolled back,
with git's closing advice for its one line ("remove the file manually to continue": a
running git's lock). Refused before anything runs instead, naming the lock and who may hold
it (a few lstat calls where there is no lock).
"""

from __future__ import annotations

import os
from typing import Final

from git_atomic.core.errors import BusyError, UsageError
from git_atomic.engine.git import Repo, head_text

# The branch (as HEAD names it) and the tool that manages it.
MANAGED: Final = {
    "refs/heads/gitbutler/workspace": "GitButler",
    "refs/heads/gitbutler/integration": "GitButler",
}


def refuse_commits_on_managed(repo: Repo) -> None:
    """Raise UsageError (exit 2) where HEAD is on a branch another tool manages."""
    text = head_text(repo.git_dir)
    ref = text[5:] if text.startswith("ref: ") else None
    tool = MANAGED.get(ref or "")
    if ref is None or tool is None:
        return
    branch = ref.removeprefix("refs/heads/")
    raise UsageError(
        f"commits mode would commit on {branch}, the branch {tool} manages (its pre-commit "
        f"hook refuses commits there, and git-atomic runs no hooks): use --history shadow, "
        f"or a branch of your own"
    )


def refuse_commits_past_a_lock(repo: Repo) -> None:
    """Raise BusyError (exit 3) where HEAD's lock or its branch's is there and not let go of
    within git's grace: a commit of ours could not move the branch."""
    text = head_text(repo.git_dir)
    locks = [repo.git_dir / "HEAD.lock"]
    if text.startswith("ref: refs/heads/"):
        locks.append(repo.common_dir / f"{text[5:]}.lock")
    found = [lock for lock in locks if os.path.lexists(lock)]
    if not found:
        return
    from git_atomic.engine import gitlockheld

    for lock in found:
        if not gitlockheld.folders_own(repo, lock):
            continue  # beyond a link: no lock of this repository's
        who = gitlockheld.lock_holder_if_held(repo, lock)
        if who is None:
            continue  # let go of: that git is done
        top = repo.git_dir if lock.name == "HEAD.lock" else repo.common_dir
        held = (
            f"which {who} holds (a hook of its may be what runs this): use --history shadow, "
            "or run it again once that git is done"
            if who
            else "which no running git holds (one killed half way left it): remove it, or use "
            "--history shadow"
        )
        raise BusyError(
            f"commits mode cannot move the branch past .git/{lock.relative_to(top)}, {held}"
        )


# git commands that run hooks (or an editor) before they make their commit, and make it from the
# HEAD they read first: a commit of ours on the branch meanwhile fails theirs.
_COMMITTING: Final = (b"commit", b"merge", b"cherry-pick", b"revert", b"am")
# Their hooks that run once their commit is made: commits mode works there, as it always did.
_AFTER: Final = frozenset((b"post-commit", b"post-merge", b"post-applypatch", b"post-rewrite"))


def refuse_commits_inside_a_commit(repo: Repo) -> None:
    """Raise BusyError (exit 3) where a `git commit` (merge, cherry-pick, revert, am) of this
    worktree is among the processes that started us: its `pre-commit`, `prepare-commit-msg` or
    `commit-msg` hook (or its editor) runs this, and git makes its commit once that is done,
    from the HEAD it read before: a commit of ours there failed it (`cannot lock ref 'HEAD':
    is at ... but expected ...`). `git commit -a` or with paths holds index.lock and names it
    in GIT_INDEX_FILE, refused as another index; a plain `git commit` holds no lock to tell."""
    from git_atomic.engine import gitancestors  # (os alone: a few /proc reads up the chain)

    found = gitancestors.git_ancestor(repo.root, _COMMITTING)
    if found is None:
        return
    pid, verb, below = found
    if any(os.path.basename(arg) in _AFTER for arg in below[:3]):
        return  # (the hook's path is its argv[0], or a shell's first argument)
    raise BusyError(
        f"commits mode cannot commit on the branch while `git {verb}` (pid {pid}), whose hook "
        f"or editor runs this, has yet to make its own commit: git's would then fail; "
        "nothing was changed",
        hint="use --history shadow in a git hook, or run it once that git is done",
    )
