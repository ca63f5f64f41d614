"""Ignore rules an `includeIf "onbranch:..."` include brings (git's t1308-config-include): a
`core.excludesFile` that applies on one branch alone. An operation's checkout leaving that
branch shows what those rules hid, your `secret.log`: it was there before the operation, which
its commits must leave out (ignoredthen.py), as they do where the operation turned the rules off
by `git config`. The commit took it in: a branch switch writes no configuration file, and a
`.gitignore` the tree holds was all that was compared. (The other way round, a file the
operation made that the include hid, goes with its rollback:
tests/test_adversary61_git2_families.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

OP = ["sh", "-c", "git checkout -q main && echo x > x"]


def _on_feature(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    rules = tmp_path / "feature.ignore"
    rules.write_bytes(b"*.log\n")
    (repo.path / ".git" / "fe.cfg").write_text(f"[core]\n\texcludesFile = {rules}\n")
    repo.git("config", "includeIf.onbranch:feature.path", "fe.cfg")
    repo.git("checkout", "-qb", "feature")
    repo.write("secret.log", b"token\n")
    return repo


def _committed(repo: GitRepo) -> list[str]:
    return repo.git("show", "--name-only", "--format=", "HEAD").split()


@pytest.mark.parametrize("how", ["run", "begin"])
def test_a_commits_mode_commit_leaves_your_file_the_include_hid_out(
    tmp_path: Path, how: str
) -> None:
    repo = _on_feature(tmp_path)
    if how == "run":
        repo.atomic("run", "--no-gates", "--history", "commits", "--", *OP, check=0)
    else:
        repo.atomic("begin", "op", "--history", "commits", check=0)
        repo.git("checkout", "-q", "main")
        repo.write("x", b"x\n")
        repo.atomic("commit", "--no-gates", check=0)
    assert _committed(repo) == ["x"]
    assert repo.read("secret.log") == b"token\n"
    assert repo.git("status", "--porcelain") == "?? secret.log\n"
