"""Peers' reports on an agent's sandbox that leaves part of git's folders read-only, played
against git-atomic: Codex's `workspace-write` sandbox, under which `.git` is read-only and
every commit fails on `index.lock` (openai/codex#7071), and the Linux sandbox that mounts a
linked worktree's own git dir (`.git/worktrees/NAME`) read-only while the repository's is
writable (openai/codex#19786, #27418), or the other way round (openai/codex-plugin-cc#765).
A `run` in that linked worktree, by a user who may write the worktree but only one of the
two git folders: refused in one line (exit 3) before its command runs, the files, the refs
and the worktree's state as they were. The oracle: the disk by lstat, every ref, `status`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, stop_helpers
from testing.oracle import disk


def _bits(path: Path, *, writable: bool) -> None:
    """`path` and everything under it (no link followed) writable by all, or by none."""
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if not stat.S_ISLNK(st.st_mode):
                mode = stat.S_IMODE(st.st_mode)
                os.chmod(full, mode | 0o777 if writable else mode & ~0o222)
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    os.chmod(path, mode | 0o777 if writable else mode & ~0o222)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder another user can reach (pytest's own is its user's only)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user: permissions would not bite")
    where = Path(tempfile.mkdtemp(prefix="ga-sandbox-"))
    yield where
    _bits(where, writable=True)
    shutil.rmtree(where, ignore_errors=True)


@pytest.mark.parametrize("read_only", ["worktree's git dir", "repository's git dir"])
def test_a_run_where_the_sandbox_left_a_git_folder_read_only_changes_nothing(
    shared: Path, read_only: str
) -> None:
    repo = GitRepo.create(shared / "repo", shared / "home")
    wt = shared / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    (wt / "mine.txt").write_bytes(b"mine\n")
    stop_helpers(repo.path)
    _bits(shared, writable=True)
    own = repo.path / ".git" / "worktrees" / "wt"
    if read_only == "worktree's git dir":
        _bits(own, writable=False)
    else:
        _bits(repo.path / ".git", writable=False)
        _bits(own, writable=True)
    home = shared / "other-home"
    home.mkdir(mode=0o777)
    env = {
        **repo.env,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        # Another user's clone is refused by git itself unless they say it is safe.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
    }
    before, refs = disk(wt, modes=True), repo.git("for-each-ref")
    other = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    script = "echo x > README; echo n > new.txt; exit 1"
    ran = subprocess.run(
        [*other, sys.executable, "-m", "git_atomic", "run", "--", "sh", "-c", script],
        cwd=wt,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 3 and len(ran.stderr.splitlines()) == 1, ran.stderr
    assert disk(wt, modes=True) == before and repo.git("for-each-ref") == refs
    told = repo.atomic("status", cwd=wt, check=0).stdout
    assert told.startswith("no operation is open"), told
