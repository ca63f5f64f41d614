"""`--wait` for the git-atomic that runs this very command: `git atomic run -- make`, where
`make` (or a gate) runs `git atomic run --wait ...` in the same worktree. The outer run holds
the worktree's lock until its command and gates end, and they end only when the inner one
does: the inner one waited for ever, and so did the outer (killed by its `--timeout`, or
never). SPEC: a second operation is refused at once (exit 3) or waits with `--wait`; waiting
for one's own ancestor can never end, so it is refused at once, exit 3, in one line that says
why, and the outer run goes on. A holder that is not an ancestor is still waited for
(test_signals_concurrency.py). The oracle is the disk."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time

import pytest

from testing.gitrepo import GitRepo

INNER = f"{shlex.quote(sys.executable)} -m git_atomic"


@pytest.mark.parametrize(
    "verb", ["run --wait --no-gates -- sh -c 'echo inner > b'", "begin --wait x"]
)
def test_a_wait_for_the_run_that_runs_it_is_refused_at_once(repo: GitRepo, verb: str) -> None:
    repo.write("a", b"a\n")
    repo.write("b", b"b\n")
    repo.git("add", "a", "b")
    repo.git("commit", "-qm", "ab")
    script = f"echo outer > a; {INNER} {verb} 2> ../inner.err; echo $? > ../inner.rc"
    started = time.monotonic()
    repo.atomic("run", "--no-gates", "--timeout", "60", "--", "sh", "-c", script, check=0)
    assert time.monotonic() - started < 30
    assert (repo.path.parent / "inner.rc").read_text().strip() == "3"
    said = (repo.path.parent / "inner.err").read_text()
    assert said.count("\n") == 1 and "is the one running this command" in said, said
    assert repo.read("a") == b"outer\n"
    assert repo.read("b") == b"b\n"  # the inner command never ran
    assert repo.atomic_json("status")["open"] is None


def test_a_gate_that_waits_for_the_run_fails_and_the_run_is_rolled_back(repo: GitRepo) -> None:
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    gate = f"{INNER} run --wait --no-gates -- sh -c 'echo inner > b'"
    started = time.monotonic()
    res = repo.atomic("run", "-g", gate, "--timeout", "60", "--", "sh", "-c", "echo x > a")
    assert res.returncode == 1, res.stderr
    assert time.monotonic() - started < 30
    assert repo.read("a") == b"a\n"
    assert not repo.exists("b")


def test_a_wait_for_a_holder_that_is_not_an_ancestor_still_waits(repo: GitRepo) -> None:
    outer = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "run", "--no-gates", "--", "sleep", "2"],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while repo.atomic_json("status")["lock"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        res = repo.atomic("run", "--wait", "--no-gates", "--", "sh", "-c", "echo w > w")
        assert res.returncode == 0, res.stderr
        assert "waiting for pid" in res.stderr
        assert repo.read("w") == b"w\n"
    finally:
        outer.wait(timeout=60)
