"""Peers' reports on history a take-back cannot give back, played against git-atomic:
arxanas/git-branchless#412 (commits its smartlog showed were garbage collected: git's `gc`
took them and nothing said so until they were gone). An operation that empties the reflogs
and prunes (`git reflog expire --expire=now --all && git gc --prune=now`) takes for good the
commits only a reflog named (a `reset` left them behind): the rollback writes the reflogs back
but cannot bring those commits back, and must say so, one line, naming them, instead of "the
reflogs it rewrote are as before". The oracle: the reflog files' bytes, git's store, stderr."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

EXPIRE_AND_PRUNE = "git reflog expire --expire=now --all && git gc -q --prune=now"


def left_behind(repo: GitRepo) -> str:
    """A commit only the reflogs name (`reset --hard HEAD~1` after it): its id."""
    repo.write("two.txt", b"two\n")
    repo.git("add", "two.txt")
    repo.git("commit", "-qm", "two")
    commit = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    return commit


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_commits_only_a_reflog_named_that_the_operation_pruned_are_named(
    repo: GitRepo, how: str
) -> None:
    """The reflogs come back (main@{1}'s line is in main's reflog again), the files and the
    branch are exact, and one line names the commit the prune took, short id and all; the
    commit stays gone (nothing can make it again). Without a prune the same rollback names
    nothing: the commit is there and main@{2} is it (the line `reflog` shows)."""
    commit = left_behind(repo)
    logs = repo.path / ".git" / "logs" / "refs" / "heads" / "main"
    kept = logs.read_bytes()
    before = repo.fingerprint()
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", f"{EXPIRE_AND_PRUNE}; exit 1", check=1)
    else:
        op = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", EXPIRE_AND_PRUNE)["op_id"]
        res = repo.atomic("rollback", "--op", op, check=0)
    assert logs.read_bytes().startswith(kept)
    assert "missing" in repo.git("cat-file", "--batch-check", input=f"{commit}\n".encode())
    named = [line for line in res.stderr.splitlines() if commit[:12] in line]
    assert len(named) == 1 and "pruned" in named[0], res.stderr
    after = repo.fingerprint()
    assert (after.files, after.branches, after.head) == (before.files, before.branches, before.head)


def test_no_commit_is_named_where_the_operation_only_expired(repo: GitRepo) -> None:
    """The reflogs expired but nothing pruned: the rollback writes them back, the commit is
    there, named by main@{1} again, and no line speaks of a pruned commit."""
    commit = left_behind(repo)
    res = repo.atomic("run", "--", "sh", "-c", "git reflog expire --expire=now --all; exit 1")
    assert res.returncode == 1, res.stderr
    assert "pruned" not in res.stderr and commit[:12] not in res.stderr, res.stderr
    assert commit in repo.git("rev-list", "--walk-reflogs", "main").split()


def test_the_dry_run_names_the_pruned_commit_as_the_rollback_does(repo: GitRepo) -> None:
    """What `rollback --op --dry-run` lists is what the rollback does: its git lines say the
    reflogs are written back and that the commit the prune took cannot come back."""
    commit = left_behind(repo)
    op = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", EXPIRE_AND_PRUNE)["op_id"]
    res = repo.atomic("rollback", "--op", op, "--dry-run", check=0)
    named = [line for line in res.stdout.splitlines() if commit[:12] in line]
    assert len(named) == 1 and named[0].startswith("git ") and "pruned" in named[0], res.stdout
