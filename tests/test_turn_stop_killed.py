"""A Stop hook killed before its turn is recorded as an operation (a platform's hook timeout).

Where the turn's last call was a file tool, Stop captures that call's step before it writes
the turn's operation row: killed there (each failpoint on that path), the turn was left open,
`recover` only removed the lock, and the next prompt recorded it "kept ... not judged (it
ended without Stop)" with the bad edit in place. Now `recover` takes back the turn's own
changes, as for a Stop killed later, and keeps what the user wrote since (another file, the
same file); the next prompt judges it as Stop would have. Real hook processes, real kills.
"""

from __future__ import annotations

import json
import os

import pytest

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, Step, bash, edit, ops, prompt, repo, stop

__all__ = ["repo"]  # the fixture: an app, its two gates, git-atomic's Claude Code hooks

START = b"def answer():\n    return 41\n"


def _notes(repo: GitRepo, n: int) -> Step:
    return bash(repo, n, "echo n > NOTES.md", lambda: repo.write("NOTES.md", b"n\n"))


def _sed(repo: GitRepo, n: int) -> Step:
    def act() -> None:
        repo.write("app.py", b"def answer():\n    BUG\n")

    return bash(repo, n, "sed -i s/return 41/BUG/ app.py", act)


def _shape(repo: GitRepo, shape: str) -> list[Step]:
    """The turn: its calls, the last one writing BUG into app.py (a file tool or a shell)."""
    return {
        "edit": [edit(repo, 1, "BUG")],
        "bash,edit": [_notes(repo, 1), edit(repo, 2, "BUG")],
        "edit,edit": [edit(repo, 1, "VALUE = 5", file="lib.py"), edit(repo, 2, "BUG")],
        "several,edit": [
            _notes(repo, 1),
            edit(repo, 2, "VALUE = 5", file="lib.py"),
            bash(repo, 3, "ls", lambda: None),
            edit(repo, 4, "BUG"),
        ],
        "bash": [_sed(repo, 1)],
        "edit,bash": [edit(repo, 1, "VALUE = 5", file="lib.py"), _sed(repo, 2)],
        "several,bash": [_notes(repo, 1), edit(repo, 2, "VALUE = 5", file="lib.py"), _sed(repo, 3)],
    }[shape]


SHAPES = ["edit", "bash,edit", "edit,edit", "several,edit", "bash", "edit,bash", "several,bash"]
# The steps a Stop reaches before the turn's operation row, where its last call was a file tool
# with calls before it (its pending step is captured there): each is killed.
# Then, whatever its last call: its last step taken (turnend.py), its refs moved (judge.py).
BEFORE_ROW = [
    "capture:walk@1",
    "scanbits:aside@1",
    "capture:scan-kept@1",
    "turnend:closed@1",
    "judge:refs-adopted@1",
]


