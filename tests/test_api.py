"""The Python API, `git_atomic.operation(...)`, in real processes against real repositories."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo, State

MODES = ("commits", "shadow")


def same(a: State, b: State) -> None:
    assert a == b, "\n".join(a.diff(b))


def py(repo: GitRepo, code: str, *, cwd: Path | None = None) -> dict[str, Any]:
    """Run `code` in a fresh interpreter; it prints one JSON line as its last line."""
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd or repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    obj: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return obj


@pytest.mark.parametrize("mode", MODES)
def test_a_block_that_passes_its_gates_is_committed(repo: GitRepo, mode: str) -> None:
    out = py(
        repo,
        f"""
        import json, pathlib, git_atomic
        with git_atomic.operation("feature", gates=["test -f a.txt"], history={mode!r}) as op:
            pathlib.Path("a.txt").write_text("a\\n")
            first = op.checkpoint("stage 1")
            pathlib.Path("b.txt").write_text("b\\n")
        print(json.dumps({{"id": op.id, "status": op.status, "first": first,
                           "result": op.result}}))
    """,
    )
    assert out["status"] == "committed"
    result = out["result"]
    assert result["status"] == "committed" and result["history"] == mode
    assert out["first"] in result["checkpoints"]["op_exec"]
    assert [g["passed"] for g in result["gates"]] == [True]
    assert repo.read("a.txt") == b"a\n" and repo.read("b.txt") == b"b\n"
    log = repo.atomic_json("log")["operations"]
    assert log[0]["op_id"] == out["id"] and log[0]["status"] == "committed"
    if mode == "commits":
        assert "OP-EXEC: feature - stage 1" in repo.git("log", "--format=%s")
        assert repo.git("status", "--porcelain") == ""
    else:
        assert repo.git("log", "--format=%s").strip() == "initial"


@pytest.mark.parametrize("mode", MODES)
def test_an_exception_rolls_back_and_is_re_raised_as_is(repo: GitRepo, mode: str) -> None:
    repo.write("README", b"dirty before\n")
    repo.write("untracked.txt", b"u\n")
    before = repo.fingerprint()
    out = py(
        repo,
        f"""
        import json, os, pathlib, git_atomic
        class Boom(Exception):
            pass
        err = Boom("the same one")
        try:
            with git_atomic.operation("broken", history={mode!r}) as op:
                pathlib.Path("README").write_text("half done\\n")
                op.checkpoint()
                os.unlink("untracked.txt")
                pathlib.Path("new").mkdir()
                pathlib.Path("new/file").write_text("x")
                raise err
        except Boom as caught:
            print(json.dumps({{"same": caught is err, "status": op.status,
                               "failed": op.result["failed_phase"],
                               "rescue": op.result["checkpoints"]["rescue"]}}))
    """,
    )
    assert (
        out == {"same": True, "status": "rolled_back", "failed": "exec", "rescue": out["rescue"]}
        and out["rescue"]
    )
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    assert repo.read("README") == b"half done\n" and repo.read("new/file") == b"x"


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_gate_rolls_back_and_raises_gate_failed(repo: GitRepo, mode: str) -> None:
    before = repo.fingerprint()
    out = py(
        repo,
        f"""
        import json, pathlib, git_atomic
        from git_atomic.core.errors import AtomicError
        try:
            with git_atomic.operation("gated", gates=["true", "sh -c 'exit 7'"],
                                      history={mode!r}) as op:
                pathlib.Path("a.txt").write_text("a\\n")
        except git_atomic.GateFailed as exc:
            print(json.dumps({{"atomic": isinstance(exc, AtomicError), "msg": str(exc),
                               "op": exc.op_id == op.id, "exit": int(exc.exit_code),
                               "results": [[r.name, r.passed, r.exit_code]
                                           for r in exc.results],
                               "status": op.status}}))
    """,
    )
    assert out["atomic"] and out["op"] and out["exit"] == 1
    assert out["results"] == [["true", True, 0], ["sh", False, 7]]
    assert out["status"] == "rolled_back" and "gate sh failed" in out["msg"]
    same(repo.fingerprint(), before)


def test_repo_argument_and_keyboard_interrupt(repo: GitRepo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = repo.fingerprint()
    out = py(
        repo,
        f"""
        import json, pathlib, git_atomic
        root = pathlib.Path({str(repo.path)!r})
        try:
            with git_atomic.operation("interrupted", repo=root, history="shadow") as op:
                (root / "a.txt").write_text("a")
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            print(json.dumps({{"status": op.status, "failed": op.result["failed_phase"]}}))
    """,
        cwd=elsewhere,
    )
    assert out == {"status": "rolled_back", "failed": "interrupt"}
    same(repo.fingerprint(), before)


def test_refusals_raise_before_the_block_and_change_nothing(repo: GitRepo, tmp_path: Path) -> None:
    repo.atomic("begin", "open-session", check=0)
    before = repo.fingerprint()
    out = py(
        repo,
        """
        import json, git_atomic
        from git_atomic.core.errors import BusyError, UsageError
        ran = []
        kinds = []
        for kwargs in ({}, {"history": "bogus"}):
            try:
                with git_atomic.operation("second", **kwargs):
                    ran.append(True)
            except (BusyError, UsageError) as exc:
                kinds.append([type(exc).__name__, int(exc.exit_code)])
        print(json.dumps({"ran": ran, "kinds": kinds}))
    """,
    )
    assert out == {"ran": [], "kinds": [["BusyError", 3], ["UsageError", 2]]}
    same(repo.fingerprint(), before)
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    out = py(
        repo,
        f"""
        import json, git_atomic
        from git_atomic.core.errors import NotARepository
        try:
            with git_atomic.operation("x", repo={str(outside)!r}):
                pass
        except NotARepository as exc:
            print(json.dumps({{"exit": int(exc.exit_code)}}))
    """,
    )
    assert out == {"exit": 3}


def test_a_current_folder_that_was_deleted_is_not_a_repository(repo: GitRepo) -> None:
    """Was FileNotFoundError (os.getcwd()), where the docstring promises NotARepository."""
    (repo.path / "gone").mkdir()
    before = repo.fingerprint()
    out = py(
        repo,
        """
        import json, os, git_atomic
        from git_atomic.core.errors import NotARepository
        os.rmdir(os.getcwd())
        try:
            with git_atomic.operation("x"):
                pass
        except NotARepository as exc:
            print(json.dumps({"exit": int(exc.exit_code), "message": exc.message}))
    """,
        cwd=repo.path / "gone",
    )
    assert out["exit"] == 3 and out["message"].startswith("the current folder cannot be read")
    same(repo.fingerprint(), before)


def test_bad_arguments_raise_the_apis_errors_before_anything_runs(repo: GitRepo) -> None:
    """Were: sqlite3.IntegrityError (name=None), AttributeError (gates=[1]), TypeError
    (gates=None), FileNotFoundError / NotADirectoryError (a `repo` that is no folder); and
    gates="true" was split into the gates t, r, u, e."""
    repo.write("a-file", b"x\n")
    repo.git("add", "a-file")
    repo.git("commit", "-qm", "a file")
    before = repo.fingerprint()
    out = py(
        repo,
        """
        import json, git_atomic
        from git_atomic.core.errors import AtomicError
        cases = [
            {"name": None},
            {"name": 5},
            {"name": "a\\0b"},
            {"name": "x", "gates": [1]},
            {"name": "x", "gates": None},
            {"name": "x", "gates": "true"},
            {"name": "x", "gates": b"true"},
            {"name": "x", "no_gates": "yes"},
            {"name": "x", "history": 5},
            {"name": "x", "repo": 5},
            {"name": "x", "repo": "/nonexistent/zz"},
            {"name": "x", "repo": "a-file"},
        ]
        ran, kinds = [], []
        for kwargs in cases:
            try:
                with git_atomic.operation(**kwargs):
                    ran.append(kwargs)
            except AtomicError as exc:
                kinds.append([type(exc).__name__, int(exc.exit_code)])
        print(json.dumps({"ran": ran, "kinds": kinds}))
    """,
    )
    usage, not_repo = ["UsageError", 2], ["NotARepository", 3]
    assert out == {"ran": [], "kinds": [usage] * 10 + [not_repo] * 2}
    same(repo.fingerprint(), before)
    assert repo.atomic_json("log")["operations"] == []


def test_the_api_names_survive_importing_the_engine(repo: GitRepo) -> None:
    out = py(
        repo,
        """
        import json
        from git_atomic.ops.operation import Engine
        import git_atomic.api
        import git_atomic
        print(json.dumps({"fn": callable(git_atomic.operation) and
                          git_atomic.operation is git_atomic.api.operation,
                          "exc": git_atomic.GateFailed is git_atomic.api.GateFailed}))
    """,
    )
    assert out == {"fn": True, "exc": True}


def test_a_refusal_names_what_the_api_takes_not_the_command_lines_flags(repo: GitRepo) -> None:
    """Commits mode without your identity, and a worktree a live git-atomic holds: each refusal
    said `--history shadow` / `pass --wait`, flags a Python caller has no way to give; it names
    `history="shadow"` (the API's argument) instead, as the same class of error."""
    code = """
        import json, sys, git_atomic
        from git_atomic.core.errors import AtomicError
        try:
            with git_atomic.operation("x", history=sys.argv[1]):
                said = "ran"
        except AtomicError as exc:
            said = [type(exc).__name__, str(exc), exc.hint or ""]
        print(json.dumps(said))
    """

    def refused(history: str, env: dict[str, str]) -> tuple[str, str, str]:
        res = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), history],
            cwd=repo.path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        kind, message, hint = json.loads(res.stdout.strip().splitlines()[-1])
        assert "--" not in message + hint, (message, hint)
        return kind, message, hint

    nobody = {k: v for k, v in repo.env.items() if not k.startswith(("GIT_AUTHOR", "GIT_COMMI"))}
    nobody.pop("EMAIL", None)
    kind, message, _ = refused("commits", nobody)
    assert kind == "UsageError" and 'history="shadow"' in message, message
    held = repo.path / ".git" / "held"
    holder = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "run", "--history", "shadow", "--", "sh", "-c",
         f"touch {held}; sleep 30"],
        cwd=repo.path, env=repo.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not held.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        kind, message, _ = refused("shadow", repo.env)
    finally:
        holder.kill()
        holder.wait()
    assert kind == "LockBusy" and "another git-atomic" in message, message
