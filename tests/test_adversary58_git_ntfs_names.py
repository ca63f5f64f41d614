"""t7450-bad-git-dotfiles and t0060's verify_path (stop 58's adversary D): names only Windows
takes for `.git` (`GIT~1`, `.git.`, `.git::$INDEX_ALLOCATION`), which the user's git refuses
to track (`core.protectNTFS`, on by default on every system), and, with `core.protectHFS`,
those HFS+ takes for it (`.g\u200cit`). Our own git calls take them (they are the user's
files: held and put back), but commits mode put them into the commit on the user's branch,
which `git add -A` never stages: the user's git then could not check that commit out
("invalid path 'GIT~1'"), and a `git checkout HEAD~1` left the files behind, untracked, so
that `git checkout main` refused to overwrite them. Now a commit holds what the user's git
would stage: the names stay on disk, untracked, as `git add -A` leaves them; a rollback and
`undo` still take them back and bring them back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

NTFS = ["GIT~1", ".git.", ".git::$INDEX_ALLOCATION", "d/git~1/x", "d/.GIT /y"]
HFS = [".g\u200cit/z"]
OP = "; ".join(
    f"mkdir -p \"$(dirname '{n}')\"; printf 'x\\n' > '{n}'" for n in [*NTFS, *HFS, "plain"]
)


def _repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("wip", b"w\n")
    return repo


def _committed(repo: GitRepo) -> set[str]:
    listed = repo.git("ls-tree", "-r", "-z", "--name-only", "HEAD").split("\0")
    return {p for p in listed if p}


@pytest.mark.parametrize("hfs", [False, True])
def test_commits_mode_commits_no_name_your_git_refuses(tmp_path: Path, hfs: bool) -> None:
    repo = _repo(tmp_path)
    if hfs:
        repo.git("config", "core.protectHFS", "true")
    before = repo.fingerprint()
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", OP, check=0)
    committed = _committed(repo)
    assert "plain" in committed
    refused = [*NTFS, *(HFS if hfs else [])]
    assert not committed & set(refused), committed
    assert (HFS[0] in committed) != hfs
    for name in [*NTFS, *HFS]:
        assert repo.read(name) == b"x\n", name  # on disk, as `git add -A` leaves them
    # the user's git can leave the commit and come back
    repo.git("checkout", "-q", "HEAD~1")
    repo.git("checkout", "-q", "main")
    repo.atomic("rollback", check=0)
    assert repo.fingerprint().diff(before) == []
    repo.atomic("undo", check=0)
    assert repo.read(NTFS[0]) == b"x\n" and repo.read("plain") == b"x\n"


def test_with_protect_ntfs_off_your_git_would_commit_them(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.git("config", "core.protectNTFS", "false")
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", OP, check=0)
    assert set(NTFS) | {"plain"} <= _committed(repo)
