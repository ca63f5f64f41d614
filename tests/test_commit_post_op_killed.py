"""`git atomic commit` killed after its gates passed and its POST-OP was recorded, before the
operation was closed (ops/validation.py: the checkpoint, then `Engine.close`, two writes).

SPEC (recover): the interrupted operation goes back to its exact PRE-OP state by default, and
`--accept` keeps the state as it is. The command never said "committed", so the default holds
here too, gates passed or not, and nothing is lost: the state it replaces is the rescue that
`undo` brings back; `--accept` keeps it. (An agent turn has no such instant: its POST-OP and
its closing are one transaction, tests/test_turn_keep_killed.py.) Real kills.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

# The POST-OP recorded (in commits mode: before its visible commit), and once its commit is made.
KILLS = ["checkpoint:post_op:after-journal", "post-op:after-checkpoint"]


def _killed_commit(tmp_path: Path, history: str, kill_at: str) -> tuple[GitRepo, str]:
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    repo.write("README", b"hello\nyours, unstaged\n")  # before the operation: PRE-OP's
    head = repo.head()
    repo.atomic("begin", "op", "--history", history, check=0)
    repo.write("new.txt", b"the operation's\n")
    repo.write("README", b"hello\nyours, unstaged\nthe operation's line\n")
    repo.atomic("checkpoint", "-m", "s1", check=0)
    res = repo.atomic("commit", "-g", "true", env={"GIT_ATOMIC_FAILPOINT": kill_at})
    assert res.returncode == -9, res  # killed there, for real
    return repo, head


def _rows(repo: GitRepo) -> tuple[str, list[str]]:
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    try:
        [(op_id, status)] = db.execute("SELECT id, status FROM operations").fetchall()
        kinds = [k for (k,) in db.execute("SELECT kind FROM checkpoints WHERE op_id=?", (op_id,))]
    finally:
        db.close()
    return str(status), kinds


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("kill_at", KILLS)
def test_recover_takes_a_commit_killed_after_its_post_op_back_to_pre_op(
    tmp_path: Path, history: str, kill_at: str
) -> None:
    repo, head = _killed_commit(tmp_path, history, kill_at)
    assert _rows(repo) == ("open", ["pre_op", "op_exec", "post_op"])
    assert repo.atomic("begin", "another").returncode == 3  # blocked until recovered
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr, res.stderr
    assert "PRE-OP" in res.stderr or "rescue" in res.stderr or "undo" in res.stderr, res.stderr
    assert repo.head() == head  # the POST-OP's visible commit (commits mode) is off the branch
    assert (repo.path / "README").read_bytes() == b"hello\nyours, unstaged\n"
    assert not (repo.path / "new.txt").exists()
    assert _rows(repo)[0] == "recovered"
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr
    # Nothing lost: the state the gates passed comes back.
    repo.atomic("undo", check=0)
    assert (repo.path / "new.txt").read_bytes() == b"the operation's\n"
    assert (repo.path / "README").read_bytes() == b"hello\nyours, unstaged\nthe operation's line\n"


@pytest.mark.parametrize("kill_at", KILLS)
def test_recover_accept_keeps_a_commit_killed_after_its_post_op(
    tmp_path: Path, kill_at: str
) -> None:
    repo, _ = _killed_commit(tmp_path, "shadow", kill_at)
    res = repo.atomic("recover", "--accept", "--json", check=0)
    assert json.loads(res.stdout)["status"] == "recovered", res.stdout
    assert (repo.path / "new.txt").read_bytes() == b"the operation's\n"
    assert (repo.path / "README").read_bytes() == b"hello\nyours, unstaged\nthe operation's line\n"
    assert repo.atomic_json("status")["interrupted"] is None
