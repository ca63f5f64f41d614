"""Peers' reports on a file watcher that could not see part of the worktree, played against
git-atomic's scans with Watchman watching: jj's snapshot trusted an enclosing Watchman watch
whose `.watchmanconfig` `ignore_dirs` hid the workspace, and every `jj st` said the working
copy was clean while changes sat on disk (jj-vcs/jj#10097). Watchman answers a query about a
folder it ignores with an empty list and a valid clock. A folder that `ignore_dirs` names in
the worktree, or above it, holds files git tracks or lists: an operation's writes there are
taken back by its rollback as where nothing is watched; a folder it names beside the worktree,
or in a git dir, leaves the scans to Watchman. The oracle is the disk (the bytes, the modes
and the names a folder lists) and GIT_TRACE (a scan Watchman answered runs no `git status`)."""

from __future__ import annotations

import os
from pathlib import Path

from testing.gitrepo import GitRepo
from testing.oracle import disk
from testing.watched import needs_watchman, watching

CHANGE = "echo op > build/x.txt && echo new > build/new.txt && echo op >> a.txt && exit 1"


def with_build(repo: GitRepo) -> None:
    """`a.txt` and `build/x.txt` committed, and an untracked file of yours in `build/`."""
    repo.write("a.txt", b"a\n")
    repo.write("build/x.txt", b"committed\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    repo.write("build/yours.txt", b"yours\n")


@needs_watchman
def test_writes_in_a_folder_watchman_ignores_are_taken_back(tmp_path: Path) -> None:
    """One watched root, `outer`, whose `.watchmanconfig` hides `a/build` (a folder of the
    worktree `a`) and `hidden` (a folder above the worktree `hidden/b`): in each, an operation
    that fails after writing in `build/` is rolled back to the disk as it was, `build/`
    included, as `git status` sees it."""
    outer = tmp_path / "outer"
    outer.mkdir()
    config = b'{"ignore_dirs": ["a/build", "hidden", "beside", "c/.git"]}\n'
    (outer / ".watchmanconfig").write_bytes(config)
    repos = [
        GitRepo.create(outer / "a", tmp_path / "home-a"),
        GitRepo.create(outer / "hidden" / "b", tmp_path / "home-b"),
    ]
    for repo in repos:
        with_build(repo)
    with watching(outer):
        for repo in repos:
            before = disk(repo.path, modes=True)
            status = repo.git("status", "--porcelain")
            repo.atomic("run", "--no-gates", "--", "sh", "-c", CHANGE, check=1)
            assert disk(repo.path, modes=True) == before, repo.path.name
            assert repo.git("status", "--porcelain") == status
        # Beside the worktree, or its git dir: Watchman still answers the scans.
        seen = GitRepo.create(outer / "c", tmp_path / "home-c")
        with_build(seen)
        trace = tmp_path / "trace"
        before = disk(seen.path, modes=True)
        seen.atomic(
            "run", "--no-gates", "--", "sh", "-c", CHANGE, check=1, env={"GIT_TRACE": str(trace)}
        )
        assert disk(seen.path, modes=True) == before
        # The first scan sets the watch up; every later one is Watchman's.
        assert trace.read_text().count("status --porcelain=v2") == 1


@needs_watchman
def test_a_write_through_one_name_of_a_hard_linked_file_is_seen_at_every_name(
    repo: GitRepo,
) -> None:
    """inotify, which Watchman reads on Linux, reports a write at the name it was made through
    and at no other name of the same file (seb-m/pyinotify#109; hubblestack/pulsar#60: a
    watcher bypassed by hard links; facebook/watchman#858). `b.txt` is a hard link of yours to
    `a.txt`, both tracked: an operation appends to `a.txt` and fails. Its rollback brings back
    both names' bytes, as where nothing is watched (`git status` sees `b.txt` changed by its
    stat data), instead of leaving the operation's bytes at `b.txt`."""
    repo.write("a.txt", b"a\n")
    repo.write("b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    (repo.path / "b.txt").unlink()
    os.link(repo.path / "a.txt", repo.path / "b.txt")
    with watching(repo.path):
        before = disk(repo.path, modes=True)
        repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo op >> a.txt; exit 1", check=1)
        assert disk(repo.path, modes=True) == before
