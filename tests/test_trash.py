"""What a restore removes for good goes into `.git/atomic/trash` and a process of its own empties
it (engine/trash.py): the command's answer does not wait while the file system frees blocks.
The removals are counted in the command's own process (an audit hook: `os.remove` is the event
of an unlink), what is on disk afterwards is read with lstat, and a trash that cannot be made
(a file there) leaves the restore removing at once; nothing is ever moved through a link.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from git_atomic.engine import trash
from testing import oracle
from testing.gitrepo import GitRepo

PROBE = """
import atexit, os, sys
removed = []
def audit(event, args):
    # A file the restore removes is unlinked by the name it was moved aside under.
    if event == "os.remove" and os.getpid() == me and b"removed-" in os.fsencode(args[0]):
        removed.append(os.fsdecode(args[0]))
me = os.getpid()
sys.addaudithook(audit)
def report():
    with open(os.environ["TRASH_PROBE_OUT"], "w") as fh:
        fh.write(repr(removed))
atexit.register(report)  # the console script leaves with os._exit, after the exit handlers
import runpy
sys.argv = ["git-atomic", *sys.argv[1:]]
runpy.run_module("git_atomic", run_name="__main__")
"""

EDITED, ADDED = 30, 10


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for i in range(EDITED + 5):
        repo.write(f"d{i % 4}/f{i}.txt", f"{i}\n".encode() * 50)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "init")
    return repo


def change(repo: GitRepo) -> None:
    for i in range(EDITED):
        repo.write(f"d{i % 4}/f{i}.txt", b"edited by the operation\n")
    for i in range(ADDED):
        repo.write(f"new/n{i}.txt", b"added by the operation\n")


def probe_abort(repo: GitRepo, tmp_path: Path) -> list[str]:
    out = tmp_path / "removed.txt"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "abort"],
        cwd=repo.path,
        env={**repo.env, "TRASH_PROBE_OUT": str(out), "GIT_ATOMIC_HELPER": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    removed: list[str] = ast.literal_eval(out.read_text())
    return removed


def emptied(folder: Path, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not folder.exists() or not any(folder.iterdir()):
            return True
        time.sleep(0.05)
    return False


def test_a_rollback_leaves_its_removals_to_the_trash_and_the_trash_empties(
    repo: GitRepo, tmp_path: Path
) -> None:
    before = oracle.disk(repo.path)
    repo.atomic("begin", "op", check=0)
    change(repo)
    removed = probe_abort(repo, tmp_path)
    # Before: each file written over and each one taken away was unlinked here (40 and more).
    assert len(removed) < 5, removed
    assert oracle.disk(repo.path) == before
    state = repo.path / ".git" / "atomic"
    assert emptied(state / "trash")
    assert not list((state / "tmp").glob("removed-*"))


@pytest.mark.parametrize("kind", ["file", "link to a folder outside", "link to nothing"])
def test_a_trash_that_cannot_be_made_leaves_the_removals_here(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    state = repo.path / ".git" / "atomic"
    outside = tmp_path / "outside"
    outside.mkdir()
    repo.atomic("begin", "op", check=0)  # makes our folder
    where = state / "trash"
    if kind == "file":
        where.write_bytes(b"mine\n")
    elif kind == "link to a folder outside":
        where.symlink_to(outside)
    else:
        where.symlink_to(tmp_path / "nowhere")
    before_outside = oracle.disk(outside)
    change(repo)
    removed = probe_abort(repo, tmp_path)
    assert repo.read("d0/f0.txt") == b"0\n" * 50 and not (repo.path / "new").exists()
    # Nothing moved through a link (a link in our folder is set aside by the capture before
    # the restore, gitlinks.py, and the trash made anew), nothing made at its target.
    assert oracle.disk(outside) == before_outside and not (tmp_path / "nowhere").exists()
    if kind == "file":
        assert len(removed) >= EDITED + ADDED, removed
        assert where.read_bytes() == b"mine\n"
    assert not list((state / "tmp").glob("removed-*"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd")
def test_the_emptier_holds_nothing_of_the_command_open(tmp_path: Path) -> None:
    """It runs after the command has answered: a pipe the command's caller reads (a hook's
    standard output) must not stay open in it. What it holds open is written by the emptier
    itself, as the name of a file in the folder it keeps."""
    folder = tmp_path / "bin"
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            try:
                trash._alone(fd)
                held = sorted(int(n) for n in os.listdir("/proc/self/fd"))
                name = "held-" + "-".join(str(n) for n in held if n != fd)
                os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    finally:
        os.close(write_end)
        os.close(read_end)
        os.close(fd)
    names = [p.name for p in folder.iterdir()]
    # 0, 1 and 2 are /dev/null; the listing's own descriptor is the one more.
    assert len(names) == 1 and names[0].startswith("held-0-1-2"), names
    assert len(names[0].split("-")) <= 5, names


def test_what_is_in_the_trash_is_emptied_by_another_process(tmp_path: Path) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    for i in range(50):
        (folder / f"removed-{i}").write_bytes(b"x" * 100)
    (folder / "link").symlink_to(tmp_path / "kept")
    (tmp_path / "kept").write_bytes(b"kept\n")
    import git_atomic.cli.main  # noqa: F401  (a command's process: it forks the emptier)

    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        trash.empty_later(fd)
    finally:
        os.close(fd)
    assert emptied(folder)
    assert (tmp_path / "kept").read_bytes() == b"kept\n"  # the link removed, not followed


def test_gc_empties_what_a_killed_emptier_left(repo: GitRepo) -> None:
    repo.atomic("begin", "op", check=0)
    repo.atomic("commit", "--no-gates", check=0)
    left = repo.path / ".git" / "atomic" / "trash"
    left.mkdir(exist_ok=True)
    (left / "removed-1-1").write_bytes(b"garbage\n")
    repo.atomic("gc", check=0)
    assert not any(left.iterdir())


def test_a_program_that_imports_the_api_is_never_forked(tmp_path: Path) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "removed-1-1").write_bytes(b"x\n")
    code = (
        "import os, sys\n"
        "forks = []\n"
        "sys.addaudithook(lambda e, a: forks.append(e) if e == 'os.fork' else None)\n"
        "import git_atomic.api\n"
        "from git_atomic.engine import trash\n"
        "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
        "trash.empty_later(fd)\n"
        "print(forks, os.listdir(sys.argv[1]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] []"
