"""`git atomic run --isolate` end to end through real processes: the user's worktree changes only
by an applied, validated result; concurrent runs; edits made meanwhile; crashes and `recover`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo

WAIT_FOR = 'i=0; while [ ! -e "$1" ]; do sleep 0.05; i=$((i+1)); [ $i -gt 600 ] && exit 9; done'


def _messy(repo: GitRepo) -> None:
    repo.write("tracked.txt", b"one\n")
    repo.write("tool.sh", b"#!/bin/sh\n", mode=0o755)
    repo.write("shared.txt", b"".join(b"line %d\n" % i for i in range(1, 11)))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.write("tracked.txt", b"staged\n")
    repo.git("add", "tracked.txt")
    repo.write("tracked.txt", b"staged then edited\n")
    repo.write("notes.txt", b"untracked\n")


def _state(repo: GitRepo) -> dict[str, Any]:
    """Everything a person can see: HEAD, branches, files (bytes, modes), staged entries, status.
    (The raw index differs between two trees in stat data only.)"""
    fp = repo.fingerprint()
    return {
        "head": fp.head,
        "head_commit": fp.head_commit,
        "branches": fp.branches,
        "files": fp.files,
        "staged": repo.git("ls-files", "-s", "-z"),
        "status": repo.git("status", "--porcelain", "-z", "--untracked-files=all"),
    }


def _assert_no_private(repo: GitRepo) -> None:
    listing = repo.git("worktree", "list", "--porcelain")
    assert listing.count("worktree ") == 1, listing
    isolated = repo.path / ".git" / "atomic" / "isolated"
    assert not isolated.exists() or not list(isolated.iterdir())
    admin = repo.path / ".git" / "worktrees"
    assert not admin.exists() or not list(admin.iterdir())


def _spawn(
    repo: GitRepo, *args: str, extra_env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    env = dict(repo.env)
    env.update(extra_env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *args],
        cwd=cwd or repo.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, dict[str, Any], str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, json.loads(out) if out.strip() else {}, err


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


# --- one run -------------------------------------------------------------------------------------
@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_success_leaves_exactly_the_state_run_would(tmp_path: Path, history: str) -> None:
    plain = GitRepo.create(tmp_path / "plain", tmp_path / "home")
    isolated = GitRepo.create(tmp_path / "isolated", tmp_path / "home")
    command = (
        "echo more >> tracked.txt; rm tool.sh; mkdir -p new/dir; echo n > new/dir/f; "
        "printf x > notes.txt; git add new; chmod +x shared.txt"
    )
    results = []
    for repo, flags in ((plain, ()), (isolated, ("--isolate",))):
        _messy(repo)
        results.append(
            repo.atomic_json(
                "run",
                *flags,
                "--history",
                history,
                "-n",
                "op",
                "-g",
                "test -f new/dir/f",
                "--",
                "sh",
                "-c",
                command,
            )
        )
    assert _state(isolated) == _state(plain)
    res = results[1]
    assert res["status"] == "committed" and res["failed_phase"] is None
    assert res["isolated"]["applied"] is True and res["isolated"]["merged"] is False
    assert res["gates"][0]["passed"] is True
    assert res["checkpoints"]["pre_op"] and res["checkpoints"]["post_op"]
    _assert_no_private(isolated)


def test_pre_op_state_is_what_the_command_sees(repo: GitRepo) -> None:
    _messy(repo)
    repo.git("update-index", "--chmod=+x", "shared.txt")
    probe = (
        "git status --porcelain --untracked-files=all > ../seen-status; "
        "git ls-files -s > ../seen-index; cat tracked.txt notes.txt > ../seen-files"
    )
    expected = (
        repo.git("status", "--porcelain", "--untracked-files=all"),
        repo.git("ls-files", "-s"),
        b"staged then edited\nuntracked\n",
    )
    outside = repo.path.parent
    repo.atomic(
        "run",
        "--isolate",
        "--history",
        "shadow",
        "--",
        "sh",
        "-c",
        probe.replace("../", f"{outside}/"),
        check=0,
    )
    assert (outside / "seen-status").read_text() == expected[0]
    assert (outside / "seen-index").read_text() == expected[1]
    assert (outside / "seen-files").read_bytes() == expected[2]


def test_runs_in_the_same_subfolder(repo: GitRepo) -> None:
    repo.write("sub/deeper/keep", b"k\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "sub")
    repo.atomic(
        "run",
        "--isolate",
        "--",
        "sh",
        "-c",
        "basename $(pwd) > here.txt",
        cwd=repo.path / "sub" / "deeper",
        check=0,
    )
    assert repo.read("sub/deeper/here.txt") == b"deeper\n"


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_failing_command_leaves_the_worktree_untouched(repo: GitRepo, history: str) -> None:
    _messy(repo)
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run",
        "--isolate",
        "--history",
        history,
        "--",
        "sh",
        "-c",
        "echo x > tracked.txt; rm tool.sh; git add -A; git commit -qm op; exit 3",
        check=1,
    )
    assert res["status"] == "rolled_back" and res["failed_phase"] == "exec"
    assert res["command"]["exit_code"] == 3
    assert repo.fingerprint().diff(before) == []  # byte-identical, index included
    _assert_no_private(repo)
    kept = res["checkpoints"]["rescue"]  # what the command did is kept
    assert repo.git("cat-file", "-p", f"{kept}:files/tracked.txt") == "x\n"


def test_inherited_git_variables_cannot_reach_the_users_worktree(repo: GitRepo) -> None:
    _messy(repo)
    before = repo.fingerprint()
    env = {
        "GIT_DIR": str(repo.path / ".git"),
        "GIT_WORK_TREE": str(repo.path),
        "GIT_INDEX_FILE": str(repo.path / ".git" / "index"),
    }
    res = repo.atomic_json(
        "run",
        "--isolate",
        "-g",
        "git rm -q --cached tool.sh",
        "-g",
        "false",
        "--",
        "sh",
        "-c",
        "git rm -q shared.txt && git add notes.txt",
        check=1,
        env=env,
    )
    assert res["failed_phase"] == "validate", res
    assert repo.fingerprint().diff(before) == []
    repo.atomic(
        "run",
        "--isolate",
        "--history",
        "shadow",
        "--",
        "git",
        "rm",
        "-q",
        "shared.txt",
        check=0,
        env=env,
    )
    assert not repo.exists("shared.txt")
    assert "shared.txt" not in repo.git("ls-files")


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_failing_gate_leaves_the_worktree_untouched(repo: GitRepo, history: str) -> None:
    _messy(repo)
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run",
        "--isolate",
        "--history",
        history,
        "-g",
        "test -f nowhere",
        "--",
        "sh",
        "-c",
        "echo y > made.txt",
        check=1,
    )
    assert res["failed_phase"] == "validate" and res["gates"][0]["passed"] is False
    assert res["isolated"]["applied"] is False and res["isolated"]["not_applied"] is None
    assert repo.fingerprint().diff(before) == []
    _assert_no_private(repo)
    exec_cp = res["checkpoints"]["op_exec"][0]
    assert repo.git("cat-file", "-p", f"{exec_cp}:files/made.txt") == "y\n"


def test_timeout_and_missing_program(repo: GitRepo) -> None:
    before = repo.fingerprint()
    res = repo.atomic_json("run", "--isolate", "--timeout", "0.5", "--", "sleep", "30", check=1)
    assert res["failed_phase"] == "timeout"
    repo.atomic("run", "--isolate", "--", "no-such-program-here", check=2)
    assert repo.fingerprint().diff(before) == []
    _assert_no_private(repo)


def test_sigint_rolls_back_and_exits_130(repo: GitRepo, tmp_path: Path) -> None:
    _messy(repo)
    before = repo.fingerprint()
    started = tmp_path / "started"
    proc = _spawn(
        repo,
        "run",
        "--isolate",
        "--json",
        "--",
        "sh",
        "-c",
        f"echo z > tracked.txt; touch {started}; sleep 30",
    )
    _wait_for(started)
    proc.send_signal(signal.SIGINT)
    code, res, err = _finish(proc)
    assert code == 130, err
    assert res["failed_phase"] == "interrupt"
    assert repo.fingerprint().diff(before) == []
    _assert_no_private(repo)


def test_refusals_change_nothing(tmp_path: Path, empty_repo: GitRepo) -> None:
    res = empty_repo.atomic("run", "--isolate", "--", "true", check=3)
    assert "first commit" in res.stderr and "Traceback" not in res.stderr
    outside = tmp_path / "nowhere"
    outside.mkdir()
    res = empty_repo.atomic("run", "--isolate", "--", "true", cwd=outside, check=3)
    assert "not a git repository" in res.stderr


def test_a_busy_worktree_refuses_at_once_without_wait(repo: GitRepo, tmp_path: Path) -> None:
    started = tmp_path / "started"
    holder = _spawn(repo, "run", "--", "sh", "-c", f"touch {started}; sleep 2")
    _wait_for(started)
    before = repo.fingerprint()
    res = repo.atomic("run", "--isolate", "--", "touch", "x", check=3)
    assert "another git-atomic" in res.stderr
    assert repo.fingerprint().diff(before) == []
    repo.atomic("run", "--isolate", "--wait", "--", "touch", "x", check=0)
    assert holder.wait(60) == 0
    assert repo.exists("x")


def test_an_open_session_refuses_at_once_or_is_waited_for(repo: GitRepo, tmp_path: Path) -> None:
    """A result applied into a worktree where `begin` had opened an operation became that
    operation's: its abort took it away while the log still said the isolated run was kept."""
    repo.atomic("begin", "session", check=0)
    before = repo.fingerprint()
    res = repo.atomic("run", "--isolate", "--", "touch", "x", check=3)
    assert "operation" in res.stderr and "(session) is open" in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == []
    waiter = _spawn(repo, "run", "--isolate", "--wait", "--", "touch", "x")
    assert waiter.stderr is not None
    line = waiter.stderr.readline()
    assert "waiting for operation" in line and "(session)" in line, line
    repo.atomic("commit", "--no-gates", check=0)
    code, _, err = _finish(waiter)
    assert code == 0, err
    assert repo.exists("x")
    _assert_no_private(repo)


