"""Other writers between a crash and `recover`, and git left half way.

A restore killed half way (`rollback --op`, `undo`...) is finished by `recover` from the
rescue it had saved. What someone changed after the kill (an edit, a new file, a `git add`, a
commit) is in no checkpoint: recover must leave it as it is and name it, as the restore itself
does for a write made while it runs, never write over it nor move a branch back over it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing import agents
from testing.gitrepo import GitRepo

TEXT = b"".join(b"line %d\n" % i for i in range(1, 10))


def killed_take_back(repo: GitRepo, step: str, *, mode: str = "shadow") -> str:
    """A kept operation that changed shared.txt and b.txt and made op.txt, the user's edit of
    line 8 since, then `rollback --op` killed at `step`."""
    repo.write("shared.txt", TEXT)
    repo.write("b.txt", b"b\n")
    repo.write("c.txt", b"c\n")
    repo.git("add", ".")
    repo.git("commit", "-qm", "base")
    script = "echo op > op.txt; sed -i 's/line 2/op/' shared.txt; echo opb >> b.txt"
    op = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script)["op_id"]
    repo.write("shared.txt", TEXT.replace(b"line 8", b"mine"))
    res = repo.atomic("rollback", "--op", op, env={"GIT_ATOMIC_FAILPOINT": step})
    assert res.returncode == -9, res.stderr
    return str(op)


@pytest.mark.parametrize(
    "step",
    [
        "rollback:before-rescue",
        "rollback:rescue-unrecorded",
        "restore:after-write",
        "restore:after-index",
    ],
)
def test_recover_leaves_what_was_written_after_the_kill(repo: GitRepo, step: str) -> None:
    """A file the rollback never touched (c.txt), edited after the kill, and a file made after
    it: recover used to write c.txt back and delete new.txt (kept in no checkpoint once the
    restore had begun; before its rescue was recorded, in the new rescue, but gone from the
    tree all the same: the target, worked out before the kill, held neither)."""
    killed_take_back(repo, step)
    repo.write("c.txt", b"c\nmine after the kill\n")
    repo.write("new.txt", b"new after the kill\n")
    res = repo.atomic("recover", check=3)
    assert repo.read("c.txt") == b"c\nmine after the kill\n"
    assert repo.read("new.txt") == b"new after the kill\n"
    assert "c.txt" in res.stderr and "new.txt" in res.stderr
    # The rollback's own work is finished: the operation's effect is gone, the user's kept.
    assert repo.read("shared.txt") == TEXT.replace(b"line 8", b"mine")
    assert repo.read("b.txt") == b"b\n"
    assert not repo.exists("op.txt")
    assert "Traceback" not in res.stderr


def test_recover_keeps_what_was_staged_after_the_kill(repo: GitRepo) -> None:
    killed_take_back(repo, "restore:after-write")
    repo.write("c.txt", b"c\nstaged after the kill\n")
    repo.git("add", "c.txt")
    res = repo.atomic("recover", check=3)
    assert repo.read("c.txt") == b"c\nstaged after the kill\n"
    assert repo.git("show", ":c.txt") == "c\nstaged after the kill\n"
    assert "index" in res.stderr
    assert not repo.exists("op.txt")


def test_recover_never_moves_a_branch_back_over_a_commit_made_after_the_kill(
    repo: GitRepo,
) -> None:
    killed_take_back(repo, "restore:after-write")
    repo.write("c.txt", b"c\ncommitted after the kill\n")
    repo.git("commit", "-qm", "after the kill", "--", "c.txt")
    tip = repo.head()
    res = repo.atomic("recover", check=3)
    assert repo.head() == tip
    assert repo.read("c.txt") == b"c\ncommitted after the kill\n"
    assert "main" in res.stderr
    assert not repo.exists("op.txt")


def test_recover_with_no_other_writer_still_finishes_exactly(repo: GitRepo) -> None:
    killed_take_back(repo, "restore:after-write")
    repo.atomic("recover", check=0)
    assert repo.read("shared.txt") == TEXT.replace(b"line 8", b"mine")
    assert repo.read("b.txt") == b"b\n" and repo.read("c.txt") == b"c\n"
    assert not repo.exists("op.txt")
    assert repo.git("status", "--porcelain") == " M shared.txt\n"


def committing(repo: GitRepo, flag: Path) -> subprocess.Popen[bytes]:
    """A live `git commit -a`, holding index.lock while its editor waits for `flag` (a minute
    at most: a test that fails leaves no git behind)."""
    wait = f"i=0; while [ ! -e {flag} ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done"
    editor = f"sh -c '{wait}; echo mine > \"$1\"' -"
    proc = subprocess.Popen(
        ["git", "commit", "-qa"],
        cwd=repo.path,
        env={**repo.env, "GIT_EDITOR": editor},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lock = repo.path / ".git" / "index.lock"
    deadline = time.monotonic() + 10
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lock.exists()
    return proc


@pytest.mark.parametrize("command", ["rollback --op", "undo"])
def test_a_live_gits_index_lock_stops_a_rollback_or_undo(
    repo: GitRepo, tmp_path: Path, command: str
) -> None:
    """`git commit -a` holds index.lock while its editor is open. `rollback --op` used to take
    the lock after a second, write the index and roll the files back: the commit then moved the
    branch (with the operation's change in it) and failed to write its index."""
    repo.write("shared.txt", TEXT)
    repo.git("add", "shared.txt")
    repo.git("commit", "-qm", "shared")
    script = "sed -i 's/line 2/op/' shared.txt"
    fail = "; exit 1" if command == "undo" else ""
    shadow_run = ["run", "--history", "shadow", "--", "sh", "-c"]
    res = repo.atomic_json(*shadow_run, script + fail, check=None)
    repo.write("README", b"mine\n")
    shared, head = repo.read("shared.txt"), repo.head()
    flag = tmp_path / "flag"
    proc = committing(repo, flag)
    argv = ["rollback", "--op", res["op_id"]] if command == "rollback --op" else ["undo"]
    refused = repo.atomic(*argv, check=3)
    assert "index.lock" in refused.stderr and "Traceback" not in refused.stderr
    assert (repo.path / ".git" / "index.lock").exists()
    assert repo.read("shared.txt") == shared and repo.head() == head
    flag.touch()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert repo.git("status", "--porcelain") == ""  # the commit holds the tree as it was
    repo.atomic(*argv, check=0)
    # The operation's change comes off (or back) on top of the commit, which stays.
    assert repo.git("log", "-1", "--format=%s") == "mine\n"
    assert repo.read("README") == b"mine\n"
    assert (b"op" in repo.read("shared.txt")) is (command == "undo")


@pytest.mark.parametrize("ending", ["failed run", "abort"])
def test_a_live_gits_index_lock_taken_during_the_operation_is_left_to_it(
    repo: GitRepo, tmp_path: Path, ending: str
) -> None:
    """Your `git commit -a` starts while an operation runs and waits for its message past the
    operation's end. The rollback of a failed run (or `abort`) took the lock a second later,
    as if the operation had left it: the commit then moved the branch and failed to write its
    index ("unable to write new_index file"). Now a lock a live git of yours may hold (a git
    working in this repository, started before the lock was written) is left to it (the
    rollback needs no index write here); a lock no git holds still goes (test_git_state.py)."""
    flag, started = tmp_path / "flag", repo.path / "op.txt"
    wait_lock = "while [ ! -e .git/index.lock ]; do sleep 0.02; done"
    repo.write("README", b"mine\n")
    if ending == "abort":
        repo.atomic("begin", "op", check=0)
        repo.write("op.txt", b"op\n")
        argv = [sys.executable, "-m", "git_atomic", "abort"]
    else:
        script = f"echo op > op.txt; {wait_lock}; exit 1"
        argv = [sys.executable, "-m", "git_atomic", "run", "--", "sh", "-c", script]
    pipes = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if ending == "abort":
        committer = committing(repo, flag)
        proc = subprocess.Popen(argv, cwd=repo.path, env=repo.env, **pipes)  # type: ignore[call-overload]
    else:
        proc = subprocess.Popen(argv, cwd=repo.path, env=repo.env, **pipes)  # type: ignore[call-overload]
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        committer = committing(repo, flag)
    _, err = proc.communicate(timeout=60)  # the commit's editor still open
    assert proc.returncode == (1 if ending == "failed run" else 0), err
    assert b"Traceback" not in err
    assert (repo.path / ".git" / "index.lock").exists() and committer.poll() is None
    flag.touch()
    out_c, _ = committer.communicate(timeout=30)
    assert committer.returncode == 0, out_c
    assert repo.git("log", "-1", "--format=%s") == "mine\n"
    assert repo.git("show", "HEAD:README") == "mine\n"
    assert not repo.exists("op.txt") and not (repo.path / ".git" / "index.lock").exists()
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("command", ["failed run", "emergency"])
def test_a_restore_that_must_write_the_index_waits_for_a_live_gits_lock_then_writes_nothing(
    repo: GitRepo, tmp_path: Path, command: str
) -> None:
    """The operation staged a change, then your `git commit -a` (its editor open past the
    wait) holds the lock: the rollback (or `emergency`) writes nothing and exits 3, the
    operation interrupted; `recover`, once the commit is done, takes the operation's change
    back and keeps your commit. Before: the lock was taken and your commit failed half way
    (after `wait_for_index_lock`'s pre-check: the files went back, then exit 3 at the index)."""
    flag = tmp_path / "flag"
    repo.write("README", b"mine\n")
    staged = "echo op > op.txt; git add op.txt"
    if command == "emergency":
        repo.atomic("begin", "op", check=0)
        repo.write("op.txt", b"op\n")
        repo.git("add", "op.txt")
        committer = committing(repo, flag)
        res = repo.atomic("emergency", check=3)
    else:
        wait_lock = "while [ ! -e .git/index.lock ]; do sleep 0.02; done"
        script = f"{staged}; touch go; {wait_lock}; exit 1"
        argv = [sys.executable, "-m", "git_atomic", "run", "--", "sh", "-c", script]
        pipes = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        proc = subprocess.Popen(argv, cwd=repo.path, env=repo.env, **pipes)  # type: ignore[call-overload]
        deadline = time.monotonic() + 30
        while not repo.exists("go") and time.monotonic() < deadline:
            time.sleep(0.01)
        committer = committing(repo, flag)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 3, err
        res = subprocess.CompletedProcess(argv, 3, "", err.decode())
    assert "git commit (pid" in res.stderr and "recover" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert repo.read("op.txt") == b"op\n"  # nothing written
    flag.touch()
    out_c, _ = committer.communicate(timeout=30)
    assert committer.returncode == 0, out_c
    assert repo.git("show", "HEAD:README") == "mine\n"
    # Your commit moved the branch and wrote the index after the rescue was taken: recover
    # leaves both as they are and names them (exit 3), as after any later writer.
    done = repo.atomic("recover", check=3)
    assert "branch main was moved" in done.stderr and "index was changed" in done.stderr
    assert repo.git("log", "-1", "--format=%s") == "mine\n"
    assert repo.git("show", "HEAD:README") == "mine\n" and not repo.exists("op.txt")
    # (`emergency` goes to the last good state, your edit of README saved in its rescue.)
    assert repo.read("README") == (b"hello\n" if command == "emergency" else b"mine\n")
    assert not (repo.path / ".git" / "index.lock").exists()


def test_a_live_gits_index_lock_keeps_an_isolated_result_out(repo: GitRepo, tmp_path: Path) -> None:
    """The result of `run --isolate` comes home while a `git commit -a` waits for its message:
    its apply used to take the commit's lock the same way."""
    flag, go = tmp_path / "flag", tmp_path / "go"
    script = f"while [ ! -e {go} ]; do sleep 0.02; done; echo op > op.txt"
    argv = ["run", "--isolate", "--json", "--", "sh", "-c", script]
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *argv],
        cwd=repo.path,
        env=repo.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    repo.write("README", b"mine\n")
    committer = committing(repo, flag)
    go.touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    res = json.loads(out)
    assert res["isolated"]["not_applied"] == "busy" and "index.lock" in json.dumps(res), res
    assert not repo.exists("op.txt")
    flag.touch()
    out_c, _ = committer.communicate(timeout=30)
    assert committer.returncode == 0, out_c
    assert repo.git("status", "--porcelain") == ""


