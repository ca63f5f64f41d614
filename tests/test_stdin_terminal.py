"""The command reads the caller's stdin, and the terminal when stdin is one; gates read nothing."""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

from testing.gitrepo import GitRepo


def test_the_command_reads_the_callers_stdin(repo: GitRepo) -> None:
    repo.atomic(
        "run", "--history", "shadow", "--", "sh", "-c", "cat > got.txt", input=b"hello\n", check=0
    )
    assert repo.read("got.txt") == b"hello\n"


def test_gates_keep_a_closed_stdin(repo: GitRepo) -> None:
    # A gate that waited for input would hang an agent: it reads end-of-file at once.
    res = repo.atomic_json(
        "run",
        "--history",
        "shadow",
        "-g",
        'test -z "$(cat)"',
        "--",
        "sh",
        "-c",
        "cat > got.txt",
        input=b"for the command\n",
    )
    assert res["gates"][0]["passed"]
    assert repo.read("got.txt") == b"for the command\n"


def _on_a_terminal(
    repo: GitRepo,
    args: list[str],
    typed: list[tuple[bytes, bytes]],
    *,
    program: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Run git-atomic with a new pseudo-terminal as its controlling terminal and stdin/out/err;
    each (wait_for, keys): once `wait_for` has been printed, type `keys`. Returns the exit code."""
    import fcntl
    import termios

    master, slave = os.openpty()

    def controlling_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [*(program or [sys.executable, "-m", "git_atomic"]), *args],
        cwd=repo.path,
        env=env or repo.env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if typed and typed[0][0] in seen:
                os.write(master, typed.pop(0)[1])
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every end of the terminal is closed
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        else:
            raise AssertionError(f"git-atomic still running on the terminal; it printed {seen!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert not typed, f"never printed {typed[0][0]!r}: {seen!r}"
    return proc.wait()


def test_an_interactive_command_reads_the_terminal(repo: GitRepo) -> None:
    # Its own process group would be stopped (SIGTTIN) reading the terminal in the background:
    # it runs as the terminal's foreground group, and git-atomic takes the terminal back after.
    code = _on_a_terminal(
        repo,
        ["run", "--history", "shadow", "--", "sh", "-c", "echo name?; read n; echo $n > got.txt"],
        [(b"name?", b"hello\n")],
    )
    assert code == 0
    assert repo.read("got.txt") == b"hello\n"


def test_ctrl_c_on_the_terminal_rolls_the_command_back(repo: GitRepo, tmp_path: Path) -> None:
    before = repo.fingerprint()
    code = _on_a_terminal(
        repo,
        ["run", "--", "sh", "-c", "echo x > new.txt; echo started; exec sleep 30"],
        [(b"started", b"\x03")],
    )
    assert code == 130
    assert repo.fingerprint().diff(before) == []


def test_ctrl_c_through_gits_wrapper_exits_130(repo: GitRepo, tmp_path: Path) -> None:
    # The command is the terminal's foreground job: Ctrl-C reaches it, not git, whose own
    # handling of a signal would end it with "waitpid for git-atomic failed" and status 128.
    shim = tmp_path / "bin" / "git-atomic"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m git_atomic "$@"\n')
    shim.chmod(0o755)
    env = {**repo.env, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    before = repo.fingerprint()
    code = _on_a_terminal(
        repo,
        ["atomic", "run", "--", "sh", "-c", "echo x > new.txt; echo started; exec sleep 30"],
        [(b"started", b"\x03")],
        program=["git"],
        env=env,
    )
    assert code == 130
    assert repo.fingerprint().diff(before) == []
