"""A Stop killed between its turn's operation row and that row's checkpoints.

`turnop.record_op` wrote the row, then the checkpoints in a second transaction: killed in
between (a platform's hook timeout), the journal held an open operation with no checkpoint, the
marked record was dropped from its slot by `recover` ("that one is recover's"), and recover had
nothing to take back with: the turn's changes stayed. Now the row and its checkpoints are one
transaction: a kill there leaves no row, and the turn is recovered (or judged by the next
prompt) as for a Stop killed just before (test_turn_stop_killed.py). Real hooks, real kills.
"""

from __future__ import annotations

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ops, prompt, repo
from tests.test_turn_stop_killed import START, _killed_stop, _turns_own_gone

__all__ = ["repo"]

ARMED = {"GIT_ATOMIC_FAILPOINT": "journal:op-row"}  # its row written, not its checkpoints
KILL = ARMED["GIT_ATOMIC_FAILPOINT"]


def test_recover_takes_back_a_turn_killed_between_its_row_and_its_checkpoints(
    repo: GitRepo,
) -> None:
    claude = _killed_stop(repo, "several,edit", KILL)
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    app = repo.path / "app.py"
    app.write_bytes(b"# the user's line\n" + app.read_bytes())
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr, res.stderr
    assert app.read_bytes() == b"# the user's line\n" + START, res.stderr
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    _turns_own_gone(repo, "several,edit")
    status = repo.atomic_json("status")
    assert (status["interrupted"], status["lock"], status["open"]) == (None, None, None)
    [op] = ops(repo)
    assert op["status"] == "recovered"
    assert op["checkpoints"]["pre_op"] is not None and op["checkpoints"]["op_exec"], op
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr
    answers = claude.send(prompt("next"))
    assert all("ended without Stop" not in a.stdout for a in answers), answers
    assert len(ops(repo)) == 1


def test_the_next_prompt_judges_a_turn_killed_between_its_row_and_its_checkpoints(
    repo: GitRepo,
) -> None:
    """The dead Stop's lock removed by hand: the next prompt judges the turn (its gate fails:
    taken back), the user's edit stays."""
    claude = _killed_stop(repo, "bash,edit", KILL)
    (repo.path / ".git" / "atomic.lock").unlink()
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    answers = claude.send(prompt("next"))
    text = "".join(a.stdout for a in answers)
    assert "ended without Stop" not in text and "rolled back" in text, text
    assert (repo.path / "app.py").read_bytes() == START
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    _turns_own_gone(repo, "bash,edit")
    [op] = ops(repo)
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "validate")
