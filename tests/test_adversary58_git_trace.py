"""t0210/t0211/t0212-trace2 and git's GIT_TRACE* variables (stop 58's adversary D): git's own
tests trace into a file at the top of the test's repository (`GIT_TRACE2="$(pwd)/trace.normal"`),
an untracked file of the worktree. Our own git calls must not write into it: before, each of
them appended its lines there while a checkpoint or a rollback ran, so a failed run's rollback
said "changed by another writer" of a file only git-atomic had written to, and `rollback --op`
and `undo` refused, the file "changed by both". The operation's own git calls trace there
(the file is part of its effect, taken back with it); a trace file outside the worktree (the
way contributing.md says to count our git processes) still gets our calls; and a trace to a
file descriptor (`GIT_TRACE=1`) leaves `--json` one object and a failure one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, State, fingerprint

VARIABLES = ("GIT_TRACE", "GIT_TRACE2", "GIT_TRACE2_EVENT", "GIT_TRACE2_PERF")
OP = "printf 'y\\n' > a; git add a; git status --short > /dev/null; printf 'n\\n' > n"


def _state(repo: GitRepo) -> State:
    """The repository's state, read by gits that trace nowhere (they would write the file)."""
    return fingerprint(repo.path, {k: v for k, v in repo.env.items() if "TRACE" not in k})


def _traced(tmp_path: Path, variable: str, name: str = "trace.normal") -> tuple[GitRepo, Path]:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    trace = repo.path / name
    repo.env[variable] = str(trace)
    repo.git("status", "--short")  # the user's own git has traced there before
    return repo, trace


@pytest.mark.parametrize("variable", VARIABLES)
def test_a_failed_run_puts_the_trace_file_back_and_says_no_other_writer(
    tmp_path: Path, variable: str
) -> None:
    repo, trace = _traced(tmp_path, variable)
    before, traced = _state(repo), trace.read_bytes()
    res = repo.atomic("run", "--", "sh", "-c", OP + "; exit 1", check=1)
    assert "another writer" not in res.stderr and "warning" not in res.stderr, res.stderr
    assert trace.read_bytes() == traced
    assert _state(repo).diff(before) == []
    repo.atomic("undo", check=0)
    assert repo.read("n") == b"n\n" and trace.read_bytes() != traced  # the operation's lines


@pytest.mark.parametrize("variable", VARIABLES)
def test_commits_mode_rollback_and_undo_of_a_traced_operation(
    tmp_path: Path, variable: str
) -> None:
    repo, trace = _traced(tmp_path, variable)
    before, traced = _state(repo), trace.read_bytes()
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", OP, check=0)
    after = trace.read_bytes()
    res = repo.atomic("rollback", check=0)
    assert "exactly its PRE-OP state" in res.stderr, res.stderr
    assert _state(repo).diff(before) == [] and trace.read_bytes() == traced
    repo.atomic("undo", check=0)
    assert trace.read_bytes() == after and repo.read("n") == b"n\n"


@pytest.mark.parametrize("variable", VARIABLES)
def test_rollback_op_and_an_aborted_session_with_a_trace_file(
    tmp_path: Path, variable: str
) -> None:
    repo, trace = _traced(tmp_path, variable)
    traced = trace.read_bytes()
    op_id = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", OP)["op_id"]
    repo.write("later", b"yours\n")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert trace.read_bytes() == traced and not repo.exists("n")
    assert repo.read("later") == b"yours\n" and repo.read("a") == b"a\n"
    before = _state(repo)
    repo.atomic("begin", "work", check=0)
    repo.write("a", b"z\n")
    repo.atomic("checkpoint", check=0)
    repo.atomic("abort", check=0)
    assert _state(repo).diff(before) == [] and trace.read_bytes() == traced


def test_a_trace2_folder_in_the_worktree_gets_no_file_of_ours(tmp_path: Path) -> None:
    """GIT_TRACE2_EVENT naming a folder: git writes one file per process there."""
    repo, _ = _traced(tmp_path, "GIT_TRACE2_EVENT", "traces/unused")
    (repo.path / "traces").mkdir()
    repo.env["GIT_TRACE2_EVENT"] = str(repo.path / "traces")
    repo.git("status", "--short")
    assert list((repo.path / "traces").iterdir())
    before = _state(repo)
    repo.atomic("run", "--", "sh", "-c", "printf 'y\\n' > a; exit 1", check=1)
    assert _state(repo).diff(before) == []


def test_a_trace_file_outside_the_worktree_still_gets_our_calls(tmp_path: Path) -> None:
    repo, _ = _traced(tmp_path, "GIT_TRACE")
    outside = tmp_path / "outside.trace"
    repo.atomic("run", "--", "true", check=0, env={"GIT_TRACE": str(outside)})
    assert b"git-atomic" in outside.read_bytes() or b"update-ref" in outside.read_bytes()


@pytest.mark.parametrize("value", ["1", "2", "true"])
def test_traces_to_standard_error_keep_json_and_one_line(tmp_path: Path, value: str) -> None:
    repo, _ = _traced(tmp_path, "GIT_TRACE2", "unused")
    env = {"GIT_TRACE": value, "GIT_TRACE2": value, "GIT_TRACE2_EVENT": value}
    res = repo.atomic("run", "--json", "--", "sh", "-c", "exit 1", check=1, env=env)
    assert json.loads(res.stdout)["status"] == "rolled_back"
    res = repo.atomic("rollback", "--op", "nonesuch", check=2, env=env)
    ours = [x for x in res.stderr.splitlines() if x.startswith("git-atomic:")]
    assert len(ours) == 1 and "Traceback" not in res.stderr, res.stderr
