"""Locks on several branches that an operation's killed git left (a `git branch -f` of each,
killed) are waited for together: a rollback gives git one grace period (a second) to let go
of any of them, not a second each in turn (the review of stop 61's change, item 3: ten stale
locks made an abort ten seconds slower). Each still goes, named."""

from __future__ import annotations

import os
import time

from testing.gitrepo import GitRepo

BRANCHES = ("a", "b", "c", "d", "team/e")


def test_stale_locks_of_many_branches_cost_one_wait_not_one_each(repo: GitRepo) -> None:
    for name in BRANCHES:
        repo.git("branch", name)
    repo.atomic("begin", "op", check=0)
    for name in BRANCHES:
        (repo.path / ".git" / "refs" / "heads" / f"{name}.lock").write_bytes(b"")
    begun = time.monotonic()
    res = repo.atomic("abort", check=0)
    took = time.monotonic() - begun
    for name in BRANCHES:
        assert not os.path.lexists(repo.path / ".git" / "refs" / "heads" / f"{name}.lock")
        assert f".git/refs/heads/{name}.lock, a lock the operation's git left" in res.stderr
    # One grace (1 s) and the abort's own work; a second each in turn was five and more.
    assert took < 4.0, (took, res.stderr)
    repo.git("branch", "-f", "team/e", "HEAD")  # git writes each branch again