def test_a_session_opened_while_it_runs_keeps_the_result_out(repo: GitRepo, tmp_path: Path) -> None:
    after: list[Any] = []

    def open_session() -> None:
        repo.atomic("begin", "meanwhile", check=0)
        after.append(repo.fingerprint())

    code, res, err = _run_while(repo, tmp_path, "touch made.txt", open_session)
    assert code == 1, err
    assert res["isolated"]["applied"] is False and res["isolated"]["not_applied"] == "busy"
    assert "(meanwhile) is open" in json.dumps(res), res
    assert repo.fingerprint().diff(after[0]) == [] and not repo.exists("made.txt")
    repo.atomic("abort", check=0)
    _assert_no_private(repo)


def test_a_result_kept_out_is_not_applied_in_log_and_show(repo: GitRepo, tmp_path: Path) -> None:
    """An isolated run that passed but was not applied (a session opened meanwhile) was
    "rolled back after commit" in `log` and "rolled back on request; the tree went back to
    PRE-OP" in `show`: nobody asked, and your worktree never had it. They say why it was not
    applied now, and that your worktree was not touched."""
    code, res, err = _run_while(
        repo, tmp_path, "touch made.txt", lambda: repo.atomic("begin", "meanwhile", check=0)
    )
    assert code == 1 and res["isolated"]["not_applied"] == "busy", err
    repo.atomic("abort", check=0)
    [line] = [x for x in repo.atomic("log").stdout.splitlines() if res["op_id"][:8] in x]
    assert "not applied (busy: operation" in line and "after commit" not in line, line
    shown = repo.atomic("show", res["op_id"]).stdout
    assert "status    rolled back: passed, not applied (busy: operation" in shown, shown
    assert "your worktree was not touched" in shown and "on request" not in shown, shown


