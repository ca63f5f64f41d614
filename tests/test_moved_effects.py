"""A folder an operation moved, holding files no checkpoint holds, comes back with its effect
wherever the effect is taken back (foldermoves.py), not only by the operation's own rollback:
a finished operation's `rollback` (exact, or on top of later changes), `undo`, an agent turn's
rollback; and the folder is found deeper in a folder a rule ignores, in a capture Watchman
spared the walk, and in a repository a group shares. Oracle: the disk (oracle.disk)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from testing import oracle
from testing.agents import shell_turn
from testing.gitrepo import GitRepo


def walk(top: Path) -> oracle.Disk:
    return oracle.disk(top, modes=True)


def _ignored_folder(repo: GitRepo, rules: bytes = b"*.bin\n/junk/\n") -> None:
    """Your folder `F` holding only files `*.bin` ignores (no tree differs when it moves)."""
    repo.write(".gitignore", rules)
    repo.write("src/app.py", b"app\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    repo.write("F/c.bin", b"cache\n", mode=0o600)
    repo.write("F/deep/d.bin", b"deep\n")
    repo.write("junk/a/j.o", b"yours\n")  # a folder a rule ignores (`/junk/`)
    time.sleep(0.1)  # made well before PRE-OP (more than the clock's lag)


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("how", ["rollback", "rollback --op"])
def test_a_finished_operation_that_only_moved_a_folder_of_ignored_files_is_rolled_back(
    repo: GitRepo, history: str, how: str
) -> None:
    """No tree differs: the rollback said "not in the tree" and left the folder moved."""
    _ignored_folder(repo)
    before = walk(repo.path)
    folder = (repo.path / "F").lstat().st_ino
    out = repo.atomic_json("run", "--history", history, "--", "sh", "-c", "mv F out")
    after_op = walk(repo.path)
    op = ["--op", out["op_id"]] if how == "rollback --op" else []
    res = repo.atomic("rollback", "--dry-run", *op, check=0)
    assert "F/: found at out/ (the same folder, moved since); it would be moved" in res.stderr
    assert walk(repo.path) == after_op
    res = repo.atomic("rollback", *op, check=0)
    assert "not in the tree" not in res.stderr
    assert walk(repo.path) == before
    assert (repo.path / "F").lstat().st_ino == folder
    repo.atomic("undo", check=0)
    assert walk(repo.path) == after_op
    repo.atomic("undo", check=0)
    assert walk(repo.path) == before


def _run_moving_f(repo: GitRepo, to: str = "out") -> str:
    """A finished operation that moved your `F` (with `F/t.txt`, tracked) to `to`."""
    repo.write("F/t.txt", b"tracked\n")
    repo.git("add", "F/t.txt")
    repo.git("commit", "-qm", "t")
    time.sleep(0.1)
    out = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", f"mv F {to}")
    time.sleep(0.1)  # what you do next is after it ended (more than the clock's lag)
    return str(out["op_id"])


@pytest.mark.parametrize("to", ["out", "junk/F", "junk/a/F"])
@pytest.mark.parametrize("since", ["a file elsewhere", "a commit elsewhere"])
def test_an_effect_taken_back_on_top_of_later_changes_moves_its_folder_back(
    repo: GitRepo, since: str, to: str
) -> None:
    """`rollback --op` once you changed other things: a state worked out from trees, which
    knew no folders: `out/` stayed, your ignored files in it (also where it went into a
    folder a rule ignores)."""
    _ignored_folder(repo)
    before = walk(repo.path)
    op = _run_moving_f(repo, to)
    before[b"F/t.txt"] = walk(repo.path)[to.encode() + b"/t.txt"]
    after_op = walk(repo.path)
    repo.write("src/app.py", b"yours\n")
    if since == "a commit elsewhere":
        repo.git("commit", "-qam", "yours")
    res = repo.atomic("rollback", "--op", op, check=0)
    assert "later changes kept" in res.stderr
    assert f"F/: found at {to}/ (the same folder, moved since); moved back" in res.stderr
    now = walk(repo.path)
    assert (repo.path / "src/app.py").read_bytes() == b"yours\n"
    del now[b"src/app.py"], before[b"src/app.py"]
    assert now == before
    repo.atomic("undo", check=0)
    now = walk(repo.path)
    del now[b"src/app.py"], after_op[b"src/app.py"]
    assert now == after_op
    assert (repo.path / "src/app.py").read_bytes() == b"yours\n"


# What you did in the folder the operation moved, once it ended.
YOURS = {
    "a file made there": "echo mine > out/mine.bin",
    "a file removed there": "rm out/deep/d.bin",
    "a tracked file changed there": "echo changed > out/t.txt",
    "a folder made there": "mkdir out/new",
}


@pytest.mark.parametrize("yours", YOURS)
def test_a_folder_written_into_since_the_effect_stays_and_the_rollback_says_so(
    repo: GitRepo, yours: str
) -> None:
    """What is in `out/` is yours too now: moved back with the folder, your change would be
    moved by a take-back of what is not yours. It stays where it is, said in one line; no
    file of yours is lost or written over."""
    _ignored_folder(repo)
    op = _run_moving_f(repo)
    subprocess.run(["sh", "-c", YOURS[yours]], cwd=repo.path, check=True)
    mine = {k: v for k, v in walk(repo.path).items() if not k.startswith(b"out/t.txt")}
    res = repo.atomic("rollback", "--op", op, check=None)
    if "tracked" in yours:  # your change overlaps the effect's move of `t.txt`: refused
        assert res.returncode == 3
        return
    assert res.returncode == 0, res.stderr
    assert "F/: the effect moved it to out/, which changed since" in res.stderr
    now = walk(repo.path)
    assert {k: now.get(k) for k in mine} == mine  # every file of yours as it is
    assert (repo.path / "out").lstat().st_ino != 0


def test_undo_on_top_of_later_changes_moves_the_folder_again(repo: GitRepo) -> None:
    """A failed run's rollback moved `F` back; you edited another file; its `undo`, worked out
    on top of that, left `F/` where the rollback put it."""
    _ignored_folder(repo)
    res = repo.atomic("run", "--", "sh", "-c", "mv F out; exit 1", check=1)
    assert "F/: found at out/" in res.stderr
    before_undo = walk(repo.path)
    time.sleep(0.1)
    repo.write("src/app.py", b"yours\n")
    res = repo.atomic("undo", check=0)
    assert "out/: found at F/ (the same folder, moved since); moved back" in res.stderr
    now = walk(repo.path)
    assert (repo.path / "src/app.py").read_bytes() == b"yours\n"
    assert {b"F" + k[3:] if k.split(b"/")[0] == b"out" else k for k in now} == set(before_undo)
    repo.atomic("undo", check=0)
    assert {k for k in walk(repo.path)} == set(before_undo)
    assert (repo.path / "src/app.py").read_bytes() == b"yours\n"


@pytest.mark.parametrize("between", ["", "echo yours > src/app.py"])
def test_an_agent_turns_take_back_moves_the_folder_its_call_moved_back(
    repo: GitRepo, between: str
) -> None:
    """A call's `mv F out`, a later call's file failing the gate: the Stop takes the turn's
    calls back (exactly, or on top of your edit between them), `F/` with them."""
    _ignored_folder(repo)
    folder = (repo.path / "F").lstat().st_ino
    before = walk(repo.path)
    answer = shell_turn(repo, "mv F out", "echo x > bad", between=between, pause=0.1)
    assert answer.get("decision") == "block", answer
    now = walk(repo.path)
    if between:
        assert (repo.path / "src/app.py").read_bytes() == b"yours\n"
        del now[b"src/app.py"], before[b"src/app.py"]
    del now[b".git-atomic.toml"]
    assert now == before
    assert (repo.path / "F").lstat().st_ino == folder


@pytest.mark.skipif(
    shutil.which("watchman") is None, reason="Watchman is not installed (apt-get install watchman)"
)
def test_a_capture_watchman_spared_the_walk_keeps_the_folders(repo: GitRepo) -> None:
    """Watchman said no folder changed, so the capture walked none, and kept no folder: the
    PRE-OP of the operation that moved `F` (ignored whole) had none, and its abort took
    `out/cache.bin` away as the operation's, `F/` gone. The last walk's are still where it
    says: kept."""
    repo.write(".gitignore", b"/F/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("F/cache.bin", b"cache\n")
    subprocess.run(["watchman", "watch", str(repo.path)], capture_output=True, check=True)
    try:
        repo.atomic("begin", "warm", check=0)  # sets the watch's clock up, with a walk
        repo.atomic("abort", check=0)
        repo.write("README", b"edited\n")  # a file's content: no folder changed
        trace = repo.path.parent / "trace"
        repo.atomic("begin", "op", check=0, env={"GIT_TRACE": str(trace)})
        assert "status --porcelain" not in trace.read_text()  # Watchman answered
        before = walk(repo.path)
        subprocess.run(["mv", "F", "out"], cwd=repo.path, check=True)
        res = repo.atomic("abort", check=0)
        assert "F/: found at out/ (the same folder, moved since); moved back" in res.stderr
        assert walk(repo.path) == before
    finally:
        subprocess.run(["watchman", "watch-del", str(repo.path)], capture_output=True, check=False)


def test_undo_leaves_a_folder_you_wrote_into_since_the_rollback(repo: GitRepo) -> None:
    """A failed run's rollback moved `F` back; you wrote a file into it; its `undo` (exact:
    no tree differs) moved `F` to `out` again, your file with it. It stays now, said."""
    _ignored_folder(repo)
    repo.atomic("run", "--", "sh", "-c", "mv F out; exit 1", check=1)
    time.sleep(0.1)
    repo.write("F/yours.bin", b"yours\n")
    before_undo = walk(repo.path)
    res = repo.atomic("undo", check=0)
    assert "out/: the effect moved it to F/, which changed since" in res.stderr
    assert walk(repo.path) == before_undo


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_a_folder_you_moved_since_stays_where_you_put_it(repo: GitRepo, history: str) -> None:
    """The operation moved `F`; you moved `G` (ignored files only) after it: taking its effect
    back (exactly: no tree differs) moved `G` back too, a whole state's restore."""
    _ignored_folder(repo)
    repo.write("G/g.bin", b"g\n")
    time.sleep(0.1)
    before = walk(repo.path)
    repo.atomic("run", "--history", history, "--", "sh", "-c", "mv F out", check=0)
    time.sleep(0.1)
    subprocess.run(["mv", "G", "G2"], cwd=repo.path, check=True)
    res = repo.atomic("rollback", check=0)
    assert "F/: found at out/ (the same folder, moved since); moved back" in res.stderr
    assert "G/" not in res.stderr
    expected = {b"G2" + k[1:] if k[:1] == b"G" else k: v for k, v in before.items()}
    assert walk(repo.path) == expected
