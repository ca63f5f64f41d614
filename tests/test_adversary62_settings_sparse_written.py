"""Found by tests/test_adversary62_settings_drawn.py: in a sparse checkout, an operation that
writes a file the checkout leaves out (`sub2/y`) after an earlier one there was rolled back.
The rollback's rescue capture read the index while `sub2/y` was on disk (git then reads its
entry unflagged) and remembered that reading under the index's checksum; the rollback put the
same index bytes back, file gone, and the next PRE-OP found the remembered reading: no
skip-worktree entry, so its commit base lacked `sub2/y`, the OP-EXEC commit (commits mode) held
the committed bytes back as a conflict, and `rollback --op` with a user edit made meanwhile
left the entry unflagged (`git status`: `D sub2/y`, which it did not show before). A reading
git made with a flag cleared is no longer remembered (staged.py)."""

from __future__ import annotations

from testing.gitrepo import GitRepo

OP = "mkdir -p sub2 && echo Y > sub2/y && echo z > sub2/z"


def test_rollback_op_keeps_the_skip_worktree_flag_after_earlier_rollbacks(repo: GitRepo) -> None:
    repo.write("mine.sh", b"mine\n")
    repo.write("sub2/y", b"y\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "tree")
    repo.git("sparse-checkout", "set", "--no-cone", "/*", "!/sub2/")
    before = repo.fingerprint()
    for _ in range(2):
        repo.atomic("run", "--no-gates", "--", "sh", "-c", OP + " && exit 1", check=1)
        assert repo.fingerprint() == before
    out = repo.atomic_json("run", "--no-gates", "--history", "commits", "--", "sh", "-c", OP)
    repo.write("mine.sh", b"mine\n", mode=0o755)  # the user's edit meanwhile
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert not repo.exists("sub2")
    flags = {e[0]: e[4] for e in repo.fingerprint().index or ()}
    assert flags[b"sub2/y"] == "skip-worktree", flags
    assert repo.git("status", "--porcelain") == " M mine.sh\n"
