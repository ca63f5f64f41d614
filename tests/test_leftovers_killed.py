"""What a writer of ours killed half way leaves, and what `recover` and `gc` do with it.

- `.git-atomic-removed-<pid>-<n>`: a file `safefs.Tree.take` moved aside beside itself (the
  rename into our folder of the git dir crossed file systems: a git dir on a tmpfs here). A
  kill between that rename and the file's removal left it in your worktree for good, where a
  `git add -A` takes it. Now the taker notes it first (engine/besideleft.py): a dead taker's is
  removed where the same bytes are at its name again, else moved into `.git/atomic/tmp/` and
  named as kept (it may be a save of yours made at that instant). A file of a like name that
  no note names (yours) is never touched.
- The fixed temporary names in the git dir (`worktrees/<n>/locked.git-atomic-tmp`,
  `info/exclude.git-atomic-tmp`, `<file>.atomic-tmp` of the in-progress state) carry the
  writer's pid now (`.<name>.<pid>.atomic-tmp`, a name git passes over), and a dead writer's
  are removed by `recover` and `gc` wherever in the git dirs they are; a live one's stays.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

_TAKE = """
import os, sys
from git_atomic.engine import safefs
root, aside, folder, name = (os.fsencode(a) for a in sys.argv[1:5])
tree = safefs.Tree(root, aside=aside)
hold = []
tree.take(tree.folder(folder), name, lambda st: True, hold=hold)
os.kill(os.getpid(), 9)
"""


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[GitRepo]:
    """A repository whose git dir is on another file system (a tmpfs)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no other file system at /dev/shm here")
    git_dir = shm / f"git-atomic-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        yield GitRepo.create(tmp_path / "repo", tmp_path / "home", git_dir=git_dir)
    finally:
        shutil.rmtree(git_dir, ignore_errors=True)


def _killed_take(repo: GitRepo, rel: str) -> tuple[int, Path]:
    """A process that moved `rel` aside (held), killed before it removed it: its pid, and
    where the file is now."""
    tmp = Path(repo.git("rev-parse", "--git-common-dir").strip()) / "atomic" / "tmp"
    if not tmp.is_absolute():
        tmp = repo.path / tmp
    folder, name = os.path.split(rel)
    child = subprocess.Popen(
        [sys.executable, "-c", _TAKE, str(repo.path), str(tmp), folder, name], env=repo.env
    )
    assert child.wait() == -9
    beside = repo.path / folder / f".git-atomic-removed-{child.pid}-1"
    assert os.path.lexists(beside) and not os.path.lexists(repo.path / rel)
    return child.pid, beside


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("by", ["recover", "gc"])
def test_a_file_moved_aside_beside_itself_is_taken_out_of_the_worktree(
    elsewhere: GitRepo, by: str
) -> None:
    repo = elsewhere
    repo.write("d/f.txt", b"yours, maybe\n", mode=0o640)
    dead = repo.path / "d" / f".git-atomic-removed-{_dead_pid()}-1"
    dead.write_bytes(b"a file of yours of a like name\n")
    pid, beside = _killed_take(repo, "d/f.txt")
    res = repo.atomic(by, check=0)
    assert not os.path.lexists(beside), res.stdout + res.stderr
    kept = Path(repo.git("rev-parse", "--git-common-dir").strip()) / "atomic" / "tmp"
    kept = kept / f"removed-{pid}-1"
    assert kept.read_bytes() == b"yours, maybe\n"  # not lost: kept, named
    assert os.stat(kept).st_mode & 0o777 == 0o640
    assert f"d/.git-atomic-removed-{pid}-1" in res.stdout + res.stderr
    assert dead.read_bytes() == b"a file of yours of a like name\n"  # no note names it
    again = repo.atomic(by, check=0)  # nothing more to do, nothing of yours touched
    assert kept.read_bytes() == b"yours, maybe\n" and dead.exists(), again.stderr


@pytest.mark.parametrize("by", ["recover", "gc"])
def test_one_whose_bytes_are_back_at_its_name_is_removed(elsewhere: GitRepo, by: str) -> None:
    repo = elsewhere
    repo.write("f.txt", b"the same\n")
    pid, beside = _killed_take(repo, "f.txt")
    repo.write("f.txt", b"the same\n")  # (a restore made it again)
    repo.atomic(by, check=0)
    assert not os.path.lexists(beside)
    assert repo.read("f.txt") == b"the same\n"
    tmp = Path(repo.git("rev-parse", "--git-common-dir").strip()) / "atomic" / "tmp"
    assert not os.path.lexists(tmp / f"removed-{pid}-1")


LEFT_IN_GIT_DIR = [
    ".HEAD.{}.atomic-tmp",  # HEAD's, commondir's (gitlinks._replace), MERGE_HEAD's (gitstate)
    "info/.exclude.{}.atomic-tmp",  # infoexclude.put
    "rebase-merge/.done.{}.atomic-tmp",  # gitstate's in-progress folders
    "worktrees/wt/.locked.{}.atomic-tmp",  # worktreelocks._put
    "refs/heads/.main.{}.atomic-tmp",
]


@pytest.mark.parametrize("by", ["recover", "gc"])
def test_a_dead_writers_temporary_files_in_the_git_dir_are_removed(
    repo: GitRepo, tmp_path: Path, by: str
) -> None:
    repo.git("worktree", "add", "-q", "--detach", str(tmp_path / "wt"))
    git_dir = repo.path / ".git"
    dead, alive = _dead_pid(), os.getpid()
    for pattern in LEFT_IN_GIT_DIR:
        for pid in (dead, alive):
            path = git_dir / pattern.format(pid)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x\n")
    link = git_dir / f".ORIG_HEAD.{dead}.atomic-tmp"  # gitstate writes a link so
    link.symlink_to("refs/heads/main")
    yours = [git_dir / "info" / "exclude.atomic-tmp", git_dir / "info" / ".exclude.1x.atomic-tmp"]
    for path in yours:
        path.write_bytes(b"yours\n")
    repo.atomic(by, check=0)
    assert not os.path.lexists(link)
    for pattern in LEFT_IN_GIT_DIR:
        assert not (git_dir / pattern.format(dead)).exists(), pattern
        assert (git_dir / pattern.format(alive)).read_bytes() == b"x\n", pattern
    for path in yours:
        assert path.read_bytes() == b"yours\n"
