"""The small files of this stop's that other sessions share, made hostile by a user or another
tool: the MCP servers' markers (agents/mcp_owners.py), the turns' log of windows
(ops/windowlog.py). A folder, a fifo, a link, a number that is no pid, bytes that are no text:
never a hang, never an exception out of a hook or a server's call, and what is readable still
read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testing.gitrepo import ROOT, GitRepo

_HOSTILE: dict[str, Callable[[Path], None]] = {
    "folder": lambda p: p.mkdir(),
    "fifo": lambda p: os.mkfifo(p),
    "link-outside": lambda p: p.symlink_to(p.parent.parent / "outside"),
    "pid-too-large": lambda p: p.write_bytes(b"99999999999999999999 1\n"),
    "pid-not-ascii": lambda p: p.write_bytes("\u00b2\u00b3 1\n".encode()),
    "pid-zero": lambda p: p.write_bytes(b"0\n"),
    "not-utf8": lambda p: p.write_bytes(b"\xff\xfe 12\n\x00"),
}


@pytest.fixture
def live() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def _in_child(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`code` run in a fresh interpreter (a fifo's wait would hang this one): 10 s at most."""
    paths = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": paths, **(env or {})},
        capture_output=True,
        text=True,
        timeout=10,
    )


@pytest.mark.parametrize("kind", list(_HOSTILE))
def test_an_mcp_marker_that_is_no_marker_is_passed_over(
    tmp_path: Path, kind: str, live: subprocess.Popen[bytes]
) -> None:
    """others() lists the live server's operation beside it, and raises nothing."""
    from git_atomic.agents import mcp_owners

    folder = tmp_path / "state" / mcp_owners.FOLDER
    folder.mkdir(parents=True)
    (tmp_path / "state" / "outside").write_bytes(f"{live.pid}\n".encode())
    started = (Path(f"/proc/{live.pid}/stat").read_bytes().rpartition(b")")[2].split())[19]
    (folder / "op-live").write_bytes(f"{live.pid} {started.decode()}\n".encode())
    _HOSTILE[kind](folder / "op-hostile")
    code = (
        "from pathlib import Path; from git_atomic.agents import mcp_owners as m; "
        f"print(sorted(m.others(Path({str(tmp_path / 'state')!r})).items()))"
    )
    done = _in_child(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str([("op-live", live.pid)])
    assert os.path.lexists(folder / "op-hostile")  # not ours to remove


def _log_repo(repo: GitRepo) -> tuple[Path, str]:
    """A repository where agent turns were recorded (the log is written), and the log's path."""
    (repo.path / ".git" / "atomic" / "turns").mkdir(parents=True)
    code = (
        "from git_atomic.engine import discovery; from git_atomic.ops import windowlog; "
        f"print(windowlog._path(discovery.discover({str(repo.path)!r})))"
    )
    done = _in_child(code)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip()), (
        "from git_atomic.engine import discovery; from git_atomic.ops import windowlog; "
        f"r = discovery.discover({str(repo.path)!r}); "
    )


_LOG_HOSTILE: dict[str, Callable[[Path], None]] = {
    "folder": lambda p: p.mkdir(),
    "fifo": lambda p: os.mkfifo(p),
    "link-outside": lambda p: p.symlink_to(p.parent.parent.parent.parent / "outside"),
}


@pytest.mark.parametrize("kind", list(_LOG_HOSTILE))
def test_a_log_of_windows_that_is_no_file_is_never_waited_on_or_written_through(
    repo: GitRepo, kind: str
) -> None:
    """A note and a read return at once; nothing is written through a link."""
    log, prefix = _log_repo(repo)
    outside = repo.path.parent / "outside"
    outside.write_bytes(b"theirs\n")
    _LOG_HOSTILE[kind](log)
    done = _in_child(
        prefix + "windowlog.note(r, 's1', 'b' * 40, 'a' * 40, 1.0); print(windowlog.read(r))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert outside.read_bytes() == b"theirs\n"


def test_a_log_of_windows_with_garbage_and_huge_keeps_its_newest_entries(repo: GitRepo) -> None:
    """Lines that are no entry (bytes that are no text, JSON that is no object) are passed
    over; a log another hand made larger than ours ever is is read from its newest part."""
    log, prefix = _log_repo(repo)
    good = b'{"who": "s9", "before": "b", "after": "a", "began": 1.0, "ended": 2.0}\n'
    with log.open("wb") as out:
        out.write(b"\xff\xfe\n[1, 2]\n")
        out.truncate(1024**3)  # a GiB of NULs (sparse: no disk), more than the child may hold
        out.seek(0, os.SEEK_END)
        out.write(b"\n" + good)
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (768 * 1024**2,) * 2); "
    done = _in_child(limit + prefix + "print([w.who for w in windowlog.read(r)])")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['s9']"


def test_a_log_cut_by_a_process_killed_half_way_keeps_its_entries(repo: GitRepo) -> None:
    """The log is cut as it passes its size (written over, then truncated): a note killed
    between the two leaves every recent entry readable, never an empty log."""
    log, prefix = _log_repo(repo)
    import json
    import time

    now = time.time()
    with log.open("w") as out:
        for n in range(3000):
            entry = {"who": f"s{n}", "before": "b" * 40, "after": "a" * 40}
            out.write(json.dumps({**entry, "began": now, "ended": now}) + "\n")
    env = {"GIT_ATOMIC_FAILPOINT": "windowlog:trim"}
    killed = _in_child(prefix + "windowlog.note(r, 'last', 'b' * 40, 'a' * 40, 1.0)", env=env)
    assert killed.returncode == -9, killed.stderr
    done = _in_child(prefix + "print(sorted({int(w.who[1:]) for w in windowlog.read(r)}))")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found and found[-1] == 2999 and found == list(range(found[0], 3000))


def test_a_sessions_fact_made_a_link_is_never_written_through(tmp_path: Path) -> None:
    """A session's fact (copilotwork's `copilot-working`, turnsession.remember) made a link to
    a file outside, not there yet: noting the fact created that file outside (touch follows
    a link)."""
    from git_atomic.agents import copilotwork, turnstate

    state = tmp_path / "state"
    folder = turnstate.session_dir(state, "s1")
    folder.mkdir(parents=True)
    outside = tmp_path / "outside"
    (folder / copilotwork.WORKING).symlink_to(outside)
    copilotwork.working(state, "s1")
    assert not os.path.lexists(outside)
    assert os.path.islink(folder / copilotwork.WORKING)
