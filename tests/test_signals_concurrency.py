"""Real processes: signals, timeouts, races for one worktree, worktrees side by side
(README, Guarantees: isolated; exit codes 130/143)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

# The command writes its own pid and its group's, starts a grandchild that would outlive it,
# says it is ready, then waits to be stopped.
CHILD = (
    "echo changed > README; echo new > new.txt; "
    "sleep 300 & echo $! > {tmp}/grandchild; echo $$ > {tmp}/child; touch {tmp}/ready; wait"
)


def start(repo: GitRepo, *args: str, argv: Sequence[str] = ()) -> subprocess.Popen[str]:
    """`git atomic ARGS` started in `repo` (`argv`: how, else `python -m git_atomic`)."""
    return subprocess.Popen(
        [*(argv or (sys.executable, "-m", "git_atomic")), *args],
        cwd=repo.path,
        env=repo.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc: subprocess.Popen[str] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"exited {proc.returncode} before {path.name}: {proc.communicate()[1]}"
            )
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_the_command_rolls_back_and_ends_the_group(
    repo: GitRepo, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    repo.write("untracked.txt", b"mine\n")
    before = repo.fingerprint()
    proc = start(repo, "run", "--json", "--", "sh", "-c", CHILD.format(tmp=tmp_path))
    wait_for(tmp_path / "ready", proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    obj = json.loads(out)
    assert obj["status"] == "rolled_back" and obj["failed_phase"] == "interrupt"
    assert repo.fingerprint() == before
    assert gone(int((tmp_path / "grandchild").read_text()))
    assert gone(int((tmp_path / "child").read_text()))
    repo.atomic("run", "--", "true", check=0)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_gate_rolls_back(
    repo: GitRepo, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    before = repo.fingerprint()
    gate = CHILD.format(tmp=tmp_path).replace("echo changed > README; echo new > new.txt; ", "")
    proc = start(repo, "run", "-g", gate, "--", "sh", "-c", "echo changed > README")
    wait_for(tmp_path / "ready", proc)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert repo.fingerprint() == before
    assert gone(int((tmp_path / "grandchild").read_text()))
    log = json.loads(repo.atomic("log", "--json", check=0).stdout)["operations"][0]
    assert log["status"] == "rolled_back" and log["failed_phase"] == "interrupt"


def test_signal_during_commit_gates_rolls_back_the_session(repo: GitRepo, tmp_path: Path) -> None:
    before = repo.fingerprint()
    repo.atomic("begin", "s", check=0)
    repo.write("README", b"session work\n")
    gate = CHILD.format(tmp=tmp_path).replace("echo changed > README; echo new > new.txt; ", "")
    proc = start(repo, "commit", "-g", gate)
    wait_for(tmp_path / "ready", proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert repo.fingerprint() == before
    assert gone(int((tmp_path / "grandchild").read_text()))


def test_timeout_kills_the_whole_group_and_rolls_back(repo: GitRepo, tmp_path: Path) -> None:
    before = repo.fingerprint()
    started = time.monotonic()
    res = repo.atomic(
        "run", "--timeout", "1", "--json", "--", "sh", "-c", CHILD.format(tmp=tmp_path), check=1
    )
    assert time.monotonic() - started < 30
    obj = json.loads(res.stdout)
    assert obj["status"] == "rolled_back" and obj["failed_phase"] == "timeout"
    assert obj["command"]["exit_code"] is None
    assert repo.fingerprint() == before
    assert gone(int((tmp_path / "grandchild").read_text()))
    assert gone(int((tmp_path / "child").read_text()))


def test_timeout_of_a_child_that_ignores_sigterm(repo: GitRepo, tmp_path: Path) -> None:
    before = repo.fingerprint()
    script = (
        f"trap '' TERM; echo x > README; sleep 300 & echo $! > {tmp_path}/grandchild; "
        "while :; do sleep 1; done"
    )
    res = repo.atomic("run", "--timeout", "0.5", "--json", "--", "sh", "-c", script, check=1)
    assert json.loads(res.stdout)["failed_phase"] == "timeout"
    assert repo.fingerprint() == before
    assert gone(int((tmp_path / "grandchild").read_text()))


# --- one worktree, many processes ---------------------------------------------------------------
def _race(
    repo: GitRepo,
    tmp_path: Path,
    n: int,
    extra: tuple[str, ...],
    *,
    release_after: float | None = None,
) -> list[tuple[int, str]]:
    """n processes at once. Whoever gets the worktree holds it until `release` exists: once all
    the others have exited (so they really overlap the winner), or after `release_after` s."""
    release = tmp_path / "release"
    release.unlink(missing_ok=True)
    hold = f"while [ ! -e {release} ]; do sleep 0.02; done"
    procs = [
        start(
            repo, "run", *extra, "-n", f"p{i}", "--", "sh", "-c", f"echo {i} >> racers.txt; {hold}"
        )
        for i in range(n)
    ]
    started = time.monotonic()
    results: dict[int, tuple[int, str]] = {}
    while len(results) < n:
        for i, proc in enumerate(procs):
            if i not in results and proc.poll() is not None:
                results[i] = (proc.returncode, proc.communicate()[1])
        if release_after is None and len(results) >= n - 1:
            release.touch()
        if release_after is not None and time.monotonic() - started > release_after:
            release.touch()
        assert time.monotonic() - started < 120, "racers hung"
        time.sleep(0.02)
    return [results[i] for i in range(n)]


def test_two_processes_race_exactly_one_wins_every_time(repo: GitRepo, tmp_path: Path) -> None:
    for iteration in range(8):
        results = _race(repo, tmp_path, 2, ())
        codes = sorted(code for code, _ in results)
        assert codes == [0, 3], (iteration, results)
        loser = next(err for code, err in results if code == 3)
        assert len(loser.strip().splitlines()) == 1
        assert "another git-atomic is working" in loser and "--wait" in loser
    assert len(repo.read("racers.txt").split()) == 8
    _journal_sound(repo)


@pytest.mark.slow
def test_many_racers_many_iterations(repo: GitRepo, tmp_path: Path) -> None:
    for _ in range(15):
        results = _race(repo, tmp_path, 4, ())
        assert sorted(code for code, _ in results) == [0, 3, 3, 3], results
    assert len(repo.read("racers.txt").split()) == 15
    _journal_sound(repo)


def test_racers_with_wait_all_succeed_one_after_another(repo: GitRepo, tmp_path: Path) -> None:
    results = _race(repo, tmp_path, 3, ("--wait",), release_after=2.0)
    assert [code for code, _ in results] == [0, 0, 0], results
    assert sum("waiting for pid" in err for _, err in results) == 2
    assert sorted(repo.read("racers.txt").split()) == [b"0", b"1", b"2"]
    ops = json.loads(repo.atomic("log", "--json", check=0).stdout)["operations"]
    assert len(ops) == 3 and {o["status"] for o in ops} == {"committed"}
    _journal_sound(repo)


def test_loser_is_refused_at_once(repo: GitRepo, tmp_path: Path) -> None:
    holder = start(repo, "run", "--", "sh", "-c", f"touch {tmp_path}/ready; sleep 20")
    try:
        wait_for(tmp_path / "ready", holder)
        t = time.monotonic()
        res = repo.atomic("run", "--", "true", check=3)
        assert time.monotonic() - t < 5
        assert f"pid {holder.pid}" in res.stderr
        status = repo.atomic_json("status")
        assert status["lock"]["pid"] == holder.pid and status["open"] is not None
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=60)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_wait_for_the_lock_ends_on_a_signal_with_nothing_opened(
    repo: GitRepo, tmp_path: Path, sig: int, code: int
) -> None:
    """`begin --wait` went on waiting through Ctrl-C and SIGTERM, then opened its operation
    once the lock was free, and only then exited 130/143."""
    holder = start(repo, "run", "--", "sh", "-c", f"touch {tmp_path}/ready; sleep 20")
    try:
        wait_for(tmp_path / "ready", holder)
        waiter = start(repo, "begin", "w", "--wait")
        assert waiter.stderr is not None
        line = waiter.stderr.readline()  # it says it waits once it holds nothing
        assert "waiting for pid" in line, line
        t = time.monotonic()
        waiter.send_signal(sig)
        _, err = waiter.communicate(timeout=30)
        assert waiter.returncode == code, err
        assert time.monotonic() - t < 5 and "nothing changed" in err, err
        assert "Traceback" not in err
        assert holder.poll() is None  # the holder goes on
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=60)
    ops = repo.atomic_json("log")["operations"]
    assert [o["name"] for o in ops if o["name"] == "w"] == []


@pytest.mark.parametrize(
    "args",
    [("run", "--wait", "--no-gates", "-n", "second", "--", "true"), ("begin", "--wait", "second")],
)
def test_wait_waits_for_an_open_session_to_be_committed(
    repo: GitRepo, args: tuple[str, ...]
) -> None:
    """An operation opened with `begin` holds no process: `run --wait` and `begin --wait` were
    refused at once (exit 3) while it stayed open. They wait until it is committed."""
    repo.atomic("begin", "first", check=0)
    waiter = start(repo, *args)
    assert waiter.stderr is not None
    line = waiter.stderr.readline()
    assert "waiting for operation" in line and "(first)" in line, line
    assert waiter.poll() is None
    repo.atomic("commit", "--no-gates", check=0)
    _, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    names = [o["name"] for o in repo.atomic_json("log")["operations"]]
    assert names[:2] == ["second", "first"], names


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--wait", "--no-gates", "-n", "second", "--", "touch", "ran.txt"),
        ("run", "--isolate", "--wait", "--no-gates", "-n", "second", "--", "touch", "ran.txt"),
        ("begin", "--wait", "second"),
    ],
)
def test_a_signal_while_waiting_for_a_session_ends_the_wait_though_it_closed_meanwhile(
    repo: GitRepo, args: tuple[str, ...]
) -> None:
    """Ctrl-C came while the waiter had let go of the lock, and the session was aborted before
    it looked again: the command started all the same (an operation "rolled back
    (interrupted)" in the log, its command started after the Ctrl-C). The wait now ends there,
    nothing changed. The waiter is stopped to hold the signal until the abort is done."""
    repo.atomic("begin", "first", check=0)
    waiter = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *args],
        cwd=repo.path,
        env={**repo.env, "GIT_ATOMIC_HELPER": "0"},  # the waiter is this process: stopped
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert waiter.stderr is not None
    line = waiter.stderr.readline()
    assert "waiting for operation" in line and "(first)" in line, line
    lock = repo.path / ".git" / "atomic.lock"
    while True:  # stopped while it has let go of the lock (it holds it for moments)
        waiter.send_signal(signal.SIGSTOP)
        if not lock.exists():
            break
        waiter.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    waiter.send_signal(signal.SIGINT)
    try:
        repo.atomic("abort", check=0)
    finally:
        waiter.send_signal(signal.SIGCONT)
    _, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 130, err
    assert "interrupted while waiting for operation" in err and "nothing changed" in err, err
    assert not repo.exists("ran.txt")
    names = [o["name"] for o in repo.atomic_json("log")["operations"]]
    assert names == ["first"], names


def test_a_command_started_with_sigint_ignored_ignores_it(repo: GitRepo, tmp_path: Path) -> None:
    """`trap '' INT` (or a script's background job, which a shell starts so) makes a program
    ignore Ctrl-C. git-atomic answered it all the same: the operation was rolled back
    (interrupted), exit 130. The command goes on to its end now, and its command ignores it
    as well (tests/test_helper.py: the warm helper does not serve such a command)."""
    script = f"touch {tmp_path}/started; sleep 1; touch done.txt"
    line = shlex.join([sys.executable, "-m", "git_atomic", "run", "--", "sh", "-c", script])
    proc = start(repo, argv=["bash", "-c", f"trap '' INT; exec {line}"])
    wait_for(tmp_path / "started", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert repo.exists("done.txt") and "interrupted" not in err, err


def test_the_lock_file_is_json_with_its_owner(repo: GitRepo, tmp_path: Path) -> None:
    from git_atomic.core.lock import WorktreeLock, _json, process_start

    # Written by hand for plain words (no json import before the scan starts), by json otherwise.
    for record in (
        {"pid": 7, "since": "2026-11-26T05:00:00+00:00", "command": "begin", "start": "1234"},
        {"pid": 7, "since": "x", "command": 'a "quoted"\\ word\n', "start": None},
    ):
        assert json.loads(_json(record)) == record
    lock = WorktreeLock(tmp_path / "atomic.lock")
    lock.acquire("isolate:apply")
    try:
        data = json.loads((tmp_path / "atomic.lock").read_text())
        assert data == {
            "pid": os.getpid(),
            "since": data["since"],
            "command": "isolate:apply",
            "start": process_start(os.getpid()),
        }
        assert time.strptime(data["since"], "%Y-%m-%dT%H:%M:%S+00:00")
        holder = lock.read()
        assert holder is not None and holder.alive and holder.command == "isolate:apply"
    finally:
        lock.release()
    assert not (tmp_path / "atomic.lock").exists()


# Takes the lock as `run --isolate` would, holds it until the file argv[2] appears, lets go, exits.
HOLD = (
    "import os, sys, time; from pathlib import Path; "
    "from git_atomic.core.lock import WorktreeLock; "
    "lock = WorktreeLock(Path(sys.argv[1])); lock.acquire('run --isolate'); "
    "[time.sleep(0.01) for _ in iter(lambda: os.path.exists(sys.argv[2]), True)]; lock.release()"
)


@pytest.mark.parametrize("waiter", ["acquire", "isolated-apply"])
def test_a_holder_that_lets_go_and_exits_meanwhile_is_not_taken_for_dead(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, waiter: str
) -> None:
    """Between reading the lock file and asking whether its holder lives, the holder may release
    the lock and exit: the worktree is free, not held by a process that died (on a loaded
    machine, a `run --isolate` whose apply met this window reported the worktree busy, and
    `begin` told the user to run `recover`). The window is forced: the holder is let go and
    reaped right after the waiter's look at the file."""
    from git_atomic.core import lock as lockmod
    from git_atomic.ops.isolation_apply import take_worktree_lock

    path, go = tmp_path / "atomic.lock", tmp_path / "go"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(go)], env=repo.env)
    try:
        wait_for(path, holder)
        real_read = lockmod.WorktreeLock.read
        # acquire() looks at the holder once; the isolated apply's wait looks again after it.
        looks = {"n": 0, "leave_at": 1 if waiter == "acquire" else 2}

        def read_then_holder_leaves(self: lockmod.WorktreeLock) -> lockmod.Holder | None:
            found = real_read(self)
            looks["n"] += 1
            if looks["n"] == looks["leave_at"]:
                assert found is not None and found.pid == holder.pid and found.alive
                go.touch()
                holder.wait(timeout=60)
            return found

        monkeypatch.setattr(lockmod.WorktreeLock, "read", read_then_holder_leaves)
        lock = lockmod.WorktreeLock(path)
        if waiter == "acquire":
            lock.acquire("begin", wait=None)
        else:
            take_worktree_lock(lock, patient_with_all=True)
        assert lock.held and json.loads(path.read_text())["pid"] == os.getpid()
        assert looks["n"] >= looks["leave_at"], "the window was not reached"
        lock.release()
    finally:
        go.touch()
        holder.wait(timeout=60)
    assert holder.returncode == 0 and not path.exists()


