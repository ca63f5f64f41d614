"""Which git may hold the worktree's index.lock (engine/lockholder.py): a rollback leaves the
lock of a live git of yours alone (`git commit -a` with its editor open), and takes a lock no
git holds any more (test_git_state.py, test_recover_other_writers.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_atomic.engine import lockholder
from git_atomic.engine.git import Repo
from testing.gitrepo import GitRepo, git_atomic_on_path

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def waiting(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.Popen[bytes]:
    """A git that stays (reading its stdin) working in `cwd`: `hash-object --stdin-paths`
    (it may write, as far as the lock is concerned), or `argv`."""
    proc = subprocess.Popen(
        ["git", *(argv or ("hash-object", "--stdin-paths"))],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until it runs as git, past the exec
        try:
            if Path(f"/proc/{proc.pid}/comm").read_bytes().startswith(b"git"):
                break
        except OSError:
            pass
        time.sleep(0.01)
    return proc


@pytest.fixture
def lock(repo: GitRepo) -> Iterator[Path]:
    path = repo.path / ".git" / "index.lock"
    yield path
    path.unlink(missing_ok=True)


def holder(repo: GitRepo, lock: Path) -> str | None:
    git_dir = repo.path / ".git"
    return lockholder.live_holder(Repo(repo.path, git_dir, git_dir), lock)


def test_a_lock_no_git_holds_has_no_holder(repo: GitRepo, lock: Path) -> None:
    lock.write_bytes(b"junk")
    assert holder(repo, lock) is None


def test_a_git_of_yours_in_the_repository_started_before_the_lock_may_hold_it(
    repo: GitRepo, lock: Path
) -> None:
    (repo.path / "sub").mkdir()
    proc = waiting(repo.path / "sub", repo.env)  # a subfolder of the worktree: still in it
    try:
        time.sleep(0.05)
        lock.write_bytes(b"")
        assert holder(repo, lock) == f"git hash-object (pid {proc.pid})"
    finally:
        proc.kill()
        proc.wait()
    assert holder(repo, lock) is None  # gone with it


def test_a_git_that_started_after_the_lock_was_written_cannot_hold_it(
    repo: GitRepo, lock: Path
) -> None:
    lock.write_bytes(b"")
    past = time.time() - 30
    os.utime(lock, (past, past))
    proc = waiting(repo.path, repo.env)
    try:
        assert holder(repo, lock) is None
    finally:
        proc.kill()
        proc.wait()


def test_our_own_git_and_a_git_in_another_repository_are_not_holders(
    repo: GitRepo, lock: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], env=repo.env, check=True)
    ours = waiting(repo.path, {**repo.env, "GIT_ATOMIC_PLUMBING": "1"})
    elsewhere = waiting(other, repo.env)
    try:
        time.sleep(0.05)
        lock.write_bytes(b"")
        assert holder(repo, lock) is None
    finally:
        for proc in (ours, elsewhere):
            proc.kill()
            proc.wait()


def test_a_git_that_only_reads_is_not_a_holder(repo: GitRepo, lock: Path) -> None:
    """A `git log` whose pager stays open, a `cat-file --batch` reader: neither holds index.lock
    for long, and would keep a dead git's lock for ever."""
    procs = [waiting(repo.path, repo.env, "cat-file", "--batch")]
    procs.append(waiting(repo.path, repo.env, "-c", "core.pager=cat", "log", "--stdin"))
    try:
        time.sleep(0.05)
        lock.write_bytes(b"")
        assert holder(repo, lock) is None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_through_git_atomic_a_stale_lock_the_operation_left_still_goes(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`git atomic run` is a `git` process working in the repository, started before any lock
    the operation makes, that waits for us: it is not the lock's holder. (Taken for one, the
    rollback of an operation that staged a change and left a dead git's lock waited ten
    seconds, then exited 3.)"""
    env = git_atomic_on_path(tmp_path / "bin", repo.env)
    before = repo.fingerprint()
    op = "echo x > README; git add README; echo junk > .git/index.lock; exit 1"
    started = time.monotonic()
    res = subprocess.run(
        ["git", "atomic", "run", "--", "sh", "-c", op],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1, res.stderr
    assert time.monotonic() - started < 8  # one grace period, no wait for a live holder
    assert repo.fingerprint() == before
    assert not (repo.path / ".git" / "index.lock").exists()
