"""A flagged index entry (assume-unchanged, skip-worktree, intent-to-add) that an operation
replaced by a folder, a link or a FIFO: its rollback puts back your file and flag exactly, its
rescue holds what the operation made there, and `undo` brings that back. Both ways a capture
reads the disk: a scan, and `git add -A` (a FIFO at another tracked path forces it). Before,
on the `add -A` way, the folder made where an assume-unchanged or skip-worktree file was was
taken for the absent file and dropped from the rescue, its files with it: `g/inner` was in no
checkpoint, the rollback left the folder where your file was and said it held files no
checkpoint holds."""

from __future__ import annotations

import os
import stat

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

FLAGS = ["assume-unchanged", "skip-worktree", "intent-to-add"]
KINDS = {
    "folder": "mkdir g && printf 'inner\\n' > g/inner",
    "link": "ln -s README g",
    "FIFO": "mkfifo g",
}


@pytest.mark.parametrize("add_all", [False, True], ids=["scan", "add -A"])
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("flag", FLAGS)
def test_a_flagged_entry_replaced_is_rolled_back_rescued_and_undone(
    repo: GitRepo, flag: str, kind: str, add_all: bool
) -> None:
    repo.write("b", b"b\n")
    repo.write("g", b"yours\n")
    if flag == "intent-to-add":
        repo.git("add", "b")
        repo.git("commit", "-qm", "b")
        repo.git("add", "-N", "g")
    else:
        repo.git("add", "b", "g")
        repo.git("commit", "-qm", "b and g")
        repo.git("update-index", f"--{flag}", "g")
    before = repo.fingerprint()
    fifo = "rm b && mkfifo b && " if add_all else ""
    out = repo.atomic_json("run", "--", "sh", "-c", f"{fifo}rm g && {KINDS[kind]}; exit 1", check=1)
    assert repo.fingerprint().diff(before) == []
    assert repo.read("g") == b"yours\n"
    rescued = oracle.checkpoint_files(repo.env, repo.path, out["checkpoints"]["rescue"])
    if kind == "folder":
        assert rescued.get(b"g/inner") == ("100644", oracle.blob_id(b"inner\n")), rescued
    elif kind == "link":
        assert rescued.get(b"g") == ("120000", oracle.blob_id(b"README")), rescued
    repo.atomic("undo", check=0)
    g = os.fsencode(repo.path / "g")
    if kind == "folder":
        assert repo.read("g/inner") == b"inner\n"
    elif kind == "link":
        assert os.readlink(g) == b"README"
    else:
        assert stat.S_ISFIFO(os.lstat(g).st_mode)
