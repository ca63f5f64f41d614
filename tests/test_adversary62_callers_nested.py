"""git-atomic started by a git-atomic: `git atomic run -- make`, where the Makefile (or a gate,
or a script) runs `git atomic run -- ...` in the same worktree. The inner one was refused
"another git-atomic is working in this worktree ... (wait for it, or pass --wait)": the one
holding the worktree is its own ancestor, which ends only after it does, and `--wait` there
waits for nothing (refused as such since stop 61). The inner refusal names its ancestor and
says to run it outside, never to wait; the outer rolls back (its command failed with 3)."""

from __future__ import annotations

import sys

from testing.gitrepo import GitRepo


def test_a_run_inside_a_runs_command_is_told_its_ancestor_holds_the_worktree(
    repo: GitRepo,
) -> None:
    repo.write("README", b"yours\n")
    before = repo.fingerprint()
    inner = f"{sys.executable} -m git_atomic run -- sh -c 'echo x > nested'"
    res = repo.atomic("run", "--", "sh", "-c", inner, check=1)
    first = res.stderr.splitlines()[0]
    assert "is the one running this command" in first, res.stderr
    assert "--wait" not in first and "wait for it" not in first, res.stderr
    assert repo.fingerprint() == before and not repo.exists("nested")
