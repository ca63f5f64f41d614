"""git's trace2 targets named by your configuration (`trace2.normalTarget`, `eventTarget`,
`perfTarget`, in your global or the system's file: git reads them nowhere else), not by its
variables. One naming a file (or a folder: a file per process) inside the worktree got every git
call of ours, as the variables did before stop 58: a failed run's rollback found the file changed
"by another writer" and left it, `undo` and `rollback --op` refused or left it, an agent turn's
take-back the same. git's variables override the settings (`git help config`, trace2.*: "may be
overridden by the GIT_TRACE2 environment variable"): our calls get each one turned off where
you set none of your own; your command, your gates and your own git keep tracing there (what
they wrote is the operation's, taken back with it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.agents import failed_shell_turn
from testing.gitrepo import GitRepo, State, fingerprint

TARGETS = ("normalTarget", "eventTarget", "perfTarget")
OFF = {"GIT_TRACE2": "0", "GIT_TRACE2_EVENT": "0", "GIT_TRACE2_PERF": "0"}
OP = "printf 'y\\n' > a; git add a; git status --short > /dev/null; printf 'n\\n' > n"


def _state(repo: GitRepo) -> State:
    """The repository's state, read by gits that trace nowhere (they would write the files)."""
    return fingerprint(repo.path, {**repo.env, **OFF})


def _traced(tmp_path: Path, scope: str) -> tuple[GitRepo, dict[str, Path]]:
    """A repository whose global (or system) configuration traces into three files of its
    worktree, one per target, with the settings that add to their lines (`configParams`,
    `envVars`) on too."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    traces = {t: repo.path / f"trace.{t}" for t in TARGETS}
    settings = [(f"trace2.{t}", str(p)) for t, p in traces.items()]
    settings += [("trace2.configParams", "core.*,user.*"), ("trace2.envVars", "HOME,LC_ALL")]
    if scope == "system":
        system = tmp_path / "gitconfig-system"
        repo.env.pop("GIT_CONFIG_NOSYSTEM")
        repo.env["GIT_CONFIG_SYSTEM"] = str(system)
        where = ["--file", str(system)]
    else:
        where = ["--global"]
    for key, value in settings:
        repo.git("config", *where, key, value, env=OFF)
    repo.git("status", "--short")  # the user's own git has traced there before
    for path in traces.values():
        assert path.read_bytes(), path
    return repo, traces


def _bytes(traces: dict[str, Path]) -> dict[str, bytes]:
    return {t: p.read_bytes() for t, p in traces.items()}


@pytest.mark.parametrize("scope", ["global", "system"])
def test_a_failed_run_leaves_the_trace_files_as_yours(tmp_path: Path, scope: str) -> None:
    repo, traces = _traced(tmp_path, scope)
    before, traced = _state(repo), _bytes(traces)
    res = repo.atomic("run", "--", "sh", "-c", OP + "; exit 1", check=1)
    assert "another writer" not in res.stderr and "warning" not in res.stderr, res.stderr
    assert _bytes(traces) == traced and _state(repo).diff(before) == []


def test_undo_and_its_undo_leave_the_trace_files_as_yours(tmp_path: Path) -> None:
    repo, traces = _traced(tmp_path, "global")
    before, traced = _state(repo), _bytes(traces)
    repo.atomic("run", "--", "sh", "-c", OP + "; exit 1", check=1)
    res = repo.atomic("undo", check=0)
    assert "warning" not in res.stderr, res.stderr
    assert repo.read("n") == b"n\n"
    after = _bytes(traces)  # the operation's lines are back, and nothing of ours
    assert all(after[t].startswith(traced[t]) and after[t] != traced[t] for t in TARGETS)
    res = repo.atomic("undo", check=0)
    assert "warning" not in res.stderr, res.stderr
    assert _bytes(traces) == traced and _state(repo).diff(before) == []


def test_rollback_op_of_a_kept_run_puts_the_trace_files_back(tmp_path: Path) -> None:
    repo, traces = _traced(tmp_path, "global")
    traced = _bytes(traces)
    op_id = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", OP)["op_id"]
    assert _bytes(traces) != traced  # the command's own git traced there: its effect
    repo.write("later", b"yours\n")
    res = repo.atomic("rollback", "--op", op_id, check=0)
    assert "another writer" not in res.stderr and "warning" not in res.stderr, res.stderr
    assert _bytes(traces) == traced and not repo.exists("n")
    assert repo.read("later") == b"yours\n" and repo.read("a") == b"a\n"


def test_a_trace_folder_in_the_worktree_gets_no_file_of_ours(tmp_path: Path) -> None:
    """trace2.eventTarget naming a folder: git writes one file per process there."""
    repo, _ = _traced(tmp_path, "global")
    folder = repo.path / "traces"
    folder.mkdir()
    repo.git("config", "--global", "trace2.eventTarget", str(folder), env=OFF)
    repo.git("status", "--short")
    before = _state(repo)
    assert len(list(folder.iterdir())) == 1
    res = repo.atomic("run", "--", "sh", "-c", "printf 'y\\n' > a; exit 1", check=1)
    assert "warning" not in res.stderr, res.stderr
    assert _state(repo).diff(before) == []


def test_an_agent_turn_taken_back_leaves_the_trace_files_as_yours(tmp_path: Path) -> None:
    repo, traces = _traced(tmp_path, "global")
    failed_shell_turn(repo, "git status --short > /dev/null")  # (the gate's file set first)
    traced = _bytes(traces)
    before = _state(repo)
    answer = failed_shell_turn(repo, OP)
    assert "another writer" not in str(answer), answer
    assert _bytes(traces) == traced, answer
    assert _state(repo).diff(before) == []


def test_a_trace_variable_naming_the_worktree_through_a_link(tmp_path: Path) -> None:
    """`$(pwd)/trace` of a worktree reached through a link (macOS's /tmp is one): the variable
    names a file in it, our calls do not get it (before, its text was compared with the
    worktree's resolved path: no match, and our calls traced there)."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    (tmp_path / "link").symlink_to(repo.path)
    (tmp_path / "sub").mkdir()
    traces = {
        "GIT_TRACE": tmp_path / "link" / "trace.txt",
        "GIT_TRACE2_EVENT": tmp_path / "sub" / ".." / "link" / "event.txt",
    }
    repo.env.update({k: str(v) for k, v in traces.items()})
    repo.git("status", "--short")
    traced = {k: v.read_bytes() for k, v in traces.items()}
    res = repo.atomic("run", "--", "sh", "-c", "echo y > README; exit 1", check=1)
    assert "warning" not in res.stderr, res.stderr
    assert {k: v.read_bytes() for k, v in traces.items()} == traced


def test_a_trace_variable_through_a_link_of_the_worktree_out_gets_none_of_our_calls(
    tmp_path: Path,
) -> None:
    """A trace variable naming a file through a link of the worktree that leads out: git would
    write through that link. Our git calls get none of it (nothing of ours is written through
    a link out), and the file there keeps what your own git wrote."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    (tmp_path / "outside").mkdir()
    (repo.path / "out").symlink_to(tmp_path / "outside")
    repo.write(".git/info/exclude", b"out\n")
    trace = tmp_path / "outside" / "trace.txt"
    repo.env["GIT_TRACE"] = str(repo.path / "out" / "trace.txt")
    repo.git("status", "--short")
    traced = trace.read_bytes()
    assert traced, "your own git traced there"
    res = repo.atomic("run", "--", "sh", "-c", "echo y > README; exit 1", check=1)
    assert trace.read_bytes() == traced, res.stderr
