"""`git atomic tdd`: every rule in both directions, with and without a COMMAND, in both modes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, State

# A test suite in shell: each t_*.sh is one test; impl.txt is the code under test.
SUITE = b"""for t in t_*.sh; do
  [ -e "$t" ] || continue
  sh "$t" || { echo "FAILED $t"; exit 1; }
done
echo "all passed"
"""
PY = sys.executable
COVERAGE_TEST = f"{PY} -m coverage run prog.py && {PY} -m coverage json -q -o cov.json"


def _setup(repo: GitRepo, *, history: str = "commits") -> None:
    repo.write(".gitignore", b".coverage\ncov.json\n__pycache__/\n")
    repo.write("tests.sh", SUITE)
    repo.write("impl.txt", b"base\n")
    repo.write("t_base.sh", b"grep -qx base impl.txt\n")
    repo.write(".git-atomic.toml", f'history = "{history}"\n[tdd]\ntest = "sh tests.sh"\n'.encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "suite")


def _coverage_setup(repo: GitRepo) -> None:
    """A Python program measured by the real coverage.py; lib.py is the code under test."""
    _setup(repo)
    repo.write(
        ".git-atomic.toml", f'[tdd]\ntest = "{COVERAGE_TEST}"\ncoverage = "cov.json"\n'.encode()
    )
    repo.write("lib.py", b"def double(x):\n    return 2 * x\n")
    repo.write("prog.py", b"import lib\nassert lib.double(2) == 4\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "program")


def _subjects(repo: GitRepo) -> list[str]:
    """The branch's commit subjects, newest first, without the fixture's first commit."""
    return repo.git("log", "--format=%s").splitlines()[:-1]


def _differences(before: State, after: State, *, ignoring: tuple[bytes, ...] = ()) -> list[str]:
    """`before.diff(after)` but for the files `ignoring` names, and those in the folders it
    names (`__pycache__`: the interpreter rewrites it, ignored, not the operation's)."""
    prefixes = [f"file {p!r}" for p in ignoring] + [f"file {p + b'/'!r}"[:-1] for p in ignoring]
    return [d for d in before.diff(after) if not any(d.startswith(p) for p in prefixes)]


def _new_test(repo: GitRepo, *, add: bool = True) -> None:
    repo.write("t_feature.sh", b"grep -qx feature impl.txt\n")  # fails until _implement
    if add:  # a new file goes into a phase's commit once the person adds it, as with git commit
        repo.git("add", "t_feature.sh")


def _implement(repo: GitRepo) -> None:
    repo.write("impl.txt", b"base\nfeature\n")


# --- RED -------------------------------------------------------------------------------------
def test_red_holds_without_command_commits_the_tree_as_it_stands(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)  # a new test file, added: the heart of RED
    res = repo.atomic("tdd", "red", "-m", "feature is listed", check=0)
    assert "RED holds: the tests fail (exit 1), as RED needs" in res.stderr
    assert "FAILED t_feature.sh" in res.stderr  # the failure the person meant to see
    assert _subjects(repo) == ["RED: feature is listed", "suite"]
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == ["t_feature.sh"]
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("phase", ["red", "green", "refactor"])
def test_a_phase_without_command_never_commits_an_untracked_draft(
    repo: GitRepo, phase: str
) -> None:
    _setup(repo)
    repo.write("draft_notes.md", b"half an idea\n")  # untracked: stays out, as git commit -a
    if phase == "red":
        _new_test(repo, add=False)  # untracked too: the tests see it, the commit does not
        repo.write("impl.txt", b"base\n")
        repo.write("t_base.sh", b"grep -qx base impl.txt\ngrep -q . impl.txt\n")  # tracked
    else:
        repo.write("impl.txt", b"base\n\n")  # a tracked edit that keeps the tests passing
    res = repo.atomic("tdd", phase, "-m", "step", check=0)
    committed = repo.git("show", "--name-only", "--format=", "HEAD").split()
    assert committed == (["t_base.sh"] if phase == "red" else ["impl.txt"])
    assert _subjects(repo) == [f"{phase.upper()}: step", "suite"]
    status = repo.git("status", "--porcelain")
    assert status == (
        "?? draft_notes.md\n?? t_feature.sh\n" if phase == "red" else "?? draft_notes.md\n"
    )
    assert "untracked, so not in the commit: draft_notes.md" in res.stderr
    # Once added (or `git add -N`), the new file is the phase's to commit.
    repo.git("add", "-N", "draft_notes.md")
    repo.atomic("tdd", phase, "-m", "with notes", check=0)
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == ["draft_notes.md"]
    assert repo.git("status", "--porcelain").count("draft_notes.md") == 0


@pytest.mark.parametrize("edits", ["staged", "unstaged", "staged and unstaged"])
def test_a_phase_without_command_commits_like_git_commit_a(
    repo: GitRepo, tmp_path: Path, edits: str
) -> None:
    """Staged or not, and a file with a staged edit and a further unstaged one (`git status`:
    MM) too: the commit holds every tracked file as it stands, as `git commit -a` would make it
    in an identical copy; the index then holds it, as git's would."""
    _setup(repo)
    _new_test(repo)  # a new test file, added (A): the tests fail
    first, second = b"grep -qx base impl.txt\ngrep -q . impl.txt\n", b"test -s impl.txt\n"
    if edits == "staged":
        repo.write("t_base.sh", first)
        repo.git("add", "t_base.sh")
    elif edits == "unstaged":
        repo.write("t_base.sh", first)
    else:
        repo.write("t_base.sh", first)
        repo.git("add", "t_base.sh")
        repo.write("t_base.sh", first + second)  # MM
        repo.write("t_feature.sh", second + b"grep -qx feature impl.txt\n")  # AM
    repo.write("draft_notes.md", b"half an idea\n")  # untracked: stays out, as git commit -a
    twin = GitRepo(tmp_path / "twin", repo.env)
    shutil.copytree(repo.path, twin.path, symlinks=True)
    twin.git("commit", "-aqm", "as git commit -a makes it")
    res = repo.atomic("tdd", "red", "-m", "feature is listed", check=0)
    assert "RED holds" in res.stderr and "left uncommitted" not in res.stderr
    assert _subjects(repo) == ["RED: feature is listed", "suite"]
    assert repo.git("ls-tree", "-r", "HEAD") == twin.git("ls-tree", "-r", "HEAD")
    assert repo.git("ls-files", "-s") == twin.git("ls-files", "-s")
    assert repo.git("status", "--porcelain") == "?? draft_notes.md\n"


def test_a_phase_whose_only_change_is_untracked_commits_nothing(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo, add=False)
    head = repo.head()
    res = repo.atomic("tdd", "red", check=0)
    assert "nothing to commit (no tracked file differs from HEAD)" in res.stderr
    assert "untracked, so not in the commit: t_feature.sh" in res.stderr
    assert repo.head() == head and repo.git("status", "--porcelain") == "?? t_feature.sh\n"


def test_red_broken_without_command_changes_nothing(repo: GitRepo) -> None:
    _setup(repo)
    repo.write("impl.txt", b"base\nwork in progress\n")  # a person's edit, unstaged
    repo.write("t_new.sh", b"true\n")  # a test that passes: not a RED
    repo.git("add", "t_new.sh")  # staged stays staged
    before = repo.fingerprint()
    res = repo.atomic("tdd", "red", "-m", "x", check=1)
    assert res.stderr.splitlines()[-1].startswith(
        "git-atomic: RED broken: the tests pass, but RED needs a failing test; nothing was changed"
    )
    assert repo.fingerprint().diff(before) == []
    # Nothing is restored either: a file saved while the tests ran stays as saved.
    repo.write("t_edit.sh", b"echo 'saved by the editor' >> notes.txt\n")  # passes: no RED
    assert "nothing was changed" in repo.atomic("tdd", "red", check=1).stderr
    assert repo.read("notes.txt") == b"saved by the editor\n"


def test_red_with_command_holds_and_broken_rolls_back(repo: GitRepo) -> None:
    _setup(repo)
    add_test = ["--", "sh", "-c", "echo 'grep -qx feature impl.txt' > t_feature.sh"]
    obj = repo.atomic_json("tdd", "red", "-m", "feature test", *add_test)
    assert obj["status"] == "committed" and obj["tdd"]["kept"] and obj["command"]["exit_code"] == 0
    assert [g["name"] for g in obj["gates"]] == ["tdd-red"] and obj["gates"][0]["passed"]
    assert _subjects(repo) == ["RED: feature test", "suite"]
    # The same command again adds nothing that fails: t_always.sh passes, RED is broken.
    before = repo.fingerprint()
    res = repo.atomic(
        "tdd", "red", "--", "sh", "-c", "echo true > t_always.sh; echo feature >> impl.txt", check=1
    )
    assert "RED broken: the tests pass, but RED needs a failing test; rolled back" in res.stderr
    assert repo.fingerprint().diff(before) == []
    assert not repo.exists("t_always.sh")


def test_red_needs_a_test_that_fails_not_a_missing_program(repo: GitRepo) -> None:
    _setup(repo)
    repo.write(".git-atomic.toml", b'[tdd]\ntest = "no-such-test-runner -q"\n')
    repo.git("commit", "-qam", "runner")
    before = repo.fingerprint()
    res = repo.atomic("tdd", "red", check=1)
    assert "the test command could not run (exit 127: command not found)" in res.stderr
    assert repo.fingerprint().diff(before) == []


# --- GREEN -----------------------------------------------------------------------------------
def test_green_holds_and_is_broken_without_command(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)
    repo.atomic("tdd", "red", "-m", "feature test", check=0)
    before = repo.fingerprint()
    res = repo.atomic("tdd", "green", "-m", "not yet", check=1)
    assert "GREEN broken: the tests fail (exit 1), but GREEN needs them to pass" in res.stderr
    assert "FAILED t_feature.sh" in res.stderr and "full output: " in res.stderr
    assert repo.fingerprint().diff(before) == []
    _implement(repo)
    res = repo.atomic("tdd", "green", "-m", "list the feature", check=0)
    assert "GREEN holds: the tests pass" in res.stderr
    assert _subjects(repo) == ["GREEN: list the feature", "RED: feature test", "suite"]
    assert repo.git("status", "--porcelain") == ""


def test_green_with_command_holds_and_broken_rolls_back(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)
    repo.atomic("tdd", "red", check=0)
    before = repo.fingerprint()
    obj = repo.atomic_json("tdd", "green", "--", "sh", "-c", "echo wrong >> impl.txt", check=1)
    assert obj["status"] == "rolled_back" and obj["failed_phase"] == "validate"
    assert obj["tdd"] == {
        "phase": "green",
        "rule": "the tests must pass",
        "message": "sh -c 'echo wrong >> impl.txt'",
        "kept": False,
        "why": "the tests fail (exit 1), but GREEN needs them to pass",
        "coverage": None,
        "green_coverage": None,
        "untouched": False,
    }
    assert obj["checkpoints"]["rescue"] and repo.fingerprint().diff(before) == []
    assert (
        repo.atomic_json("tdd", "green", "--", "sh", "-c", "echo feature >> impl.txt")["status"]
        == "committed"
    )
    assert _subjects(repo)[0] == "GREEN: sh -c 'echo feature >> impl.txt'"
    assert repo.read("impl.txt") == b"base\nfeature\n"


def test_a_failing_command_rolls_back_before_any_rule(repo: GitRepo) -> None:
    _setup(repo)
    before = repo.fingerprint()
    obj = repo.atomic_json("tdd", "green", "--", "sh", "-c", "echo x >> impl.txt; exit 4", check=1)
    assert obj["failed_phase"] == "exec" and obj["command"]["exit_code"] == 4
    assert obj["gates"] == [] and repo.fingerprint().diff(before) == []


def test_a_command_phase_commits_its_change_and_leaves_the_work_in_progress(
    repo: GitRepo,
) -> None:
    _setup(repo)
    repo.write("notes.md", b"mine\n")  # untracked before: stays out of the commits
    repo.write("impl.txt", b"base\nedited\n")
    repo.git("add", "impl.txt")
    repo.write("impl.txt", b"base\nedited\nmore\n")  # staged and unstaged in one file
    index_before = repo.git("ls-files", "-s")
    repo.atomic("tdd", "green", "-m", "add t_ok", "--", "sh", "-c", "echo true > t_ok.sh", check=0)
    assert _subjects(repo) == ["GREEN: add t_ok", "suite"]  # no PRE-OP commit
    assert repo.git("log", "-1", "--format=%b").strip() == "Command: sh -c 'echo true > t_ok.sh'"
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == ["t_ok.sh"]
    assert repo.git("status", "--porcelain") == "MM impl.txt\n?? notes.md\n"
    assert repo.git("ls-files", "-s", "impl.txt") == next(
        line + "\n" for line in index_before.splitlines() if line.endswith("\timpl.txt")
    )
    assert repo.read("impl.txt") == b"base\nedited\nmore\n"


# --- REFACTOR --------------------------------------------------------------------------------
def test_refactor_must_pass_without_coverage_configured(repo: GitRepo) -> None:
    _setup(repo)
    before = repo.fingerprint()
    res = repo.atomic("tdd", "refactor", "--", "sh", "-c", "echo broken > impl.txt", check=1)
    assert "REFACTOR broken: the tests fail (exit 1), but REFACTOR needs them" in res.stderr
    assert repo.fingerprint().diff(before) == []
    repo.write("impl.txt", b"base\n\n")  # the person's refactoring, as it stands
    res = repo.atomic("tdd", "refactor", "-m", "tidy", check=0)
    assert "REFACTOR holds: the tests pass;" in res.stderr
    assert _subjects(repo)[0] == "REFACTOR: tidy"


def test_refactor_keeps_coverage_at_least_at_greens(repo: GitRepo) -> None:
    _coverage_setup(repo)
    obj = repo.atomic_json("tdd", "green", "-m", "double")
    assert obj["tdd"]["coverage"] == 100.0 and obj["gates"][0]["coverage"] == 100.0
    # Dead code lowers coverage: a command's change is rolled back ...
    dead = b"def double(x):\n    return 2 * x\n\n\ndef unused(x):\n    return x\n"
    before = repo.fingerprint()
    cmd = ["--", PY, "-c", f"open('lib.py', 'wb').write({dead!r})"]
    obj = repo.atomic_json("tdd", "refactor", "-m", "add unused", *cmd, check=1)
    assert obj["tdd"]["kept"] is False
    assert obj["tdd"]["green_coverage"] == 100.0 and obj["tdd"]["coverage"] < 100.0
    assert obj["tdd"]["why"] == (f"coverage {obj['tdd']['coverage']:.2f}% is below GREEN's 100.00%")
    assert (
        _differences(
            before, repo.fingerprint(), ignoring=(b"cov.json", b".coverage", b"__pycache__")
        )
        == []
    )
    # ... and a person's is left as it is.
    repo.write("lib.py", dead)
    before = repo.fingerprint()
    res = repo.atomic("tdd", "refactor", check=1)
    assert "is below GREEN's 100.00%; nothing was changed" in res.stderr
    assert (
        _differences(
            before, repo.fingerprint(), ignoring=(b"cov.json", b".coverage", b"__pycache__")
        )
        == []
    )
    # Covering code passes.
    repo.write("prog.py", b"import lib\nassert lib.double(2) == 4\nassert lib.unused(1) == 1\n")
    obj = repo.atomic_json("tdd", "refactor", "-m", "cover unused")
    assert obj["status"] == "committed" and obj["tdd"]["coverage"] == 100.0
    assert _subjects(repo)[:2] == ["REFACTOR: cover unused", "program"]  # GREEN: no change
    log = repo.atomic("log", check=0).stdout.splitlines()
    assert "tdd-refactor" in log[0] and log[0].endswith("[REFACTOR kept, 100.0%]")
    assert log[1].endswith("[REFACTOR broken: coverage 83.33% is below GREEN's 100.00%]")
    assert log[-1].endswith("[GREEN kept, 100.0%]")


def test_no_green_to_compare_with_then_a_stale_or_missing_report(repo: GitRepo) -> None:
    _coverage_setup(repo)
    res = repo.atomic("tdd", "refactor", check=0)
    assert "(no GREEN coverage to compare with)" in res.stderr
    toml = repo.read(".git-atomic.toml").replace(COVERAGE_TEST.encode(), b"true")
    repo.write(".git-atomic.toml", toml)
    repo.git("commit", "-qam", "no report")
    # The report of the REFACTOR just before, even a second old, is not this run's.
    res = repo.atomic("tdd", "green", check=1)
    assert "cov.json was not written by this test run (does [tdd] test write it?)" in res.stderr
    (repo.path / "cov.json").unlink()
    res = repo.atomic("tdd", "green", check=1)
    assert "cov.json: not found" in res.stderr
    toml = repo.read(".git-atomic.toml").replace(b'"true"', b'"echo {} > cov.json"')
    repo.write(".git-atomic.toml", toml)
    res = repo.atomic("tdd", "green", check=1)
    assert "cov.json: JSON without a 'totals' object" in res.stderr


# --- both modes, messages, config ------------------------------------------------------------
@pytest.mark.parametrize("with_command", [False, True])
def test_shadow_mode_keeps_checkpoints_only(repo: GitRepo, with_command: bool) -> None:
    _setup(repo, history="shadow")
    head, index = repo.head(), (repo.path / ".git" / "index").read_bytes()
    if with_command:
        obj = repo.atomic_json(
            "tdd",
            "red",
            "-m",
            "x",
            "--",
            "sh",
            "-c",
            "echo 'grep -qx feature impl.txt' > t_feature.sh",
        )
    else:
        _new_test(repo, add=False)
        obj = repo.atomic_json("tdd", "red", "-m", "x")
    assert obj["history"] == "shadow" and obj["status"] == "committed"
    assert repo.head() == head and (repo.path / ".git" / "index").read_bytes() == index
    post = obj["checkpoints"]["post_op"]
    assert repo.git("cat-file", "-p", f"{post}:files/t_feature.sh") == (
        "grep -qx feature impl.txt\n"
    )
    assert repo.git("status", "--porcelain") == "?? t_feature.sh\n"
    # A broken rule in shadow mode: with a command, rolled back; without, untouched.
    before = repo.fingerprint()
    repo.atomic("tdd", "green", *(["--", "true"] if with_command else []), check=1)
    assert repo.fingerprint().diff(before) == []


def test_default_messages_and_no_empty_commit(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)
    repo.atomic("tdd", "red", check=0)
    assert _subjects(repo)[0] == "RED: a failing test"
    res = repo.atomic("tdd", "red", check=0)  # the same tree again: nothing to commit
    assert "nothing to commit (no tracked file differs from HEAD)" in res.stderr
    assert _subjects(repo)[0:2] == ["RED: a failing test", "suite"]
    _implement(repo)
    repo.atomic("tdd", "green", check=0)
    assert _subjects(repo)[0] == "GREEN: the tests pass"


def test_message_is_used_exactly_as_given(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)
    message = "Feature: parse 'quoted' args\n\nLonger body, second paragraph."
    repo.atomic("tdd", "red", f"--message={message}", check=0)
    assert repo.git("log", "-1", "--format=%B").rstrip("\n") == f"RED: {message}"
    _implement(repo)
    repo.atomic("tdd", "green", "-mfeature", "--json", check=0)
    assert _subjects(repo)[0] == "GREEN: feature"


def test_options_and_usage_errors(repo: GitRepo) -> None:
    _setup(repo)
    before = repo.fingerprint()
    for args, expected in [
        (["red", "make", "x"], "unexpected 'make'; give the command after --"),
        (["red", "-m"], "argument -m/--message: expected one argument"),
        (["red", "-m", ""], "tdd: -m: expected a message, got an empty one"),
        (["blue"], "invalid choice 'blue'"),
    ]:
        res = repo.atomic("tdd", *args, check=2)
        assert expected in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
    assert repo.fingerprint().diff(before) == []


def test_without_a_test_command_exit_2_and_nothing_changes(repo: GitRepo) -> None:
    repo.write("impl.txt", b"x\n")
    before = repo.fingerprint()
    res = repo.atomic("tdd", "green", "--", "touch", "y", check=2)
    assert res.stderr == (
        "git-atomic: tdd: no test command is configured (add `[tdd]` with "
        '`test = "pytest -q"` to .git-atomic.toml)\n'
    )
    repo.write(".git-atomic.toml", b"[tdd]\ntest = 3\n")
    before = repo.fingerprint()
    res = repo.atomic("tdd", "green", "--json", check=2)
    assert res.stderr.startswith("git-atomic: .git-atomic.toml: tdd.test: expected a command")
    assert json.loads(res.stdout)["exit_code"] == 2
    assert repo.fingerprint().diff(before) == []
    assert repo.atomic("log", check=0).stderr == "no operations yet\n"


def test_commits_mode_needs_an_identity_before_anything(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)
    env = dict.fromkeys(
        ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"), ""
    )
    before = repo.fingerprint()
    assert "identity" in repo.atomic("tdd", "red", env=env, check=2).stderr
    assert repo.fingerprint().diff(before) == []


def test_a_test_timeout_breaks_the_rule(repo: GitRepo) -> None:
    _setup(repo)
    repo.write(".git-atomic.toml", b'[tdd]\ntest = "sleep 30"\ntimeout = 0.5\n')
    repo.git("commit", "-qam", "slow")
    start = time.monotonic()
    res = repo.atomic("tdd", "red", check=1)
    assert time.monotonic() - start < 15
    assert "RED broken: the test command timed out after 0.5 s; nothing was changed" in (res.stderr)


@pytest.mark.parametrize("with_command", [False, True])
def test_sigint_leaves_the_tree_as_it_was(repo: GitRepo, with_command: bool) -> None:
    """Without a COMMAND nothing is touched; with one, its change is rolled back first."""
    _setup(repo)
    repo.write(".git-atomic.toml", b'[tdd]\ntest = "sleep 30"\n')
    repo.git("commit", "-qam", "slow")
    repo.write("impl.txt", b"work in progress\n")
    before = repo.fingerprint()
    command = ["--", "sh", "-c", "echo more >> impl.txt"] if with_command else []
    proc = subprocess.Popen(
        [PY, "-m", "git_atomic", "tdd", "green", *command],
        cwd=repo.path,
        env=repo.env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    logs = repo.path / ".git" / "atomic" / "logs"
    while not any(logs.glob("*/01-tdd-green.log")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert (
        "interrupted; rolled back: files, index and branches are as before"
        if with_command
        else "interrupted; nothing was changed"
    ) in err
    assert repo.fingerprint().diff(before) == []
    status = repo.atomic_json("status")
    assert status["open"] is None and status["interrupted"] is None
    assert repo.atomic_json("log")["operations"][0]["failed_phase"] == "interrupt"


def test_refused_while_another_operation_is_open(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)
    repo.atomic("begin", "work", "--history", "shadow", check=0)
    before = repo.fingerprint()
    res = repo.atomic("tdd", "red", check=3)
    assert "is open in this worktree" in res.stderr
    assert repo.fingerprint().diff(before) == []


def test_log_shows_where_the_cycle_stands(repo: GitRepo) -> None:
    _setup(repo)
    _new_test(repo)
    repo.atomic("tdd", "red", check=0)
    repo.atomic("tdd", "green", check=1)
    lines = repo.atomic("log", check=0).stdout.splitlines()
    assert lines[0].endswith(
        "[GREEN broken: the tests fail (exit 1), but GREEN needs them to pass]"
    )
    assert lines[1].endswith("[RED kept]")
    ops = repo.atomic_json("log")["operations"]
    assert [(o["name"], o["tdd"]["kept"]) for o in ops] == [("tdd-green", False), ("tdd-red", True)]
    shown = repo.atomic("show", ops[0]["op_id"], check=0).stdout
    assert "tdd-green FAILED: the tests fail (exit 1)" in " ".join(shown.split())


def test_pyproject_configuration(repo: GitRepo) -> None:
    _setup(repo)
    (repo.path / ".git-atomic.toml").unlink()
    repo.write(
        "pyproject.toml",
        b'[tool.git-atomic]\nhistory = "shadow"\n'
        b'[tool.git-atomic.tdd]\ntest = ["sh", "tests.sh"]\n',
    )
    _new_test(repo)
    obj = repo.atomic_json("tdd", "red")
    assert obj["history"] == "shadow" and obj["tdd"]["kept"] is True
    assert Path(obj["gates"][0]["log"]).read_text().strip() == "FAILED t_feature.sh"
