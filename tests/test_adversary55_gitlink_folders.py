"""A gitlink whose folder holds no repository (stop 55's adversary): `git update-index
--cacheinfo 160000,COMMIT,sub` (git's own tests make them so), then files written into `sub/`.
git lists none of those files while the index holds the gitlink (they are a submodule's to it),
so no checkpoint holds them. A rollback that takes the gitlink away leaves them, and says so
as it is: before, it said a repository of its own was there (a submodule, a clone), which
there never was. Nothing is lost: the files stay, byte for byte."""

from __future__ import annotations

import subprocess

import pytest

from testing.gitrepo import GitRepo
from testing.takeback import taken_back

LINE = (
    'git update-index --add --cacheinfo "160000,$(git rev-parse HEAD),sub"; '
    "mkdir sub; echo inside > sub/file"
)


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_files_under_a_gitlink_with_no_repository_stay_and_are_named_so(
    repo: GitRepo, how: str
) -> None:
    said = taken_back(repo, LINE, how)
    assert "Traceback" not in said.stderr
    assert "sub: a folder the index held as a submodule (a gitlink), with no repository" in (
        said.stderr
    ), said.stderr
    assert "a repository of its own is there" not in said.stderr
    assert repo.read("sub/file") == b"inside\n"
    assert repo.git("ls-files", "-s") == repo.git("ls-tree", "-r", "--full-name", "HEAD").replace(
        " blob ", " "
    ).replace("\t", " 0\t")
    assert repo.git("status", "--porcelain") == "?? sub/\n"


def test_a_real_repository_there_is_still_named_one(repo: GitRepo) -> None:
    line = "git init -q sub && git -C sub commit -q --allow-empty -m x && git add sub"
    said = taken_back(repo, line, "failed-run")
    assert "sub: a repository of its own is there (a submodule, a clone)" in said.stderr
    assert subprocess.run(["git", "-C", str(repo.path / "sub"), "rev-parse"]).returncode == 0