# --- worktrees side by side ---------------------------------------------------------------------
def test_two_linked_worktrees_run_side_by_side(repo: GitRepo, tmp_path: Path) -> None:
    other_path = tmp_path / "other"
    repo.git("worktree", "add", "-q", "-b", "other", str(other_path))
    other = GitRepo(other_path, dict(repo.env))
    ready_a, ready_b = tmp_path / "a", tmp_path / "b"
    # Each waits until the other has started: only possible if neither blocks the other.
    a = start(
        repo,
        "run",
        "-n",
        "in-main",
        "--",
        "sh",
        "-c",
        f"echo a > a.txt; touch {ready_a}; while [ ! -e {ready_b} ]; do sleep 0.05; done",
    )
    b = start(
        other,
        "run",
        "-n",
        "in-other",
        "--",
        "sh",
        "-c",
        f"echo b > b.txt; touch {ready_b}; while [ ! -e {ready_a} ]; do sleep 0.05; done",
    )
    _, err_a = a.communicate(timeout=60)
    _, err_b = b.communicate(timeout=60)
    assert (a.returncode, b.returncode) == (0, 0), err_a + err_b
    assert repo.read("a.txt") == b"a\n" and not repo.exists("b.txt")
    assert other.read("b.txt") == b"b\n" and not other.exists("a.txt")
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    rows = db.execute("SELECT id, worktree, name, status FROM operations").fetchall()
    db.close()
    assert {(r[2], r[3]) for r in rows} == {("in-main", "committed"), ("in-other", "committed")}
    assert len({r[1] for r in rows}) == 2 and len({r[0] for r in rows}) == 2
    refs = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/ops/").split()
    by_op = {r[0]: [x for x in refs if f"/{r[0]}/" in x] for r in rows}
    assert all(by_op.values()) and not set(by_op[rows[0][0]]) & set(by_op[rows[1][0]])
    # A rollback in one worktree leaves the other alone.
    other_before = fingerprint_of(other)
    repo.atomic("run", "--", "sh", "-c", "echo x > x.txt; exit 1", check=1)
    assert fingerprint_of(other) == other_before
    _journal_sound(repo)


