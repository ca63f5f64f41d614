"""git commands that run ours between their steps, with the index and files whole: nothing of
their state is half way for a `run` there.

- `git bisect run git atomic run -- TEST`: bisect checks out a commit and runs us; our exit
  status is its verdict (0 good, 1-127 but 125 bad), so a refusal (exit 3) was a "bad" for a
  good commit, and bisect named the wrong first bad one.
- `git rebase -x 'git atomic run -- TEST'`: a rebase runs each `exec` line after the picks
  before it were made, and stops where one fails; a refusal stopped it at the first commit.
  Its last done line (`rebase-merge/done`) is that `exec` (`x`) line while it runs, and after
  one that failed. Only the first is the rebase running us: a `git rebase` among our
  ancestors, working in this worktree (Linux's /proc). A rebase stopped after an exec line
  that failed is a rebase in progress like any other, which the SPEC has refused ("a
  merge/rebase/cherry-pick in progress": exit 3), and so is every rebase where /proc is not.

`run` passes the door in these (context.check_git_state), and the state it began in is not
one "the command left" (commands/run.py). Everything else still refuses them.
"""

from __future__ import annotations

import os
import stat
from typing import Final

from git_atomic.core import wholefile
from git_atomic.engine import gitstate
from git_atomic.engine.git import Repo

BISECT: Final = "a bisect"
REBASE: Final = "a rebase"


def driving(repo: Repo) -> str | None:
    """The state in progress (gitstate.IN_PROGRESS's words) of a git command that runs ours
    between its steps with the index and files whole, or None (none, or another state)."""
    what = gitstate.in_progress(repo)
    if what == BISECT:
        return what
    if what == REBASE and _at_exec(repo) and _run_by_rebase(repo):
        return what
    return None


def _run_by_rebase(repo: Repo) -> bool:
    """Whether a `git ... rebase ...` working at the top of this worktree is among the
    processes that started us (its exec line's shell, `git atomic`'s wrapper between)."""
    from git_atomic.engine import gitancestors  # only at a rebase's exec line

    return gitancestors.git_ancestor(repo.root, (b"rebase",)) is not None


def _at_exec(repo: Repo) -> bool:
    folder = repo.git_dir / "rebase-merge"
    try:  # never through a link: the folder lstat'ed, the file opened without following one
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        done = wholefile.read(folder / "done", limit=1 << 24)
    except OSError:
        return False
    lines = [line.strip() for line in done.splitlines() if line.strip()]
    return bool(lines) and lines[-1].split(maxsplit=1)[0] in (b"exec", b"x")
