"""`git atomic run` end to end through a real process: both history modes, every exit code."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, git_atomic_on_path, hermetic_env


def _messy(repo: GitRepo) -> None:
    repo.write("tracked.txt", b"one\n")
    repo.write("tool.sh", b"#!/bin/sh\n", mode=0o755)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.write("tracked.txt", b"staged\n")
    repo.git("add", "tracked.txt")
    repo.write("tracked.txt", b"staged then edited\n")
    repo.write("notes.txt", b"untracked\n")


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_failing_command_rolls_back_exactly(repo: GitRepo, history: str) -> None:
    _messy(repo)
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run",
        "--history",
        history,
        "-n",
        "breaks",
        "--",
        "sh",
        "-c",
        "echo x > tracked.txt; rm tool.sh; mkdir -p new/dir; "
        "echo n > new/dir/f; git add -A; git commit -qm op; exit 3",
        check=1,
    )
    assert res["status"] == "rolled_back" and res["failed_phase"] == "exec"
    assert res["command"]["exit_code"] == 3
    assert res["checkpoints"]["rescue"]
    assert repo.fingerprint().diff(before) == []
    assert not repo.exists("new")  # folders it created go too


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_failing_gate_rolls_back(repo: GitRepo, history: str) -> None:
    _messy(repo)
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run",
        "--history",
        history,
        "-g",
        "test -f never-there",
        "--",
        "sh",
        "-c",
        "echo y > made.txt",
        check=1,
    )
    assert res["failed_phase"] == "validate"
    assert res["gates"][0]["passed"] is False and res["gates"][0]["exit_code"] == 1
    assert repo.fingerprint().diff(before) == []
    rescue = res["checkpoints"]["rescue"]
    assert repo.git("cat-file", "-p", f"{rescue}:files/made.txt") == "y\n"


def test_commits_mode_makes_visible_commits(repo: GitRepo) -> None:
    _messy(repo)
    base = repo.head()
    res = repo.atomic_json(
        "run", "-n", "upgrade", "-g", "true", "--", "sh", "-c", "echo new > made.txt"
    )
    assert res["status"] == "committed" and res["history"] == "commits"
    subjects = repo.git("log", "--format=%s", f"{base}..HEAD").splitlines()
    assert subjects == ["OP-EXEC: upgrade - sh -c 'echo new > made.txt'"]  # PRE-OP: no commit
    assert repo.git("log", "-1", "--format=%b").strip() == "Command: sh -c 'echo new > made.txt'"
    # Files that were untracked before the operation stay out of its commits, and the work in
    # progress stays where it was, staged and unstaged.
    assert repo.git("diff", "--name-status", base, "HEAD") == "A\tmade.txt\n"
    assert repo.git("status", "--porcelain") == "MM tracked.txt\n?? notes.txt\n"
    assert repo.git("show", ":tracked.txt") == "staged\n"


def test_commits_mode_never_makes_an_empty_commit(repo: GitRepo) -> None:
    base = repo.head()
    repo.atomic("run", "--", "true", check=0)
    assert repo.head() == base


def test_post_op_commit_holds_what_gates_changed(repo: GitRepo) -> None:
    base = repo.head()
    repo.atomic(
        "run",
        "-n",
        "fmt",
        "-g",
        "echo report > gate-output.txt",
        "--",
        "sh",
        "-c",
        "echo a > a.txt",
        check=0,
    )
    subjects = repo.git("log", "--format=%s", f"{base}..HEAD").splitlines()
    assert subjects[0] == "POST-OP: fmt - validation complete"


def test_shadow_mode_leaves_branch_and_index(repo: GitRepo) -> None:
    _messy(repo)
    head = repo.head()
    index = (repo.path / ".git" / "index").read_bytes()
    res = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", "echo r > r.txt")
    assert res["status"] == "committed"
    assert repo.head() == head
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert repo.read("r.txt") == b"r\n"
    refs = repo.checkpoint_refs("%(refname)").split()
    assert len(refs) == 3 and all(res["op_id"] in r for r in refs)


def test_config_history_and_gates(repo: GitRepo) -> None:
    repo.write(
        ".git-atomic.toml", b'history = "shadow"\n[[gates]]\nname = "check"\nrun = "test -f ok"\n'
    )
    res = repo.atomic_json("run", "--", "touch", "nope", check=1)
    assert res["history"] == "shadow" and res["gates"][0]["name"] == "check"
    res = repo.atomic_json("run", "--", "touch", "ok")
    assert res["status"] == "committed"


def test_timeout_rolls_back(repo: GitRepo) -> None:
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run", "--timeout", "0.5", "--", "sh", "-c", "echo partial > p.txt; sleep 30", check=1
    )
    assert res["failed_phase"] == "timeout" and res["command"]["exit_code"] is None
    assert repo.fingerprint().diff(before) == []


def test_missing_command_is_refused_and_one_that_cannot_start_is_exec_failure(
    repo: GitRepo,
) -> None:
    res = repo.atomic("run", "--", "no-such-program-xyz", check=2)
    assert "no-such-program-xyz" in res.stderr
    # There, executable, but its interpreter is not: found only when it starts.
    repo.write("tool.sh", b"#!/no/such/interpreter\n", mode=0o755)
    res = repo.atomic("run", "--", "./tool.sh", check=1)
    assert "cannot run the command: ./tool.sh" in res.stderr


def test_unborn_repository(empty_repo: GitRepo) -> None:
    empty_repo.write("first.txt", b"1\n")
    before = empty_repo.fingerprint()
    empty_repo.atomic("run", "--", "sh", "-c", "echo 2 > second.txt; false", check=1)
    assert empty_repo.fingerprint().diff(before) == []
    empty_repo.atomic("run", "-n", "init", "--", "sh", "-c", "echo 2 > second.txt", check=0)
    # first.txt was untracked before the operation: it stays out of the commits, so the first
    # commit of this branch is the operation's own.
    assert empty_repo.git("log", "--format=%s").splitlines() == [
        "OP-EXEC: init - sh -c 'echo 2 > second.txt'"
    ]
    assert empty_repo.git("ls-tree", "--name-only", "HEAD") == "second.txt\n"


def test_detached_head(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "--detach")
    before = repo.fingerprint()
    repo.atomic("run", "--", "sh", "-c", "git checkout -q main; echo x > x; exit 1", check=1)
    assert repo.fingerprint().diff(before) == []


def test_branches_restored(repo: GitRepo) -> None:
    repo.git("branch", "keep")
    repo.git("branch", "moved")
    before = repo.fingerprint()
    repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        "git branch -D keep && git branch created && git checkout -qb other && "
        "git commit -q --allow-empty -m x && git branch -f moved HEAD && exit 1",
        check=1,
    )
    assert repo.fingerprint().diff(before) == []


# --- refusals: one line, exit code, nothing changed -------------------------------------------
def test_not_a_repository(tmp_path: Path) -> None:
    env = hermetic_env(tmp_path / "home")
    res = subprocess.run(
        [sys.executable, "-m", "git_atomic", "run", "--", "true"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 3
    assert res.stderr.startswith("git-atomic: not a git repository")
    assert res.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args", [["status"], ["run", "--", "true"], ["rollback"], ["undo"], ["recover"], ["tdd", "red"]]
)
def test_a_current_folder_that_was_deleted(repo: GitRepo, args: list[str]) -> None:
    """The user's shell is in a folder an operation (or its rollback) removed. Before, every
    command that looks for the repository died with an internal error (os.getcwd())."""
    (repo.path / "gone").mkdir()
    before = repo.fingerprint()
    shell = ["sh", "-c", 'cd gone && rmdir ../gone && exec "$@"', "sh"]
    res = subprocess.run(
        [*shell, sys.executable, "-m", "git_atomic", *args],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 3, res.stderr
    assert res.stderr.startswith("git-atomic: the current folder cannot be read"), res.stderr
    assert res.stderr.count("\n") == 1
    assert repo.fingerprint().diff(before) == []


# (not BISECT_LOG: `run` works in a bisect, for `git bisect run`:
# tests/test_adversary62_callers_bisect.py)
@pytest.mark.parametrize(
    "state", ["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply"]
)
def test_refused_while_git_waits_for_the_user(repo: GitRepo, state: str) -> None:
    path = repo.path / ".git" / state
    if state.startswith("rebase"):
        path.mkdir()
    else:
        path.write_text(repo.head() + "\n")
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "touch", "x", check=3)
    assert "in progress" in res.stderr and res.stderr.count("\n") == 1
    assert repo.fingerprint() == before and not repo.exists("x")


def test_malformed_config_is_exit_2(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b"history = \n")
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "touch", "x", check=2)
    assert res.stderr.startswith("git-atomic: .git-atomic.toml")
    assert res.stderr.count("\n") == 1
    assert repo.fingerprint() == before


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["run", "--timeout", "-1", "--", "true"],
        ["run", "--timeout", "nan", "--", "true"],
        ["run", "--timeout", "inf", "--", "true"],
        ["run", "--timeout", "-inf", "--", "true"],
        ["run", "--history", "weird", "--", "true"],
        ["frobnicate"],
        ["show", "zz"],
        ["show", "abcdef012345"],
        ["log", "--since", "yesterdayish"],
    ],
)
def test_bad_arguments_are_exit_2(repo: GitRepo, args: list[str]) -> None:
    before = repo.fingerprint()
    res = repo.atomic(*args, check=2)
    assert res.stderr.startswith("git-atomic:") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr
    assert repo.fingerprint() == before


def test_commits_mode_needs_identity(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        repo.env.pop(key)
    repo.env["EMAIL"] = ""
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "touch", "x", check=2)
    assert "identity" in res.stderr
    assert repo.fingerprint() == before and not repo.exists("x")
    # Shadow mode works without an identity: checkpoints use the fixed one.
    repo.atomic("run", "--history", "shadow", "--", "touch", "x", check=0)
    ref = repo.checkpoint_refs("%(refname)").split()[0]
    author = repo.git("log", "-1", "--format=%an <%ae>", ref)
    assert author.strip() == "git-atomic <git-atomic@localhost>"


def test_operation_names_are_data(repo: GitRepo) -> None:
    evil = "../../x; rm -rf / $(touch pwned) refs/heads/main"
    res = repo.atomic_json("run", "-n", evil, "--", "true")
    assert res["name"] == evil
    assert not repo.exists("pwned")
    refs = repo.git("for-each-ref", "--format=%(refname)", "refs/").split()
    allowed = ("refs/heads/main", "refs/atomic/ops/", "refs/atomic/scan/main")
    assert all(r.startswith(allowed) for r in refs)


def test_json_stdout_is_one_object_even_when_the_command_prints(repo: GitRepo) -> None:
    res = repo.atomic("run", "--json", "--", "sh", "-c", "echo noise; echo err >&2", check=0)
    obj = json.loads(res.stdout)
    assert obj["status"] == "committed"
    assert "noise" in res.stderr


def test_log_show_status(repo: GitRepo) -> None:
    ok = repo.atomic_json("run", "-n", "good", "--", "true")
    bad = repo.atomic_json("run", "-n", "bad", "--", "false", check=1)
    log = repo.atomic_json("log")
    assert [o["op_id"] for o in log["operations"]] == [bad["op_id"], ok["op_id"]]
    assert log["operations"][0]["started_at"] and log["operations"][0]["ended_at"]
    assert repo.atomic_json("log", "--status", "committed")["operations"][0]["name"] == "good"
    shown = repo.atomic_json("show", bad["op_id"][:6])
    assert shown["op_id"] == bad["op_id"] and shown["failed_phase"] == "exec"
    status = repo.atomic_json("status")
    assert status == {
        "schema": "git-atomic/1",
        "open": None,
        "interrupted": None,
        "lock": None,
        "blocked": None,
        "turns": [],
    }
    human = repo.atomic("log", check=0)
    assert "good" in human.stdout and "bad" in human.stdout


def test_session_begin_checkpoint_commit(repo: GitRepo) -> None:
    base = repo.head()
    op = repo.atomic_json("begin", "steps")
    assert op["status"] == "open"
    assert repo.atomic_json("status")["open"]["op_id"] == op["op_id"]
    repo.write("s1.txt", b"1\n")
    repo.atomic_json("checkpoint", "-m", "stage one")
    repo.atomic("begin", "second", check=3)  # one open operation per worktree
    repo.write("s2.txt", b"2\n")
    done = repo.atomic_json("commit", "-g", "test -f s2.txt")
    assert done["status"] == "committed" and len(done["checkpoints"]["op_exec"]) == 1
    subjects = repo.git("log", "--format=%s", f"{base}..HEAD").splitlines()
    assert subjects == ["POST-OP: steps - validation complete", "OP-EXEC: steps - stage one"]


def test_session_abort_and_failed_commit(repo: GitRepo) -> None:
    before = repo.fingerprint()
    repo.atomic_json("begin", "try", "--history", "shadow")
    repo.write("junk.txt", b"junk\n")
    res = repo.atomic_json("commit", "-g", "false", check=1)
    assert res["status"] == "rolled_back" and res["failed_phase"] == "validate"
    assert repo.fingerprint().diff(before) == []
    repo.atomic_json("begin", "try2")
    repo.write("junk.txt", b"junk\n")
    res = repo.atomic_json("abort")
    assert res["status"] == "rolled_back"
    assert repo.fingerprint().diff(before) == []
    repo.atomic("commit", check=2)  # nothing open


def test_git_subcommand_dispatch(repo: GitRepo, tmp_path: Path) -> None:
    """`git atomic ...` finds the console script on PATH."""
    env = git_atomic_on_path(tmp_path / "bin", repo.env)
    res = subprocess.run(
        ["git", "atomic", "--version"], cwd=repo.path, env=env, capture_output=True, text=True
    )
    assert res.returncode == 0 and res.stdout.startswith("git-atomic")


def test_commits_mode_keeps_what_the_operation_started_tracking(repo: GitRepo) -> None:
    repo.write("notes.txt", b"untracked before\n")
    repo.write("stray.env", b"SECRET=1\n")
    repo.atomic(
        "run",
        "-n",
        "track",
        "--",
        "sh",
        "-c",
        "git add notes.txt && git commit -qm 'track notes' && echo more >> notes.txt",
        check=0,
    )
    tree = repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    assert "notes.txt" in tree and "stray.env" not in tree
    assert repo.git("show", "HEAD:notes.txt") == "untracked before\nmore\n"


def test_signal_during_a_session_command_finishes_the_restore(repo: GitRepo) -> None:
    """abort with SIGINT arriving mid-way: the restore completes, exit 130, nothing half done."""
    before = repo.fingerprint()
    repo.atomic_json("begin", "sig", "--history", "shadow")
    for i in range(300):
        repo.write(f"many/f{i}", b"x" * 100)
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "abort"],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    import signal
    import time

    # The signal must find the command under way (it holds the worktree's lock from its first
    # steps), not Python still starting up, which a loaded machine can stretch past any sleep.
    lock = repo.path / ".git" / "atomic.lock"
    deadline = time.monotonic() + 60
    while not lock.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode in (0, 130), proc.stderr.read() if proc.stderr else ""
    status = repo.atomic_json("status")
    assert status["interrupted"] is None
    if status["open"] is not None:  # nothing was done: the work is all still there
        assert all(repo.exists(f"many/f{i}") for i in range(300))
        repo.atomic_json("abort")
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("split", [False, True])
def test_commits_mode_leaves_no_untracked_cache_in_the_index(repo: GitRepo, split: bool) -> None:
    """The scan index keeps git's untracked cache (scan.py), and a large one is a split index;
    the index that commits mode puts in place is the user's: whole, with no untracked cache,
    unless the user asked for them."""
    env = {"GIT_ATOMIC_SPLIT_SCAN_AT": "1" if split else str(1 << 30)}
    repo.write("new.txt", b"n\n")
    repo.atomic_json("run", "--", "sh", "-c", "echo x > made.txt", env=env)
    repo.atomic_json("run", "--", "sh", "-c", "echo y >> made.txt", env=env)
    assert b"UNTR" not in (repo.path / ".git" / "index").read_bytes()
    assert repo.git("rev-parse", "--shared-index-path") == ""
    assert repo.git("status", "--porcelain", "-uall") == "?? new.txt\n"
    scans = list((repo.path / ".git" / "atomic").glob("scan-*"))
    assert len(scans) == 1 and b"UNTR" in scans[0].read_bytes()
    shared = repo.git("rev-parse", "--shared-index-path", env={"GIT_INDEX_FILE": str(scans[0])})
    assert bool(shared.strip()) is split
    assert len(list((repo.path / ".git").glob("sharedindex.*"))) == int(split)


def _shared_of(repo: GitRepo, index: Path) -> set[str]:
    path = repo.git("rev-parse", "--shared-index-path", env={"GIT_INDEX_FILE": str(index)})
    name = Path(path.strip()).name
    return {name} if path.strip() and not name.endswith("0" * 40) else set()  # zeros: whole


@pytest.mark.parametrize("yours_split", [False, True])
def test_split_scan_indexes_leave_no_shared_index_behind(repo: GitRepo, yours_split: bool) -> None:
    """Scan indexes that are split (scan.py) keep exactly the shared indexes they use: across
    runs in both modes, a failing run, begin/abort/undo, a fallback to the older scan (an
    assume-unchanged entry) and gc. A split index of yours, and every shared index it ever
    used, are yours: none is removed (git expires them)."""
    env = {"GIT_ATOMIC_SPLIT_SCAN_AT": "1"}
    git_dir = repo.path / ".git"
    if yours_split:
        repo.git("config", "core.splitIndex", "true")
        repo.git("update-index", "--split-index")
    yours = _shared_of(repo, git_dir / "index")
    assert bool(yours) is yours_split
    steps: list[tuple[str, ...]] = [
        ("run", "--", "sh", "-c", "echo x > made.txt"),
        ("run", "--history", "shadow", "--", "sh", "-c", "echo y >> made.txt; rm README"),
        ("run", "--", "sh", "-c", "echo z > z.txt; exit 1"),
        ("begin", "b"),
        ("abort",),
        ("undo",),
        ("run", "--", "sh", "-c", "echo w > w.txt"),
        ("gc",),
    ]
    if not yours_split:  # (your git would make shared indexes of its own in the middle of it)
        steps.insert(6, ("run", "--", "sh", "-c", "git update-index --assume-unchanged made.txt"))
    for step in steps:
        res = repo.atomic(*step, env=env)
        assert res.returncode in (0, 1), res.stderr
        yours |= _shared_of(repo, git_dir / "index")
        ours: set[str] = set()
        for scan_index in (git_dir / "atomic").glob("scan-*"):
            ours |= _shared_of(repo, scan_index)
        present = {p.name for p in git_dir.glob("sharedindex.*")}
        assert ours and not ours & yours, step
        assert present == ours | yours, (step, present, ours, yours)
    assert repo.git("status", "--porcelain") is not None  # your index still reads
    assert repo.git("ls-files", "-v", "made.txt").startswith("h" if not yours_split else "H")


# A process that leaves the command's group and session (as `setsid cmd &` does), waits, then
# writes `name` in its working folder.
_ESCAPE = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    time.sleep(1.5)\n"
    "    open(sys.argv[1], 'w').write('late')\n"
    "    os._exit(0)\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a subreaper is Linux's")
@pytest.mark.parametrize("where", ["command", "gate"])
def test_a_process_that_left_the_command_s_group_never_writes_after_the_rollback(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """The command's process group is stopped at its end, but one that made a session of its
    own (`setsid`) ran on, and wrote into the tree after the rollback had put it back. Those
    working in the worktree are stopped with the group; one working elsewhere (a daemon does
    chdir /) is left running."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    escape = shlex.join([sys.executable, "-c", _ESCAPE])
    spawn = f"{escape} late.txt; (cd {shlex.quote(str(outside))} && {escape} daemon.txt); sleep 0.5"
    before = repo.fingerprint()
    if where == "command":
        res = repo.atomic("run", "--", "sh", "-c", spawn + "; exit 1", check=1)
    else:
        res = repo.atomic("run", "-g", spawn + "; exit 1", "--", "sh", "-c", "echo x > x", check=1)
    # The one left running writes after 1.5 s; the one in the worktree, started before it,
    # would have written by then (plus a margin), where it was not stopped.
    deadline = time.monotonic() + 60
    while not (outside / "daemon.txt").exists():
        assert time.monotonic() < deadline, "the process working elsewhere never wrote"
        time.sleep(0.02)
    time.sleep(0.5)
    assert not (repo.path / "late.txt").exists(), res.stderr
    assert repo.fingerprint().diff(before) == []
    assert (outside / "daemon.txt").read_text() == "late"  # not ours to stop


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a subreaper is Linux's")
def test_git_s_own_background_work_outlives_the_command(repo: GitRepo, tmp_path: Path) -> None:
    """A commit may detach `git gc --auto` (its own session, working in the worktree): git's
    own work, left running (killed at each command, the repository would never be packed)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # A git that waits in the worktree, in a session of its own (its stdin never ends), its
    # output let go of as a detached `gc --auto` lets go of it (else the command's output
    # pipes, which the test reads to their end, would stay open while it runs).
    waits = f"exec git cat-file --batch 0<>{shlex.quote(str(fifo))} >/dev/null 2>&1"
    spawn = f"setsid sh -c {shlex.quote(waits)} & echo $! > pid; sleep 0.5"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", spawn, check=0)
    pid = int(repo.read("pid"))
    try:
        time.sleep(0.3)
        os.kill(pid, 0)  # still there
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
