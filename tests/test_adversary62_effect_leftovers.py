"""Effect, not state: what a git command of yours leaves in the git dir after the operation.

A kept operation changed files; you then ran a git command that finished but left a file behind
in the git dir (git 2.39's `AUTO_MERGE` after a `git stash pop`, a rebase, a revert or a
cherry-pick). `rollback --op` takes back the operation's effect and nothing else: that file is
yours, made since, and stays byte for byte (docs/guarantees.md, "What a finished git command
leaves"); its dry run does not name it, and `undo` of the rollback leaves it too. Before the fix
the state tree of such a leftover holds `objects/<id>` (the tree AUTO_MERGE names, kept
reachable), which made it "not only leftovers": the rollback cleared your AUTO_MERGE and its dry
run said so (`git's leftover files (AUTO_MERGE): saved, cleared`).
"""

from __future__ import annotations

import subprocess

from testing.gitrepo import GitRepo

OP = "echo op{i} > a && echo new > n{i}"
# Your git commands since the operation, each leaving AUTO_MERGE (git 2.39).
YOURS = (
    "echo yours > README && git stash -q && git stash pop -q",
    "git revert --no-edit HEAD >/dev/null",
)


def _sh(repo: GitRepo, line: str) -> None:
    subprocess.run(["sh", "-c", line], cwd=repo.path, env=repo.env, check=True)


def test_a_leftover_of_your_git_command_since_stays(repo: GitRepo) -> None:
    auto = repo.path / ".git" / "AUTO_MERGE"
    for i, yours in enumerate(YOURS):
        line = OP.format(i=i)
        run = ("run", "--no-gates", "--history", "commits", "--", "sh", "-c", line)
        a_before = repo.read("a") if repo.exists("a") else None
        op_id = str(repo.atomic_json(*run)["op_id"])
        assert not auto.exists()
        _sh(repo, yours)
        left = auto.read_bytes()
        yours_now = repo.read("README")
        dry = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
        assert "AUTO_MERGE" not in dry.stdout + dry.stderr, (yours, dry.stdout, dry.stderr)
        repo.atomic("rollback", "--op", op_id, check=0)
        assert auto.read_bytes() == left, yours
        assert repo.read("README") == yours_now, yours  # yours, since: kept
        # the operation's own change taken back (the revert took it back already)
        assert (repo.read("a") if repo.exists("a") else None) == a_before, yours
        assert not repo.exists(f"n{i}"), yours
        if i == 0:  # undo of that rollback: the same rule (once: a run costs)
            repo.atomic("undo", check=0)
            assert auto.read_bytes() == left, yours
        auto.unlink()
        repo.git("reset", "-q", "--hard")


def test_a_leftover_of_yours_stays_where_the_rest_is_as_the_operation_left_it(
    repo: GitRepo,
) -> None:
    """The exact case: the tree, index, HEAD and branches are as the operation left them (its
    edit uncommitted, shadow mode; your `git stash; git stash pop` put it back), so its
    PRE-OP was the target itself, and that checkpoint holds no AUTO_MERGE: yours went. It is
    worked out now (the operation's change taken back, your leftover kept)."""
    run = ("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", "echo op > README")
    op_id = str(repo.atomic_json(*run)["op_id"])
    _sh(repo, "git stash -q && git stash pop -q")
    auto = repo.path / ".git" / "AUTO_MERGE"
    left = auto.read_bytes()
    dry = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
    assert "AUTO_MERGE" not in dry.stdout + dry.stderr, dry.stdout
    repo.atomic("rollback", "--op", op_id, check=0)
    assert auto.read_bytes() == left
    assert repo.read("README") == b"hello\n"
    assert repo.git("status", "--porcelain") == ""
