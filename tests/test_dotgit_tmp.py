"""A linked worktree's `.git` file an operation removed or changed is written back by its
rollback (engine/dotgit.py) through a temporary name of its own at the worktree's top. That
name was a fixed one (`.git.git-atomic-tmp`), removed first whatever it was: an ignored file
of yours of that name (which no rollback restores) was lost, a folder made the rollback fail.
The name is ours now (unique, made exclusively): whatever of yours is there stays, byte for
byte, and the `.git` file is back.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
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
    repo, linked = _linked(tmp_path, {".gitignore": b"*-tmp\n"})
    dot_git = (linked / ".git").read_bytes()
    _yours(linked / _NAME, kind)
    before = oracle.disk(linked)

    repo.atomic("run", "--", "sh", "-c", f"{how}; exit 1", check=1, cwd=linked)

    assert (linked / ".git").read_bytes() == dot_git
    assert oracle.disk(linked) == before


# --- killed between writing its temporary name and the rename (dotgit:aside) -----------------
_OURS = re.compile(r"\.git\.\d+\.[0-9a-f]{16}\.git-atomic-tmp")


def _linked(tmp_path: Path, files: dict[str, bytes] | None = None) -> tuple[GitRepo, Path]:
    """A repository with `files` committed (one file `f` by default) and a linked worktree."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for name, data in (files or {"f": b"base\n"}).items():
        repo.write(name, data)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "-b", "wb", str(linked))
    return repo, linked


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    "how",
    ["rm .git", "echo 'gitdir: /nowhere' > .git", "rm .git; ln -s /nowhere .git"],
)
def test_killed_as_it_puts_dot_git_back_then_recover_leaves_no_leftover(
    tmp_path: Path, how: str
) -> None:
    repo, linked = _linked(tmp_path)
    dot_git = (linked / ".git").read_bytes()
    before = oracle.disk(linked)

    res = repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        f"echo op >> f; {how}; exit 1",
        cwd=linked,
        env={"GIT_ATOMIC_FAILPOINT": "dotgit:aside"},
    )
    assert res.returncode == -signal.SIGKILL, res.stderr
    left = [n for n in os.listdir(linked) if _OURS.fullmatch(n)]
    assert len(left) == 1, os.listdir(linked)

    repo.atomic("recover", check=0, cwd=linked)

    assert stat.S_ISREG(os.lstat(linked / ".git").st_mode)
    assert (linked / ".git").read_bytes() == dot_git
    assert oracle.disk(linked) == before  # no leftover of ours, the file as before
    assert repo.git("-C", str(linked), "status", "--porcelain") == ""
    repo.atomic("recover", check=0, cwd=linked)  # nothing left to do
    assert oracle.disk(linked) == before


@pytest.mark.parametrize("command", ["recover", "gc"])
def test_our_leftover_goes_never_a_like_named_file_of_yours(tmp_path: Path, command: str) -> None:
    repo, linked = _linked(tmp_path)
    dot_git = (linked / ".git").read_bytes()
    dead = _dead_pid()
    ours = f".git.{dead}.{'a' * 16}.git-atomic-tmp"
    (linked / ours).write_bytes(dot_git)
    yours = {  # a like name that is not ours: other bytes, a live writer, another suffix
        f".git.{dead}.{'b' * 16}.git-atomic-tmp": b"yours\n",
        f".git.{os.getppid()}.{'c' * 16}.git-atomic-tmp": dot_git,
        f".git.{dead}.{'d' * 16}.git-atomic-tmp.bak": dot_git,
        f".git.{'e' * 16}.git-atomic-tmp": dot_git,
    }
    for name, data in yours.items():
        (linked / name).write_bytes(data)
    os.symlink("/nowhere", linked / f".git.{dead}.{'f' * 16}.git-atomic-tmp")
    before = oracle.disk(linked)

    repo.atomic(command, check=0, cwd=linked)

    after = oracle.disk(linked)
    assert os.fsencode(ours) not in after
    del before[os.fsencode(ours)]
    assert after == before
    assert (linked / ".git").read_bytes() == dot_git


@pytest.mark.parametrize("command", ["abort", "recover"])
def test_a_dot_git_naming_nothing_is_no_repository(tmp_path: Path, command: str) -> None:
    """Where git finds no repository, `abort` and `recover` look for what an operation left
    (ops/setaside.py) under the worktree's lock: a `.git` naming a folder that is not there
    had them write the lock's file there (an internal error). One line, exit 3."""
    repo, linked = _linked(tmp_path)
    (linked / ".git").write_bytes(b"gitdir: /nowhere/at/all\n")
    res = repo.atomic(command, cwd=linked)
    assert res.returncode == 3 and "not a git repository" in res.stderr, res.stderr
    assert "internal error" not in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
