"""FIFOs and sockets an operation MAKES at new paths: its effect, taken back.

Before, every rollback left them ("files, index and branches are as before" over a FIFO the
failed run had made, a socket its server bound): git lists neither, so no tree of an effect
held one. A whole-state restore now takes away those the state it goes to does not hold
(restorespecials.Specials.gone); a move that takes an effect back on top of later changes takes
away those the operation made, still as it made them (effectfifos.made), never yours made
since. `undo` makes such a FIFO again and names a socket it cannot make.

No test opens a FIFO (it would wait for a writer): each is looked at by `lstat` alone, and
every command runs under GitRepo.atomic's timeout, so a hang fails instead of blocking.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from test_special_files_taken import watched

from testing.gitrepo import GitRepo

# A unix socket bound at `s.sock` by the operation's own command (closed; the file stays).
BIND = "python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('s.sock')\""
SOCKET_GONE = (
    "s.sock was a socket and is gone: a socket cannot be made again (it held no data; what "
    "made it must make it anew)"
)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _kind(repo: GitRepo, rel: str) -> int | None:
    try:
        return stat.S_IFMT(os.lstat(repo.path / rel).st_mode)
    except FileNotFoundError:
        return None


def _fifo(repo: GitRepo, rel: str, bits: int | None = None) -> bool:
    st = os.lstat(repo.path / rel)
    return stat.S_ISFIFO(st.st_mode) and (bits is None or stat.S_IMODE(st.st_mode) == bits)


def _last_op(repo: GitRepo) -> str:
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    return op_id


MAKES = f"mkfifo -m 600 p; mkdir d; mkfifo d/q; {BIND}"


def test_a_failed_run_takes_away_the_fifo_and_socket_it_made(repo: GitRepo) -> None:
    res = repo.atomic("run", "--", "sh", "-c", f"{MAKES}; exit 1", check=1)
    for rel in ("p", "d/q", "d", "s.sock"):
        assert _kind(repo, rel) is None, (rel, res.stderr)
    assert "files, index and branches are as before" in res.stderr
    assert "warning" not in res.stderr, res.stderr
    # `undo` brings back what the rollback took: the FIFOs (their bits), the socket named
    dry = repo.atomic("undo", "--dry-run", check=0)
    assert "the FIFOs the last rollback removed are made again (would be): d/q, p" in dry.stdout
    assert _kind(repo, "p") is None
    res = repo.atomic("undo", check=0)
    assert _fifo(repo, "p", 0o600) and _fifo(repo, "d/q"), res.stderr
    assert f"git-atomic: warning: {SOCKET_GONE}" in res.stderr.splitlines(), res.stderr
    assert "; 0 paths changed" not in res.stderr
    res = repo.atomic("undo", check=0)  # the rollback again: taken away again
    assert _kind(repo, "p") is None and _kind(repo, "d/q") is None, res.stderr


def test_abort_takes_away_a_fifo_made_inside_the_operation(repo: GitRepo) -> None:
    repo.atomic("begin", "x", check=0)
    os.mkfifo(repo.path / "p")
    res = repo.atomic("abort", check=0)
    assert _kind(repo, "p") is None, res.stderr


def test_immediate_rollback_inside_an_open_operation_takes_the_fifo_away(repo: GitRepo) -> None:
    """Before: 'the tree is already at PRE-OP ...; nothing to do', the FIFO left."""
    repo.atomic("begin", "x", check=0)
    os.mkfifo(repo.path / "p")
    dry = repo.atomic("rollback", "--dry-run", check=0)
    assert "delete  p" in dry.stdout.splitlines(), (dry.stdout, dry.stderr)
    assert "would change 1 path" in dry.stderr, dry.stderr
    assert _fifo(repo, "p")
    res = repo.atomic("rollback", check=0)
    assert _kind(repo, "p") is None, res.stderr
    assert "rolled back to PRE-OP of x" in res.stderr and "; 1 path changed" in res.stderr
    again = repo.atomic("rollback", check=0)
    assert "nothing further to roll back" in again.stderr, again.stderr


def test_a_socket_deleted_inside_an_open_operation_is_named_by_its_rollback(
    repo: GitRepo,
) -> None:
    """Before: 'the tree is at PRE-OP ...; nothing further to roll back', the socket lost and
    not named (the step was chosen by its files and FIFOs alone)."""
    repo.atomic("run", "--", "sh", "-c", BIND, check=0)  # a socket of yours, kept
    assert _kind(repo, "s.sock") == stat.S_IFSOCK
    repo.atomic("begin", "x", check=0)
    os.unlink(repo.path / "s.sock")
    res = repo.atomic("rollback", check=0)
    assert f"git-atomic: warning: {SOCKET_GONE}" in res.stderr.splitlines(), res.stderr
    assert "nothing further" not in res.stderr
    again = repo.atomic("rollback", check=0)  # named once: no step left to go to
    assert "nothing further to roll back" in again.stderr, again.stderr


def test_rollback_op_takes_away_what_it_made_and_leaves_yours(repo: GitRepo) -> None:
    """Effect, not state: a FIFO of yours made since, your file, and a FIFO it made that you
    replaced by a file since, all stay (that one named)."""
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", f"{MAKES}; mkfifo r", check=0)
    op = _last_op(repo)
    os.mkfifo(repo.path / "mine")
    repo.write("later", b"yours\n")
    os.unlink(repo.path / "r")
    repo.write("r", b"now a file of yours\n")
    dry = repo.atomic("rollback", "--op", op, "--dry-run", check=0)
    assert "would take away d/q, p, s.sock" in dry.stderr, dry.stderr
    assert _fifo(repo, "p")
    res = repo.atomic("rollback", "--op", op, check=0)
    for rel in ("p", "d/q", "d", "s.sock"):
        assert _kind(repo, rel) is None, (rel, res.stderr)
    assert _fifo(repo, "mine") and repo.read("later") == b"yours\n"
    assert repo.read("r") == b"now a file of yours\n"
    assert "r: the FIFO the operation made was changed since" in res.stderr, res.stderr
    assert "what it made that holds no data taken away: d/q, p, s.sock" in res.stderr
    res = repo.atomic("undo", check=0)
    assert _fifo(repo, "p", 0o600) and _fifo(repo, "d/q"), res.stderr
    assert SOCKET_GONE in res.stderr
    assert _fifo(repo, "mine") and repo.read("later") == b"yours\n"
    repo.atomic("undo", check=0)
    assert _kind(repo, "p") is None and _fifo(repo, "mine")


def test_immediate_rollback_of_a_kept_run_takes_its_fifo_away(repo: GitRepo) -> None:
    os.mkfifo(repo.path / "yours")
    repo.atomic("run", "--", "sh", "-c", "mkfifo p; echo b > b", check=0)
    res = repo.atomic("rollback", check=0)
    assert _kind(repo, "p") is None and not repo.exists("b"), res.stderr
    assert _fifo(repo, "yours")


def test_rollback_op_of_an_operation_that_made_only_a_fifo(repo: GitRepo) -> None:
    """Its effect is beside its trees alone: before, 'the effect ... is not in the tree'."""
    repo.atomic("run", "--history", "shadow", "--", "mkfifo", "p", check=0)
    res = repo.atomic("rollback", "--op", _last_op(repo), check=0)
    assert _kind(repo, "p") is None, res.stderr
    assert "nothing further" not in res.stderr


def test_rollback_to_a_whole_state_takes_away_every_fifo_it_lacks(repo: GitRepo) -> None:
    """A whole earlier state, asked for by name: a FIFO made since goes, whoever made it, and
    its dry run lists it first."""
    repo.atomic("run", "--", "sh", "-c", "echo one > one", check=0)
    pre = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"]
    os.mkfifo(repo.path / "p")
    dry = repo.atomic("rollback", "--to", pre, "--whole", "--dry-run", check=0)
    assert "delete  p" in dry.stdout.splitlines() and "would change 2 paths" in dry.stderr, dry
    assert _fifo(repo, "p")
    res = repo.atomic("rollback", "--to", pre, "--whole", check=0)
    assert _kind(repo, "p") is None and not repo.exists("one"), res.stderr


def test_a_selective_rollback_takes_away_only_under_its_paths(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo one > one", check=0)
    pre = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"]
    (repo.path / "a").mkdir()
    os.mkfifo(repo.path / "a" / "p")
    os.mkfifo(repo.path / "q")
    res = repo.atomic("rollback", "--to", pre, "--", "a", check=0)
    assert _kind(repo, "a/p") is None, res.stderr
    assert _fifo(repo, "q") and repo.exists("one")


def test_an_agent_turn_taken_back_takes_away_its_fifo_not_yours(repo: GitRepo) -> None:
    from testing.agents import shell_turn

    answer = shell_turn(
        repo, f"mkfifo p; {BIND}", "echo x > bad", between="mkfifo mine; echo y > yours"
    )
    assert answer.get("decision") == "block", answer
    assert _kind(repo, "p") is None and _kind(repo, "s.sock") is None, answer
    assert _fifo(repo, "mine") and repo.read("yours") == b"y\n", answer


# --- the family: a FIFO and a file or a folder in each other's place, yours written meanwhile --
FAMILY = {
    "fifo-by-file": ("mkfifo -m 640 x", "rm x; echo data > x"),
    "file-by-fifo": ("echo mine > x", "rm x; mkfifo x"),
    "folder-by-fifo": ("mkdir x; echo in > x/f", "rm -r x; mkfifo x"),
    "fifo-by-folder": ("mkfifo -m 640 x", "rm x; mkdir x; echo in > x/f"),
}


def _as_before(repo: GitRepo, name: str) -> None:
    if name.startswith("fifo-"):
        assert _fifo(repo, "x", 0o640)
    elif name == "file-by-fifo":
        assert repo.read("x") == b"mine\n"
    else:
        assert repo.read("x/f") == b"in\n"


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_failed_run(repo: GitRepo, name: str) -> None:
    before, command = FAMILY[name]
    repo.atomic("run", "--", "sh", "-c", before, check=0)  # yours, kept
    res = repo.atomic("run", "--", "sh", "-c", f"{command}; exit 1", check=1)
    _as_before(repo, name)
    assert "warning" not in res.stderr, res.stderr


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_rollback_op_keeps_your_edit_meanwhile(repo: GitRepo, name: str) -> None:
    before, command = FAMILY[name]
    repo.write("notes", b"first\n")
    repo.atomic("run", "--", "sh", "-c", before, check=0)
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", command, check=0)
    op = _last_op(repo)
    repo.write("notes", b"first\nyours, meanwhile\n")
    res = repo.atomic("rollback", "--op", op, check=0)
    _as_before(repo, name)
    assert repo.read("notes") == b"first\nyours, meanwhile\n", res.stderr
    res = repo.atomic("undo", check=0)  # and what the operation left, once more
    if name.endswith("-by-fifo"):
        assert _fifo(repo, "x"), res.stderr
    elif name == "fifo-by-file":
        assert repo.read("x") == b"data\n", res.stderr
    else:
        assert repo.read("x/f") == b"in\n", res.stderr
    assert repo.read("notes") == b"first\nyours, meanwhile\n"


@pytest.mark.skipif(shutil.which("watchman") is None, reason="Watchman is not installed")
def test_the_watchman_path_takes_away_the_fifo_a_run_made(repo: GitRepo) -> None:
    """Where Watchman answers the capture, the FIFO a failed run made is still known (the
    folder it changed is walked) and taken away."""
    with watched(repo):
        os.mkfifo(repo.path / "yours")
        res = repo.atomic("run", "--", "sh", "-c", "mkfifo p; exit 1", check=1)
        assert _kind(repo, "p") is None and _fifo(repo, "yours"), res.stderr


def test_an_isolated_run_applied_leaves_your_fifo_and_socket(repo: GitRepo) -> None:
    """Its result is a state merged from trees, which knows no FIFO: applying it takes none
    of yours away."""
    os.mkfifo(repo.path / "mine")
    repo.atomic("run", "--", "sh", "-c", BIND, check=0)
    res = repo.atomic("run", "--isolate", "--", "sh", "-c", "echo x > new", check=0)
    assert repo.read("new") == b"x\n", res.stderr
    assert _fifo(repo, "mine") and _kind(repo, "s.sock") == stat.S_IFSOCK, res.stderr


def test_a_fifo_s_bits_the_operation_changed_come_back(repo: GitRepo) -> None:
    """Before: a FIFO still a FIFO kept the bits the operation's `chmod` gave it ('as before')."""
    os.mkfifo(repo.path / "p", 0o600)
    res = repo.atomic("run", "--", "sh", "-c", "chmod 644 p; exit 1", check=1)
    assert _fifo(repo, "p", 0o600), res.stderr
    res = repo.atomic("undo", check=0)  # the operation's bits again
    assert _fifo(repo, "p", 0o644), res.stderr
    repo.atomic("begin", "x", check=0)
    os.chmod(repo.path / "p", 0o640)
    dry = repo.atomic("rollback", "--dry-run", check=0)
    assert "mode    p" in dry.stdout.splitlines(), (dry.stdout, dry.stderr)
    res = repo.atomic("rollback", check=0)
    assert _fifo(repo, "p", 0o644), res.stderr
    assert "; 1 path changed" in res.stderr, res.stderr


def test_an_exact_take_back_leaves_a_fifo_you_made_since(repo: GitRepo) -> None:
    """Nothing of the files changed since: the take-back is exact (its PRE-OP's trees), and
    still a FIFO of yours made since is yours (no whole-state take-away in an effect move)."""
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "mkfifo p; echo x > f", check=0)
    os.mkfifo(repo.path / "mine")
    res = repo.atomic("rollback", check=0)
    assert "exactly its PRE-OP state" in res.stderr, res.stderr
    assert _kind(repo, "p") is None and not repo.exists("f")
    assert _fifo(repo, "mine")