def _run_while(
    repo: GitRepo, tmp_path: Path, body: str, edit: Any, *flags: str
) -> tuple[int, dict[str, Any], str]:
    go = tmp_path / "go"
    started = tmp_path / "started"
    proc = _spawn(
        repo,
        "run",
        "--isolate",
        "--json",
        *flags,
        "--",
        "sh",
        "-c",
        f'touch "$2"; {WAIT_FOR}; {body}',
        "sh",
        str(go),
        str(started),
    )
    _wait_for(started)
    edit()
    go.touch()
    return _finish(proc)


def test_the_worktree_is_free_while_the_command_runs(repo: GitRepo, tmp_path: Path) -> None:
    """Only the apply takes the worktree: a plain `run` goes on meanwhile, and an apply that
    finds the worktree busy waits for it."""
    _messy(repo)
    slow_started = tmp_path / "slow-started"
    holders: list[subprocess.Popen[str]] = []

    def meanwhile() -> None:
        repo.atomic("run", "--history", "shadow", "--", "touch", "plain.txt", check=0)
        holders.append(
            _spawn(
                repo,
                "run",
                "--history",
                "shadow",
                "--",
                "sh",
                "-c",
                f"touch {slow_started}; sleep 1.5; touch slow.txt",
            )
        )
        _wait_for(slow_started)

    code, res, err = _run_while(
        repo, tmp_path, "echo i > isolated.txt", meanwhile, "--history", "shadow"
    )
    assert code == 0, err
    assert holders[0].wait(60) == 0
    assert res["isolated"]["merged"] is True
    for name in ("plain.txt", "slow.txt", "isolated.txt"):
        assert repo.exists(name), name