def fingerprint_of(wt: GitRepo) -> object:
    """A linked worktree's files and HEAD (its .git is a file: compare what git reports)."""
    files = sorted(p.name for p in wt.path.iterdir() if p.name != ".git")
    return (files, wt.git("rev-parse", "HEAD"), wt.git("status", "--porcelain"))


def test_interrupted_op_in_one_worktree_does_not_block_the_other(
    repo: GitRepo, tmp_path: Path
) -> None:
    other_path = tmp_path / "other"
    repo.git("worktree", "add", "-q", "-b", "other", str(other_path))
    other = GitRepo(other_path, dict(repo.env))
    res = repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        "echo x > README",
        env={"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"},
    )
    assert res.returncode == -9
    other.atomic("run", "--", "sh", "-c", "echo y > y.txt", check=0)
    repo.atomic("run", "--", "true", check=3)
    repo.atomic("recover", check=0)
    assert repo.read("README") == b"hello\n"
    assert other.read("y.txt") == b"y\n"


# --- interrupted and stale -------------------------------------------------------------------
def test_stale_lock_reported_exit_3_with_hint_then_cleared_by_recover(repo: GitRepo) -> None:
    proc = start(repo, "run", "--", "sleep", "30")
    lock = repo.path / ".git" / "atomic.lock"
    wait_for(lock, proc)
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    res = repo.atomic("run", "--", "true", check=3)
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and f"pid {proc.pid}" in line and "recover" in line
    status = repo.atomic_json("status")
    assert status["lock"]["alive"] is False
    repo.atomic("recover", check=0)
    assert not lock.exists()
    repo.atomic("run", "--", "true", check=0)


