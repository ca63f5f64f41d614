"""Hard links inside the worktree across a rollback (stop 53's adversary): what is exact.

A checkpoint holds each name's bytes and mode, not which names share an inode, and a restore
never writes into a file it replaces (design.md: a hard link is no way out): every name it
writes back is a file of its own. So the bytes and mode of each name come back exactly, and
two names that were one file before are two files after (README: What it does not do). This
pins the part that is exact, for each kind of pair and of change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.takeback import taken_back

PAIRS = {"tracked": ("f", "h"), "untracked": ("u", "v"), "mixed": ("f", "v")}
OPS = {
    "edit-in-place": "echo op >> {a}",
    "remove-one": "rm {b}",
    "replace-one": "rm {a}; echo op > {a}",
}


def _pair(repo: GitRepo, a: str, b: str) -> None:
    repo.write(a, b"shared\n")
    if a == "f":
        repo.git("add", "f")
        repo.git("commit", "-qm", "f")
    os.link(repo.path / a, repo.path / b)
    if b == "h":
        repo.git("add", "h")
        repo.git("commit", "-qm", "h")


@pytest.mark.parametrize("pair", sorted(PAIRS))
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_each_name_of_a_hard_link_gets_its_bytes_back(
    repo: GitRepo, tmp_path: Path, pair: str, op: str, how: str
) -> None:
    a, b = PAIRS[pair]
    _pair(repo, a, b)
    line = OPS[op].format(a=a, b=b)
    assert taken_back(repo, line, how).returncode in (0, 1)
    for name in (a, b):
        st = os.lstat(repo.path / name)
        assert repo.read(name) == b"shared\n", name
        assert oct(st.st_mode & 0o7777) == oct(0o644), name
    untracked = [name for name in (a, b) if name in ("u", "v")]
    assert repo.git("status", "--porcelain") == "".join(f"?? {n}\n" for n in untracked)
