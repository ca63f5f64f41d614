"""Effect, not state, where history moved after the operation (git's t3200-branch,
t2400-worktree-add, t7600-merge; peers: jj `op revert` of a bookmark you checked out since,
git-branchless `undo`): taking an operation back leaves what you did since as you did it, read
from the disk (HEAD's file, the branch's ref, the index file, the files)."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

# The operation makes a branch (or moves one back) it never checks out; you check it out since.
OPS = {
    "created": ("printf 'op\\n' > op.txt; git branch newb", "newb"),
    "moved": ("printf 'op\\n' > op.txt; git branch -f feature HEAD~1", "feature"),
}


@pytest.mark.parametrize("mode", ["shadow", "commits"])
@pytest.mark.parametrize("how", list(OPS))
def test_a_branch_you_checked_out_since_stays(repo: GitRepo, how: str, mode: str) -> None:
    """`rollback --op` deleted the branch HEAD was on (HEAD then named a branch that is not
    there: "No commits yet", every file staged as new), or moved it under your checkout (its
    files staged as changes you never made). The branch stays, your checkout with it."""
    op, branch = OPS[how]
    repo.write("f", b"f\n")
    repo.git("add", "f")
    repo.git("commit", "-qm", "f")
    repo.git("branch", "feature")
    done = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", op)
    repo.git("checkout", "-q", branch)
    tip = repo.git("rev-parse", f"refs/heads/{branch}").strip()
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert (repo.path / ".git" / "HEAD").read_text() == f"ref: refs/heads/{branch}\n"
    assert repo.git("rev-parse", "-q", "--verify", f"refs/heads/{branch}").strip() == tip
    assert not repo.exists("op.txt")
    assert repo.git("status", "--porcelain", "--untracked-files=no") == ""
    assert f"branch {branch} is checked out here since" in res.stderr or (
        f"{branch} checked out here since: left as it is" in res.stderr
    ), res.stderr
