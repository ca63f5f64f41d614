"""Branches another tool manages, on which a commit of ours must not land.

GitButler keeps HEAD on a branch of its own (`gitbutler/workspace`; `gitbutler/integration`
before 0.13) whose commit it rewrites from its lanes: a `pre-commit` hook it installs refuses
every commit there, and a commit made on it anyway is dropped by the app (or asks you for a
reset that loses it: gitbutlerapp/gitbutler#15832). Our commits run no hooks, so that
refusal would never come: a commit on your branch (commits mode, an agent turn's, an isolated
run's) is refused here instead, in one line, before anything changes. HEAD is read from its
file (git.head_text: never through a link), no process started.
"""

from __future__ import annotations

from typing import Final

from git_atomic.core.errors import UsageError
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
