"""A worktree moved or copied to another folder keeps a scan index whose untracked cache git
made for the old path: git stops using such a cache ("untracked cache is disabled on this
system or location"), so every scan lists every folder, and with `core.untrackedCache` unset it
never makes the cache anew. The first capture in the new place makes it anew for that path
(scan.py `_own_cache`), unless your configuration says `false` (honoured: no cache).

Judged on the scan index file itself (its UNTR extension names the worktree it was made for)
and on git's own word about it, and every rollback on the disk."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, index_extensions

HOW = ["moved", "copied"]
SETTING = [None, "true", "false"]


def _scan_index(repo: GitRepo) -> Path:
    tree = repo.git("rev-parse", "refs/atomic/scan/main").strip()
    return repo.path / ".git" / "atomic" / f"scan-main-{tree}"


def _git_says(repo: GitRepo, index: Path) -> str:
    """What git's status says on stderr when it reads (a copy of) the scan index."""
    copy = repo.path / ".git" / "scan-copy"
    shutil.copyfile(index, copy)
    try:
        res = subprocess.run(
            ["git", "-c", "status.showUntrackedFiles=all", "status", "--porcelain", "-uall"],
            cwd=repo.path,
            env={**repo.env, "GIT_INDEX_FILE": str(copy), "GIT_OPTIONAL_LOCKS": "0"},
            capture_output=True,
            check=True,
        )
    finally:
        copy.unlink()
    return res.stderr.decode()


@pytest.mark.parametrize("setting", SETTING, ids=["unset", "true", "false"])
@pytest.mark.parametrize("how", HOW)
def test_the_untracked_cache_follows_the_worktree_to_its_new_place(
    tmp_path: Path, how: str, setting: str | None
) -> None:
    first = GitRepo.create(tmp_path / "before", tmp_path / "home")
    for i in range(3):
        first.write(f"d{i}/f", b"x\n")
    first.git("add", "-A")
    first.git("commit", "-q", "-m", "files")
    first.write("d0/untracked", b"u\n")
    if setting is not None:
        first.git("config", "core.untrackedCache", setting)
    for _ in range(2):
        first.atomic("begin", "b", check=0)
        first.atomic("abort", check=0)
    if setting != "false":
        made = index_extensions(_scan_index(first).read_bytes())["UNTR"]
        assert b"Location " + str(first.path).encode() + b"," in made
    where = tmp_path / "after"
    if how == "moved":
        first.path.rename(where)
    else:
        subprocess.run(["cp", "-a", str(first.path), str(where)], check=True)
    repo = GitRepo(where, first.env)
    before = repo.fingerprint()
    for _ in range(2):
        repo.atomic("begin", "b", check=0)
        repo.write("d1/f", b"changed\n")
        repo.write("d2/new", b"new\n")
        repo.atomic("abort", check=0)
        assert repo.fingerprint().diff(before) == []
    kept = _scan_index(repo)
    extensions = index_extensions(kept.read_bytes())
    said = _git_says(repo, kept)
    assert "untracked cache is disabled" not in said
    if setting == "false":
        assert "UNTR" not in extensions
    else:
        assert b"Location " + str(where).encode() + b"," in extensions["UNTR"]
