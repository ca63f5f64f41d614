"""A rollback's end is one journal transaction: the event that records the restore (what `undo`
reverses) and the cleared intent were two commits, each an fdatasync of the journal's WAL, with
no crash point between them (issue 17, stop 61: a small `abort` made 7). One transaction leaves
fewer states a kill can find, each of which the two commits could already leave: neither (the
intent still there: `recover` finishes the restore, as after a kill before the event), or both.

Oracles: the journal's transactions counted in a process that runs the command's `main` (the
warm helper's child does the same), the journal's rows read back, and the rollback exact.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from testing.gitrepo import GitRepo

SCRIPT = """
import json, sys
from git_atomic.core.journal import connection
commits = []
write = connection.JournalFile._write
def counted(self):
    commits.append(1)
    return write(self)
connection.JournalFile._write = counted
from git_atomic.cli.main import main
code = main(["abort", "--json"])
sys.__stderr__.write(json.dumps({"code": code, "commits": len(commits)}) + "\\n")
"""


def test_an_abort_records_its_restore_and_clears_its_intent_in_one_commit(repo: GitRepo) -> None:
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a")
    repo.write("a.txt", b"yours\n")
    repo.atomic_json("begin", "op", "--history", "shadow", env={"GIT_ATOMIC_HELPER": "0"})
    repo.write("a.txt", b"the operation's\n")
    repo.write("new.txt", b"made\n")
    proc = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT],
        cwd=repo.path,
        env={**repo.env, "GIT_ATOMIC_HELPER": "0"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    found = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    assert found["code"] == 0, proc.stderr.decode()
    # owner, intent, the rescue's checkpoint, the restore's next step, the restore recorded
    # with its intent cleared, the operation closed.
    assert found["commits"] == 6, found
    assert repo.read("a.txt") == b"yours\n" and not repo.exists("new.txt")
    with sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3") as db:
        pending = db.execute("SELECT pending, status FROM operations").fetchall()
        kinds = [row[0] for row in db.execute("SELECT kind FROM events")]
    assert pending == [(None, "rolled_back")], pending
    assert kinds == ["abort"], kinds
    undone = repo.atomic_json("undo", env={"GIT_ATOMIC_HELPER": "0"})
    assert undone["status"] == "undone", undone
    assert repo.read("a.txt") == b"the operation's\n" and repo.read("new.txt") == b"made\n"
