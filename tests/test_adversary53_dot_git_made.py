"""A `.git` an operation put into a folder of your files (stop 53's adversary).

`ln -s ../../other/.git src/.git`, a `gitdir:` file naming another repository's git dir,
`git init src`: git never lists a `.git`, and still lists `src/`'s files as this repository's
(the index holds them), so no checkpoint's files differ. Every rollback said "it had changed
nothing" (or "exactly its PRE-OP state") and left it: from then on every git command run in
`src/` (a `git clean -fd`, a `git checkout .`) works on the other repository, with your files
for its worktree. The checkpoints record such folders (`repositories`): the rollback of the
operation (a failed run, `abort`, `rollback --op`, an agent turn's take-back) names each one
the operation made, which stays, as every `.git` it leaves does (README: Submodules and
nested repositories).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testing.agents import failed_shell_turn
from testing.gitrepo import GitRepo
from testing.takeback import taken_back

KINDS = {
    "link": "ln -s ../../other/.git src/.git",
    "gitdir-file": "echo 'gitdir: ../../other/.git' > src/.git",
    "init": "git init -q src",
    "init-commit": "git init -q src; git -C src commit -q --allow-empty -m other",
}
SAID = "src: the operation made this folder a repository of its own"


def _repo(repo: GitRepo, tmp_path: Path) -> None:
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    assert other.path == repo.path.parent / "other"
    repo.write("src/a.py", b"a\n")
    repo.git("add", "src/a.py")
    repo.git("commit", "-qm", "src")


def _same(repo: GitRepo) -> None:
    assert repo.read("src/a.py") == b"a\n"
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op"])
def test_a_dot_git_the_operation_made_in_a_folder_of_files_is_named(
    repo: GitRepo, tmp_path: Path, kind: str, how: str
) -> None:
    _repo(repo, tmp_path)
    line = KINDS[kind]

    def dry_run_says_it(op_id: str) -> None:
        dry = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
        assert SAID in dry.stdout + dry.stderr, dry

    res = taken_back(repo, line, how, kept=dry_run_says_it)
    assert os.path.lexists(repo.path / "src" / ".git")  # it stays: another repository's
    _same(repo)
    assert SAID in res.stderr, res.stderr
    assert "changed nothing" not in res.stderr and "exactly its PRE-OP" not in res.stderr


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_dot_git_you_had_in_a_folder_of_files_is_not_named(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    """One there before the operation is not the operation's."""
    _repo(repo, tmp_path)
    subprocess.run(["sh", "-c", KINDS[kind]], cwd=repo.path, env=repo.env, check=True)
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo x > new; exit 1", check=1)
    assert "repository of its own" not in res.stderr, res.stderr


def test_a_turn_taken_back_names_the_dot_git_its_call_made(repo: GitRepo, tmp_path: Path) -> None:
    _repo(repo, tmp_path)
    answer = failed_shell_turn(repo, KINDS["link"])
    assert SAID in answer["systemMessage"], answer


@pytest.mark.parametrize("also", ["", "echo x > new/x; "], ids=["empty", "with-a-file"])
@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_a_repository_without_a_commit_the_operation_made_is_named(
    repo: GitRepo, how: str, also: str
) -> None:
    """`git init new` (and files in it): git cannot add a repository without a commit, so no
    checkpoint holds it, and the rollback said "it had changed nothing" while it stayed."""
    line = f"git init -q new; {also}true"
    res = taken_back(repo, line, how)
    assert os.path.isdir(repo.path / "new" / ".git")  # it stays: another repository's
    assert "new: the operation made this folder a repository of its own" in res.stderr, res.stderr
    assert "changed nothing" not in res.stderr and "exactly its PRE-OP" not in res.stderr


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_your_repository_without_a_commit_the_operation_removed_is_named(
    repo: GitRepo, how: str
) -> None:
    """`git init scratch` with notes in it, no commit yet: no checkpoint holds it, and an
    operation's `rm -rf scratch` was rolled back saying "it had changed nothing". It does not
    come back (nothing holds it), but it is named as gone."""
    mine = "git init -q scratch; echo n > scratch/notes"
    subprocess.run(["sh", "-c", mine], cwd=repo.path, env=repo.env, check=True)
    line = "rm -rf scratch"
    res = taken_back(repo, line, how)
    assert "scratch: a repository of its own was here when the operation began" in res.stderr
    assert "changed nothing" not in res.stderr and "exactly its PRE-OP" not in res.stderr
