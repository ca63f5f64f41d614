"""A linked worktree's `.git` file an operation removed or changed is written back by its
rollback (engine/dotgit.py) through a temporary name of its own at the worktree's top. That
name was a fixed one (`.git.git-atomic-tmp`), removed first whatever it was: an ignored file
of yours of that name (which no rollback restores) was lost, a folder made the rollback fail.
The name is ours now (unique, made exclusively): whatever of yours is there stays, byte for
byte, and the `.git` file is back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

_NAME = ".git.git-atomic-tmp"


def _yours(path: Path, kind: str) -> None:
    if kind == "file":
        path.write_bytes(b"yours\n")
    elif kind == "link":
        os.symlink("somewhere", path)
    else:
        path.mkdir()
        (path / "inside").write_bytes(b"yours too\n")


@pytest.mark.parametrize("kind", ["file", "link", "folder"])
@pytest.mark.parametrize("how", ["rm .git", "echo 'gitdir: /nowhere' > .git"])
def test_a_file_of_yours_at_our_old_temporary_name_stays(
    tmp_path: Path, kind: str, how: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write(".gitignore", b"*-tmp\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "-b", "wb", str(linked))
    dot_git = (linked / ".git").read_bytes()
    _yours(linked / _NAME, kind)
    before = oracle.disk(linked)

    repo.atomic("run", "--", "sh", "-c", f"{how}; exit 1", check=1, cwd=linked)

    assert (linked / ".git").read_bytes() == dot_git
    assert oracle.disk(linked) == before
