"""Exit statuses that count as success: tools that exit 1 after doing their job (pyupgrade)."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

REWRITES = ["sh", "-c", "echo rewritten > f.txt; exit 1"]


def test_ok_exit_on_the_command_line(repo: GitRepo) -> None:
    res = repo.atomic_json("run", "--history", "shadow", "--ok-exit", "0,1", "--", *REWRITES)
    assert res["status"] == "committed" and res["command"]["exit_code"] == 1
    assert repo.read("f.txt") == b"rewritten\n"
    failed = repo.atomic_json("run", "--ok-exit", "0,1", "--", "sh", "-c", "exit 2", check=1)
    assert failed["failed_phase"] == "exec"


def test_ok_exit_in_the_config_by_program(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b'history = "shadow"\n[ok_exit]\nsh = [0, 1]\n')
    assert repo.atomic_json("run", "--", *REWRITES)["status"] == "committed"
    # --ok-exit wins over the config for one run.
    assert repo.atomic_json("run", "--ok-exit", "0", "--", *REWRITES, check=1)["status"] == (
        "rolled_back"
    )


def test_ok_exit_of_a_gate(repo: GitRepo) -> None:
    repo.write(
        ".git-atomic.toml",
        b'history = "shadow"\n[[gates]]\nname = "lint"\nrun = "exit 1"\nok_exit = [0, 1]\n',
    )
    res = repo.atomic_json("run", "--", "true")
    assert res["gates"][0]["passed"] and res["gates"][0]["exit_code"] == 1


@pytest.mark.parametrize(
    ("args", "config", "said"),
    [
        (["--ok-exit", "x"], b"", "--ok-exit: expected exit statuses like 0,1, got 'x'"),
        (["--ok-exit", "256"], b"", "--ok-exit: expected exit statuses like 0,1, got '256'"),
        ([], b"ok_exit = [1]\n", "ok_exit: expected a table: program = [statuses], got an array"),
        ([], b"[ok_exit]\nsh = []\n", "ok_exit.sh: expected a non-empty array of exit statuses"),
    ],
)
def test_bad_ok_exit_is_a_usage_error(
    repo: GitRepo, args: list[str], config: bytes, said: str
) -> None:
    repo.write(".git-atomic.toml", config)
    before = repo.fingerprint()
    err = repo.atomic("run", *args, "--", "true", check=2).stderr
    assert said in err and len(err.splitlines()) == 1
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("ok", ["--ok-exit", "config"])
def test_a_command_whose_exit_counts_as_success_but_left_a_merge_is_not_said_to_have_failed(
    repo: GitRepo, ok: str
) -> None:
    """`run --ok-exit 0,1 -- git merge other` that stops on a conflict (exit 1, a merge in
    progress) is rolled back, and said 'rolled back (the command exited with status 1)', as if
    the status you counted as success were the reason; `log` said 'command exited 1'. Both say
    the status counts as success and that what it left is the reason."""
    repo.write("f.txt", b"a\nb\nc\n")
    repo.git("add", "f.txt")
    repo.git("commit", "-qm", "base")
    repo.git("checkout", "-qb", "other")
    repo.write("f.txt", b"a\nOTHER\nc\n")
    repo.git("commit", "-qam", "other")
    repo.git("checkout", "-q", "-")
    repo.write("f.txt", b"a\nMINE\nc\n")
    repo.git("commit", "-qam", "mine")
    args = ["--ok-exit", "0,1"] if ok == "--ok-exit" else []
    if ok == "config":
        repo.write(".git/info/exclude", b".git-atomic.toml\n")
        repo.write(".git-atomic.toml", b"[ok_exit]\ngit = [0, 1]\n")
    res = repo.atomic("run", "-n", "merge", *args, "--", "git", "merge", "-q", "other", check=1)
    assert "the command left a merge in progress" in res.stderr, res.stderr
    said = "the command exited with status 1, which counts as success, but left a state"
    assert said in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert "command exited 1, left a state" in repo.atomic("log", "-n", "1", check=0).stdout
    assert repo.read("f.txt") == b"a\nMINE\nc\n"
    assert not (repo.path / ".git" / "MERGE_HEAD").exists()
