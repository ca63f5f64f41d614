"""A ref of ours (`refs/atomic/`) made a symbolic ref, to your branch or to a name that is no
ref: our updates of it went through it, to the branch (git refused our scan's tree there, so
every `begin` failed with "git update-ref failed"; a commit would have moved your branch). Each
update of a ref of ours is now made on the ref itself (`option no-deref`): the symbolic ref is
written over, your branch never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


@pytest.mark.parametrize("target", ["refs/heads/main", "refs/heads/none-yet"])
def test_a_symbolic_ref_at_our_scan_ref_is_written_over_never_through(
    repo: GitRepo, target: str
) -> None:
    repo.atomic("run", "--", "true", check=0)  # our scan ref is there
    (scan,) = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/scan/").split()
    repo.git("symbolic-ref", scan, target)
    branches = repo.git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
    res = repo.atomic("begin", "x", check=0)
    assert "update-ref" not in res.stderr, res.stderr
    repo.write("README", b"changed\n")
    repo.atomic("abort", check=0)
    assert repo.read("README") == b"hello\n"
    assert repo.git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/") == branches
    assert repo.git("for-each-ref", "--format=%(symref)", scan).strip() == ""  # ours again
