"""Family: the worktree's lock, `.git/atomic.lock`, and the name its record is written under
first (`atomic.lock.<pid>`). A lock that was a link out of the repository was read through:
what a file elsewhere said (a live pid, a command) decided that the worktree was busy, and
was printed as its holder. It is read without following a link now (core/lock.py): a holder
unknown, as a lock half written is (`recover` takes it away: the link itself, never what it
names); the record is written under a name made anew (O_EXCL, no link followed there either).
The file outside keeps its bytes and mtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from git_atomic.core.lock import process_start
from testing.gitrepo import GitRepo


def test_a_lock_that_is_a_link_is_never_read_through(repo: GitRepo) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        record = {
            "pid": sleeper.pid,
            "since": "2026-01-01T00:00:00+00:00",
            "command": "said-from-outside",
            "start": process_start(sleeper.pid),
        }
        outside = repo.path.parent / "holder.json"
        outside.write_text(json.dumps(record))
        data, mtime = outside.read_bytes(), outside.stat().st_mtime_ns
        lock = repo.path / ".git" / "atomic.lock"
        os.symlink(outside, lock)
        res = repo.atomic("run", "--", "sh", "-c", "echo op > README")
        said = res.stdout + res.stderr
        assert "said-from-outside" not in said and str(sleeper.pid) not in said, said
        assert "Traceback" not in said
        repo.atomic("recover", check=None)
        assert not os.path.lexists(lock) or not os.path.islink(lock)
        assert outside.read_bytes() == data and outside.stat().st_mtime_ns == mtime
        res = repo.atomic("run", "--", "sh", "-c", "echo op > README")
        assert res.returncode == 0, res.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
