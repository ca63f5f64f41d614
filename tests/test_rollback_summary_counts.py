"""A rollback's summary counts what it did, and names as exceptions only what it left.

Before: a rollback that only unstaged what the operation staged said "0 paths changed" (its
dry run "would change 0 paths") beside its own listing's "index 2 staged entries restored";
one that only made a FIFO again said "0 paths changed"; and one whose warnings only said a
setting was set back ("core.sparseCheckout ... is unset again, as before the operation") said
"files, index and branches are as before ..., except what the warnings above name".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _summary(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_a_rollback_that_only_unstages_counts_the_index_entries(repo: GitRepo) -> None:
    repo.write("u", b"new\n")
    repo.write("README", b"changed\n")
    repo.atomic("run", "--history", "shadow", "--", "git", "add", "u", "README", check=0)
    dry = repo.atomic("rollback", "--dry-run", check=0)
    assert "index   2 staged entries restored" in dry.stdout, dry.stdout
    assert "would change 0 paths (and 2 index entries)" in dry.stderr, dry.stderr
    res = repo.atomic("rollback", check=0)
    assert "; 0 paths changed (and 2 index entries);" in _summary(res.stderr), res.stderr
    assert repo.git("diff", "--cached", "--name-only") == ""
    res = repo.atomic("undo", check=0)
    assert "; 0 paths changed (and 2 index entries)" in _summary(res.stderr), res.stderr


def test_a_rollback_that_only_makes_a_fifo_again_counts_it(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p")
    repo.atomic("begin", "x", check=0)
    os.unlink(repo.path / "p")
    res = repo.atomic("rollback", check=0)
    assert stat.S_ISFIFO(os.lstat(repo.path / "p").st_mode)
    assert "; 1 path changed;" in _summary(res.stderr), res.stderr


SET_BACK = "core.sparseCheckout in .git/config (whether this worktree is sparse)"


def test_a_setting_set_back_is_no_exception_to_as_before(repo: GitRepo) -> None:
    res = repo.atomic(
        "run", "--", "sh", "-c", "git config core.sparseCheckout true; exit 1", check=1
    )
    assert SET_BACK in res.stderr and "is unset again, as before the operation" in res.stderr
    summary = _summary(res.stderr)
    assert "files, index and branches are as before" in summary, res.stderr
    assert "except what the warnings above name" not in summary, res.stderr
    assert "it had changed nothing" not in summary


def test_grafts_removed_are_no_exception_either(repo: GitRepo) -> None:
    script = "git rev-parse HEAD > .git/info/grafts; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert "the .git/info/grafts the operation wrote" in res.stderr, res.stderr
    assert "except what the warnings above name" not in _summary(res.stderr), res.stderr


def test_abort_after_a_setting_set_back_is_back_at_pre_op(repo: GitRepo) -> None:
    repo.atomic("begin", "x", check=0)
    repo.git("config", "core.sparseCheckout", "true")
    res = repo.atomic("abort", check=0)
    assert SET_BACK in res.stderr, res.stderr
    summary = _summary(res.stderr)
    assert "the tree is back at PRE-OP" in summary and "except" not in summary, res.stderr


def test_a_setting_left_beside_one_set_back_is_still_an_exception(repo: GitRepo) -> None:
    script = "git config core.sparseCheckout true; git config core.foo bar; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert SET_BACK in res.stderr and "[core] foo = bar" in res.stderr, res.stderr
    assert "except what the warnings above name" in _summary(res.stderr), res.stderr


def test_the_immediate_rollback_inside_an_operation_unstages_what_it_staged(
    repo: GitRepo,
) -> None:
    """Before: 'the tree is at PRE-OP ...; nothing further to roll back', `u` still staged
    (the step was chosen by its files alone)."""
    repo.write("u", b"new\n")
    repo.atomic("begin", "x", check=0)
    repo.git("add", "u")
    res = repo.atomic("rollback", check=0)
    assert "nothing further" not in res.stderr, res.stderr
    assert "; 0 paths changed (and 1 index entry);" in _summary(res.stderr), res.stderr
    assert repo.git("diff", "--cached", "--name-only") == ""
    again = repo.atomic("rollback", check=0)
    assert "nothing further to roll back" in again.stderr, again.stderr
