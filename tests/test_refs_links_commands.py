"""A link of yours in refs, logs or at `packed-refs` (no operation made it), met by a command
that takes an effect back or restores a state without an operation of its own open (`undo`,
`rollback` of a finished operation, `rollback --op`, `emergency`) or by `gc` (its probe): each
refuses it by name, as `begin` and `run` do (gitlinks.refuse_found): exit 3, the link where it
was, the file outside never written, the worktree as it was. Before, their probe set the link
aside (exit 0), and no later undo made it again: your layout changed, silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

_WHERE = [".git/refs/heads/main", ".git/logs/refs/heads/main", ".git/packed-refs"]
_COMMANDS = [("undo",), ("rollback",), ("rollback", "--op", "OP"), ("emergency",), ("gc",)]


@pytest.mark.parametrize("where", _WHERE)
@pytest.mark.parametrize("command", _COMMANDS, ids=lambda c: " ".join(c))
def test_a_link_of_yours_in_refs_is_refused_by_name(
    tmp_path: Path, where: str, command: tuple[str, ...]
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.atomic("run", "--", "sh", "-c", "echo x > new.txt; exit 1", check=1)
    op = repo.atomic_json("log")["operations"][0]["op_id"]
    repo.git("pack-refs", "--all")
    outside = tmp_path / "outside"
    link = repo.path / where
    data = link.read_bytes() if link.exists() else b"not a ref\n"
    outside.write_bytes(data)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists():
        link.unlink()
    os.symlink(outside, link)
    before = oracle.disk(repo.path)

    args = tuple(op if a == "OP" else a for a in command)
    res = repo.atomic(*args, check=3)

    assert str(link) in res.stderr
    assert os.readlink(link) == str(outside)
    assert outside.read_bytes() == data
    assert oracle.disk(repo.path) == before
    assert not (repo.path / ".git" / "atomic-aside").exists()