def _killed_stop(repo: GitRepo, shape: str, kill_at: str) -> ClaudeCode:
    claude = ClaudeCode(repo)
    claude.turn(_shape(repo, shape))
    claude.env["GIT_ATOMIC_FAILPOINT"] = kill_at
    [answer] = claude.send(stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    assert answer.exit_code == -9, answer  # killed there, for real
    return claude


def _turns_own_gone(repo: GitRepo, shape: str) -> None:
    """The turn's own changes are gone from the disk."""
    assert not os.path.lexists(repo.path / "NOTES.md")
    if "edit," in shape or "several" in shape:
        assert (repo.path / "lib.py").read_bytes() == b"VALUE = 1\n"


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kill_at", BEFORE_ROW)
def test_recover_takes_back_a_turn_whose_stop_was_killed_and_keeps_the_users_edits(
    repo: GitRepo, shape: str, kill_at: str
) -> None:
    claude = _killed_stop(repo, shape, kill_at)
    # The user, between the kill and `recover`: another file, and the same file apart.
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    app = repo.path / "app.py"
    app.write_bytes(b"# the user's line\n" + app.read_bytes())
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr, res.stderr
    [said] = [line for line in res.stderr.splitlines() if "recovered" in line]
    assert "the turn's own changes are taken back (what you did meanwhile stays)" in said, said
    assert app.read_bytes() == b"# the user's line\n" + START  # the turn's BUG line: gone
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    assert not os.path.islink(app) and os.lstat(app).st_size == len(b"# the user's line\n") + 28
    _turns_own_gone(repo, shape)
    status = repo.atomic_json("status")
    assert (status["interrupted"], status["lock"], status["open"]) == (None, None, None)
    [op] = ops(repo)
    assert op["status"] == "recovered"
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr  # nothing left
    # The next prompt finds no turn left open: none is recorded "ended without Stop".
    answers = claude.send(prompt("next"))
    assert all("ended without Stop" not in a.stdout for a in answers), answers
    assert len(ops(repo)) == 1


def test_recover_takes_back_a_turn_whose_stop_was_killed_setting_a_file_aside(
    repo: GitRepo,
) -> None:
    """A shell call then a file tool: its end's capture sets a file aside (reconcile.py)."""
    _killed_stop(repo, "bash,edit", "reconcile:aside@1")
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    repo.atomic("recover", check=0)
    assert (repo.path / "app.py").read_bytes() == START
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    _turns_own_gone(repo, "bash,edit")
    assert [o["status"] for o in ops(repo)] == ["recovered"]


@pytest.mark.parametrize("shape", ["bash,edit", "several,edit"])
def test_recover_changes_nothing_where_the_user_rewrote_the_turns_line(
    repo: GitRepo, shape: str
) -> None:
    _killed_stop(repo, shape, "capture:walk@1")
    (repo.path / "app.py").write_bytes(b"def answer():\n    BUG  # the user's line now\n")
    res = repo.atomic("recover", check=3)
    assert "overlap" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert (repo.path / "app.py").read_bytes() == b"def answer():\n    BUG  # the user's line now\n"
    assert repo.atomic_json("status")["interrupted"] is None
    [op] = ops(repo)
    assert op["status"] == "recovered"


@pytest.mark.parametrize("shape", ["bash,edit", "several,edit"])
def test_the_next_prompt_before_recover_leaves_the_turn_to_it(repo: GitRepo, shape: str) -> None:
    """The dead Stop's lock is there: the prompt says to run `recover`, which then takes the
    turn back; never "ended without Stop"."""
    claude = _killed_stop(repo, shape, "scanbits:aside@1")
    answers = claude.send(prompt("next"))
    text = "".join(a.stdout for a in answers)
    assert "ended without Stop" not in text and "git atomic recover" in text, text
    assert ops(repo) == []
    repo.atomic("recover", check=0)
    assert (repo.path / "app.py").read_bytes() == START
    _turns_own_gone(repo, shape)
    assert [o["status"] for o in ops(repo)] == ["recovered"]


# The Stop's first capture kills a turn with a step left to take before its row (the others
# once it is an operation: recover's alone); its last step taken and its refs moved, any turn.
UNLOCKED = [
    *((shape, {"GIT_ATOMIC_FAILPOINT": "capture:walk"}) for shape in ("bash,edit", "edit,edit")),
    *(
        (shape, kill)
        for shape in ("edit", "bash,edit", "several,edit", "edit,bash")
        for kill in (
            {"GIT_ATOMIC_FAILPOINT": "turnend:closed"},
            {"GIT_ATOMIC_FAILPOINT": "judge:refs-adopted"},
        )
    ),
]


@pytest.mark.parametrize(("shape", "kill"), UNLOCKED)
def test_a_turn_whose_stop_was_killed_is_judged_at_the_next_prompt_once_unlocked(
    repo: GitRepo, shape: str, kill: dict[str, str]
) -> None:
    """The dead Stop's lock removed by hand (not by `recover`): the next prompt judges the
    turn as its Stop would have (its gate fails: taken back), never "ended without Stop";
    the user's edit in between stays."""
    claude = _killed_stop(repo, shape, kill["GIT_ATOMIC_FAILPOINT"])
    (repo.path / ".git" / "atomic.lock").unlink()
    (repo.path / "mine.txt").write_bytes(b"mine\n")
    answers = claude.send(prompt("next"))
    text = "".join(a.stdout for a in answers)
    assert "ended without Stop" not in text and "rolled back" in text, text
    assert (repo.path / "app.py").read_bytes() == START
    assert (repo.path / "mine.txt").read_bytes() == b"mine\n"
    _turns_own_gone(repo, shape)
    [op] = ops(repo)
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "validate")


def test_a_stop_that_judged_its_turn_leaves_nothing_for_recover(repo: GitRepo) -> None:
    """A Stop that judged the turn to its end leaves no mark for `recover` to act on."""
    claude = ClaudeCode(repo)
    claude.turn(_shape(repo, "bash,edit"))
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert "nothing to recover" in repo.atomic("recover", check=0).stderr
    assert [o["status"] for o in ops(repo)] == ["rolled_back"]


def test_recover_json_of_a_stop_killed_before_the_row(repo: GitRepo) -> None:
    """`--json`: one object on stdout, the turn's operation recovered, its effect taken back."""
    _killed_stop(repo, "bash,edit", "turnend:closed@1")
    res = repo.atomic("recover", "--json", check=0)
    out = json.loads(res.stdout)
    assert (out["status"], out["recovery"]["action"]) == ("recovered", "effect"), out
    assert out["recovery"]["lock_broken"] is not None
    assert (repo.path / "app.py").read_bytes() == START
    assert not os.path.lexists(repo.path / "NOTES.md")
