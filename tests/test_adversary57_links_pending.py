"""Family: `.git/atomic-pending.json`, the intent of a restore outside any operation (a rollback,
an undo, an emergency) that `recover` finishes, made a link or a FIFO (an operation's command
writes in the git dir as freely as in the worktree). It was read by name: through a link (a
file outside said what `recover` was to do, silently dropped when it was none of ours), and a
FIFO there had `recover` and `status --json` wait for ever. It is read as state files are
(core/wholefile.py `read`): a link or a FIFO is a file we cannot read, moved aside by
`recover` (the link itself) and named; the file outside keeps its bytes and mtime."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


@pytest.mark.parametrize("what", ["link", "fifo"])
def test_a_pending_intent_that_is_no_file_is_moved_aside_not_read(
    repo: GitRepo, tmp_path: Path, what: str
) -> None:
    pending = repo.path / ".git" / "atomic-pending.json"
    target = tmp_path / "elsewhere.json"
    if what == "link":
        target.write_bytes(json.dumps({"action": "none of ours"}).encode())
        pending.symlink_to(target)
    else:
        target.write_bytes(b"not ours\n")  # (a FIFO's own case has nothing outside)
        os.mkfifo(pending)
    mtime = os.lstat(target).st_mtime_ns
    status = repo.atomic("status", "--json", timeout=60)
    assert "Traceback" not in status.stderr
    obj = repo.atomic_json("recover", timeout=60)
    aside = pending.with_name("atomic-pending.json.unreadable")
    assert any("could not be read" in p for p in obj["recovery"]["problems"]), obj
    assert not os.path.lexists(pending) and os.path.lexists(aside)
    if what == "link":
        assert os.readlink(aside) == str(target)
        assert target.read_bytes() == b'{"action": "none of ours"}'
    assert os.lstat(target).st_mtime_ns == mtime


def test_an_agents_settings_file_that_is_a_fifo_is_not_waited_on(repo: GitRepo) -> None:
    """`hooks install` checks the settings file is no link, then reads it: by name, a FIFO
    there (or one swapped in after the check) was waited on for ever. Read as a state file
    now: one line, exit 2, nothing written."""
    path = repo.path / ".claude" / "settings.json"
    path.parent.mkdir()
    os.mkfifo(path)
    res = repo.atomic("hooks", "install", "claude-code", check=2, timeout=60)
    assert "cannot read it" in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_a_child_record_that_is_a_link_ends_no_process_of_yours(tmp_path: Path) -> None:
    """`recover` ends the process group a killed git-atomic's command left (core/children.py),
    named in a record beside the lock. A link there to a file elsewhere naming a group of
    yours (its leader's start time read from /proc, an owner long dead) had that group killed;
    the record is read as state files are now: the link removed itself, nothing ended."""
    import subprocess

    from git_atomic.core import children
    from git_atomic.core.lock import process_start

    yours = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        dead = subprocess.Popen(["true"])
        dead.wait()
        forged = tmp_path / "elsewhere.json"
        record = {"pgid": yours.pid, "start": process_start(yours.pid), "owner": dead.pid}
        forged.write_text(json.dumps(record))
        mtime = forged.stat().st_mtime_ns
        (tmp_path / "child").symlink_to(forged)
        assert children.stop_orphaned_child(tmp_path / "child") is None
        assert yours.poll() is None  # alive
        assert not os.path.lexists(tmp_path / "child")
        assert forged.read_text() == json.dumps(record) and forged.stat().st_mtime_ns == mtime
    finally:
        yours.kill()
        yours.wait()