def test_branches_the_command_made_are_reported(repo: GitRepo) -> None:
    res = repo.atomic_json(
        "run",
        "--isolate",
        "--",
        "sh",
        "-c",
        "git checkout -qb feature && touch f && git add f && git commit -qm f && exit 1",
        check=1,
    )
    assert any("feature" in p for p in res["problems"]), res
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD") == "main\n"


# --- concurrency ---------------------------------------------------------------------------------
def _together(tmp_path: Path, n: int, body: str) -> list[str]:
    """Commands that wait until all `n` have started (so they run at once), then do `body`."""
    gate = tmp_path / "gate"
    gate.mkdir()
    return [
        f"touch {gate}/{i}; i=0; while [ $(ls {gate} | wc -l) -lt {n} ]; do sleep 0.05; "
        f"i=$((i+1)); [ $i -gt 600 ] && exit 9; done; " + body.format(i=i)
        for i in range(n)
    ]


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_concurrent_disjoint_changes_all_apply(repo: GitRepo, tmp_path: Path, history: str) -> None:
    _messy(repo)
    base = repo.head()
    commands = _together(tmp_path, 4, "echo {i} > made-{i}.txt; echo {i} > dir{i}/f")
    procs = [
        _spawn(
            repo,
            "run",
            "--isolate",
            "--json",
            "--history",
            history,
            "-n",
            f"op{i}",
            "--",
            "sh",
            "-c",
            f"mkdir -p dir{i} && " + c,
        )
        for i, c in enumerate(commands)
    ]
    outcomes = [_finish(p) for p in procs]
    for code, res, err in outcomes:
        assert code == 0, (err, res.get("isolated"))
        assert res["isolated"]["applied"] is True
    assert sum(res["isolated"]["merged"] for _, res, _ in outcomes) >= 3
    for i in range(4):
        assert repo.read(f"made-{i}.txt") == f"{i}\n".encode()
        assert repo.read(f"dir{i}/f") == f"{i}\n".encode()
    assert repo.read("tracked.txt") == b"staged then edited\n"
    assert repo.read("notes.txt") == b"untracked\n"
    if history == "commits":
        subjects = repo.git("log", "--format=%s", f"{base}..HEAD").splitlines()
        assert sum(s.startswith("OP-EXEC: op") for s in subjects) == 4
        assert not any(s.startswith("PRE-OP") for s in subjects)  # PRE-OP makes no commit
        status = repo.git("status", "--porcelain", "--untracked-files=all")
        assert status == "MM tracked.txt\n?? notes.txt\n"  # the work in progress, as it was
    else:
        assert repo.head() == base
        assert repo.git("diff", "--cached", "--name-only") == "tracked.txt\n"
    _assert_no_private(repo)
    ops = repo.atomic_json("log")["operations"]
    assert sorted(o["name"] for o in ops) == ["op0", "op1", "op2", "op3"]
    assert {o["status"] for o in ops} == {"committed"}


