"""Commits mode: a flagged index entry (assume-unchanged, as `core.ignoreStat` sets on every
entry git updates, or skip-worktree) whose file the operation swapped for a folder, or whose
folder it swapped for a file. `git add -A` stages the new file and drops the flagged entry (a
path cannot be both); the commit view kept the index's entry and left the new files out:
"kept; nothing to commit", the folder's files in no commit (found by the differential test,
whose check of the view's two ways to the same tree stopped on it: an internal error).

The oracle: a twin repository where the same steps ran, then `git add -A`; its `write-tree`
is the tree the operation's visible commit must hold (engine/commitview.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

# (the flagged path, the steps that swap it) for each way round
SWAPS = {
    "file-to-folder": ("a", "rm a && mkdir a && echo x > a/inner"),
    "folder-to-file": ("d/x", "rm -r d && echo file > d"),
}
# How the entry gets its flag: git's own `add` under core.ignoreStat, or `update-index`.
FLAGS = {
    "ignoreStat": None,
    "assume-unchanged": "--assume-unchanged",
    "skip-worktree": "--skip-worktree",
}


def _repo(base: Path, path: str, flag: str) -> GitRepo:
    repo = GitRepo.create(base / "r", base / "home")
    repo.write(path, b"one\n")
    if flag == "ignoreStat":
        repo.git("config", "core.ignoreStat", "true")
    repo.git("add", path)
    repo.git("commit", "-qm", "flagged")
    option = FLAGS[flag]
    if option is not None:
        repo.git("update-index", option, "--", path)
    assert repo.git("ls-files", "-v", "--", path)[0].islower() or flag == "skip-worktree"
    return repo


@pytest.mark.parametrize("flag", list(FLAGS))
@pytest.mark.parametrize("swap", list(SWAPS))
def test_a_flagged_entry_a_folder_or_file_replaced_is_committed_as_git_add_would(
    tmp_path: Path, swap: str, flag: str
) -> None:
    path, steps = SWAPS[swap]
    twin = _repo(tmp_path / "twin", path, flag)
    subprocess.run(["sh", "-c", steps], cwd=twin.path, env=twin.env, check=True)
    twin.git("add", "-A")
    want = twin.git("write-tree").strip()
    ours = _repo(tmp_path / "ours", path, flag)
    ours.atomic("run", "--history", "commits", "--no-gates", "--", "sh", "-c", steps, check=0)
    got = ours.git("rev-parse", "HEAD^{tree}").strip()
    listing = ours.git("ls-tree", "-r", "--name-only", got)
    assert got == want, f"{listing} != {twin.git('ls-tree', '-r', '--name-only', want)}"
