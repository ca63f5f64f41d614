"""The files git-atomic remembers things in (`.git/atomic/`: the reconcile answers, the staged
side's cache, the watcher's records, the scan's bits, the raw record) are read as the
journal's state files are (core/wholefile.py): never through a link, never waited on. A fifo made at
`reconciled-<worktree>.json` (by a command run under an operation, by anything that writes in
the git dir) had every later `begin` wait on it for ever; a link there was read through, a file
elsewhere taken for our memo. Each is now no memo: worked out again."""

from __future__ import annotations

import os
import subprocess

import pytest

from testing.gitrepo import GitRepo

# Each memo a begin and an abort leave, by its name's start (the rest is the worktree's key).
# Under a line-ending rule, the raw record (`raw-`) and its stamp (`.since`, by its end).
MEMOS = ["reconciled-", "staged-cache.json", "bits-", "walk-", "unwatched-", "found-"]
MEMOS += ["raw-", ".since", "system-attributes"]


def _memo(repo: GitRepo, start: str) -> str:
    names = [
        n
        for n in os.listdir(repo.path / ".git" / "atomic")
        if (n.endswith(start) if start.startswith(".") else n.startswith(start))
        and not (start == "raw-" and n.endswith(".since"))
    ]
    assert names, (start, os.listdir(repo.path / ".git" / "atomic"))
    return names[0]


def _warmed(repo: GitRepo) -> None:
    repo.write(".gitattributes", b"*.txt text eol=lf\n")  # the raw record's rule
    repo.write("tool.sh", b"#!/bin/sh\n")
    (repo.path / "tool.sh").chmod(0o755)  # a file with bits of its own: the bits memo
    for _ in range(2):
        repo.atomic("begin", "warm", check=0)
        repo.write("README", b"changed\n")
        repo.atomic("abort", check=0)


@pytest.mark.parametrize("start", MEMOS)
@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_a_memo_that_is_a_fifo_or_a_link_is_no_memo(repo: GitRepo, start: str, kind: str) -> None:
    _warmed(repo)
    path = repo.path / ".git" / "atomic" / _memo(repo, start)
    outside = repo.path.parent / "elsewhere.json"
    outside.write_bytes(path.read_bytes())
    before = outside.stat()
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(outside)
    repo.write("README", b"the operation's\n")
    try:
        repo.atomic("begin", "op", check=0, timeout=60)
        repo.write("new.txt", b"made\n")
        repo.atomic("abort", check=0, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"waited on the {kind} at {path.name}")
    assert repo.read("README") == b"the operation's\n"  # back at PRE-OP, exactly
    assert not (repo.path / "new.txt").exists()
    after = outside.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