def test_concurrent_overlapping_changes_conflict_and_leave_the_tree_intact(
    repo: GitRepo, tmp_path: Path
) -> None:
    _messy(repo)
    commands = _together(tmp_path, 4, "sed -i 's/^line 5$/op {i}/' shared.txt")
    procs = [
        _spawn(repo, "run", "--isolate", "--json", "-n", f"op{i}", "--", "sh", "-c", c)
        for i, c in enumerate(commands)
    ]
    outcomes = [_finish(p) for p in procs]
    winners = [res for code, res, _ in outcomes if code == 0]
    losers = [res for code, res, _ in outcomes if code != 0]
    assert len(winners) == 1 and len(losers) == 3, [o[2] for o in outcomes]
    winner = winners[0]["name"][-1]
    expected = b"".join(
        b"line %d\n" % i if i != 5 else f"op {winner}\n".encode() for i in range(1, 11)
    )
    assert repo.read("shared.txt") == expected  # one result, whole, no conflict markers
    for res in losers:
        assert res["status"] == "rolled_back" and res["failed_phase"] == "validate"
        assert res["isolated"]["not_applied"] == "conflict"
        assert "shared.txt" in res["isolated"]["conflicts"]
        assert res["isolated"]["apply_by_hand"]
        result = res["isolated"]["result"]
        assert f"op {res['name'][-1]}" in repo.git("cat-file", "-p", f"{result}:files/shared.txt")
    assert repo.read("tracked.txt") == b"staged then edited\n"
    assert repo.read("notes.txt") == b"untracked\n"
    _assert_no_private(repo)


def test_a_conflicting_result_can_be_taken_by_hand(repo: GitRepo, tmp_path: Path) -> None:
    _messy(repo)
    code, res, _ = _run_while(
        repo,
        tmp_path,
        "echo theirs > notes.txt",
        lambda: repo.write("notes.txt", b"mine\n"),
        "--history",
        "shadow",
    )
    assert code == 1 and res["isolated"]["not_applied"] == "conflict"
    take = res["isolated"]["apply_by_hand"][0].split("#")[0].split()
    assert take[:4] == ["git", "atomic", "rollback", "--to"]
    assert take[5] == "--whole"
    repo.atomic("rollback", "--to", take[4], "--whole", check=0)
    assert repo.read("notes.txt") == b"theirs\n"
    repo.atomic("undo", check=0)
    assert repo.read("notes.txt") == b"mine\n"


# --- the user works meanwhile --------------------------------------------------------------------
@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_edits_made_meanwhile_elsewhere_are_merged(
    repo: GitRepo, tmp_path: Path, history: str
) -> None:
    _messy(repo)

    def edit() -> None:
        repo.write("shared.txt", repo.read("shared.txt").replace(b"line 1\n", b"mine 1\n"))
        repo.write("mine.txt", b"new of mine\n")
        repo.write("notes.txt", b"notes edited\n")

    code, res, err = _run_while(
        repo,
        tmp_path,
        "sed -i 's/^line 10$/theirs 10/' shared.txt; echo t > theirs.txt",
        edit,
        "--history",
        history,
    )
    assert code == 0, err
    assert res["isolated"]["applied"] and res["isolated"]["merged"]
    assert repo.read("shared.txt").startswith(b"mine 1\n")
    assert repo.read("shared.txt").endswith(b"theirs 10\n")
    assert repo.read("mine.txt") == b"new of mine\n"
    assert repo.read("notes.txt") == b"notes edited\n"
    assert repo.read("theirs.txt") == b"t\n"
    assert repo.read("tracked.txt") == b"staged then edited\n"
    if history == "shadow":
        assert repo.git("diff", "--cached", "--name-only") == "tracked.txt\n"
    _assert_no_private(repo)
    # The apply is one move with a rescue: undo brings back the worktree just before it.
    repo.atomic("undo", check=0)
    assert not repo.exists("theirs.txt") and repo.read("mine.txt") == b"new of mine\n"


def test_an_overlapping_edit_meanwhile_conflicts_and_is_untouched(
    repo: GitRepo, tmp_path: Path
) -> None:
    _messy(repo)
    after_edit: list[Any] = []

    def edit() -> None:
        repo.write("shared.txt", repo.read("shared.txt").replace(b"line 3\n", b"mine 3\n"))
        repo.git("add", "shared.txt")
        after_edit.append(repo.fingerprint())

    code, res, err = _run_while(repo, tmp_path, "sed -i 's/^line 3$/theirs 3/' shared.txt", edit)
    assert code == 1, err
    assert res["isolated"]["not_applied"] == "conflict"
    assert res["isolated"]["conflicts"] == ["shared.txt"]
    assert "conflicts with changes made in your worktree" not in err  # JSON mode: JSON only
    assert repo.fingerprint().diff(after_edit[0]) == []
    _assert_no_private(repo)


