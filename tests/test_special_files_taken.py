"""FIFOs, sockets and devices of yours an operation removes or replaces, at untracked paths.

git lists none of them, so no checkpoint held one anywhere but at a tracked path: an operation
that deleted your FIFO was rolled back saying it "had changed nothing", the FIFO gone for good.
The walk of the folders (folderwalk.py) now notes each, by the kind its folder's listing gives,
and a capture keeps those no rule ignores (path and mode) with the checkpoint: a rollback makes
a FIFO again with its bits, and names a socket it cannot make (never "as before" alone).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _bind(path: Path) -> None:
    """A unix socket at `path`, its socket closed (the file stays)."""
    here = os.getcwd()
    os.chdir(path.parent)  # (a socket's name has a short limit: bound by its own name)
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(path.name)
    finally:
        os.chdir(here)


def _mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return None


def test_fifo_the_operation_deletes_comes_back_with_its_bits(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "pipe")
    os.chmod(repo.path / "pipe", 0o666)  # (past the umask: the rollback's mkfifo gets it too)
    (repo.path / "d").mkdir()
    os.mkfifo(repo.path / "d" / "only", 0o640)  # a folder holding only a FIFO
    res = repo.atomic("run", "--", "sh", "-c", "rm pipe; rm -r d; exit 1", check=1)
    st = os.lstat(repo.path / "pipe")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
    st = os.lstat(repo.path / "d" / "only")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
    assert "had changed nothing" not in res.stderr
    assert "files, index and branches are as before" in res.stderr, res.stderr
    assert "warning" not in res.stderr


def test_socket_the_operation_deletes_is_named(repo: GitRepo) -> None:
    _bind(repo.path / "srv.sock")
    res = repo.atomic("run", "--", "sh", "-c", "rm srv.sock; exit 1", check=1)
    assert _mode(repo.path / "srv.sock") is None  # it cannot be made again...
    assert (  # ...and the rollback says so, never that it changed nothing
        "git-atomic: warning: srv.sock was a socket and is gone: a socket cannot be made again "
        "(it held no data; what made it must make it anew)"
    ) in res.stderr.splitlines(), res.stderr
    assert "had changed nothing" not in res.stderr
    assert "except what the warnings above name" in res.stderr


def test_socket_replaced_by_a_folder_the_rollback_removes(repo: GitRepo) -> None:
    _bind(repo.path / "s")
    res = repo.atomic("run", "--", "sh", "-c", "rm s; mkdir s; echo x > s/x; exit 1", check=1)
    assert _mode(repo.path / "s") is None  # the operation's folder went
    assert (
        "git-atomic: warning: s was a socket and is gone: a socket cannot be made again "
        "(it held no data; what made it must make it anew)"
    ) in res.stderr.splitlines(), res.stderr


def test_fifo_replaced_by_a_file_comes_back(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p", 0o600)
    repo.atomic("run", "--", "sh", "-c", "rm p; echo data > p; exit 1", check=1)
    st = os.lstat(repo.path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600


def test_fifo_where_an_ignored_file_now_stands_is_named(repo: GitRepo) -> None:
    repo.write(".gitignore", b"*.log\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    (repo.path / "out.log").mkdir()
    os.mkfifo(repo.path / "out.log" / "p")  # in an ignored folder: not ours, not named
    (repo.path / "logs").mkdir()
    os.mkfifo(repo.path / "logs" / "p")
    res = repo.atomic(
        "run", "--", "sh", "-c", "rm logs/p; mkdir logs/p; echo x > logs/p/a.log; exit 1", check=1
    )
    assert stat.S_ISDIR(os.lstat(repo.path / "logs" / "p").st_mode)  # the ignored file stays
    assert (
        "git-atomic: warning: logs/p was a FIFO and is a folder now (left as it is): the FIFO "
        "is not made again"
    ) in res.stderr.splitlines(), res.stderr


def test_ignored_fifo_is_not_ours(repo: GitRepo) -> None:
    repo.write(".gitignore", b"*.fifo\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    os.mkfifo(repo.path / "x.fifo")
    res = repo.atomic("run", "--", "sh", "-c", "rm x.fifo; exit 1", check=1)
    assert _mode(repo.path / "x.fifo") is None  # ignored files are not restored
    assert "had changed nothing (ignored files are not restored)" in res.stderr, res.stderr


def test_untouched_fifo_and_socket_say_nothing(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p")
    _bind(repo.path / "s")
    res = repo.atomic("run", "--", "sh", "-c", "echo x > new; exit 1", check=1)
    assert stat.S_ISFIFO(os.lstat(repo.path / "p").st_mode)
    assert stat.S_ISSOCK(os.lstat(repo.path / "s").st_mode)
    assert "warning" not in res.stderr, res.stderr


def test_abort_of_an_open_operation(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p")
    repo.atomic("begin", "x", check=0)
    os.unlink(repo.path / "p")
    res = repo.atomic("abort", check=0)
    assert stat.S_ISFIFO(os.lstat(repo.path / "p").st_mode), res.stderr


def _last_op(repo: GitRepo) -> str:
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    return op_id


def test_rollback_op_of_a_kept_operation_later_changes_kept(repo: GitRepo) -> None:
    """Its effect is worked out from trees, which hold no FIFO: before, 'the effect ... is not
    in the tree; nothing further to roll back', the FIFO gone and the socket not named."""
    os.mkfifo(repo.path / "p", 0o600)
    _bind(repo.path / "sk")
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "rm p sk", check=0)
    op = _last_op(repo)
    repo.write("later", b"yours\n")
    dry = repo.atomic("rollback", "--op", op, "--dry-run", check=0)
    assert "the FIFOs it removed: would make again p" in dry.stderr, dry.stderr
    assert "sk" in dry.stderr
    assert _mode(repo.path / "p") is None  # a dry run makes nothing
    res = repo.atomic("rollback", "--op", op, check=0)
    st = os.lstat(repo.path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert repo.read("later") == b"yours\n"
    lines = res.stderr.splitlines()
    assert (
        "git-atomic: warning: sk was a socket and is gone: a socket cannot be made again "
        "(it held no data; what made it must make it anew)"
    ) in lines, res.stderr
    assert "the FIFOs it removed made again: p" in res.stderr
    assert "nothing further" not in res.stderr


def test_rollback_op_names_a_socket_alone(repo: GitRepo) -> None:
    _bind(repo.path / "sk")
    repo.atomic("run", "--history", "shadow", "--", "rm", "sk", check=0)
    res = repo.atomic("rollback", "--op", _last_op(repo), check=0)
    assert "sk" in res.stderr and "cannot be made again" in res.stderr, res.stderr


def test_immediate_rollback_of_a_kept_run_names_the_socket_once(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p", 0o600)
    _bind(repo.path / "sk")
    repo.atomic("run", "--", "sh", "-c", "rm p sk; echo b > b", check=0)
    res = repo.atomic("rollback", check=0)
    assert stat.S_ISFIFO(os.lstat(repo.path / "p").st_mode)
    assert res.stderr.count("sk was a socket and is gone") == 1, res.stderr


def test_agent_turn_taken_back_makes_its_fifo_again(repo: GitRepo) -> None:
    from testing.agents import failed_shell_turn

    os.mkfifo(repo.path / "p", 0o640)
    _bind(repo.path / "sk")
    answer = failed_shell_turn(repo, "rm p sk")
    st = os.lstat(repo.path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
    reason = answer["reason"]
    assert reason.count("sk was a socket and is gone: a socket cannot be made again") == 1, reason


def test_undo_takes_the_fifo_away_again_and_a_second_undo_makes_it(repo: GitRepo) -> None:
    """`undo` brings back what the rollback replaced: a FIFO the rollback made again goes
    (before: 'the tree is already at the state before the last rollback; nothing to do', the
    FIFO the operation had removed still there)."""
    os.mkfifo(repo.path / "p", 0o640)
    repo.atomic("run", "--", "sh", "-c", "rm p; exit 1", check=1)
    assert stat.S_ISFIFO(os.lstat(repo.path / "p").st_mode)
    dry = repo.atomic("undo", "--dry-run", check=0)
    assert "the FIFOs the last rollback made again are removed (would be): p" in dry.stdout
    assert stat.S_ISFIFO(os.lstat(repo.path / "p").st_mode)
    res = repo.atomic("undo", check=0)
    assert _mode(repo.path / "p") is None, res.stderr
    assert "the FIFOs the last rollback made again are removed: p" in res.stderr
    repo.atomic("undo", check=0)
    st = os.lstat(repo.path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640


def test_undo_of_rollback_op_takes_its_fifo_away_again(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p", 0o600)
    repo.atomic("run", "--history", "shadow", "--", "rm", "p", check=0)
    repo.atomic("rollback", "--op", _last_op(repo), check=0)
    assert stat.S_ISFIFO(os.lstat(repo.path / "p").st_mode)
    repo.atomic("undo", check=0)
    assert _mode(repo.path / "p") is None


def test_undo_leaves_a_fifo_changed_since(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p", 0o640)
    repo.atomic("run", "--", "sh", "-c", "rm p; exit 1", check=1)
    os.chmod(repo.path / "p", 0o600)  # yours since
    res = repo.atomic("undo", check=0)
    st = os.lstat(repo.path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, res.stderr


@contextlib.contextmanager
def watched(repo: GitRepo) -> Iterator[None]:
    """Watchman watching the worktree, with a clock our captures kept past the racy window of
    the walk's own record (three begin/abort rounds); the watch gone after."""
    watch = ["watchman", "--no-pretty"]
    subprocess.run([*watch, "watch", str(repo.path)], capture_output=True, check=True, timeout=60)
    try:
        for _ in range(3):
            repo.atomic("begin", "x", check=0)
            repo.atomic("abort", check=0)
            time.sleep(3.2)
        yield
    finally:
        subprocess.run([*watch, "watch-del", str(repo.path)], capture_output=True, check=False)


@pytest.mark.skipif(shutil.which("watchman") is None, reason="Watchman is not installed")
def test_a_capture_watchman_answered_still_knows_the_fifo(repo: GitRepo, tmp_path: Path) -> None:
    """Where Watchman says no folder changed, no walk is made: the FIFOs the last walk found
    are kept with its clock (before: PRE-OP held none, and the FIFO was lost, 'it had changed
    nothing')."""
    os.mkfifo(repo.path / "p", 0o640)
    with watched(repo):
        trace = tmp_path / "trace"
        res = repo.atomic(
            "run", "--", "sh", "-c", "rm p; exit 1", check=1, env={"GIT_TRACE": str(trace)}
        )
        assert "status --porcelain=v2" not in trace.read_text()  # Watchman answered
        st = os.lstat(repo.path / "p")
        assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640, res.stderr
        assert "had changed nothing" not in res.stderr


def test_a_fifo_elsewhere_keeps_another_sessions_write_out_of_a_turns_take_back(
    repo: GitRepo,
) -> None:
    """Every checkpoint notes your FIFOs now: a turn's window is still cut around another
    session's file tool call that took no capture (turnothers._around_files gave up on any
    special file its end listed, and took the other session's Write back with the turn)."""
    import json

    from testing.agents import claude_hook

    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    os.mkfifo(repo.path / "pipe")
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")

    def bash(session: str, n: int, command: str) -> dict[str, object]:
        return {
            "tool_use_id": f"{session}-{n}",
            "tool_name": "Bash",
            "tool_input": {"command": command},
        }

    def sh(command: str) -> None:
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)

    first = bash("s2", 1, "echo z > z.txt")
    claude_hook(repo, "s2", "PreToolUse", **first)
    sh("echo z > z.txt")
    claude_hook(repo, "s2", "PostToolUse", **first, tool_response={"success": True})
    mine = bash("s1", 1, "long job")
    claude_hook(repo, "s1", "PreToolUse", **mine)
    sh("echo one > one.txt")
    write = {
        "tool_use_id": "s2-2",
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / "two.txt"), "content": "two\n"},
    }
    claude_hook(repo, "s2", "PreToolUse", **write)
    repo.write("two.txt", b"two\n")
    claude_hook(repo, "s2", "PostToolUse", **write, tool_response={"success": True})
    sh("echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert repo.read("two.txt") == b"two\n", answer  # theirs stays
    assert not repo.exists("one.txt") and not repo.exists("bad")
    assert stat.S_ISFIFO(os.lstat(repo.path / "pipe").st_mode)


def test_immediate_rollback_inside_an_open_operation(repo: GitRepo) -> None:
    """Before: 'the tree is at PRE-OP ...; nothing further to roll back', the FIFO gone (the
    step was chosen by its files alone)."""
    os.mkfifo(repo.path / "p", 0o600)
    repo.atomic("begin", "x", check=0)
    os.unlink(repo.path / "p")
    dry = repo.atomic("rollback", "--dry-run", check=0)
    assert "create  p" in dry.stdout.splitlines(), (dry.stdout, dry.stderr)
    assert _mode(repo.path / "p") is None
    res = repo.atomic("rollback", check=0)
    assert "nothing further" not in res.stderr and "nothing to do" not in res.stderr
    st = os.lstat(repo.path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, res.stderr
    again = repo.atomic("rollback", check=0)
    assert "nothing further to roll back" in again.stderr  # the FIFO is there: no step left


def test_recover_of_a_rollback_killed_after_its_rescue(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "p", 0o600)
    repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        "rm p; exit 1",
        env={"GIT_ATOMIC_FAILPOINT": "rollback:after-rescue"},
    )
    assert _mode(repo.path / "p") is None
    res = repo.atomic("recover", check=0)
    st = os.lstat(repo.path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, res.stderr


def test_fifos_replaced_by_a_link_and_a_folder_and_files_by_fifos(repo: GitRepo) -> None:
    repo.write("t", b"tracked\n")
    repo.git("add", "t")
    repo.git("commit", "-qm", "t")
    os.mkfifo(repo.path / "p", 0o600)
    os.mkfifo(repo.path / "q", 0o640)
    repo.write("u", b"mine\n")
    script = "rm p q u t; ln -s /etc/passwd p; mkdir q; echo x > q/x; mkfifo u t; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, check=1)
    for name, bits in (("p", 0o600), ("q", 0o640)):
        st = os.lstat(repo.path / name)
        assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == bits, res.stderr
    assert repo.read("u") == b"mine\n" and repo.read("t") == b"tracked\n"
    assert "warning" not in res.stderr, res.stderr
