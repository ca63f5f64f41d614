"""Peers' reports on undo over branches, staged work and linked worktrees, round 4, played
against git-atomic's `run`, `rollback` and `undo`, each as users run it and under the suite's
scan check (GIT_ATOMIC_VERIFY_SCAN: see docs/contributing.md). The oracle: the refs and the
disk's bytes.

- gitbutlerapp/gitbutler#15573: restoring a snapshot of a stack rewound only its top branch,
  stranding the others, and undo repeated the same one-ref rewind. Here a restack of three
  stacked branches (`rebase --update-refs`) is rolled back whole, and `undo` moves all three
  forward again.
- gitbutlerapp/gitbutler#14851: undoing the discard of a commit failed where an uncommitted
  change touched the same file. Here an operation drops the top commit while your change to
  the same file stays uncommitted; its rollback gives both back, `undo` drops it again.
- Aider-AI/aider#101 (and #4682, which stopped staging in no-auto-commits mode): the tool
  committed whatever the user had staged. Here the OP-EXEC commit holds the operation's file
  alone; your staged file stays staged, uncommitted, and your unstaged edit unstaged.
- zed-industries/zed#50761: checkpoints in a linked worktree read the main worktree's index
  and failed silently. Here a failed run in a linked worktree gives back its own index (your
  staged file there) and leaves the main worktree's staged file alone.
"""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

VERIFY = pytest.mark.parametrize("verify", ["0", "1"], ids=["as users run it", "suite's check"])


def _heads(repo: GitRepo) -> str:
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")


def _commit(repo: GitRepo, rel: str, data: bytes, message: str) -> None:
    repo.write(rel, data)
    repo.git("add", rel)
    repo.git("commit", "-qm", message)


@VERIFY
def test_a_restacked_stack_is_rolled_back_and_undone_whole(repo: GitRepo, verify: str) -> None:
    env = {"GIT_ATOMIC_VERIFY_SCAN": verify}
    for name in ("s1", "s2", "s3"):
        repo.git("checkout", "-qb", name)
        _commit(repo, f"{name}.txt", name.encode() + b"\n", name)
    repo.git("checkout", "-q", "main")
    _commit(repo, "m.txt", b"m\n", "main moves on")
    repo.git("checkout", "-q", "s3")
    before = _heads(repo)
    restack = "git rebase -q --update-refs main >/dev/null"
    ran = repo.atomic("run", "-n", "restack", "--no-gates", "--", "sh", "-c", restack, env=env)
    assert ran.returncode == 0, ran.stderr
    after = _heads(repo)
    assert after != before
    assert repo.atomic("rollback", env=env).returncode == 0
    assert _heads(repo) == before
    assert repo.atomic("undo", env=env).returncode == 0
    assert _heads(repo) == after
    assert repo.read("m.txt") == b"m\n" and repo.read("s1.txt") == b"s1\n"


@VERIFY
def test_a_dropped_commit_comes_back_beside_your_change_to_its_file(
    repo: GitRepo, verify: str
) -> None:
    env = {"GIT_ATOMIC_VERIFY_SCAN": verify}
    _commit(repo, "parent.txt", b"a\nb\nc\nd\ne\nf\ng\n", "c1")
    _commit(repo, "parent.txt", b"a\nb\nc\nd\ne\nf\nG by c2\n", "c2")
    c2 = repo.head()
    mine = b"A mine\nb\nc\nd\ne\nf\nG by c2\n"
    repo.write("parent.txt", mine)
    drop = "git stash -q && git reset -q --hard HEAD~1 && git stash pop -q"
    ran = repo.atomic("run", "-n", "drop", "--no-gates", "--", "sh", "-c", drop, env=env)
    assert ran.returncode == 0, ran.stderr
    assert repo.read("parent.txt") == b"A mine\nb\nc\nd\ne\nf\ng\n"
    assert repo.atomic("rollback", env=env).returncode == 0
    assert repo.head() == c2 and repo.read("parent.txt") == mine
    assert repo.git("diff", "--cached", "--name-only") == ""
    assert repo.git("stash", "list") == ""
    assert repo.atomic("undo", env=env).returncode == 0
    assert repo.head() != c2 and repo.read("parent.txt") == b"A mine\nb\nc\nd\ne\nf\ng\n"


@VERIFY
def test_an_op_exec_commit_holds_the_operations_file_alone(repo: GitRepo, verify: str) -> None:
    env = {"GIT_ATOMIC_VERIFY_SCAN": verify}
    repo.write("mine.txt", b"staged by me\n")
    repo.git("add", "mine.txt")
    repo.write("README", b"hello\nunstaged edit\n")
    made = "printf 'gen\\n' > gen.txt"
    ran = repo.atomic("run", "-n", "gen", "--no-gates", "--", "sh", "-c", made, env=env)
    assert ran.returncode == 0, ran.stderr
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == ["gen.txt"]
    assert repo.git("diff", "--cached", "--name-only").split() == ["mine.txt"]
    assert repo.git("diff", "--name-only").split() == ["README"]
    assert repo.read("README") == b"hello\nunstaged edit\n"


@VERIFY
def test_a_linked_worktrees_failed_run_gives_back_its_own_index(repo: GitRepo, verify: str) -> None:
    env = {"GIT_ATOMIC_VERIFY_SCAN": verify}
    linked_path = repo.path.parent / "linked"
    repo.git("worktree", "add", "-q", str(linked_path), "-b", "feat")
    linked = GitRepo(linked_path, repo.env)
    linked.write("s.txt", b"staged there\n")
    linked.git("add", "s.txt")
    linked.write("README", b"hello\nthere\n")
    repo.write("m.txt", b"staged in main\n")
    repo.git("add", "m.txt")
    main_index = (repo.path / ".git" / "index").read_bytes()
    op = "printf 'n\\n' > n.txt; git add -A; printf 'y\\n' >> README; exit 1"
    ran = linked.atomic("run", "-n", "op", "--no-gates", "--", "sh", "-c", op, env=env)
    assert ran.returncode == 1, ran.stderr
    assert linked.git("diff", "--cached", "--name-only").split() == ["s.txt"]
    assert linked.read("README") == b"hello\nthere\n" and not linked.exists("n.txt")
    assert (repo.path / ".git" / "index").read_bytes() == main_index
    assert repo.git("diff", "--cached", "--name-only").split() == ["m.txt"]