SESSION = "5e5510a0-3939-4c55-9e0a-1b2c3d4e5f60"


def hook(repo: GitRepo, event: str, **fields: object) -> subprocess.CompletedProcess[str]:
    """One Claude Code hook call, as its installed command gets it."""
    return agents.claude_hook(repo, SESSION, event, **fields)


def test_a_live_gits_index_lock_stops_a_turns_take_back(repo: GitRepo, tmp_path: Path) -> None:
    """A turn broke its gate; at Stop, a `git commit -a` of the user's waits for its message.
    The turn's take-back used to take the commit's lock too."""
    repo.write("app.py", b"ok\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "app"\nrun = "! grep -q BUG app.py"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "app and its gate")
    call = {
        "tool_name": "Edit",
        "tool_input": {"file_path": str(repo.path / "app.py"), "old_string": "ok"}
        | {"new_string": "BUG"},
        "tool_use_id": "toolu_0001",
    }
    hook(repo, "PreToolUse", **call)
    repo.write("app.py", b"BUG\n")
    hook(repo, "PostToolUse", **call, tool_response={"success": True})
    repo.write("README", b"mine\n")
    flag = tmp_path / "flag"
    committer = committing(repo, flag)
    res = hook(repo, "Stop", stop_hook_active=False)
    assert "index.lock" in res.stdout + res.stderr, res
    assert repo.read("app.py") == b"BUG\n" and (repo.path / ".git" / "index.lock").exists()
    # `log` and `show` say why it was kept (the lock, and the git that holds it), not an
    # overlap with later changes that there never was.
    op = repo.atomic_json("log")["operations"][0]["op_id"]
    for query in (["log"], ["show", op]):
        said = repo.atomic(*query, check=0).stdout
        assert "index.lock" in said and "git commit" in said and "overlap" not in said, said
    flag.touch()
    out, _ = committer.communicate(timeout=30)
    assert committer.returncode == 0, out
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("command", ["rollback --op", "undo"])
def test_an_effect_taken_back_leaves_git_state_made_since(repo: GitRepo, command: str) -> None:
    """After the operation, `git merge --squash side` stages side's change and leaves
    SQUASH_MSG (the message the next `git commit` starts from; no merge is in progress). Taking
    the operation's effect back (or re-applying it) used to remove SQUASH_MSG: a worked-out
    target held no git state at all, so git's files the operation never made went too."""
    repo.git("checkout", "-qb", "side")
    repo.write("side.txt", b"side\n")
    repo.git("add", "side.txt")
    repo.git("commit", "-qm", "side work")
    repo.git("checkout", "-q", "main")
    fail = "; exit 1" if command == "undo" else ""
    res = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", "echo op > op.txt" + fail, check=None
    )
    repo.git("merge", "-q", "--squash", "side")
    squash = (repo.path / ".git" / "SQUASH_MSG").read_bytes()
    argv = ["rollback", "--op", res["op_id"]] if command == "rollback --op" else ["undo"]
    repo.atomic(*argv, check=0)
    assert repo.exists("op.txt") is (command == "undo")
    assert (repo.path / ".git" / "SQUASH_MSG").read_bytes() == squash
    assert repo.git("status", "--porcelain", "--", "side.txt") == "A  side.txt\n"


@pytest.mark.parametrize("value", ["inf", "nan", "-5", "soon"])
def test_a_lock_wait_that_is_no_finite_number_is_the_default(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """GIT_ATOMIC_INDEX_LOCK_WAIT=inf made a rollback wait for ever on a live git's lock."""
    from git_atomic.engine import gitlockheld

    monkeypatch.setenv("GIT_ATOMIC_INDEX_LOCK_WAIT", value)
    assert gitlockheld.live_wait() == (0.0 if value == "-5" else 10.0)
