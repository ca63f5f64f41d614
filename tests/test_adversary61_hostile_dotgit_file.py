"""A worktree whose `.git` is a file (`--separate-git-dir`, a submodule), rewritten by the
operation to name no git dir (`gitdir: /nonexistent`): git finds no repository there, nor can
git-atomic. Its refusal says which file names what, and the way out (name the git dir
yourself), and that way rolls back exactly, the `.git` file with the rest."""

from __future__ import annotations

from pathlib import Path

from testing import oracle
from testing.gitrepo import GitRepo


def test_a_dot_git_file_naming_no_git_dir_is_named_with_the_way_out(tmp_path: Path) -> None:
    git_dir = tmp_path / "gd"
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", git_dir=git_dir)
    repo.write("src/a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a")
    start = oracle.walk(repo.path)
    dot_git = (repo.path / ".git").read_bytes()
    repo.atomic("begin", "w", "--history", "shadow", check=0)
    repo.write(".git", b"gitdir: /nonexistent/gd\n")  # the operation's
    repo.write("src/a.txt", b"edited\n")
    for command in ("abort", "recover"):
        res = repo.atomic(command, check=3, cwd=repo.path / "src")
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) <= 2
        assert "/nonexistent/gd" in res.stderr and "GIT_DIR=" in res.stderr, res.stderr
    assert repo.read("src/a.txt") == b"edited\n"  # nothing changed
    env = {"GIT_DIR": str(git_dir), "GIT_WORK_TREE": "."}
    repo.atomic("abort", check=0, env=env)
    assert oracle.walk(repo.path) == start
    assert (repo.path / ".git").read_bytes() == dot_git
