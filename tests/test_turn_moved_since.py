"""A file an agent's turn wrote that you moved or removed since (`mv dir dir2` after its
call): by the effect rules the move is yours and stays, and taking the turn back changes
nothing there (the file is gone from where it wrote it on both sides of the merge). Its Stop
said "rolled back" and left the turn's bytes at their new place unnamed; it names each such
file now, and where its bytes are (ops/effectleft.py). Real hook calls; the oracle is the disk
and the Stop's words."""

from __future__ import annotations

import json
import subprocess

import pytest

from testing.agents import claude_hook, claude_write
from testing.gitrepo import GitRepo

# What you do after the turn's call, and where the turn's bytes are then (None: nowhere).
MOVES = {
    "its folder moved": ("mv dir dir2", "dir2/new.txt"),
    "the file renamed": ("mv dir/new.txt kept.txt", "kept.txt"),
    "the file moved into another folder": ("mkdir other && mv dir/new.txt other/", "other/new.txt"),
    "the file removed": ("rm dir/new.txt", None),
}


def _write(repo: GitRepo, n: int, rel: str, data: bytes) -> None:
    claude_write(repo, n, rel, data)


@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("when", ["after its last call", "between its calls"])
def test_a_file_the_turn_wrote_and_you_moved_is_named_by_its_take_back(
    repo: GitRepo, move: str, when: str
) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad.txt"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("dir/old.txt", b"old\n")
    repo.git("add", "dir")
    repo.git("commit", "-qm", "dir")
    command, now_at = MOVES[move]
    _write(repo, 1, "dir/new.txt", b"the agent's\n")
    if when == "between its calls":
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    _write(repo, 2, "bad.txt", b"breaks the gate\n")
    if when == "after its last call":
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)

    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    reason = answer["reason"]
    assert "were rolled back" in reason, reason
    # The disk: the turn's bad.txt taken back; your move stays, the bytes where you put them.
    assert not (repo.path / "bad.txt").exists()
    assert not (repo.path / "dir" / "new.txt").exists()
    if now_at is not None:
        assert (repo.path / now_at).read_bytes() == b"the agent's\n"
        assert (
            f"dir/new.txt, which it wrote, was moved since (yours): its bytes are at {now_at}"
            in reason
        ), reason
    else:
        assert "dir/new.txt, which it wrote, is gone from there since" in reason, reason


def test_bytes_that_were_there_already_are_no_move(repo: GitRepo) -> None:
    """A file that held the same bytes when the turn began is not where its file went."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad.txt"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("same.txt", b"x\n")
    repo.git("add", "same.txt")
    repo.git("commit", "-qm", "same")
    _write(repo, 1, "new.txt", b"x\n")
    _write(repo, 2, "bad.txt", b"breaks the gate\n")
    (repo.path / "new.txt").unlink()

    reason = json.loads(claude_hook(repo, "s1", "Stop").stdout)["reason"]
    assert "new.txt, which it wrote, is gone from there since" in reason, reason
    assert "same.txt" not in reason, reason
    assert (repo.path / "same.txt").read_bytes() == b"x\n"


@pytest.mark.parametrize("move", MOVES)
def test_rollback_op_names_a_file_it_wrote_that_you_moved(repo: GitRepo, move: str) -> None:
    """The same for `rollback --op` of a kept `run`: a warning line names it."""
    repo.write("dir/old.txt", b"old\n")
    repo.git("add", "dir")
    repo.git("commit", "-qm", "dir")
    command, now_at = MOVES[move]
    ran = repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo made > dir/new.txt")
    op = ran.stderr.split("[", 1)[1].split("]", 1)[0]
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    back = repo.atomic("rollback", "--op", op)
    assert back.returncode == 0, back.stderr
    assert not (repo.path / "dir" / "new.txt").exists()
    if now_at is not None:
        assert (repo.path / now_at).read_bytes() == b"made\n"
        assert f"its bytes are at {now_at} now, left there" in back.stderr, back.stderr
    else:
        assert "dir/new.txt, which it wrote, is gone from there since" in back.stderr
