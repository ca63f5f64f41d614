"""A gitlink whose folder holds no repository (stop 55's adversary): `git update-index
--cacheinfo 160000,COMMIT,sub` (git's own tests make them so), then files written into `sub/`.
git lists none of those files while the index holds the gitlink (they are a submodule's to it),
so no checkpoint holds them. A rollback that takes the gitlink away leaves them, and says so
as it is: before, it said a repository of its own was there (a submodule, a clone), which
there never was. Nothing is lost: the files stay, byte for byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_files_written_into_a_submodule_never_checked_out_stay_and_are_named_so(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """A clone without `--recurse-submodules` leaves each submodule's folder empty, with no
    `.git`: git does not look in it, so what an operation writes there is in no checkpoint and
    its rollback leaves it. Said as it is, with the files' names: before, the warning said the
    submodule's `.git` "is gone", which it never was."""
    upstream = GitRepo.create(tmp_path / "upstream", tmp_path / "home")
    repo.git(
        "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream.path), "lib"
    )
    repo.git("commit", "-qm", "lib")
    repo.git("submodule", "-q", "deinit", "-f", "lib")  # as a clone leaves it: an empty folder
    assert list((repo.path / "lib").iterdir()) == []
    said = taken_back(repo, "echo made > lib/made.txt; echo changed > README", how)
    assert "Traceback" not in said.stderr
    assert "lib: a submodule with no .git in its folder (not checked out" in said.stderr
    assert "(made.txt)" in said.stderr and "is gone" not in said.stderr, said.stderr
    assert repo.read("lib/made.txt") == b"made\n"  # left, byte for byte
    assert repo.read("README") == b"hello\n"  # the rest taken back
