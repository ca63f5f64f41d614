"""The human words say what happened, and only that (JSON values stay as the SPEC fixes them)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from testing.gitrepo import GitRepo


def test_a_shadow_success_does_not_say_committed(repo: GitRepo) -> None:
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo x > f.txt", check=0)
    assert "] committed" not in res.stderr
    assert "shadow mode: nothing committed" in res.stderr
    assert repo.atomic_json("log")["operations"][0]["status"] == "committed"  # JSON as before


def test_a_commits_mode_run_that_changed_nothing_says_nothing_to_commit(repo: GitRepo) -> None:
    res = repo.atomic("run", "--", "true", check=0)
    assert "] committed" not in res.stderr and "nothing to commit" in res.stderr


def test_a_rollback_of_nothing_offers_no_undo(repo: GitRepo) -> None:
    res = repo.atomic("run", "--", "sh", "-c", "exit 3", check=1)
    assert "the command exited with status 3" in res.stderr
    assert "it had changed nothing" in res.stderr and "undo" not in res.stderr


def test_a_rollback_says_what_its_promise_covers(repo: GitRepo) -> None:
    repo.write(".gitignore", b"dist/\n")
    res = repo.atomic("run", "--", "sh", "-c", "mkdir dist; echo w > dist/w; echo x > f; exit 1")
    assert res.returncode == 1
    assert "ignored files are not restored" in res.stderr
    assert "`git atomic undo` brings them back" in res.stderr
    assert repo.exists("dist/w") and not repo.exists("f")


def test_a_rollback_names_the_ignored_files_protect_keeps(repo: GitRepo) -> None:
    """With `protect`, the ignored files it names are put back too: the line says so (it said
    "ignored files are not restored" whatever `protect` held)."""
    repo.write(".gitignore", b".env\ndist/\n")
    repo.write(".git-atomic.toml", b'protect = [".env"]\n')
    repo.write(".env", b"KEY=1\n")
    res = repo.atomic("run", "--", "sh", "-c", "echo KEY=2 > .env; echo w > f; exit 1", check=1)
    assert "(ignored files are not restored, except those `protect` names)" in res.stderr
    assert repo.read(".env") == b"KEY=1\n" and not repo.exists("f")


def test_a_command_killed_by_a_signal_says_which(repo: GitRepo) -> None:
    res = repo.atomic("run", "--", "sh", "-c", "kill -TERM $$", check=1)
    assert "the command was killed by SIGTERM" in res.stderr


def test_show_names_what_a_gate_ran(repo: GitRepo) -> None:
    res = repo.atomic_json("run", "-g", "test -e f.txt", "--", "sh", "-c", "echo > f.txt")
    assert res["gates"][0]["command"] == "test -e f.txt"
    shown = repo.atomic("show", res["op_id"], check=0).stdout
    assert "ran: test -e f.txt" in shown


def test_a_journal_of_schema_1_is_upgraded_in_place(repo: GitRepo) -> None:
    first = repo.atomic_json("run", "-g", "true", "--", "true")
    path = repo.path / ".git" / "atomic" / "journal.sqlite3"
    with sqlite3.connect(path) as db:  # as git-atomic wrote it before gates had a command
        db.execute("ALTER TABLE gates DROP COLUMN command")
        db.execute("PRAGMA user_version=1")
    db.close()
    repo.atomic("show", first["op_id"], check=0)
    second = repo.atomic_json("run", "-g", "test -d .git", "--", "true")
    assert second["gates"][0]["command"] == "test -d .git"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()


def test_status_json_says_an_undo_stopped_half_way(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo c > README; exit 1", check=1)
    killed = repo.atomic("undo", env={"GIT_ATOMIC_FAILPOINT": "restore:after-files"})
    assert killed.returncode == -9
    assert "stopped half way" in repo.atomic("status", check=0).stdout
    interrupted = repo.atomic_json("status")["interrupted"]
    assert interrupted is not None
    assert interrupted["event"] == "undo" and interrupted["phase"] == "restore"
    assert interrupted["rescue"] and interrupted["op_id"] is None


def test_dry_run_shows_names_as_git_quotes_them(repo: GitRepo, tmp_path: Path) -> None:
    names = [b'caf\xe9 \\t"q', "é".encode(), b"tab\there", b"plain name"]
    maker = tmp_path / "make.py"  # outside the repository: not part of what is captured
    maker.write_text(f"for name in {names!r}:\n    open(name, 'wb').write(b'x')\n")
    repo.atomic("run", "--history", "shadow", "--", sys.executable, str(maker), check=0)
    listed = repo.atomic("rollback", "--dry-run", check=0).stdout
    deleted = [line for line in listed.splitlines() if line.startswith("delete")]
    shown = sorted(line.split(" ", 1)[1].strip() for line in deleted)
    # As `git ls-files` and `git diff` quote (`git status` quotes a space too).
    git_says = sorted(repo.git("ls-files", "--others").splitlines())
    assert shown == git_says
    assert '"caf\\351 \\\\t\\"q"' in shown and "plain name" in shown
