"""Hostile layouts, settings and links found by session 39's attack: each case failed before
its fix. Judged from the disk (lstat, bytes, readlink), never only from git."""

from __future__ import annotations

import subprocess

from git_atomic.engine import scan
from testing import oracle
from testing.gitrepo import GitRepo


def _nested_repository(repo: GitRepo, rel: str) -> None:
    """A repository inside the worktree, untracked: its files are its own (never captured), and
    with it present the capture reads the tree with `git add -A` instead of a scan."""
    folder = repo.path / rel
    subprocess.run(["git", "init", "-q", str(folder)], env=repo.env, check=True)


def test_a_dot_git_in_another_case_beside_a_nested_repository(repo: GitRepo) -> None:
    """`add -A` (read where a scan cannot be) died at `h/.GIT/config`: an operation that made
    one stayed interrupted, `recover` died the same way, and one there before PRE-OP gave a
    crash log instead of the refusal. Now as without the nested repository: refused before
    anything changes; one an operation makes is left where it is, the rest rolled back."""
    _nested_repository(repo, "vendor")
    repo.write("h/.GIT/config", b"precious\n")
    before = oracle.walk(repo.path)
    res = repo.atomic("run", "--", "sh", "-c", "echo op > README; exit 1", check=3)
    assert "letter case" in res.stderr and "h/.GIT" in res.stderr, res.stderr
    assert oracle.walk(repo.path) == before
    (repo.path / "h/.GIT/config").unlink()
    (repo.path / "h/.GIT").rmdir()
    (repo.path / "h").rmdir()
    before = oracle.walk(repo.path)
    made = "mkdir -p h/.GIT/x && echo a > h/.GIT/x/y && echo b > .Git && echo op > README; exit 1"
    repo.atomic("run", "--", "sh", "-c", made, check=1)
    after = oracle.walk(repo.path)
    assert {p: v for p, v in after.items() if not scan.dot_git_variant(p)} == before
    assert repo.read("h/.GIT/x/y") == b"a\n" and repo.read(".Git") == b"b\n"
    assert "interrupted" not in repo.atomic("status", check=0).stdout
