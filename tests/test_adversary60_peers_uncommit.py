"""Peers' reports on an undo of a commit, played against git-atomic: Sapling's `undo` of a
commit that also threw away, from the working copy, the changes the commit held
(facebook/sapling#193; `uncommit` was the advice), and an undo after an amend that lost the
amendment instead of leaving it in the tree (simoarpe/ziggity#3). An operation that commits
your half-staged work, or takes the last commit off the branch (`reset --soft`, `reset`), is
taken back by `rollback --op` over a later edit of yours: the branch and the index are as
before, every byte on disk stays (none of it was the operation's), and `undo` moves the
branch again. The oracle: the fingerprint (HEAD, branches, the raw index, every file's bytes
and mode on disk)."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

OPS = {
    "commit -a": "git commit -qam wip",
    "amend -a": "git commit -qa --amend -m amended",
    "uncommit": "git reset -q --soft HEAD~",
    "reset": "git reset -q HEAD~",
}


@pytest.mark.parametrize("script", OPS.values(), ids=list(OPS))
def test_a_commit_taken_back_leaves_its_changes_on_disk(repo: GitRepo, script: str) -> None:
    """`a.txt` staged one way and changed again, `b.txt` changed, not staged, on top of a
    second commit; the operation runs `script`; you then write `later.txt`: the rollback
    leaves the branch, the index and the files as before the operation (and `later.txt`);
    `undo` brings the operation's branch and index back, the files still as they are."""
    for rel in ("a.txt", "b.txt"):
        repo.write(rel, b"%s\n" % rel.encode())
        repo.git("add", rel)
        repo.git("commit", "-qm", rel)
    repo.write("a.txt", b"a staged\n")
    repo.git("add", "a.txt")
    repo.write("a.txt", b"a staged\nand not\n")
    repo.write("b.txt", b"b changed\n")
    before = repo.fingerprint()
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    after = repo.fingerprint()
    assert after.diff(before) and after.files == before.files
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert repo.read("later.txt") == b"yours\n"
    assert [d for d in repo.fingerprint().diff(before) if "later.txt" not in d] == []
    repo.atomic("undo", check=0)
    assert [d for d in repo.fingerprint().diff(after) if "later.txt" not in d] == []
