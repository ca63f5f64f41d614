"""A Stop whose wait for the worktree's lock ran out (another git-atomic held it past
GIT_ATOMIC_HOOK_LOCK_WAIT) judges nothing and says the turn stays open. Where the session's
next event was the person's prompt, not another Stop, that prompt closed the turn as one that
ended without Stop: kept, its gates never run (a turn that broke them stayed in the tree).
The turn's end was seen: the prompt now judges it as its Stop would have (its gates, its
effect taken back where one fails), as it judges a turn whose Stop was killed; where the lock
is busy again there, it stays open and says so, for its next Stop or prompt. The oracle: the
files on disk, the journal's operation and what the hook said."""

from __future__ import annotations

from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, edit, held_lock, ops, prompt, repo, stop

__all__ = ["repo"]

START = b"def answer():\n    return 41\n"


def _busy_stop(claude: ClaudeCode, repo: GitRepo, go: Path) -> str:
    holder = held_lock(repo, go)
    try:
        [answer] = claude.send(stop())
    finally:
        go.touch()
        holder.wait(timeout=60)
    said: str = answer.json()["systemMessage"]
    assert "this turn is not judged: another git-atomic is working" in said, said
    return said


def test_a_failing_turn_whose_stop_was_busy_is_judged_at_the_next_prompt(
    repo: GitRepo, tmp_path: Path
) -> None:
    claude = ClaudeCode(repo)
    claude.env["GIT_ATOMIC_HOOK_LOCK_WAIT"] = "0.3"
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py"), edit(repo, 2, "BUG")])
    said = _busy_stop(claude, repo, tmp_path / "go")
    assert "prompt" in said, said  # what becomes of it, said
    assert repo.read("lib.py") == b"VALUE = 3\n"  # nothing judged yet
    answers = claude.send(prompt("go on"))
    text = " ".join(a.stdout + a.stderr for a in answers)
    assert "Traceback" not in text, text
    # Judged: its gate failed, its effect taken back, and said.
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 1\n", text
    assert "gate" in text, text
    op = ops(repo)[0]  # (newest first)
    assert op["status"] == "rolled_back", op


def test_a_passing_turn_whose_stop_was_busy_is_kept_judged_at_the_next_prompt(
    repo: GitRepo, tmp_path: Path
) -> None:
    claude = ClaudeCode(repo)
    claude.env["GIT_ATOMIC_HOOK_LOCK_WAIT"] = "0.3"
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    _busy_stop(claude, repo, tmp_path / "go")
    claude.send(prompt("go on"))
    assert repo.read("lib.py") == b"VALUE = 3\n"
    op = ops(repo)[0]  # (newest first)
    assert op["status"] == "committed", op
    assert op["gates"] and all(g["passed"] for g in op["gates"]), op  # its gates ran


def test_busy_again_at_the_prompt_the_turn_stays_open_and_its_next_stop_judges_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    claude = ClaudeCode(repo)
    claude.env["GIT_ATOMIC_HOOK_LOCK_WAIT"] = "0.3"
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py"), edit(repo, 2, "BUG")])
    _busy_stop(claude, repo, tmp_path / "go")
    holder = held_lock(repo, tmp_path / "go2")
    try:
        answers = claude.send(prompt("go on"))
    finally:
        (tmp_path / "go2").touch()
        holder.wait(timeout=60)
    text = " ".join(a.stdout + a.stderr for a in answers)
    assert "not judged" in text and "stays open" in text, text
    assert repo.read("lib.py") == b"VALUE = 3\n"  # neither kept as judged nor taken back
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block", answer
    assert repo.read("app.py") == START and repo.read("lib.py") == b"VALUE = 1\n"
