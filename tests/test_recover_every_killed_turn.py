"""`recover` finishes every killed turn of the worktree in one run, and names what is left
elsewhere.

Two sessions' Stops killed before their turns became operations (the first's dead lock removed
by hand, so the second session worked on): `recover` took back the older turn only, the other
stayed marked until a second `recover`. Now it goes on while the one before finished cleanly,
and a killed turn in another worktree of the repository is named with where to run it.
Real hooks, real kills.
"""

from __future__ import annotations

from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import OTHER, ClaudeCode, edit, ops, repo, stop
from tests.test_turn_stop_killed import START

__all__ = ["repo"]


def _killed(claude: ClaudeCode, repo: GitRepo, session: str | None = None) -> None:
    claude.env["GIT_ATOMIC_FAILPOINT"] = "turnend:closed@1"
    [answer] = claude.send(stop(session=session) if session else stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    assert answer.exit_code == -9, answer


def test_recover_takes_back_two_sessions_killed_turns_in_one_run(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    _killed(claude, repo)
    (repo.path / ".git" / "atomic.lock").unlink()  # by hand: the other session works on
    claude.turn([edit(repo, 1, "VALUE = 5", file="lib.py", session=OTHER)])
    _killed(claude, repo, OTHER)
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr, res.stderr
    assert (repo.path / "app.py").read_bytes() == START, res.stderr
    assert (repo.path / "lib.py").read_bytes() == b"VALUE = 1\n", res.stderr
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    assert [o["status"] for o in ops(repo)] == ["recovered", "recovered"], res.stderr
    assert len([line for line in res.stderr.splitlines() if "recovered:" in line]) == 2
    status = repo.atomic_json("status")
    assert (status["interrupted"], status["lock"], status["open"]) == (None, None, None)
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr


def test_recover_json_takes_back_both_and_names_the_second(repo: GitRepo) -> None:
    import json

    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    _killed(claude, repo)
    (repo.path / ".git" / "atomic.lock").unlink()
    claude.turn([edit(repo, 1, "VALUE = 5", file="lib.py", session=OTHER)])
    _killed(claude, repo, OTHER)
    res = repo.atomic("recover", "--json", check=0)
    out = json.loads(res.stdout)
    assert out["status"] == "recovered", out
    second = [op["op_id"] for op in ops(repo) if op["op_id"] != out["op_id"]]
    assert len(second) == 1 and any(second[0] in n for n in out["recovery"]["notes"]), out
    assert (repo.path / "lib.py").read_bytes() == b"VALUE = 1\n"
    assert (repo.path / "app.py").read_bytes() == START


def test_recover_names_a_killed_turn_of_another_worktree(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    other = GitRepo(tmp_path / "wt", repo.env)
    theirs = ClaudeCode(other)
    theirs.turn([edit(other, 1, "BUG", session=OTHER)])
    _killed(theirs, other, OTHER)
    ours = ClaudeCode(repo)
    ours.turn([edit(repo, 1, "VALUE = 5", file="lib.py")])
    _killed(ours, repo)
    res = repo.atomic("recover", check=0)
    assert (repo.path / "lib.py").read_bytes() == b"VALUE = 1\n", res.stderr
    assert str(tmp_path / "wt") in res.stderr and "recover" in res.stderr, res.stderr
    assert (other.path / "app.py").read_bytes() == b"def answer():\n    BUG\n"  # not ours
    res = other.atomic("recover", check=0)
    assert (other.path / "app.py").read_bytes() == START, res.stderr
