"""A Stop killed while it makes a kept turn's commit (commits mode).

The turn is closed (kept, its POST-OP recorded), then `turncommit.commit_turn` makes its one
commit, moves your branch, and puts the commit's change into your index. Killed between the
branch and the index, your branch named the turn's commit while your index still held what
you had staged before it: `git status` showed the turn's changes staged *backwards*, and a
plain `git commit` would have taken the turn out again. Nothing said so, and `recover` found
nothing to do. Now the commit is the operation's recorded intent before the branch moves (as
a `run`'s commit is: ops/phasecommit.py), and `recover` finishes it: the index as the
uninterrupted Stop leaves it, the commit recorded; killed before the branch moved, it says the
commit was not made, the turn's changes staying in your files. Real hooks, real kills.
"""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, edit, ops, repo, stop, tool_call

__all__ = ["repo"]

BEFORE_REF = {"GIT_ATOMIC_FAILPOINT": "turncommit:before-ref"}["GIT_ATOMIC_FAILPOINT"]
BEFORE_INDEX = {"GIT_ATOMIC_FAILPOINT": "turncommit:before-index"}["GIT_ATOMIC_FAILPOINT"]
BEFORE_RECORD = {"GIT_ATOMIC_FAILPOINT": "turncommit:before-record"}["GIT_ATOMIC_FAILPOINT"]


def _killed_commit(repo: GitRepo, kill_at: str | None) -> tuple[str, str]:
    """A kept turn in commits mode, its Stop killed at `kill_at` (None: not killed), over the
    user's staged, unstaged and untracked work. Returns (HEAD before, `git status` before)."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.write("README", b"hello, staged\n")
    repo.git("add", "README")
    repo.write("lib.py", b"VALUE = 2\n")
    repo.write("notes.txt", b"mine\n")
    status, head = repo.git("status", "--porcelain"), repo.head()
    claude = ClaudeCode(repo)
    new_file = tool_call("Write", {"file_path": str(repo.path / "new.py")}, 2)
    claude.turn([edit(repo, 1, "return 42"), (new_file, lambda: repo.write("new.py", b"N\n"))])
    if kill_at is not None:
        claude.env["GIT_ATOMIC_FAILPOINT"] = kill_at
    [answer] = claude.send(stop())
    assert answer.exit_code == (-9 if kill_at else 0), answer
    return head, status


def _as_uninterrupted(repo: GitRepo, head: str, status: str) -> None:
    assert repo.git("rev-list", f"{head}..HEAD").split() == [repo.head()]  # one commit
    changed = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert changed == ["app.py", "new.py"]
    # Your work exactly as it was (git's view and the bytes), the turn's files committed.
    assert repo.git("status", "--porcelain") == status
    assert repo.read("lib.py") == b"VALUE = 2\n" and repo.read("notes.txt") == b"mine\n"
    assert repo.read("README") == b"hello, staged\n"
    assert repo.read("app.py") == b"def answer():\n    return 42\n"
    assert repo.read("new.py") == b"N\n"
    [op] = ops(repo)
    assert op["status"] == "committed", op
    entries = repo.atomic_json("show", op["op_id"])["checkpoint_list"]
    assert entries[-1]["commit"] == repo.head(), entries  # recorded as the turn's commit


def test_an_uninterrupted_commit_is_what_recover_must_reach(repo: GitRepo) -> None:
    head, status = _killed_commit(repo, None)
    _as_uninterrupted(repo, head, status)
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr


@pytest.mark.parametrize("kill_at", [BEFORE_INDEX, BEFORE_RECORD])
def test_recover_finishes_a_turn_commit_killed_once_the_branch_moved(
    repo: GitRepo, kill_at: str
) -> None:
    head, status = _killed_commit(repo, kill_at)
    assert repo.head() != head  # the branch names the turn's commit
    # Said before recover: `status` names the stopped commit, for a person and for a program.
    [op] = ops(repo)
    assert "the commit of" in repo.atomic("status").stdout
    stopped = repo.atomic_json("status")["interrupted"]
    assert (stopped["op_id"], stopped["phase"]) == (op["op_id"], "commit"), stopped
    res = repo.atomic("recover", check=0)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "commit of" in res.stderr and "is finished: committed as" in res.stderr, res.stderr
    _as_uninterrupted(repo, head, status)
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr
    assert repo.atomic_json("status")["interrupted"] is None


def test_recover_says_a_turn_commit_killed_before_the_branch_was_not_made(repo: GitRepo) -> None:
    head, _ = _killed_commit(repo, BEFORE_REF)
    res = repo.atomic("recover", check=0)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "its commit was not made" in res.stderr, res.stderr
    assert repo.head() == head
    # Kept, uncommitted: the turn's changes in your files beside yours, your index untouched.
    assert repo.read("app.py") == b"def answer():\n    return 42\n"
    assert repo.read("new.py") == b"N\n" and repo.read("lib.py") == b"VALUE = 2\n"
    assert repo.git("diff", "--cached", "--name-only").split() == ["README"]
    [op] = ops(repo)
    assert op["status"] == "committed", op
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr


def test_an_index_you_changed_after_the_kill_is_left_as_it_is(repo: GitRepo) -> None:
    head, _ = _killed_commit(repo, BEFORE_INDEX)
    repo.git("add", "lib.py")  # you staged more before running recover
    staged = repo.git("write-tree")
    res = repo.atomic("recover", check=0)
    assert "your index changed since" in res.stderr, res.stderr
    assert repo.git("write-tree") == staged
    assert repo.git("rev-list", f"{head}..HEAD").split() == [repo.head()]


def test_a_branch_you_moved_after_the_kill_is_left_and_the_commit_named(repo: GitRepo) -> None:
    """You committed on top of the turn's commit before running recover: nothing of yours is
    touched, and the line names the turn's commit rather than saying it was never made."""
    head, _ = _killed_commit(repo, BEFORE_INDEX)
    turn_commit = repo.head()
    repo.git("commit", "-q", "--allow-empty", "-m", "yours")
    yours, staged = repo.head(), repo.git("write-tree")
    res = repo.atomic("recover", check=0)
    assert "moved since the kill" in res.stderr and turn_commit[:12] in res.stderr, res.stderr
    assert "was not made" not in res.stderr
    assert (repo.head(), repo.git("write-tree")) == (yours, staged)
    assert head != turn_commit


def test_an_advance_intent_not_a_turn_commit_is_dropped_not_read(repo: GitRepo) -> None:
    """A closed operation's intent that names a commit but not the rest a turn's commit writes
    (a journal edited by hand): dropped, never read, never a traceback."""
    import sqlite3

    _killed_commit(repo, None)
    [op] = ops(repo)
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    with db:
        db.execute(
            "UPDATE operations SET pending=? WHERE id=?",
            ('{"action": "advance", "commit": "0123"}', op["op_id"]),
        )
    db.close()
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    assert "commit of" not in res.stderr, res.stderr  # no word of a commit that was no turn's
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr
