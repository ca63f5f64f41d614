"""A repository git refuses for its format (t1302-repo-version): an extension git does not
know (`core.repositoryformatversion 1` with `extensions.bogus`), one that wants format 1 under
format 0 (`extensions.objectFormat`), a format above 1. It stays exit 3 (SPEC: the repository's
state, like "not a repo": its keys are right for a newer git, not a configuration git cannot
parse, exit 2), but the line said "cannot use this folder as a git worktree: unknown repository
extension found: bogus": it now names the keys (`extensions.bogus`,
core.repositoryformatversion), what git does, and the way out. The oracle: exit code, one line,
the disk as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

FORMATS = {
    "unknown": (
        "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tbogus = true\n",
        ["this git does not know extensions.bogus, a repository extension", "version 1"],
    ),
    "unknowns": (
        "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tbogus = true\n\tOther = 1\n",
        ["does not know extensions.bogus, extensions.other, repository extensions"],
    ),
    "v1-only": (
        "[extensions]\n\tobjectFormat = sha256\n",
        ["turns on extensions.objectformat", "core.repositoryformatversion 1 (it is 0)"],
    ),
    "too-new": (
        "[core]\n\trepositoryformatversion = 2\n",
        ["core.repositoryformatversion is 2", "up to 1 only"],
    ),
}
COMMANDS = {"status": ["status"], "run": ["run", "--", "sh", "-c", "echo y > a"]}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("form", sorted(FORMATS))
def test_a_format_git_refuses_is_one_line_naming_the_keys(
    repo: GitRepo, form: str, command: str
) -> None:
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-q", "-m", "a")
    config = repo.path / ".git" / "config"
    config.write_bytes(config.read_bytes() + FORMATS[form][0].encode())
    git = subprocess.run(["git", "status"], cwd=repo.path, env=repo.env, capture_output=True)
    assert git.returncode != 0  # git refuses it too
    before = (repo.read("a"), repo.read(".git/index"), config.read_bytes())
    res = repo.atomic(*COMMANDS[command])
    assert res.returncode == 3, res.stderr
    ours = [x for x in res.stderr.splitlines() if x.startswith("git-atomic:")]
    assert len(ours) == 1 and res.stderr.count("\n") == 1, res.stderr
    for said in FORMATS[form][1]:
        assert said in ours[0], ours[0]
    assert "nothing was changed" in ours[0] and "cannot use this folder" not in ours[0]
    assert (repo.read("a"), repo.read(".git/index"), config.read_bytes()) == before
    assert not Path(repo.path / "made").exists()
