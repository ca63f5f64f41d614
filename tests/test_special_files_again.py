"""Two FIFO gaps limits.md admitted ("Not yet"): the folders an `undo` left empty where it took a
FIFO away again stayed (`undo` removes the FIFO outside the trees, and pruned nothing), and
the bits an operation's `chmod` gave a FIFO of yours were not put back by a take-back worked
out on top of later changes (`rollback --op`, an agent turn's take-back: no tree holds a
FIFO, and what it holds beside the trees, effectbeside.py, looked at regular files' bits only).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from testing.agents import shell_turn
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _bits(repo: GitRepo, rel: str) -> int | None:
    """The FIFO's permission bits at `rel`; None where no FIFO is."""
    try:
        st = os.lstat(repo.path / rel)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISFIFO(st.st_mode) else None


def test_undo_taking_a_fifo_away_again_takes_the_folders_it_leaves_empty(
    repo: GitRepo,
) -> None:
    """Both ways: an operation that made `d/e/p` (its rollback took all three away; `undo`
    made them again; a second `undo` took the FIFO away and left `d/e/` empty), and one that
    removed your `f/g/p` (its rollback made it again; `undo` took it away and left `f/g/`);
    a folder the state `undo` goes to has stays (`k/`, holding a file of yours)."""
    repo.write("k/mine", b"mine\n")
    (repo.path / "f" / "g").mkdir(parents=True)
    os.mkfifo(repo.path / "f" / "g" / "p", 0o640)
    script = "mkdir -p d/e; mkfifo d/e/p; mkfifo k/p; rm -r f; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert not repo.exists("d") and _bits(repo, "f/g/p") == 0o640
    res = repo.atomic("undo", check=0)
    assert _bits(repo, "d/e/p") is not None and _bits(repo, "k/p") is not None, res.stderr
    assert not repo.exists("f"), res.stderr  # (the first way's second undo, the second's first)
    res = repo.atomic("undo", check=0)
    assert not repo.exists("d") and not repo.exists("k/p"), res.stderr
    assert repo.read("k/mine") == b"mine\n" and _bits(repo, "f/g/p") == 0o640, res.stderr
    repo.atomic("undo", check=0)  # and back again, folders and all
    assert _bits(repo, "d/e/p") is not None and not repo.exists("f")


def test_rollback_op_puts_back_the_bits_the_operation_gave_a_fifo(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p", 0o640)
    os.mkfifo(repo.path / "q", 0o640)
    op = repo.atomic_json("run", "--history", "shadow", "--", "chmod", "600", "p", "q")["op_id"]
    repo.write("README", b"yours, since\n")
    os.chmod(repo.path / "q", 0o604)  # yours since: left, and named
    res = repo.atomic("rollback", "--op", op, check=None)
    assert _bits(repo, "p") == 0o640, res.stderr
    assert _bits(repo, "q") == 0o604, res.stderr
    assert "q: the permission bits the operation gave the FIFO were changed since" in res.stderr
    assert repo.read("README") == b"yours, since\n"
    res = repo.atomic("undo", check=0)  # the operation's bits again, where still as set back
    assert _bits(repo, "p") == 0o600 and _bits(repo, "q") == 0o604, res.stderr


def test_an_agent_turn_taken_back_puts_back_the_bits_its_call_gave_a_fifo(
    repo: GitRepo,
) -> None:
    """Your edit between its calls: the take-back is worked out on top of it."""
    os.mkfifo(repo.path / "p", 0o640)
    answer = shell_turn(repo, "chmod 606 p", "echo x > bad", between="echo yours > README")
    assert answer["decision"] == "block" and not repo.exists("bad"), answer
    assert _bits(repo, "p") == 0o640, answer
    assert repo.read("README") == b"yours\n"
