"""Peers' reports on branches and operations shared between worktrees, played against
git-atomic: git-branchless's `undo`, which moved a branch that was checked out in another
linked worktree and left that checkout out of step with its branch (arxanas/git-branchless
#1683, which made undo refuse such a ref), and jj's `workspace update-stale`, whose repair in
one workspace overwrote another's work (jj-vcs/jj#7229). A take-back in one worktree never
moves or deletes a branch that another worktree has checked out now, nor one another writer
moved since (it names it, one line), and an operation of another worktree is refused by name
where it is not that worktree's.
The oracle: the branches, each worktree's HEAD, status and files."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo


@pytest.mark.parametrize("how", ["created", "moved"])
def test_a_branch_checked_out_elsewhere_since_stays_where_it_is(repo: GitRepo, how: str) -> None:
    """An operation creates `feat` (or moves it forward onto `main`); you then check `feat`
    out in a second worktree: `rollback --op` leaves `feat` where that worktree has it, says
    so in one line, and the second worktree's HEAD, index and files stay clean."""
    repo.write("two.txt", b"two\n")
    repo.git("add", "two.txt")
    repo.git("commit", "-qm", "two")
    if how == "moved":
        repo.git("branch", "feat", "HEAD~")
    script = "git branch -f feat main" if how == "moved" else "git branch feat"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    other = repo.path.parent / "other"
    repo.git("worktree", "add", "-q", str(other), "feat")
    tip = repo.git("rev-parse", "feat").strip()
    ran = repo.atomic("rollback", "--op", out["op_id"], check=0)
    warned = [line for line in ran.stderr.splitlines() if "feat" in line]
    assert len(warned) == 1 and "checked out in another worktree" in warned[0], ran.stderr
    assert repo.git("rev-parse", "feat").strip() == tip
    assert repo.git("-C", str(other), "status", "--porcelain") == ""
    assert (other / "two.txt").read_bytes() == b"two\n"


def test_an_operation_of_another_worktree_is_taken_back_only_there(repo: GitRepo) -> None:
    """jj-vcs/jj#7229: a repair run in one workspace rewrote the files of another. An
    operation kept in a linked worktree, then `rollback --op` of it from the main worktree:
    refused (exit 2) in one line that names the worktree, neither worktree changed; run in
    that worktree, it takes the operation back there and nowhere else."""
    other = repo.path.parent / "other"
    repo.git("worktree", "add", "-q", "-b", "side", str(other))
    script = "echo w > w.txt && echo e >> README"
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, cwd=other
    )
    repo.write("README", b"hello\nmine\n")
    here, there = repo.fingerprint(), (other / "README").read_bytes()
    ran = repo.atomic("rollback", "--op", out["op_id"], check=2)
    assert "other" in ran.stderr and ran.stderr.count("\n") == 1, ran.stderr
    assert repo.fingerprint().diff(here) == [] and (other / "README").read_bytes() == there
    repo.atomic("rollback", "--op", out["op_id"], check=0, cwd=other)
    assert (other / "README").read_bytes() == b"hello\n" and not (other / "w.txt").exists()
    assert repo.fingerprint().diff(here) == []


def test_a_branch_another_writer_moved_since_is_left_and_named(repo: GitRepo) -> None:
    """arxanas/git-branchless#1683's other half (undo replayed ref updates over refs that had
    moved since): an operation commits on `main` and moves `feat` onto that commit; another
    writer then commits on `feat` (a second worktree, a tool): `rollback --op` puts `main`
    and the files back, leaves `feat` on the other writer's commit and says so in one line;
    `undo` moves `main` again."""
    repo.git("branch", "feat")
    script = "echo y > y && git add y && git commit -qm y && git branch -f feat HEAD"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    ours = repo.head()
    tree = repo.git("rev-parse", "feat^{tree}").strip()
    theirs = repo.git("commit-tree", "-p", "feat", "-m", "other writer", tree).strip()
    repo.git("update-ref", "refs/heads/feat", theirs)
    ran = repo.atomic("rollback", "--op", out["op_id"], check=0)
    named = [line for line in ran.stderr.splitlines() if "feat" in line]
    assert len(named) == 1 and "moved since" in named[0], ran.stderr
    assert repo.git("rev-parse", "feat").strip() == theirs
    assert repo.git("log", "--format=%s", "main").split() == ["initial"]
    assert not repo.exists("y") and repo.git("status", "--porcelain") == ""
    repo.atomic("undo", check=0)
    assert repo.head() == ours and repo.read("y") == b"y\n"
