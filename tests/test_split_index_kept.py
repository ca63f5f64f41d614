"""Our git calls never expire a shared index another index still names.

Under your `splitIndex.sharedIndexExpire` (here `now`), every write of a split index that makes
a new shared index removes the others git thinks unused: a git call of ours writing an index
(a capture's copy, the index put back, its refresh) removed the shared index a side index of
yours (`GIT_INDEX_FILE`, a linked tool's) or a saved checkpoint's index names, and git could
read that index no more ("index file open failed"). Our calls pass
`splitIndex.sharedIndexExpire=never`: expiring is your git's, on its own writes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from tests.test_split_index_expired import FILES_ONLY, git_dir, split_repo


def _side_index(repo: GitRepo) -> tuple[Path, str]:
    """An index of yours beside the worktree's, split on a shared index of its own made a
    minute ago (git keeps one touched in the same second)."""
    side = git_dir(repo) / "side"
    env = {**repo.env, "GIT_INDEX_FILE": str(side)}
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo.path, env=env, check=True)
    subprocess.run(
        [
            *("git", "-c", "splitIndex.maxPercentChange=0"),
            *("-c", "splitIndex.sharedIndexExpire=never", "update-index", "--split-index"),
        ],
        cwd=repo.path,
        env=env,
        check=True,
    )
    shared = [n for n in os.listdir(git_dir(repo)) if n.startswith("sharedindex.")]
    subprocess.run(
        ["sh", "-c", "touch -d '1 minute ago' " + " ".join(shared)],
        cwd=git_dir(repo),
        check=True,
    )
    listed = subprocess.run(
        ["git", "ls-files"], cwd=repo.path, env=env, check=True, capture_output=True
    ).stdout
    return side, listed.decode()


def _side_reads(repo: GitRepo, side: Path) -> str:
    env = {**repo.env, "GIT_INDEX_FILE": str(side)}
    res = subprocess.run(["git", "ls-files"], cwd=repo.path, env=env, capture_output=True)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout.decode()


@pytest.mark.parametrize("how", ["run-fails", "run-then-rollback"])  # (the files alone: your
# own git's writes under your settings are yours)
def test_our_calls_leave_the_shared_index_a_side_index_names(repo: GitRepo, how: str) -> None:
    split_repo(repo)
    side, listed = _side_index(repo)
    repo.git("config", "splitIndex.maxPercentChange", "0")  # each write: a new shared index
    if how == "run-fails":
        repo.atomic("run", "--", "sh", "-c", f"{FILES_ONLY} && exit 1", check=1)
    else:
        repo.atomic("run", "--", "sh", "-c", FILES_ONLY, check=0)
        repo.atomic("rollback", check=0)
    assert _side_reads(repo, side) == listed
    assert "index file open failed" not in repo.git("status", "--porcelain")  # the index's own
