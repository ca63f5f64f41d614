"""Other writers between a crash and `recover`, and git left half way (session 39).

A restore killed half way (`rollback --op`, `undo`...) is finished by `recover` from the
rescue it had saved. What someone changed after the kill (an edit, a new file, a `git add`, a
commit) is in no checkpoint: recover must leave it as it is and name it, as the restore itself
does for a write made while it runs, never write over it nor move a branch back over it.
"""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

TEXT = b"".join(b"line %d\n" % i for i in range(1, 10))


def killed_take_back(repo: GitRepo, step: str, *, mode: str = "shadow") -> str:
    """A kept operation that changed shared.txt and b.txt and made op.txt, the user's edit of
    line 8 since, then `rollback --op` killed at `step`."""
    repo.write("shared.txt", TEXT)
    repo.write("b.txt", b"b\n")
    repo.write("c.txt", b"c\n")
    repo.git("add", ".")
    repo.git("commit", "-qm", "base")
    script = "echo op > op.txt; sed -i 's/line 2/op/' shared.txt; echo opb >> b.txt"
    op = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script)["op_id"]
    repo.write("shared.txt", TEXT.replace(b"line 8", b"mine"))
    res = repo.atomic("rollback", "--op", op, env={"GIT_ATOMIC_FAILPOINT": step})
    assert res.returncode == -9, res.stderr
    return str(op)


@pytest.mark.parametrize("step", ["restore:after-write", "restore:after-index"])
def test_recover_leaves_what_was_written_after_the_kill(repo: GitRepo, step: str) -> None:
    """A file the rollback never touched (c.txt), edited after the kill, and a file made after
    it: recover used to write c.txt back and delete new.txt, keeping neither anywhere."""
    killed_take_back(repo, step)
    repo.write("c.txt", b"c\nmine after the kill\n")
    repo.write("new.txt", b"new after the kill\n")
    res = repo.atomic("recover", check=3)
    assert repo.read("c.txt") == b"c\nmine after the kill\n"
    assert repo.read("new.txt") == b"new after the kill\n"
    assert "c.txt" in res.stderr and "new.txt" in res.stderr
    # The rollback's own work is finished: the operation's effect is gone, the user's kept.
    assert repo.read("shared.txt") == TEXT.replace(b"line 8", b"mine")
    assert repo.read("b.txt") == b"b\n"
    assert not repo.exists("op.txt")
    assert "Traceback" not in res.stderr


def test_recover_keeps_what_was_staged_after_the_kill(repo: GitRepo) -> None:
    killed_take_back(repo, "restore:after-write")
    repo.write("c.txt", b"c\nstaged after the kill\n")
    repo.git("add", "c.txt")
    res = repo.atomic("recover", check=3)
    assert repo.read("c.txt") == b"c\nstaged after the kill\n"
    assert repo.git("show", ":c.txt") == "c\nstaged after the kill\n"
    assert "index" in res.stderr
    assert not repo.exists("op.txt")


def test_recover_never_moves_a_branch_back_over_a_commit_made_after_the_kill(
    repo: GitRepo,
) -> None:
    killed_take_back(repo, "restore:after-write")
    repo.write("c.txt", b"c\ncommitted after the kill\n")
    repo.git("commit", "-qm", "after the kill", "--", "c.txt")
    tip = repo.head()
    res = repo.atomic("recover", check=3)
    assert repo.head() == tip
    assert repo.read("c.txt") == b"c\ncommitted after the kill\n"
    assert "main" in res.stderr
    assert not repo.exists("op.txt")


def test_recover_with_no_other_writer_still_finishes_exactly(repo: GitRepo) -> None:
    killed_take_back(repo, "restore:after-write")
    repo.atomic("recover", check=0)
    assert repo.read("shared.txt") == TEXT.replace(b"line 8", b"mine")
    assert repo.read("b.txt") == b"b\n" and repo.read("c.txt") == b"c\n"
    assert not repo.exists("op.txt")
    assert repo.git("status", "--porcelain") == " M shared.txt\n"
