"""`git atomic gates` and gates through `run`: real commands, real coverage.py reports."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

PY = sys.executable
MEASURE = f"{PY} -m coverage run prog.py"
# lib.py has 4 statements, prog.py 2; prog.py runs all but `return 2`: 5 of 6 lines, 83.33%.
LIB = b"def a():\n    return 1\n\n\ndef b():\n    return 2\n"
PROG = b"import lib\n\nlib.a()\n"
REPORTS = {
    "json": f"{MEASURE} && {PY} -m coverage json -q -o cov.json",
    "xml": f"{MEASURE} && {PY} -m coverage xml -q -o cov.xml",
    "lcov": f"{MEASURE} && {PY} -m coverage lcov -q -o cov.lcov",
}


def _config(repo: GitRepo, toml: str, *, commit: bool = True) -> None:
    repo.write(".gitignore", b".coverage\ncov.*\n__pycache__/\n")
    repo.write(".git-atomic.toml", toml.encode())
    if commit:
        repo.git("add", "-A")
        repo.git("commit", "-qm", "config")


def _program(repo: GitRepo) -> None:
    repo.write("lib.py", LIB)
    repo.write("prog.py", PROG)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "program")


def _gate(name: str, run: str, extra: str = "") -> str:
    return f'[[gates]]\nname = "{name}"\nrun = {json.dumps(run)}\n{extra}'


# --- listing ---------------------------------------------------------------------------------
def test_list_names_commands_timeouts_rules_and_source(repo: GitRepo) -> None:
    _config(
        repo,
        _gate("tests", "pytest -q", "timeout = 900\n")
        + _gate(
            "cov",
            "pytest --cov",
            'coverage = { report = "cov.json", min = 80, no_regression = true }\n',
        )
        + '[[gates]]\nname = "lint"\nrun = ["ruff", "check", "src dir"]\n'
        'env = { RUFF_CACHE_DIR = "/tmp/r" }\nok_exit = [0, 1]\n[tdd]\ntest = "pytest -q"\n',
    )
    res = repo.atomic("gates", check=0)
    assert res.stdout == (
        "gates from .git-atomic.toml, run in this order:\n"
        "  tests  pytest -q  (timeout 900s)\n"
        "  cov    pytest --cov  (coverage from cov.json, min 80%, no regression)\n"
        "  lint   ruff check 'src dir'  (env RUFF_CACHE_DIR=/tmp/r; passes on exit 0,1)\n"
        "tdd test: pytest -q\n"
    )
    obj = repo.atomic_json("gates")
    assert obj["schema"] == "git-atomic/1" and obj["source"] == ".git-atomic.toml"
    assert obj["gates"] == [
        {
            "name": "tests",
            "run": "pytest -q",
            "timeout": 900.0,
            "coverage": None,
            "env": {},
            "ok_exit": [0],
        },
        {
            "name": "cov",
            "run": "pytest --cov",
            "timeout": None,
            "coverage": {"report": "cov.json", "min": 80.0, "no_regression": True},
            "env": {},
            "ok_exit": [0],
        },
        {
            "name": "lint",
            "run": ["ruff", "check", "src dir"],
            "timeout": None,
            "coverage": None,
            "env": {"RUFF_CACHE_DIR": "/tmp/r"},
            "ok_exit": [0, 1],
        },
    ]
    assert obj["tdd"] == {"test": "pytest -q", "coverage": None, "timeout": None}


def test_list_from_pyproject_and_without_any_config(repo: GitRepo) -> None:
    res = repo.atomic("gates", check=0)
    assert res.stdout == "no gates configured (declare [[gates]] in .git-atomic.toml)\n"
    assert repo.atomic_json("gates")["gates"] == []
    assert repo.atomic("gates", "--run", check=0).stderr == (
        "git-atomic: no gates configured; nothing to run\n"
    )
    repo.write(
        "pyproject.toml",
        b'[tool.git-atomic]\n[[tool.git-atomic.gates]]\nname = "t"\nrun = "true"\n',
    )
    res = repo.atomic("gates", check=0)
    assert res.stdout.startswith("gates from pyproject.toml [tool.git-atomic], run in")


# --- config errors through the CLI -------------------------------------------------------------
CONFIG_ERRORS = [
    (
        '[[gates]]\nname = "t"\nrun = "true"\ntimout = 3\n',
        '.git-atomic.toml: gates[0].timout: unknown key; did you mean "timeout"?',
    ),
    (
        '[[gates]]\nname = "t"\nrun = "true"\ncoverage = { report = "c.json", min = 101 }\n',
        ".git-atomic.toml: gates[0].coverage.min: expected a number from 0 to 100, got 101",
    ),
    ('history = "fast"\n', '.git-atomic.toml: history: expected "commits" or "shadow"'),
    ('[[gates]]\nname = "t"\n', ".git-atomic.toml: gates[0].run: is required"),
    ("[tdd]\ncoverage = true\n", ".git-atomic.toml: tdd.coverage: expected the path"),
    ("[[gates]\n", ".git-atomic.toml: invalid TOML"),
]


@pytest.mark.parametrize(("toml", "expected"), CONFIG_ERRORS)
@pytest.mark.parametrize(
    "command",
    [["gates"], ["gates", "--run"], ["run", "--", "touch", "x"], ["tdd", "green"], ["begin", "x"]],
)
def test_config_errors_exit_2_with_one_line(
    repo: GitRepo, toml: str, expected: str, command: list[str]
) -> None:
    _config(repo, toml, commit=False)
    before = repo.fingerprint()
    res = repo.atomic(*command, check=2)
    assert res.stderr.startswith(f"git-atomic: {expected}"), res.stderr
    assert len(res.stderr.splitlines()) == 1 and res.stdout == ""
    assert repo.fingerprint().diff(before) == []


# --- running them now --------------------------------------------------------------------------
def test_run_now_passes_keeps_logs_and_changes_nothing(repo: GitRepo) -> None:
    _config(repo, _gate("one", "echo first output") + _gate("two", "echo second >&2"))
    before = repo.fingerprint()
    res = repo.atomic("gates", "--run", check=0)
    assert res.stderr.splitlines()[0].startswith("git-atomic: gate one passed (")
    assert res.stderr.splitlines()[-1] == (
        "git-atomic: all gates pass (a dry run: no operation, nothing recorded)"
    )
    assert repo.fingerprint().diff(before) == []
    obj = repo.atomic_json("gates", "--run")
    assert obj["passed"] is True
    logs = sorted(Path(obj["log_dir"]).iterdir())
    assert [p.name for p in logs] == ["01-one.log", "02-two.log"]
    assert logs[1].read_text() == "second\n"
    assert Path(obj["log_dir"]).parent == repo.path / ".git" / "atomic" / "logs"
    assert repo.atomic("log", check=0).stderr == "no operations yet\n"


def test_first_failure_stops_unless_all_gates(repo: GitRepo) -> None:
    noisy = "for i in $(seq 1 30); do echo line $i; done; exit 3"
    _config(repo, _gate("ok", "true") + _gate("bad", noisy) + _gate("worse", "exit 5"))
    res = repo.atomic("gates", "--run", check=1)
    err = res.stderr
    assert "git-atomic: gate bad failed: exited with status 3\n  line 11\n" in err
    assert "line 10\n" not in err and "line 30\n  full output: " in err
    assert "not run after the failure: worse (--all-gates runs every gate)" in err
    log = err.split("full output: ")[1].split("\n")[0]
    assert Path(log).read_text().count("\n") == 30  # the whole output, not the tail
    res = repo.atomic("gates", "--run", "--all-gates", check=1)
    assert "gate worse failed: exited with status 5" in res.stderr
    assert res.stderr.splitlines()[-1].startswith("git-atomic: 2 of 3 gates failed")
    obj = repo.atomic_json("gates", "--run", "--all-gates", check=1)
    assert obj["passed"] is False
    assert [(g["name"], g["result"]["passed"], g["result"]["exit_code"]) for g in obj["gates"]] == [
        ("ok", True, 0),
        ("bad", False, 3),
        ("worse", False, 5),
    ]
    obj = repo.atomic_json("gates", "--run", check=1)
    assert obj["gates"][2]["result"] is None  # never ran


def test_all_gates_through_run_reports_every_failure(repo: GitRepo) -> None:
    _config(repo, _gate("a", "exit 1") + _gate("b", "exit 2"))
    before = repo.fingerprint()
    obj = repo.atomic_json("run", "--all-gates", "--", "touch", "new", check=1)
    assert [(g["name"], g["exit_code"]) for g in obj["gates"]] == [("a", 1), ("b", 2)]
    assert repo.fingerprint().diff(before) == []
    obj = repo.atomic_json("run", "--", "touch", "new", check=1)
    assert [g["name"] for g in obj["gates"]] == ["a"]


def test_gate_timeout(repo: GitRepo) -> None:
    _config(repo, _gate("slow", "echo started; sleep 30", "timeout = 0.5\n"))
    start = time.monotonic()
    res = repo.atomic("gates", "--run", check=1)
    assert time.monotonic() - start < 15
    assert "gate slow failed: timed out after 0.5 s\n  started\n" in res.stderr
    before = repo.fingerprint()
    obj = repo.atomic_json("run", "--", "touch", "new", check=1)
    assert obj["failed_phase"] == "validate" and obj["gates"][0]["exit_code"] is None
    assert obj["gates"][0]["message"] == "timed out after 0.5 s"
    assert repo.fingerprint().diff(before) == []


def test_gate_env_and_argv_gates(repo: GitRepo) -> None:
    argv_gate = [
        PY,
        "-c",
        "import sys; sys.exit(0 if sys.argv[1:] == ['a b', '$HOME'] else 9)",
        "a b",
        "$HOME",
    ]
    _config(
        repo,
        _gate("env", 'test "$GREETING" = "hello world"', 'env = { GREETING = "hello world" }\n')
        + f'[[gates]]\nname = "argv"\nrun = {json.dumps(argv_gate)}\n',
    )
    obj = repo.atomic_json("gates", "--run")
    assert [(g["name"], g["result"]["passed"]) for g in obj["gates"]] == [
        ("env", True),
        ("argv", True),
    ]
    # The variable is the gate's own: the shell outside does not have it.
    _config(repo, _gate("env", 'test "$GREETING" = "hello world"'))
    assert repo.atomic_json("gates", "--run", check=1)["passed"] is False


def test_argv_gate_that_cannot_start(repo: GitRepo) -> None:
    _config(repo, '[[gates]]\nname = "ghost"\nrun = ["no-such-program-xyz"]\n')
    res = repo.atomic("gates", "--run", check=1)
    assert "gate ghost failed: could not start: no-such-program-xyz:" in res.stderr


def test_progress_line_only_on_a_terminal(repo: GitRepo) -> None:
    _config(repo, _gate("slowish", "sleep 1.6"))
    res = repo.atomic("gates", "--run", check=0)
    assert "running" not in res.stderr and "\r" not in res.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [PY, "-m", "git_atomic", "gates", "--run"],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=30) == 0
    os.close(leader)
    assert "git-atomic: gate slowish running… 1s".encode() in seen


# --- coverage --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", sorted(REPORTS))
def test_coverage_min_on_real_coverage_py_reports(repo: GitRepo, fmt: str) -> None:
    _program(repo)
    rule = f'coverage = {{ report = "cov.{fmt}", min = 80 }}\n'
    _config(repo, _gate("cov", REPORTS[fmt], rule))
    obj = repo.atomic_json("gates", "--run")
    assert obj["gates"][0]["result"]["coverage"] == pytest.approx(500 / 6)
    _config(repo, _gate("cov", REPORTS[fmt], rule.replace("80", "90")))
    res = repo.atomic("gates", "--run", check=1)
    assert "gate cov failed: coverage 83.33% is below the minimum 90%" in res.stderr


def test_no_regression_against_the_last_validated_coverage(repo: GitRepo) -> None:
    _program(repo)
    _config(
        repo,
        _gate("cov", REPORTS["json"], 'coverage = { report = "cov.json", no_regression = true }\n'),
    )
    obj = repo.atomic_json("run", "--", "touch", "new.txt")
    assert obj["status"] == "committed" and obj["gates"][0]["coverage"] == pytest.approx(
        83.333, abs=1e-3
    )
    # Dead code lowers coverage to 6 of 8 lines: the operation rolls back, naming both numbers.
    before = repo.fingerprint()
    add_dead = ["--", "sh", "-c", "printf '\\n\\ndef c():\\n    return 3\\n' >> lib.py"]
    obj = repo.atomic_json("run", *add_dead, check=1)
    message = "coverage 75.00% is below the last validated 83.33% (no_regression)"
    assert obj["gates"][0]["message"] == message
    # The gate's own output is ignored (.gitignore): not the operation's, left as it wrote it
    # (the interpreter rewrites __pycache__ unless PYTHONDONTWRITEBYTECODE is set).
    ignored = ("cov.json", ".coverage", "__pycache__")
    assert [d for d in repo.fingerprint().diff(before) if not any(i in d for i in ignored)] == []
    # A dry run compares with the same validated value, and records nothing.
    repo.write("lib.py", LIB + b"\n\ndef c():\n    return 3\n")
    res = repo.atomic("gates", "--run", check=1)
    assert f"gate cov failed: {message}" in res.stderr
    # More coverage is fine, and becomes the new mark.
    repo.write("prog.py", PROG + b"lib.b()\nlib.c()\n")
    obj = repo.atomic_json("run", "--", "true")
    assert obj["gates"][0]["coverage"] == 100.0
    repo.write("prog.py", PROG + b"lib.b()\n")
    res = repo.atomic("gates", "--run", check=1)
    assert "below the last validated 100.00%" in res.stderr


def test_missing_or_broken_report_fails_the_gate_clearly(repo: GitRepo) -> None:
    _config(repo, _gate("cov", "true", 'coverage = { report = "cov.json", min = 10 }\n'))
    res = repo.atomic("gates", "--run", check=1)
    assert f"gate cov failed: coverage report {repo.path}/cov.json: not found" in res.stderr
    _config(
        repo,
        _gate("cov", "echo '{\"totals\": ' > cov.json", 'coverage = { report = "cov.json" }\n'),
    )
    res = repo.atomic("gates", "--run", check=1)
    assert "gate cov failed: coverage report" in res.stderr and "invalid JSON" in res.stderr
    assert "Traceback" not in res.stderr
    before = repo.fingerprint()
    obj = repo.atomic_json("run", "--", "touch", "x", check=1)
    assert "invalid JSON" in obj["gates"][0]["message"]
    assert [d for d in repo.fingerprint().diff(before) if "cov.json" not in d] == []


def test_show_points_to_the_gate_log(repo: GitRepo) -> None:
    _config(repo, _gate("talk", "echo said it; exit 1"))
    obj = repo.atomic_json("run", "--", "touch", "x", check=1)
    shown = repo.atomic("show", obj["op_id"], check=0).stdout
    log = obj["gates"][0]["log"]
    assert log in shown and Path(log).read_text() == "said it\n"
