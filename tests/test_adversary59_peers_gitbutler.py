"""Peers' reports on GitButler's workspace branch, played against git-atomic's commits mode:
an agent committed onto `gitbutler/workspace`, the branch GitButler manages (its
`pre-commit` hook refuses every commit there, and the app drops one made on it), and the
repair that followed broke the workspace (gitbutlerapp/gitbutler#15832). git-atomic runs no
hooks, so the hook's refusal never comes: a commit on that branch (or on the older
`gitbutler/integration`) is refused by git-atomic itself before anything changes, and an
agent turn in commits mode leaves its result uncommitted, saying why. The oracle is the
branch, the index and the disk."""

from __future__ import annotations

import json

import pytest

from testing.gitrepo import GitRepo
from testing.oracle import disk

GATE = b'[[gates]]\nname = "g"\nrun = "true"\n'
GUARD = (
    b"#!/bin/sh\n"
    b'echo "GITBUTLER_ERROR: Cannot commit directly to gitbutler/workspace branch." >&2\n'
    b"exit 1\n"
)


def on_the_workspace_branch(repo: GitRepo, branch: str) -> None:
    """HEAD on GitButler's branch, its guard hook installed, work in progress on it."""
    repo.git("checkout", "-q", "-b", branch)
    repo.git("commit", "-q", "--allow-empty", "-m", "GitButler Workspace Commit")
    (repo.path / ".git" / "hooks" / "pre-commit").write_bytes(GUARD)
    (repo.path / ".git" / "hooks" / "pre-commit").chmod(0o755)
    repo.write("README", b"hello\nwip of a lane\n")
    repo.write("lane.txt", b"untracked\n")


@pytest.mark.parametrize("branch", ["gitbutler/workspace", "gitbutler/integration"])
def test_commits_mode_refuses_gitbutlers_branch_before_anything_changes(
    repo: GitRepo, branch: str
) -> None:
    """`run`, `run --isolate` and `begin` in commits mode on GitButler's branch: exit 2 in
    one line naming the branch and `--history shadow`, the command never run, nothing
    changed. In shadow mode the same run is kept, the branch where it was."""
    on_the_workspace_branch(repo, branch)
    state, files = repo.fingerprint(), disk(repo.path, modes=True)
    for isolate in ((), ("--isolate",)):
        res = repo.atomic("run", *isolate, "--history", "commits", "--", "touch", "ran")
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.splitlines()) == 1, res.stderr
        assert branch in res.stderr and "--history shadow" in res.stderr, res.stderr
    res = repo.atomic("begin", "x", "--history", "commits")
    assert res.returncode == 2 and branch in res.stderr, res.stderr
    assert repo.fingerprint().diff(state) == [] and disk(repo.path, modes=True) == files
    head = repo.head()
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "touch", "ran", check=0)
    assert repo.head() == head and repo.exists("ran")


def test_a_turn_in_commits_mode_on_gitbutlers_branch_is_kept_uncommitted(repo: GitRepo) -> None:
    """A Claude Code turn, hooks installed in commits mode, on `gitbutler/workspace`: its
    gate passes and the turn is kept, but nothing is committed (the branch and the index stay
    where they were, the file on disk); its Stop says why, naming the branch."""
    on_the_workspace_branch(repo, "gitbutler/workspace")
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    head, index = repo.head(), (repo.path / ".git" / "index").read_bytes()
    where = {"session_id": "s1", "cwd": str(repo.path)}
    call = {"tool_name": "Bash", "tool_input": {"command": "touch made"}, "tool_use_id": "t1"}

    def hook(event: str, **payload: object) -> str:
        data = json.dumps({**where, "hook_event_name": event, **payload}).encode()
        res = repo.atomic("hook", "claude-code", event, "--history", "commits", input=data)
        assert res.returncode == 0, res.stderr
        return res.stdout

    hook("UserPromptSubmit", prompt="go")
    hook("PreToolUse", **call)
    repo.write("made", b"by the turn\n")
    hook("PostToolUse", **call, tool_response={"success": True})
    said = hook("Stop", stop_hook_active=False)
    assert repo.head() == head, repo.git("log", "--oneline", "-3")
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert repo.read("made") == b"by the turn\n"
    assert "gitbutler/workspace" in said and '"block"' not in said, said
