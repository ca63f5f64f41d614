"""Peers' reports on the identity a checkpoint is written with, played against git-atomic:
unarbos/arbos#390 (a checkpoint's `commit-tree` failed for want of an identity git would take,
the failure was swallowed, and a rewind then ran `reset --hard` and `clean -fd` on a tree it
did not know). Here the identity is set but is one git refuses (`user.name` of only the
characters git strips from a name: `<>`, spaces, `.` for git before 2.46): a checkpoint needs
none of yours and is written with git-atomic's own; commits mode, which needs yours, refuses
in one line before anything changes (exit 2). The oracle: the disk and the refs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo

REFUSED_NAMES = ["<>", "   ", ".", "<.>"]


def without_identity_env(repo: GitRepo) -> dict[str, str]:
    """The repository's environment without the GIT_AUTHOR_*/GIT_COMMITTER_* variables the
    fixture sets: the identity is the configuration's."""
    return {
        k: v for k, v in repo.env.items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))
    }


def git_refuses(repo: GitRepo, name: str) -> bool:
    """Whether this git refuses `name` in a commit (`git var`, strict as `commit-tree`)."""
    env = {**without_identity_env(repo), "GIT_COMMITTER_NAME": name}
    ran = subprocess.run(
        ["git", "var", "GIT_COMMITTER_IDENT"], cwd=repo.path, env=env, capture_output=True
    )
    return ran.returncode != 0


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_a_name_git_refuses_never_stops_a_checkpoint(repo: GitRepo, name: str) -> None:
    """A shadow-mode run that fails is rolled back exactly (exit 1) and its checkpoints are
    written by git-atomic's own identity where git refuses yours; where this git takes the
    name (`.` since git 2.46), with yours."""
    repo.env = without_identity_env(repo)
    repo.git("config", "user.name", name)
    repo.git("config", "user.email", "dev@example.com")
    repo.write("u.txt", b"untracked\n")
    before = repo.fingerprint()
    script = "echo x > README && rm u.txt && echo n > new.txt; exit 1"
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert repo.fingerprint() == before
    pre = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"]
    author = repo.git("log", "-1", "--format=%an", pre).strip()
    assert author == ("git-atomic" if git_refuses(repo, name) else name)


@pytest.mark.parametrize("name", ["<>", "   "])
def test_commits_mode_refuses_a_name_git_refuses_before_anything_changes(
    repo: GitRepo, name: str
) -> None:
    """Commits mode needs your identity on the branch: one git refuses is an exit-2 refusal
    in one line naming `user.name`, before the command runs; nothing changed."""
    repo.env = without_identity_env(repo)
    repo.git("config", "user.name", name)
    repo.git("config", "user.email", "dev@example.com")
    before = repo.fingerprint()
    res = repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo x > ran.txt")
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.splitlines()) == 1 and "user.name" in res.stderr, res.stderr
    assert ".log" not in res.stderr and not repo.exists("ran.txt")
    assert repo.fingerprint() == before


def test_an_agent_turn_is_taken_back_under_a_name_git_refuses(repo: GitRepo) -> None:
    """A Claude Code turn (shadow mode) whose gate fails is taken back at Stop: its hook calls
    checkpoint with git-atomic's identity, never an error the agent reads as a pass."""
    repo.env = without_identity_env(repo)
    repo.git("config", "user.name", "<>")
    repo.git("config", "user.email", "dev@example.com")
    repo.write(
        ".git-atomic.toml", b'history = "shadow"\n[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'
    )
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="x")
    call = {"tool_use_id": "b1", "tool_name": "Bash", "tool_input": {"command": "touch bad n"}}
    claude_hook(repo, "s1", "PreToolUse", **call)
    subprocess.run(["touch", "bad", "n"], cwd=repo.path, check=True)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("bad") and not repo.exists("n")


@pytest.mark.parametrize("variable", ["GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"])
def test_a_date_git_cannot_read_never_stops_a_checkpoint(repo: GitRepo, variable: str) -> None:
    """The same family: a date in the environment git cannot read (`GIT_AUTHOR_DATE=soon`,
    left by a script) failed every checkpoint ("invalid date format"). A shadow-mode run
    that fails is rolled back exactly, its checkpoints dated now; commits mode refuses in one
    line naming the variable (exit 2) before the command runs."""
    repo.write("u.txt", b"untracked\n")
    before = repo.fingerprint()
    env = {variable: "soon"}
    script = "echo x > README && rm u.txt; exit 1"
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, env=env)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert repo.fingerprint() == before
    res = repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo x > r", env=env)
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.splitlines()) == 1 and variable in res.stderr, res.stderr
    assert repo.fingerprint() == before and not repo.exists("r")


def test_a_commit_git_could_not_sign_is_the_reason_said(repo: GitRepo, tmp_path: Path) -> None:
    """Aider-AI/aider#1600: with `commit.gpgSign` set and no key to sign with, every commit
    failed ("gpg failed to sign the data"), and the tool's word for it was git's error. A
    commits-mode run whose commit cannot be signed is rolled back (exit 1), nothing committed,
    and each line that says why (the run's summary, `log`, `show`) says the signing failed,
    never that the command "left a state no checkpoint can hold"."""
    signer = tmp_path / "gpg"
    signer.write_text("#!/bin/sh\necho 'gpg: signing failed: No secret key' >&2\nexit 2\n")
    signer.chmod(0o755)
    repo.git("config", "commit.gpgSign", "true")
    repo.git("config", "gpg.program", str(signer))
    head = repo.head()
    res = repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo x > README")
    assert res.returncode == 1, res.stderr
    assert repo.head() == head and repo.read("README") == b"hello\n"
    op = repo.atomic_json("log")["operations"][0]["op_id"]
    for said in (res.stderr, repo.atomic("log", check=0).stdout, repo.atomic("show", op).stdout):
        assert "no checkpoint can hold" not in said and "sign" in said, said
