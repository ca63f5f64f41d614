"""Peers' reports where a take-back met what the user reshaped since, played against
git-atomic: the path an operation made is a folder of yours now, a folder it emptied holds
your file, your edit sits in the file it changed. The effect is taken back and nothing of
yours goes; where no clean result exists nothing changes and one line says why. The oracle is
the disk (lstat, readlink, the bytes, the permission bits)."""

from __future__ import annotations

import os
import subprocess

from testing.agents import claude_hook, claude_write
from testing.gitrepo import GitRepo
from testing.oracle import disk

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def kept(repo: GitRepo, script: str) -> str:
    out = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", script)
    op_id: str = out["op_id"]
    return op_id


def test_a_file_it_made_that_is_your_folder_now_is_left_whole(repo: GitRepo) -> None:
    """arul28/ADE#724: a rewind of a path that was absent before removed it recursively when
    it had become a folder since, with everything in it. Here the operation made the file
    `gen`; you replaced it by a folder of your own files: `rollback --op` leaves every one."""
    op = kept(repo, "echo made > gen")
    os.unlink(repo.path / "gen")
    repo.write("gen/mine.txt", b"mine\n")
    repo.write("gen/deep/more.txt", b"more\n", mode=0o600)
    before = disk(repo.path, modes=True)
    res = repo.atomic("rollback", "--op", op)
    assert res.returncode in (0, 3), res.stderr
    assert disk(repo.path, modes=True) == before
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_your_file_in_a_folder_it_made_stays_and_undo_is_exact(repo: GitRepo) -> None:
    """gitbutlerapp/gitbutler#9124 and anthropics/claude-code#16023: a restore to a snapshot
    threw away what the user added after it. The operation made `out/a.txt`; you added
    `out/mine.txt`: its rollback takes `a.txt` and leaves yours (and the folder holding it),
    and `undo` brings `a.txt` back beside it."""
    op = kept(repo, "mkdir -p out && echo a > out/a.txt")
    repo.write("out/mine.txt", b"mine\n")
    repo.atomic("rollback", "--op", op, check=0)
    assert not repo.exists("out/a.txt")
    assert repo.read("out/mine.txt") == b"mine\n"
    repo.atomic("undo", check=0)
    assert repo.read("out/a.txt") == b"a\n"
    assert repo.read("out/mine.txt") == b"mine\n"


def test_a_folder_it_deleted_that_is_your_file_now_is_refused_in_one_line(repo: GitRepo) -> None:
    """gitbutlerapp/gitbutler#12310: leaving an edit mode wiped a day of work made since. The
    operation deleted the tracked folder `old/`; you made a file `old` since: bringing the
    folder back would take your file, so nothing changes, exit 3, one line naming the way to
    drop it on purpose (`--whole`, with its dry run)."""
    repo.write("old/x.txt", b"x\n")
    commit_all(repo)
    op = kept(repo, "rm -rf old")
    repo.write("old", b"your file\n")
    before = disk(repo.path, modes=True)
    res = repo.atomic("rollback", "--op", op, check=3)
    assert disk(repo.path, modes=True) == before
    assert res.stderr.count("\n") == 1 and "--whole" in res.stderr and "--dry-run" in res.stderr


def test_your_edit_between_an_agents_calls_survives_its_take_back(repo: GitRepo) -> None:
    """anthropics/claude-code#16023 and gitbutlerapp/gitbutler#14851: a restore made the
    files the snapshot's, losing the user's edit of the same file. The agent's `Write`
    changed line 1; you changed line 10 between its calls; its gate fails: line 1 goes back,
    your line 10 stays."""
    repo.write(".git-atomic.toml", GATE)
    with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
        fh.write(b".git-atomic.toml\n")
    lines = b"".join(b"l%d\n" % i for i in range(12))
    repo.write("f.txt", lines)
    commit_all(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="x")
    claude_write(repo, 1, "f.txt", lines.replace(b"l1\n", b"AGENT\n"))
    repo.write("f.txt", repo.read("f.txt").replace(b"l10\n", b"MINE\n"))
    call = {"tool_use_id": "b2", "tool_name": "Bash", "tool_input": {"command": "touch bad"}}
    claude_hook(repo, "s1", "PreToolUse", **call)
    subprocess.run(["touch", "bad"], cwd=repo.path, check=True)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    assert '"block"' in claude_hook(repo, "s1", "Stop").stdout
    assert repo.read("f.txt") == lines.replace(b"l10\n", b"MINE\n")
    assert not repo.exists("bad")