@pytest.mark.parametrize(
    "command", [("run", "--", "true"), ("begin", "x"), ("rollback",), ("emergency",), ("undo",)]
)
def test_interrupted_op_refuses_new_operations_with_one_line(
    repo: GitRepo, command: tuple[str, ...]
) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo one > one.txt", check=0)
    res = repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        "echo two > two.txt",
        env={"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"},
    )
    assert res.returncode == -9
    # Even once the stale lock is gone, the interrupted operation itself refuses.
    (repo.path / ".git" / "atomic.lock").unlink()
    before = repo.fingerprint()
    refused = repo.atomic(*command, check=3)
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "interrupted" in refused.stderr and "git atomic recover" in refused.stderr
    assert repo.fingerprint() == before


def _journal_sound(repo: GitRepo) -> None:
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM operations WHERE status='open'").fetchone()[0] == 0
    finally:
        db.close()
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling", "--no-progress"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0, fsck.stderr


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "a zombie"])
def test_command_left_running_by_a_killed_git_atomic_is_stopped_by_recover(
    repo: GitRepo, tmp_path: Path, reaped: bool
) -> None:
    """SIGKILL to git-atomic alone: its command lives on, writing; recover ends it first.
    Also while the killed git-atomic is not reaped yet (a zombie: its parent has not waited
    for it, as a container's init that reaps slowly): it was taken for alive, its command
    left writing into the tree recover restored (a tracked file it appended to 'changed by
    another writer', exit 3, and files made after the restore)."""
    repo.write("log.txt", b"kept\n")
    repo.git("add", "log.txt")
    repo.git("commit", "-qm", "log")
    before = repo.fingerprint()
    script = (
        f"sleep 300 & echo $! > {tmp_path}/grandchild; touch {tmp_path}/ready; "
        "while :; do echo tick >> ticks.txt; echo tick >> log.txt; sleep 0.02; done"
    )
    proc = start(repo, "run", "--", "sh", "-c", script)
    wait_for(tmp_path / "ready", proc)
    os.kill(proc.pid, signal.SIGKILL)
    if reaped:
        proc.wait(timeout=30)  # not communicate(): the orphan still holds the pipes
    else:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{proc.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
    time.sleep(0.2)
    assert repo.exists("ticks.txt")  # the orphan is still at work
    obj = repo.atomic_json("recover")
    assert obj["recovery"]["stopped_group"] is not None
    assert gone(int((tmp_path / "grandchild").read_text()))
    time.sleep(0.3)
    assert repo.fingerprint() == before
    assert not (repo.path / ".git" / "atomic-child.json").exists()
    proc.wait(timeout=30)
    for stream in (proc.stdout, proc.stderr):
        assert stream is not None
        stream.close()


def test_child_record_is_gone_after_a_normal_run(repo: GitRepo) -> None:
    repo.atomic("run", "-g", "true", "--", "true", check=0)
    assert not (repo.path / ".git" / "atomic-child.json").exists()


# --- the scan started with the lock (early.py) -----------------------------------------------
def _trace(repo: GitRepo, *args: str, check: int) -> list[str]:
    """The git commands a git-atomic command ran, in order (GIT_TRACE)."""
    trace = repo.path.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    repo.atomic(*args, check=check, env={"GIT_TRACE": str(trace)})
    return [
        line.split("git.c:", 1)[1]
        for line in trace.read_text().splitlines()
        if "trace: built-in: git" in line
    ]


@pytest.mark.parametrize("command", [("begin", "x"), ("run", "--", "true")])
def test_the_scan_starts_before_the_rest_of_the_command(
    repo: GitRepo, command: tuple[str, ...]
) -> None:
    """With the lock held and a scan index to start from, the scan of the tree is the first
    real work: before it only discovery (none, where its answer was kept) and the one listing
    of the refs a capture reads (which names the scan index to start from: early.py), not
    listed again by the capture."""
    repo.atomic("run", "--", "true", check=0)  # leaves a scan index behind
    calls = _trace(repo, *command, check=0)
    scan_at = next(i for i, c in enumerate(calls) if " status --porcelain=v2" in c)
    first = (" rev-parse ", " config ", " for-each-ref ")
    assert all(any(k in c for k in first) for c in calls[:scan_at]), calls
    listings = [i for i, c in enumerate(calls) if "for-each-ref" in c and "refs/heads/" in c]
    assert listings[0] < scan_at, calls
    if command[0] == "begin":  # (a run's later captures, after its command, list them anew)
        assert len(listings) == 1, calls


def test_an_early_scan_is_dropped_when_begin_refuses(repo: GitRepo) -> None:
    """begin with an operation already open: refused with one line, the scan it started waited
    for and removed, the lock released (the open operation is still there to abort)."""
    repo.atomic("begin", "first", check=0)
    repo.write("README", b"changed\n")
    before = repo.fingerprint()
    res = repo.atomic("begin", "second", check=3)
    assert len(res.stderr.strip().splitlines()) == 1 and "is open" in res.stderr
    assert repo.fingerprint() == before
    assert not (repo.path / ".git" / "atomic.lock").exists()
    assert [p.name for p in (repo.path / ".git" / "atomic" / "tmp").iterdir()] == []
    repo.atomic("abort", check=0)
    assert repo.read("README") == b"hello\n"


def test_no_early_scan_while_another_process_holds_the_lock(repo: GitRepo) -> None:
    """The lock is not free: nothing starts early, the usual one-line refusal, and the other
    process's lock is left exactly as it was."""
    repo.atomic("run", "--", "true", check=0)
    proc = start(repo, "run", "--", "sleep", "30")
    lock = repo.path / ".git" / "atomic.lock"
    try:
        wait_for(lock, proc)
        held = lock.read_bytes()
        res = repo.atomic("begin", "x", check=3)
        assert len(res.stderr.strip().splitlines()) == 1
        assert f"pid {proc.pid}" in res.stderr
        assert lock.read_bytes() == held
        # The holder's own early scan may still be running on a loaded machine: only another
        # process's counts (the scratch index is named by pid, engine/early.py).
        holder = f"scan-{proc.pid}-early"
        assert not any(
            p.name.endswith("-early") and p.name != holder
            for p in (repo.path / ".git" / "atomic" / "tmp").iterdir()
        )
    finally:
        proc.kill()
        proc.wait(timeout=30)


def _as_pip_writes_it(tmp_path: Path) -> Path:
    """The console script pip writes for the entry point pyproject.toml names."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    target = tomllib.loads(pyproject.read_text())["project"]["scripts"]["git-atomic"]
    module, _, func = target.partition(":")
    script = tmp_path / "bin" / "git-atomic"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\nimport re\nimport sys\nfrom {module} import {func}\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        f"    sys.exit({func}())\n"
    )
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("how", ["python -m", "console script"])
def test_ctrl_c_at_any_instant_of_the_start_is_one_line_never_a_traceback(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """Ctrl-C while Python reads our modules, or the warm helper's client runs, before the
    command has its own answer to it: `git-atomic: interrupted`, exit 130 (or the default
    death by SIGINT, where it comes before Python itself is up), never a traceback from our
    code. Python's own start (`site`, `runpy`, importlib reading a file) and pip's console
    script (`import re`) are not ours to answer: their tracebacks name no file of ours."""
    import git_atomic

    ours = str(Path(git_atomic.__file__).resolve().parent)
    argv = [str(_as_pip_writes_it(tmp_path))] if how == "console script" else []
    seen: set[int] = set()
    ended_first = 0
    for step in range(2000):  # 1 ms further each time, until the command ends first
        proc = start(repo, "status", argv=argv)
        time.sleep(step * 0.001)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0:  # done before the signal came: so, mostly, is every later one
            ended_first += 1
            if ended_first == 5 or 130 in seen:
                break
            continue  # a start faster than the last one (a machine under load, a warm helper)
        assert f'File "{ours}' not in err, (step, err)
        if proc.returncode == 130:
            assert err.strip().endswith("git-atomic: interrupted"), err
        # else Python's own answer before our first line: death by SIGINT, its KeyboardInterrupt,
        # even its "Fatal Python error" while it sets up its standard streams
        seen.add(proc.returncode)
    assert 130 in seen, seen  # some of the signals came while our code ran
