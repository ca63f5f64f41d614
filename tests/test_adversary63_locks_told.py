"""The stale git locks a take-back removes are said even where the move is then refused.

`rollback --op ID` (and `undo`, an operation's own rollback) removes first the locks a killed
git of the operation left (`config.lock`...): its ref updates need them gone. Where the move
was then refused (a live git's index.lock met by the restore: exit 3, nothing written), the
lines saying which locks were removed were dropped with the result they were to join: a file
of yours gone from .git, said nowhere. Now each is said (a warning line on stderr) before
the refusal's one line. A live `git commit` whose editor waits holds index.lock for real; the
pause between the removal and the restore is the suite's failpoint pause."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def _wait_for(path: Path, *, gone: bool = False) -> None:
    deadline = time.monotonic() + 60
    while path.exists() == gone:
        assert time.monotonic() < deadline, f"waited for {path}"
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["rollback --op", "abort"])
def test_locks_removed_before_a_refused_take_back_are_said(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    repo.write("mine", b"yours\n")
    repo.git("add", "mine")
    repo.git("commit", "-q", "-m", "mine")
    op = "printf 'op\\n' > made; git add made; printf 'x\\n' >> README; : > .git/config.lock"
    if how == "abort":  # an operation's own rollback (rollbackop.py)
        repo.atomic("begin", "b", "--history", "shadow", check=0)
        subprocess.run(["sh", "-c", op], cwd=repo.path, env=repo.env, check=True)
        argv, point = ["abort"], "abort:before-rescue"
    else:
        kept = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", op)
        argv, point = ["rollback", "--op", kept["op_id"]], "rollback:before-rescue"
    lock = repo.path / ".git" / "config.lock"
    assert lock.exists()
    pause = tmp_path / "pause"
    env = {
        "GIT_ATOMIC_FAILPOINT_PAUSE": point,
        "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
        "GIT_ATOMIC_HELPER": "0",
    }
    full = {**repo.env, **env}
    back = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *argv],
        cwd=repo.path, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    editor = tmp_path / "editor-open"
    commit = None
    try:
        _wait_for(pause)
        assert not lock.exists()  # removed first, as the take-back's ref updates need
        # Your `git commit -a` waits in its editor, holding index.lock, as the take-back goes on.
        commit = subprocess.Popen(
            ["git", "commit", "-a", "-q"],
            cwd=repo.path,
            env={**repo.env, "GIT_EDITOR": f"touch {editor}; sleep 60 #"},
        )
        _wait_for(editor)
        pause.unlink()
        _out, err = back.communicate(timeout=120)
    finally:
        if commit is not None:
            commit.kill()
            commit.wait()
        back.kill()
    assert back.returncode == 3, err
    lines = err.splitlines()
    assert any("config.lock" in line and "removed" in line for line in lines), err
    assert "index.lock" in lines[-1], err  # the refusal, last, one line
    assert repo.read("made") == b"op\n"  # nothing written
