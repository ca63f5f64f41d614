"""Peers' reports on what a restore did to the disk beside the files it was asked for, played
against git-atomic: Zed's checkpoint restore that rewrote every file (their times gone, a
full rebuild after), undos that could not take back a rename of the letter case alone, a
restore whose staging names grew past the 255 bytes a name may hold, a restore that moved the
branch while HEAD was detached, and checkpoints wedged by an `index.lock` a killed git left.
The oracle is the disk: lstat (inode, mtime, kind), the names a folder lists, the bytes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo
from testing.oracle import disk

OLD = 1_500_000_000  # 2017: a time no write of this test makes


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def stamps(root: Path, names: list[str]) -> dict[str, tuple[int, int]]:
    """Each file's inode and mtime (ns), by lstat: a rewrite changes one or the other."""
    return {n: (os.lstat(root / n).st_ino, os.lstat(root / n).st_mtime_ns) for n in names}


def listed(folder: Path) -> set[str]:
    return set(os.listdir(folder))


# --- zed-industries/zed#59099: a restore rewrote the files it did not change ------------------


@pytest.mark.parametrize("how", ["failed run", "rollback --op", "undo", "turn"])
def test_files_a_take_back_does_not_change_keep_their_inode_and_time(
    repo: GitRepo, how: str
) -> None:
    """zed-industries/zed#59099: restoring a checkpoint ran a restore of the whole tree, so
    every file got a new mtime and the next build rebuilt everything. Here a tracked file, an
    untracked one and an ignored build output the operation never touched keep their inode
    and mtime through its take-back (each way: a failed run, `rollback --op` over a later
    edit, `undo` of a rollback, a Claude Code turn's failed gate); the file it changed comes
    back newer than that build output, so `make` rebuilds from it."""
    repo.write(".gitignore", b"*.o\n")
    repo.write("lib.c", b"int lib;\n")
    repo.write("main.c", b"int main;\n")
    commit_all(repo)
    repo.write("notes.txt", b"mine\n")
    repo.write("main.o", b"\x7fELF")
    untouched = [".gitignore", "lib.c", "notes.txt", "main.o"]
    for name in untouched:
        os.utime(repo.path / name, (OLD, OLD))
    before = stamps(repo.path, untouched)
    edit = "echo 'int main2;' > main.c"
    if how == "failed run":
        repo.atomic("run", "--", "sh", "-c", f"{edit}; exit 1", check=1)
    elif how == "rollback --op":
        op = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", edit)["op_id"]
        repo.write("other.txt", b"later\n")
        repo.atomic("rollback", "--op", op, check=0)
    elif how == "undo":
        repo.atomic("run", "--", "sh", "-c", f"{edit}; exit 1", check=1)
        repo.atomic("undo", check=0)
        assert repo.read("main.c") == b"int main2;\n"
        os.utime(repo.path / "main.o", None)  # rebuilt from the undone main.c
        before["main.o"] = stamps(repo.path, ["main.o"])["main.o"]
        repo.atomic("undo", check=0)
    else:
        repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
        (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
        claude_hook(repo, "s1", "UserPromptSubmit", prompt="x")
        call: dict[str, Any] = {"tool_use_id": "b1", "tool_name": "Bash"}
        call["tool_input"] = {"command": edit}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", f"{edit}; touch bad"], cwd=repo.path, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        assert json.loads(claude_hook(repo, "s1", "Stop").stdout)["decision"] == "block"
    assert repo.read("main.c") == b"int main;\n"
    assert stamps(repo.path, untouched) == before
    assert os.lstat(repo.path / "main.c").st_mtime_ns > os.lstat(repo.path / "main.o").st_mtime_ns


# --- microsoft/vscode#328643, patchloom/patchloom#2346: renames of the letter case alone -----


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_a_rename_of_the_letter_case_alone_goes_back_and_comes_again(
    repo: GitRepo, how: str
) -> None:
    """microsoft/vscode#328643 and patchloom/patchloom#2346: an undo after a rename that only
    changed the letter case (`Hello.txt` to `hello.txt`) said it succeeded and left the new
    name, or kept both. The operation renames a tracked file (`git mv`) and a folder holding
    a tracked and an untracked file (`mv`) by case alone: each take-back leaves exactly the
    old names (a folder lists only them), `undo` exactly the new ones."""
    repo.write("README.md", b"r\n")
    repo.write("Src/Main.java", b"class Main {}\n")
    commit_all(repo)
    repo.write("Src/notes.txt", b"n\n")
    before = disk(repo.path, modes=True)
    script = "git mv README.md readme.md && mv Src src"
    if how == "failed run":
        repo.atomic("run", "--", "sh", "-c", f"{script}; exit 1", check=1)
    else:
        op = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", script)["op_id"]
        assert {"readme.md", "src"} <= listed(repo.path)
        repo.atomic("rollback", "--op", op, check=0)
    assert disk(repo.path, modes=True) == before
    names = listed(repo.path)
    assert {"README.md", "Src"} <= names and not {"readme.md", "src"} & names
    repo.atomic("undo", check=0)
    names = listed(repo.path)
    assert {"readme.md", "src"} <= names and not {"README.md", "Src"} & names, names
    assert listed(repo.path / "src") == {"Main.java", "notes.txt"}
    assert repo.read("readme.md") == b"r\n" and repo.read("src/notes.txt") == b"n\n"


# --- nbgallery/nbgallery#895, LanternOps/breeze#5387: names past 255 bytes on the way ------


def test_names_of_255_bytes_are_restored_and_undone(repo: GitRepo) -> None:
    """nbgallery/nbgallery#895 (a name plus "-checkpoint" went past the 255 bytes a name may
    hold) and LanternOps/breeze#5387 (a restore's staging names did, so long files were
    silently not restored). Names of exactly 255 bytes (two-byte letters too), tracked and
    untracked, edited, deleted and made in a new folder of such a name: the rollback and
    `undo`, and a `rollback --op` over a later edit, each leave exactly the disk they must."""
    long_tracked = "é" * 127 + "x"  # 255 bytes
    long_gone = "a" * 255
    long_yours = "u" * 255
    long_dir = "D" * 255
    repo.write(f"d/{long_tracked}", b"one\n")
    repo.write(long_gone, b"gone\n")
    commit_all(repo)
    repo.write(long_yours, b"yours\n")
    before = disk(repo.path, modes=True)
    script = (
        f"echo changed > d/{long_tracked} && rm {long_gone} && echo c > {long_yours} && "
        f"mkdir {long_dir} && echo z > {long_dir}/{'z' * 255}"
    )
    repo.atomic("run", "--", "sh", "-c", f"{script}; exit 1", check=1)
    assert disk(repo.path, modes=True) == before
    repo.atomic("undo", check=0)
    after = disk(repo.path, modes=True)
    assert repo.read(f"{long_dir}/{'z' * 255}") == b"z\n" and not repo.exists(long_gone)
    repo.atomic("undo", check=0)
    assert disk(repo.path, modes=True) == before
    op = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", script)["op_id"]
    assert disk(repo.path, modes=True) == after
    repo.write("later.txt", b"l\n")
    repo.atomic("rollback", "--op", op, check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"l\n" and now == before


# --- cline/cline#13550 and git-branchless's `undo`: HEAD detached ---------------------------


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_detached_head_comes_back_detached_at_its_commit(repo: GitRepo, history: str) -> None:
    """cline/cline#13550: a restore ran `reset --hard`, which moves whatever HEAD names; with
    HEAD detached, git-branchless users saw `undo` leave them on a branch. You work detached
    at an older commit; the operation commits there, makes a branch and switches to it, then
    fails: HEAD is detached at that commit again, no branch made, `main` where it was;
    `undo` puts HEAD on the new branch, at the operation's commit."""
    repo.write("b.txt", b"2\n")
    commit_all(repo)
    main_at = repo.git("rev-parse", "main").strip()
    repo.git("checkout", "-q", "--detach", "HEAD~1")
    at = repo.head()
    before = repo.fingerprint()
    script = "echo z > z.txt && git add z.txt && git commit -qm z && git checkout -q -b feat"
    repo.atomic("run", "--history", history, "--", "sh", "-c", f"{script}; exit 1", check=1)
    assert repo.fingerprint() == before
    assert repo.git("symbolic-ref", "-q", "HEAD", check=False).strip() == ""
    assert repo.head() == at and repo.git("rev-parse", "main").strip() == main_at
    repo.atomic("undo", check=0)
    assert repo.git("symbolic-ref", "HEAD").strip() == "refs/heads/feat"
    assert repo.git("rev-parse", "HEAD~1").strip() == at and repo.read("z.txt") == b"z\n"


# --- NousResearch/hermes-agent#52887, pingdotgg/t3code#11340: an index.lock left behind ----


def test_an_index_lock_a_killed_git_left_is_named_and_the_ops_own_is_gone(
    repo: GitRepo,
) -> None:
    """NousResearch/hermes-agent#52887 and pingdotgg/t3code#11340: an `index.lock` a killed
    git left wedged every later checkpoint, which failed with git's exit 128 and nothing
    said. Yours, there before: a take-back that must write the index refuses in one line
    that names the file (exit 3), nothing changed, the lock left to you. One the operation's
    own command left (a git it killed): its rollback takes it away with the rest, and the
    next run works."""
    op = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", "echo x > c && git add c")["op_id"]
    lock = repo.path / ".git" / "index.lock"
    lock.write_bytes(b"")
    before = repo.fingerprint()
    res = repo.atomic("rollback", "--op", op, check=3)
    assert len(res.stderr.splitlines()) == 1 and "index.lock" in res.stderr, res.stderr
    assert repo.fingerprint() == before and lock.exists()
    lock.unlink()
    repo.atomic("run", "--", "sh", "-c", "echo y > c && : > .git/index.lock && exit 1", check=1)
    assert not lock.exists()
    assert repo.git("status", "--porcelain") == ""
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo z > c && git add c", check=0)
