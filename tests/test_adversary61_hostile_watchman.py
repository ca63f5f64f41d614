"""The hostile tree against the Watchman path (watcher.py, watchpaths.py, scantree.read_edits):
a capture answered by Watchman's list of changed paths, which reads the loose trees of the
scan on the way and writes no tree for files written again with the same bytes. A folder
swapped for a link (to a folder outside, to a file, dangling, to itself) and back, by the
operation or by you between two captures; a file swapped for a FIFO or a folder, a folder for
a file; a file made unreadable; a file written again with its mtime given back. (A name that is not
UTF-8: Watchman 4.9 answers the query nothing, and the capture waits 5 s before the usual
scan, docs/design.md; not here.) Oracle: the disk (bytes, modes,
link targets), every checkpoint the disk as it was, the folder outside untouched (bytes and
mtimes), and the capture answered by Watchman where it can be.

The Watchman tests skip, visibly, where Watchman is not installed (CI)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testing import oracle
from testing.gitrepo import GitRepo
from testing.watched import needs_watchman, watching

AS_SHIPPED = {"GIT_ATOMIC_VERIFY_SCAN": "0", "GIT_ATOMIC_HELPER": "0"}


@pytest.fixture
def watched(repo: GitRepo) -> Iterator[GitRepo]:
    with watching(repo.path):
        yield repo


def outside_tree(tmp: Path) -> Path:
    out = tmp / "outside"
    (out / "deep").mkdir(parents=True)
    (out / "a.txt").write_bytes(b"OUTSIDE a\n")
    (out / "b.txt").write_bytes(b"OUTSIDE b\n")
    (out / "deep" / "c.txt").write_bytes(b"OUTSIDE c\n")
    return out


def make(repo: GitRepo) -> None:
    repo.write("src/a.txt", b"a\n")
    repo.write("src/b.txt", b"b\n")
    repo.write("src/deep/c.txt", b"c\n")
    repo.write("f.txt", b"f\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")


def run(repo: GitRepo, *args: str) -> tuple[dict[str, Any], bool]:
    """git-atomic as shipped: its JSON answer, and whether Watchman answered its capture (no
    `git status` ran)."""
    trace = repo.path.parent / "trace.json"
    trace.unlink(missing_ok=True)
    env = {**AS_SHIPPED, "GIT_TRACE2_EVENT": str(trace)}
    res = repo.atomic(*args, "--json", check=0, env=env)
    commands = [
        next((a for a in e["argv"][1:] if not a.startswith("-") and "=" not in a), "")
        for e in map(json.loads, trace.read_text().splitlines())
        if e["event"] == "start"
    ]
    answer: dict[str, Any] = json.loads(res.stdout)
    return answer, "status" not in commands


def pre_op(repo: GitRepo, out: dict[str, Any]) -> oracle.Files:
    return oracle.checkpoint_files(repo.env, repo.path, out["checkpoints"]["pre_op"])


def swap_link(repo: GitRepo, rel: str, target: str) -> None:
    shutil.rmtree(repo.path / rel)
    os.symlink(target, repo.path / rel)


def swap_folder(repo: GitRepo, rel: str) -> None:
    os.unlink(repo.path / rel)
    repo.write(f"{rel}/a.txt", b"a\n")
    repo.write(f"{rel}/b.txt", b"b\n")
    repo.write(f"{rel}/deep/c.txt", b"c\n")


@needs_watchman
@pytest.mark.parametrize("target", ["outside", "file", "dangling", "loop"])
def test_folder_swapped_for_a_link_and_back(watched: GitRepo, tmp_path: Path, target: str) -> None:
    repo = watched
    make(repo)
    out_dir = outside_tree(tmp_path)
    before_out = oracle.walk_exact(out_dir)
    link = {"outside": str(out_dir), "file": "f.txt", "dangling": "nothing/here", "loop": "src"}[
        target
    ]
    run(repo, "begin", "w", "--history", "shadow")
    run(repo, "abort")  # the clock kept with the scan's tree
    # 1. the operation swaps the folder for a link; the rollback makes it again
    start = oracle.walk(repo.path)
    got, watched_ = run(repo, "begin", "w", "--history", "shadow")
    assert watched_ and pre_op(repo, got) == start
    swap_link(repo, "src", link)
    assert run(repo, "abort")[1]  # Watchman answered the rescue
    assert oracle.walk(repo.path) == start
    assert (repo.path / "src").is_dir() and not (repo.path / "src").is_symlink()
    # 2. the user swaps it; a capture holds the link; the operation puts the folder back
    swap_link(repo, "src", link)
    start = oracle.walk(repo.path)
    got, watched_ = run(repo, "begin", "w", "--history", "shadow")
    assert watched_ and pre_op(repo, got) == start
    swap_folder(repo, "src")
    repo.write("src/a.txt", b"edited\n")
    assert run(repo, "abort")[1]  # Watchman answered the rescue
    assert oracle.walk(repo.path) == start
    assert os.readlink(repo.path / "src") == link
    # 3. and back, user, then op edits through a fresh folder
    swap_folder(repo, "src")
    start = oracle.walk(repo.path)
    got, watched_ = run(repo, "begin", "w", "--history", "shadow")
    assert watched_ and pre_op(repo, got) == start
    repo.write("src/deep/c.txt", b"c edited\n")
    swap_link(repo, "src", link)
    assert run(repo, "abort")[1]  # Watchman answered the rescue
    assert oracle.walk(repo.path) == start
    assert oracle.walk_exact(out_dir) == before_out


def fifo(repo: GitRepo) -> None:
    os.unlink(repo.path / "f.txt")
    os.mkfifo(repo.path / "f.txt")


def file_to_folder(repo: GitRepo) -> None:
    os.unlink(repo.path / "f.txt")
    repo.write("f.txt/inner", b"x\n")


def folder_to_file(repo: GitRepo) -> None:
    shutil.rmtree(repo.path / "src" / "deep")
    repo.write("src/deep", b"now a file\n")


def unreadable(repo: GitRepo) -> None:
    repo.write("src/a.txt", b"secret\n")
    os.chmod(repo.path / "src" / "a.txt", 0)


def same_mtime(repo: GitRepo) -> None:
    path = repo.path / "src" / "b.txt"
    st = path.stat()
    path.write_bytes(b"B\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@needs_watchman
@pytest.mark.parametrize("change", [fifo, file_to_folder, folder_to_file, unreadable, same_mtime])
def test_kinds_swapped_under_watch(watched: GitRepo, change: Callable[[GitRepo], None]) -> None:
    repo = watched
    make(repo)
    run(repo, "begin", "w", "--history", "shadow")
    run(repo, "abort")
    start = oracle.walk(repo.path)
    modes = {p: os.lstat(repo.path / os.fsdecode(p)).st_mode for p in start}
    got, answered = run(repo, "begin", "w", "--history", "shadow")
    assert answered and pre_op(repo, got) == start
    change(repo)
    _, answered = run(repo, "abort")
    assert answered
    assert oracle.walk(repo.path) == start
    now = {p: os.lstat(repo.path / os.fsdecode(p)).st_mode for p in start}
    if change is unreadable:  # bits an operation closed stay closed (guarantees.md)
        assert now.pop(b"src/a.txt") == stat.S_IFREG and modes.pop(b"src/a.txt")
    assert now == modes


@needs_watchman
def test_settings_that_look_less_closely_under_watch(watched: GitRepo) -> None:
    """core.symlinks, core.fileMode, core.checkStat, core.trustctime, core.ignoreStat set to
    look less closely, core.autocrlf converting: a capture Watchman answers still reads the
    disk as it is (an executable bit, a file made a link, CRLF bytes), and the abort is exact."""
    repo = watched
    make(repo)
    for key, value in (
        ("core.symlinks", "false"),
        ("core.fileMode", "false"),
        ("core.autocrlf", "true"),
        ("core.checkStat", "minimal"),
        ("core.trustctime", "false"),
        ("core.ignoreStat", "true"),
    ):
        repo.git("config", key, value)
    run(repo, "begin", "w", "--history", "shadow")
    run(repo, "abort")
    start = oracle.walk(repo.path)
    modes = {p: os.lstat(repo.path / os.fsdecode(p)).st_mode for p in start}
    got, answered = run(repo, "begin", "w", "--history", "shadow")
    assert answered and pre_op(repo, got) == start
    os.chmod(repo.path / "f.txt", 0o755)
    os.unlink(repo.path / "src" / "b.txt")
    os.symlink("a.txt", repo.path / "src" / "b.txt")
    (repo.path / "src" / "a.txt").write_bytes(b"a\r\n")
    assert run(repo, "abort")[1]
    assert oracle.walk(repo.path) == start
    assert {p: os.lstat(repo.path / os.fsdecode(p)).st_mode for p in start} == modes


@needs_watchman
def test_a_linked_worktree_inside_the_watched_one(watched: GitRepo) -> None:
    """A linked worktree kept inside the watched worktree (`.worktrees/wt`, ignored there):
    its captures are answered from the root Watchman watches above it, its `.git` file never
    a file of ours; the operation there swaps a folder for a link to the main worktree's
    folder: its abort is exact, and the main worktree's folder is untouched."""
    main = watched
    make(main)
    (main.path / ".git" / "info" / "exclude").write_text(".worktrees/\n")
    main.git("worktree", "add", "-q", ".worktrees/wt", "-b", "wt")
    wt = GitRepo(main.path / ".worktrees" / "wt", main.env)
    theirs = oracle.walk_exact(main.path / "src")
    run(wt, "begin", "w", "--history", "shadow")
    run(wt, "abort")
    start = oracle.walk(wt.path)
    got, answered = run(wt, "begin", "w", "--history", "shadow")
    assert answered and pre_op(wt, got) == start
    wt.write("src/a.txt", b"wt edit\n")
    wt.write("src/new.txt", b"new\n")
    os.unlink(wt.path / "f.txt")
    swap_link(wt, "src/deep", str(main.path / "src"))
    assert run(wt, "abort")[1]
    assert oracle.walk(wt.path) == start
    assert oracle.walk_exact(main.path / "src") == theirs
