"""Usage errors: one line, the prefix once, a "did you mean", never the hidden `hook`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def test_an_unknown_command_is_named_once_with_a_suggestion(repo: GitRepo) -> None:
    err = repo.atomic("lgo", check=2).stderr
    assert err == "git-atomic: no command 'lgo'; did you mean 'log'? (see `git atomic help`)\n"


def test_an_unknown_command_lists_no_hidden_command(repo: GitRepo) -> None:
    err = repo.atomic("nope", check=2).stderr
    assert err.count("git-atomic") == 1 and "hook" not in err.replace("hooks", "")


def test_a_mistyped_choice_of_a_command(repo: GitRepo) -> None:
    err = repo.atomic("hooks", "instal", "claude-code", check=2).stderr
    assert err.startswith(
        "git-atomic: hooks: action: invalid choice 'instal'; did you mean 'install'? "
        "(choose from install, uninstall"
    )
    assert len(err.splitlines()) == 1
    assert repo.atomic("log", "--bogus", check=2).stderr.count("git-atomic") == 1


def test_a_bare_repository_is_told_a_working_tree_is_needed(repo: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare))
    err = repo.atomic("status", check=3, cwd=bare).stderr
    assert "needs a working tree" in err and "not a git repository" not in err


@pytest.mark.parametrize("n", [str(2**31), str(2**63), str(10**30), str(10**400)])
def test_a_log_count_above_the_largest_is_a_usage_line(repo: GitRepo, n: str) -> None:
    """Was: `internal error: IntegrityError: datatype mismatch`, exit 3 (n >= 2**63)."""
    repo.atomic("run", "--history", "shadow", "--no-gates", "--", "true", check=0)
    err = repo.atomic("log", "-n", n, check=2).stderr
    assert err.startswith("git-atomic: log: argument -n/--max-count: expected at most 2147483647")
    assert len(err.splitlines()) == 1 and "internal error" not in err


def test_the_largest_log_count_shows_every_operation(repo: GitRepo) -> None:
    repo.atomic("run", "--history", "shadow", "--no-gates", "--", "true", check=0)
    assert len(repo.atomic_json("log", "-n", str(2**31 - 1))["operations"]) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--", "pytst", "-q"],
        ["run", "--", "./no-such-script.sh"],
        ["run", "--isolate", "--", "pytst"],
        ["tdd", "green", "--", "pytst"],
    ],
)
def test_a_command_that_does_not_exist_is_refused_before_anything_starts(
    repo: GitRepo, args: list[str]
) -> None:
    repo.write(".git-atomic.toml", b'[tdd]\ntest = "true"\n')
    before = repo.fingerprint()
    err = repo.atomic(*args, check=2).stderr
    assert "nothing was started" in err and len(err.splitlines()) == 1
    assert repo.atomic_json("log")["operations"] == []
    assert repo.fingerprint().diff(before) == []


def test_an_argv_gate_that_does_not_exist_is_refused_before_anything_starts(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nrun = ["pytst", "-q"]\n')
    err = repo.atomic("run", "--", "sh", "-c", "echo x > f", check=2).stderr
    why = "cannot run pytst: command not found on PATH; nothing was started"
    assert err == f"git-atomic: gate pytst: {why}\n"
    assert not repo.exists("f")
    repo.atomic("begin", "by-hand", check=0)
    repo.write("g", b"work\n")
    repo.atomic("commit", check=2)  # the work stays, the operation stays open
    assert repo.read("g") == b"work\n" and repo.atomic_json("status")["open"] is not None


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["status"], 0),
        (["status", "--json"], 0),
        (["log"], 0),
        (["--help"], 0),
        (["show", "--json"], 2),  # its error's JSON, to the reader that is gone
        (["show", "--json", "nope"], 2),
        # A command's own outcome, whoever stopped reading (review: the first fix said 0).
        (["run", "--json", "--", "sh", "-c", "echo y > b.txt; exit 1"], 1),
        (["run", "--", "sh", "-c", "exit 1"], 1),
    ],
)
@pytest.mark.parametrize("helper", ["0", "1"])
def test_a_reader_that_stops_reading_is_no_error(
    repo: GitRepo, args: list[str], code: int, helper: str
) -> None:
    """`git atomic status | head -1`: the output's reader is gone before it was all written.
    No "internal error" (exit 3): the reader had all it wanted (adversarial review)."""
    repo.atomic("run", "--", "sh", "-c", "echo x > a.txt", check=0)
    for _ in range(3):
        res = _to_a_gone_reader(repo, args, helper, both=False)
        assert "internal error" not in res.stderr.decode(), res.stderr
        assert "Traceback" not in res.stderr.decode()
        assert res.returncode == code, res.stderr
    # Both streams to the reader that is gone (`2>&1 | true`): the exit code alone says it.
    res = _to_a_gone_reader(repo, args, helper, both=True)
    assert res.returncode == code
    assert repo.atomic_json("status")["open"] is None  # nothing left half done


def _to_a_gone_reader(
    repo: GitRepo, args: list[str], helper: str, *, both: bool
) -> subprocess.CompletedProcess[bytes]:
    """The command with standard output (and error, `both`) a pipe nobody reads: every write
    fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "git_atomic", *args],
            cwd=repo.path,
            env={**repo.env, "GIT_ATOMIC_HELPER": helper},
            stdout=write,
            stderr=write if both else subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
