"""git-atomic started by git itself: from a hook, while the git that runs the hook holds its
locks. A `reference-transaction` hook runs in the middle of git's ref update, `HEAD.lock` and
the branch's lock held: a `git atomic run` there in commits mode ran the command, then failed
to move the branch ("git update-ref -m failed: remove the file manually to continue.", exit 3
after a rollback) — a line that told you to delete a running git's lock, and a command run
for nothing. A branch lock of a git killed half way did the same. Commits mode needs the
branch: with its lock (or HEAD's) there, a run or begin in commits mode is refused before
anything runs (exit 3, one line naming the lock and who may hold it); shadow mode, which
moves no branch, runs. The oracle: the disk (the files, the lock, the refs)."""

from __future__ import annotations

import os
from pathlib import Path

from testing.gitrepo import GitRepo, git_atomic_on_path

_HOOK = """#!/bin/sh
[ "$1" = prepared ] || exit 0
[ -e .git/hook-ran ] && exit 0
cat >/dev/null
git atomic run -- sh -c 'echo x > from-commits' 2>.git/commits.err
echo $? > .git/commits.rc
git atomic run --history shadow -- sh -c 'echo x > from-shadow; exit 1' 2>.git/shadow.err
echo $? > .git/shadow.rc
touch .git/hook-ran
"""


def test_a_run_in_a_reference_transaction_hook_leaves_the_branch_to_git(
    repo: GitRepo, tmp_path: Path
) -> None:
    hook = repo.path / ".git" / "hooks" / "reference-transaction"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(_HOOK)
    hook.chmod(0o755)
    env = git_atomic_on_path(tmp_path / "bin", repo.env)
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "yours", env={"PATH": env["PATH"]})
    git_dir = repo.path / ".git"
    err = (git_dir / "commits.err").read_text()
    assert (git_dir / "commits.rc").read_text() == "3\n", err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert ".lock" in err and "--history shadow" in err, err
    assert "remove the file manually" not in err, err
    assert not repo.exists("from-commits")  # the command never ran
    assert (git_dir / "shadow.rc").read_text() == "1\n", (git_dir / "shadow.err").read_text()
    assert not repo.exists("from-shadow")
    # your commit went through, on the branch, with nothing of ours on it
    assert repo.git("log", "--format=%s", "main") == "yours\ninitial\n"
    assert not [p for p in git_dir.rglob("*.lock")]
    assert repo.git("status", "--porcelain") == ""


def test_a_branch_lock_left_by_a_killed_git_refuses_commits_mode_only(repo: GitRepo) -> None:
    lock = repo.path / ".git" / "refs" / "heads" / "main.lock"
    lock.write_bytes(b"")
    os.utime(lock, (1, 1))
    before = repo.fingerprint()
    for argv in (["run", "--", "sh", "-c", "echo x > x"], ["begin", "op"]):
        res = repo.atomic(*argv, check=3)
        assert res.stderr.count("\n") == 1, res.stderr
        assert "refs/heads/main.lock" in res.stderr and "no running git" in res.stderr, res.stderr
        assert repo.fingerprint() == before and lock.exists()
    assert repo.git("for-each-ref", "refs/atomic/ops/") == ""
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo x > x", check=0)
    assert repo.read("x") == b"x\n" and lock.exists()


def test_gits_reason_not_its_closing_advice_is_the_line_shown() -> None:
    """Where a lock appears past the door (a `commit` of an operation in steps, an agent turn's
    commit), git's refusal ends in advice: the line shown was that advice ("remove the file
    manually to continue", a running git's lock), not the reason naming the lock."""
    from git_atomic.core.errors import GitError

    stderr = (
        b"fatal: cannot lock ref 'refs/heads/main': Unable to create "
        b"'/r/.git/refs/heads/main.lock': File exists.\n\n"
        b"Another git process seems to be running in this repository, e.g.\n"
        b"an editor opened by 'git commit'. Please make sure all processes\n"
        b"are terminated then try again. If it still fails, a git process\n"
        b"may have crashed in this repository earlier:\n"
        b"remove the file manually to continue.\n"
    )
    error = GitError(["git", "update-ref", "--stdin"], 128, b"", stderr)
    assert error.message == (
        "git update-ref --stdin failed: fatal: cannot lock ref 'refs/heads/main': Unable to "
        "create '/r/.git/refs/heads/main.lock': File exists."
    )
    two = b"error: one thing\nfatal: the summary\nadvice after it\n"
    assert GitError(["git", "x"], 1, b"", two).message == "git x failed: fatal: the summary"
