"""An operation's effect taken back each way a user can: the same shell step run, then undone
by `abort`, `recover` after a kill -9, `undo` of `undo`, `rollback`, `rollback --op` over a
later change of yours, or a failed run. Tests of what comes back (bits, folders) share it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable

from testing.gitrepo import GitRepo


def take_back(repo: GitRepo, script: str, how: str, gone: Iterable[str]) -> None:
    """Run `script` as an operation and take its effect back `how`; `gone`: the paths the
    script removes (checked gone after a kept run, and after the first `undo` of an `undo of
    undo`)."""
    if how == "failed run":
        repo.atomic("run", "--no-gates", "--", "sh", "-c", script + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "work", check=0)
        subprocess.run(["sh", "-c", script], cwd=repo.path, check=True)
        repo.atomic("abort", check=0)
    elif how == "recover after kill -9":
        repo.atomic("run", "--no-gates", "--", "sh", "-c", script + "; kill -9 $PPID", check=-9)
        repo.atomic("recover", check=0)
    elif how == "undo of undo":
        repo.atomic("run", "--no-gates", "--", "sh", "-c", script + "; exit 1", check=1)
        repo.atomic("undo", check=0)
        for name in gone:
            assert not repo.exists(name), name
        repo.atomic("undo", check=0)
    else:
        repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
        for name in gone:  # the run kept: its effect is there before it is taken back
            assert not repo.exists(name), name
        op_id = repo.atomic_json("log")["operations"][0]["op_id"]
        if how == "rollback --op":
            repo.write("README", b"yours, since\n")  # a change since: the target is worked out
            repo.atomic("rollback", "--op", op_id, check=0)
            assert repo.read("README") == b"yours, since\n"
        else:
            repo.atomic("rollback", check=0)


def taken_back(
    repo: GitRepo, line: str, how: str, *, kept: Callable[[str], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the shell `line` as an operation and take it back `how` ("failed-run", "abort",
    "rollback-op"): what the command that took it back said. `kept(op_id)`: called between a
    kept run and its `rollback --op`."""
    if how == "failed-run":
        return repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    if how == "abort":
        repo.atomic("begin", "work", check=0)
        subprocess.run(["sh", "-c", line], cwd=repo.path, env=repo.env, check=True)
        return repo.atomic("abort", check=0)
    assert how == "rollback-op", how
    run = ("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", line)
    op_id = str(repo.atomic_json(*run)["op_id"])
    if kept is not None:
        kept(op_id)
    return repo.atomic("rollback", "--op", op_id, check=None)
