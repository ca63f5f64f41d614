"""Peers' reports on commits and their undo, played against git-atomic: Aider's auto-commits
that took the user's dirty files and its `/undo` of the wrong commit, git-branchless's `undo`
after an `amend`, GitButler's deleted branch, jj's undo back to an empty repository. The
branch, the index's raw entries and the disk (lstat, bytes, bits) are the oracle."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo, read_index
from testing.oracle import disk

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def entries(repo: GitRepo) -> Any:
    index = repo.path / ".git" / "index"
    return read_index(index.read_bytes()) if index.exists() else None


def commit_all(repo: GitRepo, message: str = "c") -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", message)


def is_ancestor(repo: GitRepo, commit: str) -> bool:
    argv = ["git", "merge-base", "--is-ancestor", commit, "HEAD"]
    return subprocess.run(argv, cwd=repo.path, env=repo.env).returncode == 0


def bash_call(repo: GitRepo, n: int, command: str) -> None:
    call = {"tool_use_id": f"b{n}", "tool_name": "Bash", "tool_input": {"command": command}}
    claude_hook(repo, "s1", "PreToolUse", **call)
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})


def test_a_commit_of_the_operation_holds_none_of_your_dirty_work(repo: GitRepo) -> None:
    """Aider-AI/aider#314 and #101 (and #207, the change that followed): an `/add` committed
    the user's unrelated deletions and whatever was staged. In commits mode the operation's
    commit holds its own file only; your unstaged deletion, staged new file and file staged
    one way and edited another stay as they were, on the disk and in the index."""
    repo.write("t1.txt", b"t1\n")
    repo.write("t2.txt", b"t2\n")
    commit_all(repo)
    os.unlink(repo.path / "t1.txt")
    repo.write("staged.txt", b"new\n")
    repo.write("t2.txt", b"t2 staged\n")
    repo.git("add", "staged.txt", "t2.txt")
    repo.write("t2.txt", b"t2 worktree\n")
    before, index, base = disk(repo.path, modes=True), entries(repo), repo.head()
    repo.atomic_json("run", "--no-gates", "--history", "commits", "--", "sh", "-c", "echo a > a")
    assert repo.git("diff", "--name-only", base, "HEAD").split() == ["a"]
    after = disk(repo.path, modes=True)
    assert after.pop(b"a") == ("file", b"a\n", 0o644)
    assert after == before
    mine = {e[0]: e for e in entries(repo) if e[0] != b"a"}
    assert mine == {e[0]: e for e in index}


def test_rollback_after_your_commit_keeps_your_commit(repo: GitRepo) -> None:
    """Aider-AI/aider#718 and #76: `/undo` after a commit the tool did not make undid the
    wrong one. After a kept operation you commit a file of yours; `git atomic rollback` takes
    the operation's effect back and your commit stays on the branch, with its file."""
    repo.atomic_json("run", "--no-gates", "--history", "commits", "--", "sh", "-c", "echo a > a")
    repo.write("mine.txt", b"mine\n")
    commit_all(repo, "mine")
    mine = repo.head()
    res = repo.atomic("rollback", check=0)
    assert is_ancestor(repo, mine), res.stderr
    assert repo.read("mine.txt") == b"mine\n"
    assert not repo.exists("a")


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_an_amend_is_rolled_back_and_undone_with_the_branch(repo: GitRepo, history: str) -> None:
    """arxanas/git-branchless#392 and #313: `undo` after `amend` left the branch on the wrong
    commit and the working copy's changes had no way back. The operation amends the branch's
    commit with your dirty file and fails: branch, index and disk as before (your edit
    unstaged); `undo` puts the amended commit back on the branch."""
    repo.write("a.txt", b"one\n")
    commit_all(repo, "A")
    repo.git("checkout", "-qb", "feature")
    repo.write("b.txt", b"b\n")
    commit_all(repo, "B")
    head = repo.head()
    repo.write("a.txt", b"dirty\n")
    before, index = disk(repo.path, modes=True), entries(repo)
    script = "git commit -qam amended && exit 1"
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=1)
    assert (repo.head(), repo.git("symbolic-ref", "HEAD")) == (head, "refs/heads/feature\n")
    assert disk(repo.path, modes=True) == before
    assert entries(repo) == index
    repo.atomic("undo", check=0)
    assert repo.git("log", "-1", "--format=%s") == "amended\n"
    assert repo.git("show", "HEAD:a.txt") == "dirty\n"
    assert repo.read("a.txt") == b"dirty\n"


def test_your_commit_between_an_agents_calls_stays_when_the_turn_is_taken_back(
    repo: GitRepo,
) -> None:
    """Aider-AI/aider#718: an undo took a commit that was not the tool's. You commit between
    the agent's calls; its gate fails: its files go, your commit stays on the branch."""
    repo.write(".git-atomic.toml", GATE)
    with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
        fh.write(b".git-atomic.toml\n")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="x")
    bash_call(repo, 1, "echo agent > agent.txt")
    repo.write("mine.txt", b"mine\n")
    repo.git("add", "mine.txt")
    repo.git("commit", "-qm", "mine")
    mine = repo.head()
    bash_call(repo, 2, "touch bad")
    assert '"block"' in claude_hook(repo, "s1", "Stop").stdout
    assert is_ancestor(repo, mine)
    assert repo.read("mine.txt") == b"mine\n"
    assert not repo.exists("agent.txt") and not repo.exists("bad")


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_the_first_commit_of_an_empty_repository_goes_and_comes_back(
    empty_repo: GitRepo, history: str
) -> None:
    """jj-vcs/jj#8153: `undo` back to the root operation left a repository no command could
    use. In a repository without a commit, the operation makes the first one and fails: the
    branch is unborn again, the files and the (absent) index as before; `undo` brings the
    commit back and every later command works."""
    repo = empty_repo
    repo.write("a.txt", b"a\n")
    before, index = disk(repo.path, modes=True), entries(repo)
    script = "git add -A && git commit -qm first && echo more > b.txt && exit 1"
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=1)
    assert disk(repo.path, modes=True) == before
    assert entries(repo) == index
    assert repo.git("rev-parse", "-q", "--verify", "HEAD", check=False) == ""
    repo.atomic("undo", check=0)
    assert repo.git("log", "-1", "--format=%s") == "first\n"
    assert repo.read("b.txt") == b"more\n"
    repo.atomic("run", "--no-gates", "--", "true", check=0)


@pytest.mark.parametrize(
    "op",
    ["git branch -D feature", "git branch -m feature renamed", "git switch -q feature"],
)
def test_a_deleted_or_renamed_branch_comes_back_with_its_settings(repo: GitRepo, op: str) -> None:
    """gitbutlerapp/gitbutler#2692: a click meant to drop changes deleted the whole branch.
    The operation deletes or renames `feature` (which drops its upstream and description
    from the config) and fails: the branch, its settings and the config's bytes are back."""
    repo.git("branch", "feature")
    repo.git("config", "branch.feature.remote", "origin")
    repo.git("config", "branch.feature.merge", "refs/heads/feature")
    repo.git("config", "branch.feature.description", "my notes")
    config = (repo.path / ".git" / "config").read_bytes()
    refs = repo.git("for-each-ref", "refs/heads/")
    repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    assert (repo.path / ".git" / "config").read_bytes() == config
    assert repo.git("for-each-ref", "refs/heads/") == refs
    assert repo.git("symbolic-ref", "HEAD") == "refs/heads/main\n"