def test_commits_made_meanwhile_stay_and_the_result_goes_on_top(
    repo: GitRepo, tmp_path: Path
) -> None:
    def edit() -> None:
        repo.write("mine.txt", b"m\n")
        repo.git("add", "mine.txt")
        repo.git("commit", "-qm", "mine")

    code, _res, err = _run_while(repo, tmp_path, "echo t > theirs.txt", edit)
    assert code == 0, err
    subjects = repo.git("log", "--format=%s").splitlines()
    assert subjects[:2] == ["OP-EXEC: sh - sh -c " + subjects[0].split(" - sh -c ", 1)[1], "mine"]
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    assert repo.read("theirs.txt") == b"t\n" and repo.read("mine.txt") == b"m\n"


# --- crashes -------------------------------------------------------------------------------------
def test_kill_9_then_recover_removes_the_private_worktree(repo: GitRepo, tmp_path: Path) -> None:
    _messy(repo)
    before = repo.fingerprint()
    started = tmp_path / "started"
    pidfile = tmp_path / "pid"
    proc = _spawn(
        repo,
        "run",
        "--isolate",
        "-n",
        "doomed",
        "--",
        "sh",
        "-c",
        f"echo $$ > {pidfile}; echo gone > tracked.txt; touch {started}; sleep 60",
    )
    _wait_for(started)
    private = [p for p in (repo.path / ".git" / "atomic" / "isolated").iterdir()]
    assert len(private) == 1 and (private[0] / "tracked.txt").read_bytes() == b"gone\n"
    # The parent records the command's group right after starting it: kill after that moment.
    _wait_for(repo.path / ".git" / "worktrees" / private[0].name / "atomic-child.json")
    proc.kill()
    proc.wait()
    command = int(pidfile.read_text())
    assert _alive(command)  # its command lives on in its own process group
    # The user's worktree was never touched: nothing is refused there.
    assert repo.fingerprint().diff(before) == []
    status = repo.atomic_json("status")
    assert status["interrupted"] is None and status["open"] is None
    res = repo.atomic("recover", check=0)
    assert "doomed" in res.stderr and "Traceback" not in res.stderr
    assert not _alive(command)  # recover ended it before removing its worktree
    assert repo.fingerprint().diff(before) == []
    _assert_no_private(repo)
    op = repo.atomic_json("log")["operations"][0]
    assert op["name"] == "doomed" and op["status"] == "recovered"
    assert op["failed_phase"] == "interrupt"
    repo.atomic("recover", check=0)  # again: nothing left to do
    repo.atomic("run", "--isolate", "--", "touch", "after.txt", check=0)
    assert repo.exists("after.txt")


def test_the_next_isolated_run_sweeps_a_dead_ones_worktree(repo: GitRepo, tmp_path: Path) -> None:
    started = tmp_path / "started"
    pidfile = tmp_path / "pid"
    proc = _spawn(
        repo,
        "run",
        "--isolate",
        "--",
        "sh",
        "-c",
        f"echo $$ > {pidfile}; touch {started}; sleep 60",
    )
    _wait_for(started)
    admin = repo.path / ".git" / "worktrees"
    _wait_for(next(admin.iterdir()) / "atomic-child.json")
    proc.kill()
    proc.wait()
    res = repo.atomic("run", "--isolate", "--", "touch", "x", check=0)
    assert "was interrupted" in res.stderr
    assert not _alive(int(pidfile.read_text()))
    _assert_no_private(repo)


