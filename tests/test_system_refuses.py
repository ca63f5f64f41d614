"""The system refuses a change the restore must make: a file it cannot remove or write over (an
immutable file, one in a read-only folder as Go's module cache leaves them), a folder it cannot
make, a mode it cannot change. Whatever the way back, the restore names each such path in one
warning, does all the rest, leaves the operation closed (never interrupted, never an internal
error), and exits 3: the tree is not entirely at its target. `undo` then works as after any
rollback.

Real refusals, not injected ones: `chattr +i` where the file system and the user allow it,
read-only folders where the user is not root (root writes through them). Each case is skipped,
visibly, where neither can be made."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, small_disk


def _immutable_works(where: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    probe = where / "probe"
    probe.write_bytes(b"x")
    made = subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0
    if made:
        subprocess.run(["chattr", "-i", str(probe)], check=True)
    probe.unlink()
    return made


class Lock:
    """Makes a path one the restore cannot change (`immutable`: the path itself; else its
    folder made read-only); undone at the end."""

    def __init__(self, immutable: bool) -> None:
        self.immutable = immutable
        self.locked: list[tuple[Path, int | None]] = []

    def __call__(self, path: Path) -> None:
        if self.immutable:
            subprocess.run(["chattr", "+i", str(path)], check=True)
            self.locked.append((path, None))
        else:
            folder = path if path.is_dir() else path.parent
            self.locked.append((folder, folder.stat().st_mode))
            folder.chmod(0o555)

    def release(self) -> None:
        for path, mode in reversed(self.locked):
            if mode is None:
                subprocess.run(["chattr", "-i", str(path)], check=False)
            else:
                path.chmod(mode)
        self.locked.clear()


@pytest.fixture(params=["immutable", "read-only folder"])
def lock(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lock]:
    immutable = request.param == "immutable"
    if immutable and not _immutable_works(tmp_path):
        pytest.skip("chattr +i is not allowed here (not root, or a file system without it)")
    if not immutable and os.geteuid() == 0:
        pytest.skip("root writes through a read-only folder")
    made = Lock(immutable)
    yield made
    made.release()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("keep.txt", b"keep\n")
    repo.write("edit.txt", b"before\n")
    repo.write("gone/old.txt", b"old\n")
    repo.write("tool.sh", b"echo hi\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "init")
    repo.write("mine.txt", b"untracked, yours\n")
    return repo


def _operation(repo: GitRepo, lock: Lock, case: str) -> None:
    """What the operation did, and the one path it leaves the restore unable to change."""
    root = repo.path
    (root / "edit.txt").write_bytes(b"by the operation\n")
    (root / "mine.txt").unlink()
    if case == "made":  # a new file the restore must remove
        (root / "cache").mkdir()
        (root / "cache" / "mod.txt").write_bytes(b"module\n")
        lock(root / "cache" / "mod.txt")
    elif case == "written":  # a file the restore must write over
        (root / "keep.txt").write_bytes(b"changed and locked\n")
        lock(root / "keep.txt")
    elif case == "empty":  # an empty folder the restore must remove, in one it cannot change
        (root / "made" / "sub").mkdir(parents=True)
        lock(root / "made")
    elif case == "folder":  # a folder the restore must put a file back in
        (root / "gone" / "old.txt").unlink()
        lock(root / "gone")
    else:  # "mode": a file whose executable bit the restore must take back
        (root / "tool.sh").chmod(0o755)
        lock(root / "tool.sh")


@pytest.mark.parametrize("case", ["made", "written", "empty", "folder", "mode"])
def test_abort_names_what_it_cannot_change_and_does_the_rest(
    repo: GitRepo, lock: Lock, case: str
) -> None:
    repo.atomic("begin", "op", check=0)
    _operation(repo, lock, case)
    res = repo.atomic("abort", check=3)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    warnings = [line for line in res.stderr.splitlines() if "cannot restore" in line]
    assert len(warnings) == 1, res.stderr
    assert "not entirely at PRE-OP" in res.stderr
    root = repo.path
    # The rest is done: read from the disk.
    assert (root / "edit.txt").read_bytes() == b"before\n"
    assert (root / "mine.txt").read_bytes() == b"untracked, yours\n"
    if case != "written":
        assert (root / "keep.txt").read_bytes() == b"keep\n"
    if case != "folder":
        assert (root / "gone" / "old.txt").read_bytes() == b"old\n"
    if case != "mode":
        assert not os.access(root / "tool.sh", os.X_OK)
    # Closed, not interrupted: the next operation may begin.
    status = repo.atomic_json("status")
    assert status["open"] is None and status["interrupted"] is None, status
    shown = repo.atomic_json("log", "-n", "1")["operations"][0]
    assert shown["status"] == "rolled_back"
    assert shown["not_restored"], shown


def test_rollback_json_names_the_paths_not_put_back(repo: GitRepo, lock: Lock) -> None:
    repo.atomic("run", "-n", "op", "--history", "shadow", "--", "true", check=0)
    repo.atomic("begin", "op2", check=0)
    _operation(repo, lock, "made")
    repo.atomic("commit", "--no-gates", check=0)
    res = repo.atomic_json("rollback", check=3)
    assert res["facts"]["not_restored"] if "facts" in res else res["not_restored"], res
    assert (repo.path / "edit.txt").read_bytes() == b"before\n"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 200 KB file system (tmpfs), where the system allows mounting one; skipped elsewhere."""
    where = tmp_path / "tiny"
    where.mkdir()
    with small_disk(where, "200k"):
        yield where


def test_a_full_disk_leaves_no_file_cut_short(tmp_path: Path, tiny_disk: Path) -> None:
    """The operation deleted a tracked file and filled the disk with ignored output: the file
    cannot be written back whole. It is not written at all (never a file cut short at its
    name), named, the rest done; once there is room, `undo` has nothing to bring back that the
    rollback did not leave."""
    repo = GitRepo.create(tiny_disk / "repo", tmp_path / "home", git_dir=tmp_path / "git")
    repo.write(".gitignore", b"*.o\n")
    repo.write("big", os.urandom(60_000))
    repo.write("small.txt", b"small\n")
    repo.write("keep.bin", os.urandom(30_000))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "big")
    big = repo.read("big")
    script = (
        "rm big; echo op > small.txt; head -c 30000 /dev/urandom > keep.bin; "
        "head -c 150000 /dev/zero > filler.o; exit 1"
    )
    res = repo.atomic("run", "-n", "fill", "--", "sh", "-c", script, check=1)
    assert "cannot restore big: No space left on device" in res.stderr, res.stderr
    assert not repo.exists("big")  # absent, as the operation left it: never cut short
    assert repo.read("small.txt") == b"small\n"
    # The file it could not write over is whole, the operation's (given back), or the old.
    assert len(repo.read("keep.bin")) == 30_000
    assert not [n for n in os.listdir(repo.path) if n.startswith(".git-atomic-")]
    os.unlink(repo.path / "filler.o")
    repo.atomic(
        "rollback",
        "--to",
        repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"],
        "--",
        "big",
        check=0,
    )
    assert repo.read("big") == big
