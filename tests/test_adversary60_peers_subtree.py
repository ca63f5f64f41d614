"""Peers' reports on an operation started in a subfolder of a repository, played against
git-atomic's commits mode: Aider's `--subtree-only`, whose `/commit` still looked at the whole
tree for what to commit (Aider-AI/aider#3712), and whose new file went to the repository's top
and then failed the commit over a file of the user's that was not staged (Aider-AI/aider#3925).
Started from `app/`, an operation's commit holds what it changed, in `app/` and at the top,
and none of your work elsewhere (staged or not), which stays as it was; its rollback takes the
commit off and leaves your work. The oracle: the commit's files, the index and the disk."""

from __future__ import annotations

from testing.gitrepo import GitRepo


def test_a_run_from_a_subfolder_commits_its_own_change_and_none_of_yours(repo: GitRepo) -> None:
    """Your `lib/l.txt` edit (not staged) and new `lib/new.txt` (staged) stay out of the
    operation's commit and keep their split; `rollback --op` over a later file of yours takes
    the commit and its two files back and leaves your work exactly."""
    repo.write("app/a.txt", b"a\n")
    repo.write("lib/l.txt", b"l\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.write("lib/l.txt", b"l\nmine\n")
    repo.write("lib/new.txt", b"wip\n")
    repo.git("add", "lib/new.txt")
    before = repo.fingerprint()
    script = "echo b >> a.txt && echo plan > ../PLAN.md"
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "commits", "--", "sh", "-c", script,
        cwd=repo.path / "app",
    )  # fmt: skip
    shown = repo.git("show", "--name-only", "--format=", "HEAD").split()
    assert shown == ["PLAN.md", "app/a.txt"]
    assert repo.git("status", "--porcelain") == " M lib/l.txt\nA  lib/new.txt\n"
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert repo.read("later.txt") == b"yours\n"
    assert [d for d in repo.fingerprint().diff(before) if "later.txt" not in d] == []
