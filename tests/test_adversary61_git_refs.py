"""HEAD a symbolic ref to a ref that is no branch (git's t1406/t1419 families: refs a
repository holds beside refs/heads/): `git symbolic-ref HEAD refs/remotes/origin/main` (git
says "On branch refs/remotes/origin/main"), or a ref of the user's own namespace. A commit
there moves that ref, which the checkpoint's branches (refs/heads/) do not hold: the rollback
put the files and the index back and left HEAD's commit where the operation put it (`git
status` then showed the operation's commit as changes staged backwards), saying files, index
and branches were as before. HEAD's commit comes back, by compare-and-swap of the ref it names,
as a branch's would; `undo` moves it forward again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

NOT_BRANCHES = ["refs/remotes/origin/main", "refs/wip/main"]


def _on(tmp_path: Path, ref: str) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("update-ref", ref, "HEAD")
    repo.git("symbolic-ref", "HEAD", ref)
    repo.write("wip", b"yours\n")
    return repo


COMMIT = ["sh", "-c", "echo x >> README && git commit -qam x"]


@pytest.mark.parametrize("ref", NOT_BRANCHES)
def test_a_failed_run_that_committed_on_it_and_its_undo(tmp_path: Path, ref: str) -> None:
    repo = _on(tmp_path, ref)
    before, at = repo.fingerprint(), repo.git("rev-parse", ref).strip()
    repo.atomic("run", "--no-gates", "--", *COMMIT[:2], COMMIT[2] + "; exit 1", check=1)
    assert repo.fingerprint().diff(before) == []
    assert repo.git("rev-parse", ref).strip() == at
    repo.atomic("undo", check=0)
    assert repo.git("rev-parse", ref).strip() != at
    assert repo.git("status", "--porcelain", "-uno") == ""  # its commit and its files agree
    assert repo.read("README") == b"hello\nx\n"


@pytest.mark.parametrize("ref", NOT_BRANCHES)
def test_abort_and_a_commits_mode_rollback(tmp_path: Path, ref: str) -> None:
    repo = _on(tmp_path, ref)
    before = repo.fingerprint()
    repo.atomic("begin", "op", check=0)
    repo.git("commit", "-qm", "y", "--allow-empty")
    repo.atomic("abort", check=0)
    assert repo.fingerprint().diff(before) == []
    repo.atomic("run", "--no-gates", "--history", "commits", "--", *COMMIT, check=0)
    repo.atomic("rollback", check=0)
    assert repo.fingerprint().diff(before) == []


def test_recover_after_a_kill(tmp_path: Path) -> None:
    repo = _on(tmp_path, NOT_BRANCHES[0])
    before = repo.fingerprint()
    failpoint = {"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"}
    killed = repo.atomic("run", "--no-gates", "--", *COMMIT, env=failpoint)
    assert killed.returncode == -9, killed.stderr
    repo.atomic("recover", check=0)
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("later", ["your-file", "your-commit"])
def test_rollback_op_takes_its_commit_back_not_yours(tmp_path: Path, later: str) -> None:
    """`rollback --op` of a kept run that committed there, your file made since: the ref goes
    back to where the operation found it (it stayed on the operation's commit; a first fix
    deleted it, HEAD then on a ref with no commit); with your commit on top since, it stays
    where you left it, and the operation's change to README is taken back over it."""
    repo = _on(tmp_path, NOT_BRANCHES[0])
    at = repo.git("rev-parse", "HEAD").strip()
    op_id = repo.atomic_json("run", "--no-gates", "--", *COMMIT)["op_id"]
    if later == "your-commit":
        repo.write("mine", b"m\n")
        repo.git("add", "mine")
        repo.git("commit", "-qm", "mine")
    else:
        repo.write("later", b"l\n")
    after = repo.git("rev-parse", "HEAD").strip()
    repo.atomic("rollback", "--op", str(op_id), check=0)
    assert repo.read("README") == b"hello\n" and repo.read("wip") == b"yours\n"
    assert repo.git("symbolic-ref", "HEAD").strip() == NOT_BRANCHES[0]
    if later == "your-commit":
        assert repo.git("rev-parse", "HEAD").strip() == after
        assert repo.read("mine") == b"m\n"
    else:
        assert repo.git("rev-parse", "HEAD").strip() == at
        assert repo.git("status", "--porcelain", "-uno") == ""
        assert repo.read("later") == b"l\n"


def test_an_agent_turn_taken_back(tmp_path: Path) -> None:
    """A turn whose call committed there, its gate broken: its take-back at Stop puts HEAD's
    commit back; your file made between its calls stays."""
    from testing.agents import claude_hook

    repo = _on(tmp_path, NOT_BRANCHES[0])
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    at = repo.git("rev-parse", "HEAD").strip()
    command = "echo x >> README && git commit -qam x && echo b > bad"
    call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "t1"}
    claude_hook(repo, "s1", "PreToolUse", **call)
    repo.write("README", b"hello\nx\n")
    repo.git("commit", "-qam", "x")
    repo.write("bad", b"b\n")
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    repo.write("later", b"yours\n")
    said = claude_hook(repo, "s1", "Stop").stdout
    assert repo.git("rev-parse", "HEAD").strip() == at, said
    assert repo.read("README") == b"hello\n" and not repo.exists("bad"), said
    assert repo.read("later") == b"yours\n" and repo.read("wip") == b"yours\n"
    assert repo.git("status", "--porcelain", "-uno") == "", said
