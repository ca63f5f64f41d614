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
