"""Family: the gate logs, under our folder (`.git/atomic/logs/<op>/01-<gate>.log`). The
journal is never opened through a link (context.open_journal refuses one at `.git/atomic/logs`),
but a run's command runs after that check, and its gates after the command: a command that
made the logs folder a link out of the repository had every gate's log written there (a
folder made in the link's target, a file written in it), and a gate that made its own log's
name a link to a file of yours had that file read back as its output's tail, printed. Each
log is now made from the git dir folder by folder, never through a link, and its tail read
from the file written (ops/gates.py `_open_log`); where a link stands, the log is written
beside (a new file of the system's temporary folder). The target outside is never written:
its bytes and mtime, and its folder's listing, are as they were."""

from __future__ import annotations

import json
import os

from testing.gitrepo import GitRepo


def gates(repo: GitRepo, run: str) -> None:
    toml = f'[[gates]]\nname = "check"\nrun = {json.dumps(run)}\n'
    repo.write(".git-atomic.toml", toml.encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "gates")


def test_a_command_that_made_the_logs_folder_a_link_has_no_log_written_there(
    repo: GitRepo,
) -> None:
    gates(repo, "echo gate-said-this; exit 1")
    elsewhere = repo.path.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_bytes(b"mine\n")
    mtime = elsewhere.stat().st_mtime_ns
    logs = repo.path / ".git" / "atomic" / "logs"
    script = f"rm -rf {logs} && ln -s {elsewhere} {logs} && echo op > README"
    res = repo.atomic("run", "--", "sh", "-c", script)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert sorted(os.listdir(elsewhere)) == ["keep.txt"]
    assert (elsewhere / "keep.txt").read_bytes() == b"mine\n"
    assert elsewhere.stat().st_mtime_ns == mtime
    assert "gate-said-this" in res.stdout + res.stderr  # the log written beside, its tail shown
    assert repo.read("README") != b"op\n"  # the failed gate's rollback


def test_a_gate_that_made_its_log_a_link_has_nothing_read_through_it(repo: GitRepo) -> None:
    secret = repo.path.parent / "secret.txt"
    secret.write_bytes(b"SECRET=hunter2\n")
    mtime = secret.stat().st_mtime_ns
    gates(
        repo,
        f"echo gate-said-this; for f in .git/atomic/logs/*/01-check.log; do rm $f; "
        f"ln -s {secret} $f; done; exit 1",
    )
    res = repo.atomic("run", "--", "sh", "-c", "echo op > README")
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert "hunter2" not in res.stdout + res.stderr
    assert "gate-said-this" in res.stdout + res.stderr
    assert secret.read_bytes() == b"SECRET=hunter2\n" and secret.stat().st_mtime_ns == mtime
