"""A hook killed on the noted files' path (agents/turnfiles.py): a file tool's PostToolUse
killed once the ref holding the bytes it noted is made and before the turn's record says so
(`turnfiles:notes-kept`), and a later call or the Stop killed once the pending steps' refs are
made and before the record counts them (`turnfiles:settled`). The turn goes on (or `recover`
finishes it) and its failing Stop takes back exactly the turn's changes, byte for byte on the
disk: the user's files stay, nothing of the turn is left. Real hooks, real kills."""

from __future__ import annotations

from typing import Any

import pytest

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import TEXT, ClaudeCode, bash, edit, ops, repo, stop, write_call

__all__ = ["repo"]  # the fixture: an app, its two gates, git-atomic's Claude Code hooks

START = b"def answer():\n    return 41\n"
BUG = b"def answer():\n    BUG\n"
OURS = TEXT.replace(b"line 2\n", b"line 2 by the agent\n")


def _killed(
    claude: ClaudeCode, repo: GitRepo, payload: dict[str, Any], armed: dict[str, str]
) -> str:
    """`payload`'s hook killed where `armed` says, then `recover` (which the next call asks for: the
    dead hook's lock is left); what it said."""
    claude.env.update(armed)
    answers = claude.send(payload)
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    assert [a.exit_code for a in answers] == [-9], answers
    res = repo.atomic("recover", check=None)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "removed the lock" in res.stderr, res.stderr
    return res.stderr


def _turn_until(repo: GitRepo, where: str) -> ClaudeCode:
    """A turn: a captured first call (lib.py), then a noted file tool call (doc.txt), the user
    writing their own file between; killed at `where`."""
    repo.write("doc.txt", TEXT)
    repo.git("add", "doc.txt")
    repo.git("commit", "-q", "-m", "doc")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), act = write_call(repo, 2, "doc.txt", OURS)
    claude.send(pre)
    act()
    if where == "post":
        _killed(claude, repo, post, {"GIT_ATOMIC_FAILPOINT": "turnfiles:notes-kept"})
    else:
        claude.send(post)
    repo.write("mine.txt", b"the user's\n")
    if where == "next-pre":  # a shell call: its window takes a capture, which settles
        (pre, post), act = bash(repo, 3, "echo n > N", lambda: repo.write("N", b"n\n"))
    else:  # a file tool: noted too, settled by the Stop
        (pre, post), act = edit(repo, 3, "BUG")
    if where == "next-pre":
        _killed(claude, repo, pre, {"GIT_ATOMIC_FAILPOINT": "turnfiles:settled"})
    else:
        claude.send(pre)
    act()
    claude.send(post)
    if where == "next-pre":
        claude.turn([edit(repo, 4, "BUG")])
    return claude


def _taken_back(repo: GitRepo, *left: str) -> None:
    """The turn's changes gone, the user's file (and the files `left`) there."""
    assert repo.read("doc.txt") == TEXT
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.read("mine.txt") == b"the user's\n"
    assert repo.git("status", "--porcelain").splitlines() == [
        f"?? {p}" for p in (*left, "mine.txt")
    ]
    assert not repo.git("for-each-ref", "refs/atomic/turns/")  # none of the turn's left


@pytest.mark.parametrize("where", ["post", "next-pre"])
def test_a_call_killed_on_the_noted_path_leaves_the_turn_whole(repo: GitRepo, where: str) -> None:
    claude = _turn_until(repo, where)
    [answer] = claude.send(stop())
    out = answer.json()
    assert out["decision"] == "block" and "rolled back" in out["reason"], out
    # The shell call whose PreToolUse was killed wrote N unprotected: named, left.
    left = ["N"] if where == "next-pre" else []
    assert ("not protected: Bash" in out["systemMessage"]) == bool(left), out
    _taken_back(repo, *left)
    repo.atomic("undo", check=0)
    assert repo.read("doc.txt") == OURS and repo.read("lib.py") == b"VALUE = 3\n"
    assert repo.read("app.py") == b"def answer():\n    BUG\n"
    assert repo.read("mine.txt") == b"the user's\n"


def test_a_stop_killed_once_the_pending_steps_have_refs_is_recovered(repo: GitRepo) -> None:
    claude = _turn_until(repo, "stop")
    said = _killed(claude, repo, stop(), {"GIT_ATOMIC_FAILPOINT": "turnfiles:settled"})
    assert "recovered: the turn's own changes are taken back" in said, said
    _taken_back(repo)
    assert [o["status"] for o in ops(repo)] == ["recovered"]
    status = repo.atomic_json("status")
    assert (status["interrupted"], status["lock"], status["open"]) == (None, None, None)
