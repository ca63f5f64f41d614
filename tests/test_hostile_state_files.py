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

from testing.gitrepo import ROOT

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


def _in_child(code: str) -> subprocess.CompletedProcess[str]:
    """`code` run in a fresh interpreter (a fifo's wait would hang this one): 10 s at most."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=10
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
