"""A folder of yours the operation renamed (`mv build out && mkdir build`, a parent of it, or
two folders swapped): the files in it keep their own ctime, so they looked untouched since
PRE-OP, as your ignored files that stand where they stood do, and their rollback kept them at
the operation's names: `out/cache.bin` stayed, `out/` with it. A file under a folder moved
since (its ctime newer, its mtime older: a rename's mark, changedtimes.untouched_since) is no longer
taken for one that was there: it goes like any file the operation made (the rescue holds it),
your untracked files come back where they were, and `undo` puts the operation's effect back.
Your ignored files stay out of every checkpoint, but the folder the operation moved is found
again by its device and inode and moved back whole, with them (foldermoves.py;
tests/test_moved_unheld.py)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

HISTORIES = ["commits", "shadow"]
Walk = oracle.Disk

# Where your files are in the folder the operation moves (`F`), at each depth.
DEPTHS = {"in it": "F/cache.bin", "deep in it": "F/deep/er/cache.bin"}
# What the operation does with `F` (your folder) and `other` (another of yours).
MOVES = {
    "renamed": "mv F out && mkdir F",
    "parent renamed": "mv top moved && mkdir -p top/F",
    "swapped": "mv F t && mv other F && mv t other",
}


def walk(top: Path) -> Walk:
    """Every entry under `top` but `.git`, by lstat (with their permission bits): oracle.disk."""
    return oracle.disk(top, modes=True)


def _setup(repo: GitRepo, *, ignored: bool, depth: str, move: str) -> tuple[str, str]:
    """Your files in the folder the operation moves; the script, and the folder's path."""
    folder = "top/F" if move == "parent renamed" else "F"
    repo.write("src/app.py", b"app\n")
    if ignored:
        repo.write(".gitignore", f"/{folder}/\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    repo.write(DEPTHS[depth].replace("F", folder, 1), b"cache\n", mode=0o600)
    repo.write(f"{folder}/keep.txt", b"yours\n")
    repo.write("other/o.txt", b"other\n")
    time.sleep(0.1)  # made well before PRE-OP (more than the clock's lag)
    return MOVES[move], folder


def _as_the_operation_leaves_it(repo: GitRepo, script: str, tmp: Path) -> Walk:
    """The files the operation leaves, as its script leaves a copy of the worktree."""
    copy = tmp / "copy"
    subprocess.run(["cp", "-a", str(repo.path), str(copy)], check=True)
    subprocess.run(["sh", "-c", script], cwd=copy, check=True)
    return walk(copy)


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("how", ["failed run", "rollback"])
@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("ignored", [False, True], ids=["untracked", "ignored"])
def test_a_folder_the_operation_moved_is_taken_back_and_undone(
    repo: GitRepo, tmp_path: Path, ignored: bool, depth: str, move: str, how: str, history: str
) -> None:
    script, _ = _setup(repo, ignored=ignored, depth=depth, move=move)
    after_op = _as_the_operation_leaves_it(repo, script, tmp_path)
    before = walk(repo.path)
    if how == "failed run":
        repo.atomic("run", "--history", history, "--", "sh", "-c", script + "; exit 1", check=1)
    else:
        repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=0)
        assert walk(repo.path) == after_op
        repo.atomic("rollback", check=0)
    # Your ignored files too: the folder is moved back whole (foldermoves.py).
    assert walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert walk(repo.path) == after_op


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("how", ["rollback", "rollback --op"])
def test_a_tracked_file_the_effect_removed_comes_back_over_your_file_it_moved_there(
    repo: GitRepo, tmp_path: Path, how: str, history: str
) -> None:
    """`git rm -r lib && mv build lib`: your ignored `build/x.o` now stands where the tracked
        `lib/x.o` was. An effect taken back writes over no ignored file changed outside its
        windows (you made it since), and this one's own ctime is as it was: the take-back left it
        and said "exactly its PRE-OP state", the index back, `lib/x.o` modified. Its folder has the
        rename's mark in the window: it is the operation's doing, and the tracked file comes back
        (the rescue holds yours; `undo` puts the operation's effect back). Your `build/` itself is
    moved back, with `x.o` in it (the folder's device and inode: foldermoves.py)."""
    repo.write(".gitignore", b"*.o\n")
    repo.write("lib/x.o", b"tracked\n")
    repo.git("add", ".gitignore")
    repo.git("add", "-f", "lib/x.o")
    repo.git("commit", "-qm", "a tracked object file")
    repo.write("build/x.o", b"yours\n")
    time.sleep(0.1)
    script = "git rm -rq lib && mv build lib"
    after_op = _as_the_operation_leaves_it(repo, script, tmp_path)
    before = walk(repo.path)
    out = repo.atomic_json("run", "--history", history, "--", "sh", "-c", script)
    repo.atomic(*how.split(), *([out["op_id"]] if how.endswith("--op") else []), check=0)
    assert walk(repo.path) == before  # your build/x.o back in build/ (foldermoves.py)
    assert repo.git("status", "--porcelain") == ""
    repo.atomic("undo", check=0)
    assert walk(repo.path) == after_op
