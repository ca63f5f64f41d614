"""Peers' reports on rename detection in a restore, played against git-atomic: a checkpoint
restore that listed what to delete with rename detection on folded a path that disappeared
into a rename record, and the old copy stayed beside the restored one (the reason
brightwave-inc/tidebreak#2822 turns `--find-renames` off); rewinds that put back some files
and not others (anthropics/claude-code#14002). Moves git pairs by content (files of equal
bytes, a copy whose original is deleted, a rename with an edit, a cross of two names) are
taken back path by path, by a failed turn at its Stop and by `rollback --op` after a file of
yours; `undo` makes them again. The oracle: the disk by lstat, byte for byte."""

from __future__ import annotations

from testing.agents import shell_turn
from testing.gitrepo import GitRepo
from testing.oracle import disk

SAME = b"the same bytes\n" * 20
MOVES = (
    "mv twin1.txt moved.txt && mv twin2.txt twin1.txt && echo edit >> moved.txt",
    "cp src/orig.py src/copy.py && rm src/orig.py",
    "sed 's/line 3/LINE THREE/' big.txt > big2.txt && rm big.txt",
    "mv left.txt t && mv right.txt left.txt && mv t right.txt",
)


def _files(repo: GitRepo) -> None:
    repo.write("twin1.txt", SAME)
    repo.write("twin2.txt", SAME, mode=0o755)
    repo.write("src/orig.py", SAME)
    repo.write("big.txt", b"".join(b"line %d\n" % i for i in range(10)))
    repo.write("left.txt", b"left\n")
    repo.write("right.txt", b"right\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.write("untracked_twin.txt", SAME)  # yours, not committed: the same bytes again


def test_moves_paired_by_content_are_taken_back_path_by_path(repo: GitRepo) -> None:
    """A failed turn plays the moves and is taken back at its Stop; the same moves by a run
    are taken back by `rollback --op` after a file of yours; `undo` makes them again."""
    _files(repo)
    before = disk(repo.path, modes=True)
    answer = shell_turn(repo, *MOVES, "echo x > bad")
    assert answer.get("decision") == "block", answer
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    assert now == before
    (repo.path / ".git-atomic.toml").unlink()
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c", " && ".join(MOVES)
    )
    after = disk(repo.path, modes=True)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    assert now == before
    repo.atomic("undo", check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    assert now == after
