"""Family: the rule files the configuration names (`core.excludesFile`, `core.attributesFile`)
where that file is one of the worktree, and an operation made it a symbolic link out of it (or
made a folder on its way one). git reads what the link leads to; git-atomic never reads it,
nor takes its times for the rules' (engine/rulefiles.py `configured`: stalls.py, reconcile.py,
ignores.py, conversion.py ask there). The target outside is never written: its bytes and its
mtime are as they were.

- A commits-mode run whose command swapped `.myignore` (`.env` in it) for a link to an old
  file of other rules committed your `.env`, secret and all: whether a rule changed was told
  by the ctime of the file the link leads to (old), so `.env` read as a file the command made.
- A link to a FIFO out of the worktree is refused by name (exit 3), git never left waiting."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def outside(repo: GitRepo, name: str, data: bytes) -> tuple[Path, bytes, int]:
    """A file out of the worktree, old (its ctime long before any operation)."""
    path = repo.path.parent / name
    path.write_bytes(data)
    return path, data, path.stat().st_mtime_ns


def untouched(seen: tuple[Path, bytes, int]) -> None:
    path, data, mtime = seen
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("where", [".myignore", "conf/ign", "linked-folder"])
def test_a_commit_leaves_out_a_file_of_yours_a_link_unhid(repo: GitRepo, where: str) -> None:
    rel = "conf/ign" if where == "linked-folder" else where
    repo.write(rel, b".env\n")
    repo.git("add", rel)
    repo.git("commit", "-qm", "rules")
    repo.git("config", "core.excludesFile", rel)
    repo.write(".env", b"SECRET=hunter2\n")
    if where == "linked-folder":  # the folder on the way a link to one holding other rules
        folder = repo.path.parent / "other-conf"
        folder.mkdir()
        seen = outside(repo, "other-conf/ign", b"other/\n")
        swap = f"rm -r conf && ln -s {folder} conf"
    else:
        seen = outside(repo, "other-rules", b"other/\n")
        swap = f"rm {rel} && ln -s {seen[0]} {rel}"
    commits_without_env(repo, swap, seen)


def commits_without_env(repo: GitRepo, swap: str, seen: tuple[Path, bytes, int]) -> None:
    """A commits-mode run that does `swap` and makes `made.txt`: its commit holds `made.txt`
    and not your `.env` (a rule of yours hides it), which stays as it is, and the file outside
    (`seen`) is neither read into the commit nor changed."""
    time.sleep(0.05)  # all of it older than PRE-OP by more than the clock's grain
    head = repo.head()

    script = f"{swap} && echo made > made.txt"
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", script, check=0)

    committed = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert repo.head() != head
    assert ".env" not in committed, committed
    assert "made.txt" in committed, committed
    assert repo.read(".env") == b"SECRET=hunter2\n"
    untouched(seen)


@pytest.mark.parametrize("key", ["core.excludesFile", "core.attributesFile"])
def test_a_link_of_the_worktree_to_a_fifo_is_refused(repo: GitRepo, key: str) -> None:
    repo.write(".myrules", b"# rules\n")
    repo.git("add", ".myrules")
    repo.git("commit", "-qm", "rules")
    repo.git("config", key, ".myrules")
    fifo = repo.path.parent / "rules-fifo"
    os.mkfifo(fifo)
    mtime = fifo.stat().st_mtime_ns
    script = f"rm .myrules && ln -s {fifo} .myrules; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=60)
    assert res.returncode == 3 and "wait for ever" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert fifo.stat().st_mtime_ns == mtime
    (repo.path / ".myrules").unlink()
    repo.git("checkout", "--", ".myrules")
    repo.atomic("recover", check=0, timeout=60)
    assert repo.read(".myrules") == b"# rules\n"