@pytest.mark.parametrize(
    "failpoint",
    [
        "isolate:after-worktree",
        "validate:after-gates",
        "isolate:apply:start",
        "isolate:apply:before-restore",
        "restore:after-write@4",
        "isolate:apply:after-restore",
    ],
)
def test_crash_at_each_step_then_recover(tmp_path: Path, failpoint: str) -> None:
    """Killed anywhere: `recover` leaves the worktree either untouched or exactly applied.

    restore:after-write@4: the private worktree's preparation writes 2 files (the messy
    PRE-OP state), so the 4th write is the 2nd of the apply to the user's worktree."""
    repos = {}
    for which in ("crash", "clean"):
        repos[which] = r = GitRepo.create(tmp_path / which, tmp_path / "home")
        _messy(r)
    before = repos["crash"].fingerprint()
    command = [
        "run",
        "--isolate",
        "-n",
        "op",
        "-g",
        "true",
        "--",
        "sh",
        "-c",
        "echo a > a.txt; echo b > b.txt; echo c >> tracked.txt",
    ]
    repos["clean"].atomic(*command, check=0)
    res = repos["crash"].atomic(*command, env={"GIT_ATOMIC_FAILPOINT": failpoint})
    assert res.returncode == -signal.SIGKILL, res.stderr
    crashed = repos["crash"]
    applying = failpoint != "isolate:after-worktree" and failpoint != "validate:after-gates"
    if applying and failpoint != "isolate:apply:start":
        assert crashed.atomic("run", "--", "true").returncode == 3  # refused until recover
    crashed.atomic("recover", check=0)
    _assert_no_private(crashed)
    if failpoint in (
        "isolate:apply:before-restore",
        "restore:after-write@4",
        "isolate:apply:after-restore",
    ):
        assert _state(crashed) == _state(repos["clean"])
    else:
        assert crashed.fingerprint().diff(before) == []
    op = crashed.atomic_json("log")["operations"][0]
    assert op["status"] == "recovered"
    crashed.atomic("run", "--", "true", check=0)  # the worktree is usable again


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_rollback_of_an_applied_isolated_run_takes_back_only_its_own_changes(
    repo: GitRepo, tmp_path: Path, history: str
) -> None:
    """What you did in your worktree while an isolated run ran is merged in by its apply, and
    is not the operation's: a rollback takes back its own change only (it took back yours too,
    "exactly its PRE-OP state")."""
    repo.write("a.txt", b"".join(b"%d\n" % i for i in range(1, 21)))
    repo.write("c.txt", b"c\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a and c")

    def yours() -> None:
        repo.write("a.txt", b"".join(b"%d\n" % i for i in range(1, 20)) + b"TWENTY\n")
        repo.write("c.txt", b"c\ncc\n")
        repo.write("user.txt", b"mine\n")

    body = "sed -i 's/^1$/ONE/' a.txt"
    code, res, err = _run_while(repo, tmp_path, body, yours, "--no-gates", "--history", history)
    assert code == 0, err
    repo.atomic("rollback", "--op", res["op_id"], check=0)
    assert repo.read("a.txt") == b"".join(b"%d\n" % i for i in range(1, 20)) + b"TWENTY\n"
    assert repo.read("c.txt") == b"c\ncc\n"
    assert repo.read("user.txt") == b"mine\n"


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_log_and_show_count_an_applied_isolated_run_s_own_change_only(
    repo: GitRepo, tmp_path: Path, history: str
) -> None:
    """`log` and `show` counted what you did in your worktree while an isolated run ran as
    its change ("3 files +3 -0", `show --stat` and `--diff` listing your file and your line):
    they went from PRE-OP to the POST-OP its apply left in your worktree. They go to where its
    private worktree ended, as its rollback does."""
    repo.write("a.txt", b"a\n")
    repo.write("b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a and b")

    def yours() -> None:
        repo.write("b.txt", b"b\nmine\n")
        repo.write("mine.txt", b"mine\n")

    body = "echo op >> a.txt"
    code, res, err = _run_while(repo, tmp_path, body, yours, "--no-gates", "--history", history)
    assert code == 0 and res["isolated"]["merged"], err
    op_id = res["op_id"]
    [line] = [x for x in repo.atomic("log").stdout.splitlines() if op_id[:8] in x]
    assert "1 file +1 -0" in line, line
    stat = repo.atomic("show", op_id, "--stat").stdout
    assert "a.txt" in stat and "b.txt" not in stat and "mine.txt" not in stat, stat
    diff = repo.atomic("show", op_id, "--diff").stdout
    assert "+op" in diff and "mine" not in diff, diff


def test_an_isolated_change_is_never_carried_along_your_rename(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The operation edits `b.txt` while you rename it: the apply is refused as the overlap it
    is (as when you delete it), never written into your `b2.txt`; the overlap is named by its
    path."""
    repo.write("b.txt", b"line1\nline2\nline3\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "b")

    def yours() -> None:
        (repo.path / "b.txt").rename(repo.path / "b2.txt")

    code, res, err = _run_while(
        repo, tmp_path, "echo op >> b.txt", yours, "--no-gates", "--history", "shadow"
    )
    assert code == 1, err
    said = json.dumps(res)
    assert '"b.txt"' in said and "b.txt~" not in said, said
    assert repo.read("b2.txt") == b"line1\nline2\nline3\n"
    assert not repo.exists("b.txt")
