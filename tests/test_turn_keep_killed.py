"""A Stop killed while it keeps a turn whose gates passed (a platform's hook timeout).

`turnop.close` wrote the turn's POST-OP checkpoint, then closed its operation in a second
transaction: killed in between, the journal held an open turn with a POST-OP, and `recover`
took the turn back as interrupted, its POST-OP left on a row recorded as recovered. Now the
POST-OP and the closing are one transaction (journal.close_op): killed before it commits, the
turn is interrupted as one killed while its gates ran and taken back (SPEC, recover: exact
PRE-OP by default; nothing lost: `undo`); killed after, it is kept and `recover` leaves it be.
The same for the next prompt once the dead Stop's lock is gone. Real hooks, real kills.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, bash, edit, ops, prompt, repo, stop
from tests.test_turn_stop_killed import START

__all__ = ["repo"]

GOOD = b"def answer():\n    return 42\n"


def _good_turn(repo: GitRepo, claude: ClaudeCode) -> None:
    notes = bash(repo, 1, "echo n > NOTES.md", lambda: repo.write("NOTES.md", b"n\n"))
    claude.turn([notes, edit(repo, 2, "return 42")])


def _killed_keep(repo: GitRepo, kill_at: str) -> ClaudeCode:
    claude = ClaudeCode(repo)
    _good_turn(repo, claude)
    claude.env["GIT_ATOMIC_FAILPOINT"] = kill_at
    [answer] = claude.send(stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    assert answer.exit_code == -9, answer  # killed there, for real
    return claude


# Where a Stop keeping a turn can be killed once its row is written: in the row's transaction
# (journal.py), its POST-OP's ref made, in the transaction that records POST-OP and closes the row.
# (Each as tests/test_faults.py finds it named: KILLED_ELSEWHERE.)
POST_OP_REF = {"GIT_ATOMIC_FAILPOINT": "turnop:post-op-ref"}["GIT_ATOMIC_FAILPOINT"]
POST_OP_ROW = {"GIT_ATOMIC_FAILPOINT": "journal:post-op-row"}["GIT_ATOMIC_FAILPOINT"]
CLOSED = {"GIT_ATOMIC_FAILPOINT": "turnop:closed"}["GIT_ATOMIC_FAILPOINT"]
TAKEN_BACK = ["journal:op-row", POST_OP_REF, POST_OP_ROW]


def _post_op_rows(repo: GitRepo) -> list[tuple[str, str]]:
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    try:
        rows = db.execute(
            "SELECT o.status, c.ref FROM checkpoints c JOIN operations o ON o.id = c.op_id "
            "WHERE c.kind = 'post_op'"
        ).fetchall()
    finally:
        db.close()
    return [(str(a), str(b)) for a, b in rows]


def _post_op_refs(repo: GitRepo) -> list[str]:
    out = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/ops/")
    return [r for r in out.splitlines() if r.endswith("-post-op")]


@pytest.mark.parametrize("kill_at", TAKEN_BACK)
def test_recover_takes_back_a_good_turn_killed_before_its_verdict_was_recorded(
    repo: GitRepo, kill_at: str
) -> None:
    """Killed before the transaction that keeps it: no POST-OP is recorded, so the turn is
    interrupted as one killed while its gates ran (SPEC, recover: exact PRE-OP state by
    default): taken back, the user's edit kept, and `undo` brings the turn back (nothing
    lost)."""
    claude = _killed_keep(repo, kill_at)
    assert _post_op_rows(repo) == []  # never an open row with a POST-OP
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr, res.stderr
    assert (repo.path / "app.py").read_bytes() == START
    assert not os.path.lexists(repo.path / "NOTES.md")
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    [op] = ops(repo)
    assert op["status"] == "recovered" and op["checkpoints"]["post_op"] is None, op
    assert _post_op_refs(repo) == []  # the killed Stop's ref no row names: dropped
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr
    answers = claude.send(prompt("next"))
    assert all("ended without Stop" not in a.stdout for a in answers), answers
    assert len(ops(repo)) == 1
    repo.atomic("undo", check=0)  # nothing lost: the turn's changes come back exactly
    assert (repo.path / "app.py").read_bytes() == GOOD
    assert (repo.path / "NOTES.md").read_bytes() == b"n\n"
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"


def test_a_good_turn_killed_once_kept_stays_kept(repo: GitRepo) -> None:
    """Killed after the transaction that records its POST-OP and closes it: the turn is kept
    (committed, its POST-OP held by its ref); `recover` only breaks the dead Stop's lock and
    changes nothing, and the next prompt finds nothing left of it."""
    claude = _killed_keep(repo, CLOSED)
    [(status, ref)] = _post_op_rows(repo)
    assert status == "committed"
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr and "taken back" not in res.stderr, res.stderr
    assert (repo.path / "app.py").read_bytes() == GOOD
    assert (repo.path / "NOTES.md").read_bytes() == b"n\n"
    [op] = ops(repo)
    assert op["status"] == "committed" and op["checkpoints"]["post_op"] is not None, op
    assert _post_op_refs(repo) == [ref]
    assert repo.git("rev-parse", ref).strip() == op["checkpoints"]["post_op"]
    answers = claude.send(prompt("next"))
    assert all("ended without Stop" not in a.stdout for a in answers), answers
    assert len(ops(repo)) == 1 and (repo.path / "app.py").read_bytes() == GOOD


@pytest.mark.parametrize("kill_at", [POST_OP_ROW, CLOSED])
def test_the_next_prompt_after_a_killed_keep_once_unlocked(repo: GitRepo, kill_at: str) -> None:
    """The dead Stop's lock removed by hand (not by `recover`): the next prompt never records
    the turn twice nor "ended without Stop"; a kept turn stays kept."""
    claude = _killed_keep(repo, kill_at)
    (repo.path / ".git" / "atomic.lock").unlink()
    answers = claude.send(prompt("next"))
    text = "".join(a.stdout for a in answers)
    assert "ended without Stop" not in text, text
    [op] = ops(repo)
    if kill_at == CLOSED:
        assert op["status"] == "committed" and op["checkpoints"]["post_op"] is not None, op
        assert (repo.path / "app.py").read_bytes() == GOOD
        return
    # Open with no POST-OP: recover's, as a turn killed while its gates ran.
    assert op["status"] == "open" and op["checkpoints"]["post_op"] is None, op
    assert repo.atomic_json("status")["interrupted"] is not None
    repo.atomic("recover", check=0)
    assert (repo.path / "app.py").read_bytes() == START
    assert [o["status"] for o in ops(repo)] == ["recovered"]


# Where a Stop taking a failing turn back can be killed once its row is written: its rescue,
# its restore, and once the row is closed.
TAKE_BACK = [
    "journal:op-row",
    "rollback:before-rescue",
    "rollback:rescue-unrecorded",
    "rollback:after-rescue",
    "restore:before-removal",
    "restore:after-write",
    "restore:after-files@1",
    "restore:after-index@1",
    "restore:after-files@2",
    "restore:after-index@2",
    "rollback:after-restore",
    CLOSED,
]


@pytest.mark.parametrize("kill_at", TAKE_BACK)
def test_a_failing_turn_killed_while_taken_back_ends_taken_back(
    repo: GitRepo, kill_at: str
) -> None:
    """Whatever the instant: after `recover` the turn's own changes are gone, the user's edit
    made meanwhile stays, one operation is recorded (rolled back, or recovered), a second
    `recover` finds nothing, and the next prompt records nothing more."""
    claude = ClaudeCode(repo)
    claude.turn(
        [
            bash(repo, 1, "echo n > NOTES.md", lambda: repo.write("NOTES.md", b"n\n")),
            edit(repo, 2, "BUG"),
        ]
    )
    claude.env["GIT_ATOMIC_FAILPOINT"] = kill_at
    [answer] = claude.send(stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    assert answer.exit_code == -9, answer
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    res = repo.atomic("recover")
    assert "Traceback" not in res.stderr, res.stderr
    # A restore killed half way is finished; the user's file made since is named and left
    # (exit 3: SPEC, recover), never taken.
    assert res.returncode == 0 or (res.returncode == 3 and "mine.txt" in res.stderr), res
    assert (repo.path / "app.py").read_bytes() == START
    assert not os.path.lexists(repo.path / "NOTES.md")
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    [op] = ops(repo)
    want = "rolled_back" if kill_at == CLOSED else "recovered"
    assert op["status"] == want and op["checkpoints"]["post_op"] is None, op
    assert _post_op_rows(repo) == []
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr
    answers = claude.send(prompt("next"))
    assert all("ended without Stop" not in a.stdout for a in answers), answers
    assert len(ops(repo)) == 1 and (repo.path / "app.py").read_bytes() == START


def test_a_good_turn_killed_once_kept_in_commits_mode_keeps_its_files(repo: GitRepo) -> None:
    """Commits mode: killed once the turn is closed, before its one commit (turncommit.py).
    The turn stays kept with its files as it left them; no commit is made after the fact (the
    branch stays where it was) and `recover` takes nothing back."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "hooks in commits mode")
    head = repo.head()
    claude = _killed_keep(repo, CLOSED)
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr and "taken back" not in res.stderr, res.stderr
    assert (repo.path / "app.py").read_bytes() == GOOD
    assert (repo.path / "NOTES.md").read_bytes() == b"n\n"
    assert repo.head() == head
    [op] = ops(repo)
    assert (op["status"], op["history"]) == ("committed", "commits"), op
    answers = claude.send(prompt("next"))
    assert all("ended without Stop" not in a.stdout for a in answers), answers
    assert len(ops(repo)) == 1
