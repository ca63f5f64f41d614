"""The common git dir's lock (core/lock.common_held) after its holder is killed.

`flock` lets go of a dead holder's lock, but its file, removed only as it is let go, stays
(empty) after a kill. It must never make anyone wait: the next holder takes it at once, and
`recover` removes the file no live process holds (one a live process holds stays).
Real processes, real kills.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from git_atomic.core.lock import COMMON_LOCK, common_held
from testing.gitrepo import ROOT, GitRepo

HOLD_AND_DIE = (
    "import os, sys, time\n"
    "from pathlib import Path\n"
    "from git_atomic.core.lock import common_held\n"
    "with common_held(Path(sys.argv[1])):\n"
    "    if sys.argv[2] == 'die':\n"
    "        os.kill(os.getpid(), 9)\n"
    "    print('held', flush=True)\n"
    "    time.sleep(60)\n"
)


def _holder(git_dir: Path, what: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    return subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_DIE, str(git_dir), what], env=env, stdout=subprocess.PIPE
    )


def _killed_holding(git_dir: Path) -> None:
    proc = _holder(git_dir, "die")
    assert proc.wait(timeout=60) == -9
    assert (git_dir / COMMON_LOCK).exists()  # left, empty
    assert (git_dir / COMMON_LOCK).read_bytes() == b""


def test_a_killed_holders_lock_is_taken_at_once_and_removed(repo: GitRepo) -> None:
    git_dir = repo.path / ".git"
    _killed_holding(git_dir)
    started = time.monotonic()
    with common_held(git_dir, wait=5.0):
        assert time.monotonic() - started < 2.0
    assert not os.path.lexists(git_dir / COMMON_LOCK)


def test_recover_removes_a_common_lock_left_by_a_kill(repo: GitRepo) -> None:
    git_dir = repo.path / ".git"
    _killed_holding(git_dir)
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr, res.stderr
    assert not os.path.lexists(git_dir / COMMON_LOCK), res.stderr


def test_recover_leaves_the_common_lock_a_live_process_holds(repo: GitRepo) -> None:
    git_dir = repo.path / ".git"
    proc = _holder(git_dir, "hold")
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"held\n"
        repo.atomic("recover", check=0)
        assert (git_dir / COMMON_LOCK).exists()
    finally:
        proc.kill()
        proc.wait()
