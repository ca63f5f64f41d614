"""An agent turn's shell call whose only files are ones a rule hides: an earlier call of the
turn wrote the rule (`*.out` in `.gitignore`, in a `core.excludesFile` of the worktree, in
`.git/info/exclude`), then `make` writes `gen.out`. No checkpoint sees `gen.out`, so the call
changes nothing a checkpoint holds and is no step of the turn (a quiet window), yet the file is
the turn's. Its take-back put the rule back and left `gen.out`, one more untracked file nobody
made, at Stop after a failing gate, by `rollback --op` of the kept turn and by `recover`
after a Stop hook killed while it judged alike: the files a
rule hid were taken only within the windows of the turn's steps (effect.Outcome.made_within),
and the quiet call's span was not among them. It is now (effectsteps.within_windows), and
`undo` brings the file back. A file you make between the calls stays yours. The oracle is the
disk."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from testing.gitrepo import GitRepo
from tests.test_agents_hooks import ClaudeCode, Step, bash, edit, repo, stop, write_call

__all__ = ["repo"]  # the fixture: an app, its two gates, git-atomic's Claude Code hooks

RULES = [".gitignore", "excludes-file", "info-exclude"]


def rule_call(repo: GitRepo, rules: str) -> tuple[str, Callable[[], bytes]]:
    """Set up `rules`; returns the file that holds them and how to read it."""
    if rules == "info-exclude":
        path = ".git/info/exclude"
    else:
        path = ".gitignore" if rules == ".gitignore" else ".myignore"
        repo.write(path, b"*.tmp\n")
        repo.git("add", path)
        repo.git("commit", "-qm", "rules")
        if rules == "excludes-file":
            repo.git("config", "core.excludesFile", path)
    return path, lambda: (repo.path / path).read_bytes()


def steps(repo: GitRepo, rules: str, path: str, last: str) -> list[Step]:
    if rules == "info-exclude":  # git's own folder: a shell call writes it
        with_rule = bash(repo, 1, "echo '*.out' >> .git/info/exclude", lambda: _append(repo, path))
    else:
        with_rule = write_call(repo, 1, path, b"*.tmp\n*.out\n")
    make = bash(repo, 2, "make", lambda: repo.write("build/deep/gen.out", b"g\n"))
    return [with_rule, make, edit(repo, 3, last)]


def _append(repo: GitRepo, path: str) -> None:
    with open(repo.path / path, "ab") as fh:
        fh.write(b"*.out\n")


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize(
    "how",
    [
        "failing-turn",
        "rollback-op",
        "recover-rollback:after-rescue@1",
        "recover-restore:after-files@2",
    ],
)
def test_what_a_quiet_call_made_behind_an_earlier_calls_rule_goes_with_the_turn(
    repo: GitRepo, rules: str, how: str
) -> None:
    path, read_rules = rule_call(repo, rules)
    rules_before = read_rules()
    claude = ClaudeCode(repo)
    turn = steps(repo, rules, path, "return 42" if how == "rollback-op" else "BUG")
    claude.turn(turn[:2])
    time.sleep(0.05)  # between the calls, by more than the clock's grain
    repo.write("mine.out", b"the user's\n")  # yours, between the turn's calls: hidden too
    time.sleep(0.05)
    claude.turn(turn[2:])
    if how.startswith("recover"):  # the platform killed the Stop hook while it judged
        claude.env["GIT_ATOMIC_FAILPOINT"] = how.removeprefix("recover-")
        claude.send(stop())
        del claude.env["GIT_ATOMIC_FAILPOINT"]
        done = repo.atomic("recover")
        assert "Traceback" not in done.stderr, done.stderr
        # Killed once the rules were back, your file shows, as one made since the restore
        # began: left as it is, named, exit 3 (as SPEC says of what someone else changed).
        assert done.returncode == (3 if "after-files" in how else 0), done.stderr
    elif how == "failing-turn":
        [answer] = claude.send(stop())
        assert answer.json()["decision"] == "block"
    else:
        [answer] = claude.send(stop())
        assert "kept as operation" in answer.json()["systemMessage"]
        op_id = repo.atomic_json("log")["operations"][0]["op_id"]
        said = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0).stdout
        assert "build/deep/gen.out" in said and "mine.out" not in said, said
        repo.atomic("rollback", "--op", op_id, check=0)
    assert read_rules() == rules_before
    assert not repo.exists("build/deep/gen.out")
    assert not repo.exists("build")  # the folders it made go too
    assert repo.read("mine.out") == b"the user's\n"  # made between the calls: yours
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    repo.atomic("undo", check=0)  # the rescue held it
    assert repo.read("build/deep/gen.out") == b"g\n"
    assert repo.read("mine.out") == b"the user's\n"


@pytest.mark.parametrize("kill_at", ["rollback:after-rescue@1", "restore:after-files@2"])
def test_recover_of_a_killed_take_back_removes_a_virtualenv_its_own_rule_hid(
    repo: GitRepo, kill_at: str
) -> None:
    """The Stop hook killed once the take-back's rescue was saved (or half way through its
    files): `recover` finished the restore from a probe of the tree that, unlike the rescue,
    did not read the files git ignores now, so the virtualenv a call made (its own
    `.gitignore` of `*` beside it, which the take-back removes) stayed, all of it untracked
    files nobody made. The probe reads them as the rescue did, and the intent keeps the
    effect's windows for it (rescue.probe_half_restored, operation.intend_restore)."""
    claude = ClaudeCode(repo)

    def venv() -> None:
        repo.write(".venv/.gitignore", b"*\n")
        repo.write(".venv/bin/python", b"#!/bin/sh\n")

    claude.turn([bash(repo, 1, "python -m venv .venv", venv), edit(repo, 2, "BUG")])
    claude.env["GIT_ATOMIC_FAILPOINT"] = kill_at
    claude.send(stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    done = repo.atomic("recover", check=0)
    assert "Traceback" not in done.stderr
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert not repo.exists(".venv")
    repo.atomic("undo", check=0)  # the rescue held it
    assert repo.read(".venv/bin/python") == b"#!/bin/sh\n"
