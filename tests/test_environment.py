"""git's environment variables that say where a repository's parts are. git passes them on to
`git atomic` (a hook, `git --git-dir=...`, a script); each is honoured, or refused before
anything changes with one line naming it (exit 2), never silently dropped for our own calls
while the user's command follows it (docs/design.md, "Repository layouts")."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, State


def same(a: State, b: State) -> None:
    assert a == b, "\n".join(a.diff(b))


def elsewhere(repo: GitRepo, tmp_path: Path) -> dict[str, str]:
    """Each refused variable, pointing where git would not look by itself."""
    other_index = tmp_path / "other-index"
    repo.git("read-tree", "HEAD", env={"GIT_INDEX_FILE": str(other_index)})
    other_objects = tmp_path / "other-objects"
    shutil.copytree(repo.path / ".git" / "objects", other_objects)
    other_common = tmp_path / "other-common"
    shutil.copytree(repo.path / ".git", other_common)
    return {
        "GIT_INDEX_FILE": str(other_index),
        "GIT_OBJECT_DIRECTORY": str(other_objects),
        "GIT_COMMON_DIR": str(other_common),
        "GIT_NAMESPACE": "team",
    }


@pytest.mark.parametrize(
    "name", ["GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_NAMESPACE"]
)
def test_a_variable_that_points_elsewhere_is_refused(
    repo: GitRepo, tmp_path: Path, name: str
) -> None:
    value = elsewhere(repo, tmp_path)[name]
    repo.write("README", b"my edit\n")
    before = repo.fingerprint()
    outside = {
        p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "repo" not in p.parts
    }
    for argv in (["run", "--", "sh", "-c", "echo x > x; exit 1"], ["rollback"], ["undo"]):
        res = repo.atomic(*argv, env={name: value}, check=2)
        assert res.stderr.count("\n") == 1 and name in res.stderr, res.stderr
        same(repo.fingerprint(), before)
    assert {p: p.read_bytes() for p in outside} == outside
    assert repo.git("for-each-ref", "refs/atomic/") == ""


def test_the_variables_naming_the_repositorys_own_parts_are_honoured(repo: GitRepo) -> None:
    """What a hook of `git commit` (without -a) or a script that spells the defaults out has."""
    own = {
        "GIT_INDEX_FILE": ".git/index",
        "GIT_OBJECT_DIRECTORY": str(repo.path / ".git" / "objects"),
        "GIT_COMMON_DIR": str(repo.path / ".git"),
    }
    repo.git("add", "README")
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", "echo x > x; exit 1", env=own, check=1
    )
    assert res["status"] == "rolled_back"
    same(repo.fingerprint(), before)


def test_alternate_object_directories_are_honoured(repo: GitRepo, tmp_path: Path) -> None:
    """A repository whose commits live in an object store it borrows through the variable:
    without it our git calls could not read HEAD."""
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.git("clone", "-q", "--shared", str(repo.path), str(clone.path))
    (clone.path / ".git" / "objects" / "info" / "alternates").unlink()
    env = {"GIT_ALTERNATE_OBJECT_DIRECTORIES": str(repo.path / ".git" / "objects")}
    clone.env = {**clone.env, **env}
    clone.write("README", b"edited\n")
    before = clone.fingerprint()
    clone.atomic("run", "--", "sh", "-c", "echo x > README && echo y > new; exit 1", check=1)
    same(clone.fingerprint(), before)
    clone.atomic("undo", check=0)
    assert clone.read("new") == b"y\n"


def test_ceiling_directories_are_honoured_for_finding_the_repository(repo: GitRepo) -> None:
    """git does not look above a ceiling: neither do we (we found the repository above it)."""
    (repo.path / "sub").mkdir()
    before = repo.fingerprint()
    env = {"GIT_CEILING_DIRECTORIES": str(repo.path)}
    res = repo.atomic(
        "run", "--", "sh", "-c", "echo x > x", env=env, cwd=repo.path / "sub", check=3
    )
    assert "not a git repository" in res.stderr
    same(repo.fingerprint(), before)
    assert not os.path.lexists(repo.path / "sub" / "x")


@pytest.mark.skipif(os.geteuid() != 0, reason="makes a folder another user's (root only)")
def test_a_repository_git_will_not_use_is_refused_with_gits_reason(repo: GitRepo) -> None:
    """t0033-safe-directory: a worktree another user owns. git's refusal is three lines (the
    reason, how to make an exception, the command); we showed its last one alone, a command
    with no word of why: `cannot use this folder as a git worktree: <TAB>git config --global
    --add safe.directory ...`. The reason comes first, the command as the hint."""
    before = repo.fingerprint()
    os.chown(repo.path, 4321, 4321)
    try:
        res = repo.atomic("run", "--", "sh", "-c", "echo x > x", check=3)
    finally:
        os.chown(repo.path, 0, 0)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "detected dubious ownership" in lines[0], res.stderr
    assert "git config --global --add safe.directory" in lines[0], res.stderr
    assert "\t" not in lines[0]
    same(repo.fingerprint(), before)
    assert not os.path.lexists(repo.path / "x")
