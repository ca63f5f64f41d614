"""Commits mode started from a hook of `git commit` (`pre-commit`, `prepare-commit-msg`,
`commit-msg`) or of `git merge` (`pre-merge-commit`): a plain `git commit` holds no lock while
its hooks run, so the inner `git atomic run --history commits` committed OP-EXEC on the branch,
and git's own commit then failed (`cannot lock ref 'HEAD': is at ... but expected ...`, exit
128), its message left in COMMIT_EDITMSG. Now refused in one line before anything runs (exit 3:
busy, a git command of this worktree is half way), naming that git; git's commit lands; shadow
mode still runs there. The oracle: exit codes, the hook's one line, the disk and the branch."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

HOOKS = ["pre-commit", "prepare-commit-msg", "commit-msg", "pre-merge-commit"]


def _hook(repo: GitRepo, name: str, history: str, out: Path) -> None:
    """A hook that runs `git-atomic run --history HISTORY` and notes its exit code and stderr."""
    inner = f"{shlex.quote(sys.executable)} -m git_atomic run --history {history} -- "
    inner += "sh -c 'echo x > made'"
    hook = repo.path / ".git" / "hooks" / name
    hook.write_text(
        f"#!/bin/sh\n{inner} 2>{shlex.quote(str(out))}.err\n"
        f"echo $? > {shlex.quote(str(out))}.rc\nexit 0\n"
    )
    hook.chmod(0o755)


def _outer(repo: GitRepo, hook: str) -> tuple[int, str]:
    """The git command that runs `hook`: a plain `git commit` of what is staged, or `git merge
    --no-ff` of a side branch (pre-merge-commit)."""
    if hook == "pre-merge-commit":
        repo.git("checkout", "-q", "-b", "side")
        repo.write("side", b"side\n")
        repo.git("add", "side")
        repo.git("commit", "-q", "-m", "side")
        repo.git("checkout", "-q", "main")
        argv = ["merge", "-q", "--no-ff", "-m", "outer", "side"]
    else:
        repo.write("staged", b"staged\n")
        repo.git("add", "staged")
        argv = ["commit", "-q", "-m", "outer"]
    res = subprocess.run(
        ["git", *argv], cwd=repo.path, env=repo.env, capture_output=True, text=True, check=False
    )
    return res.returncode, res.stderr


@pytest.mark.parametrize("hook", HOOKS)
def test_commits_mode_in_a_commit_hook_is_refused_and_git_commits(
    repo: GitRepo, tmp_path: Path, hook: str
) -> None:
    repo.write("wip", b"untracked, yours\n")
    out = tmp_path / "inner"
    _hook(repo, hook, "commits", out)
    head = repo.head()
    rc, err = _outer(repo, hook)
    assert rc == 0, err  # git's own commit lands
    inner_rc = int(Path(f"{out}.rc").read_text())
    said = Path(f"{out}.err").read_text()
    assert inner_rc == 3, said
    assert said.count("\n") == 1 and "git-atomic:" in said and "--history shadow" in said, said
    assert ("`git merge`" if hook == "pre-merge-commit" else "`git commit`") in said, said
    assert repo.git("log", "-1", "--format=%s") == "outer\n"
    assert repo.git("rev-parse", "HEAD~1") == head + "\n" or hook == "pre-merge-commit"
    assert not repo.exists("made")  # the command never ran
    assert repo.read("wip") == b"untracked, yours\n"
    assert repo.git("status", "--porcelain") == "?? wip\n"
    assert "OP-EXEC" not in repo.git("log", "--format=%s")


def test_shadow_mode_in_a_commit_hook_runs(repo: GitRepo, tmp_path: Path) -> None:
    out = tmp_path / "inner"
    _hook(repo, "pre-commit", "shadow", out)
    rc, err = _outer(repo, "pre-commit")
    assert rc == 0, err
    assert int(Path(f"{out}.rc").read_text()) == 0, Path(f"{out}.err").read_text()
    assert repo.read("made") == b"x\n"
    assert repo.git("log", "-1", "--format=%s") == "outer\n"


def test_commits_mode_outside_any_git_command_still_commits(repo: GitRepo) -> None:
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo x > made", check=0)
    assert repo.git("log", "-1", "--format=%s").startswith("OP-EXEC")


def test_commits_mode_in_a_post_commit_hook_still_commits(repo: GitRepo, tmp_path: Path) -> None:
    """Once git's commit is made (`post-commit`), a commit of ours after it fails nothing: it
    runs there, as it always did."""
    out = tmp_path / "inner"
    _hook(repo, "post-commit", "commits", out)
    rc, err = _outer(repo, "post-commit")
    assert rc == 0, err
    assert int(Path(f"{out}.rc").read_text()) == 0, Path(f"{out}.err").read_text()
    assert repo.git("log", "-2", "--format=%s").splitlines()[1] == "outer"
    assert repo.git("log", "-1", "--format=%s").startswith("OP-EXEC")
    assert repo.read("made") == b"x\n"
