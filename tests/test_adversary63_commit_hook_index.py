"""git-atomic inside a hook of `git commit -a` (or `git commit <paths>`): git runs its
`pre-commit`, `prepare-commit-msg` and `commit-msg` hooks on a temporary index of its own
(`.git/index.lock`, `.git/next-index-*.lock`) named in GIT_INDEX_FILE, refused as another
index (exit 2). The line said "unset GIT_INDEX_FILE to use it": poor advice there (git's
commit is half way, and its hook would then act beside it). It now says what is going on, the
`git commit` whose temporary index that is, and where git-atomic does work; outside a hook the
line is as before. The oracle: exit codes, the hook's one line, the branch and the disk."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

HOOKS = ["pre-commit", "prepare-commit-msg", "commit-msg"]
OUTER = {
    "all": ["commit", "-q", "-a", "-m", "outer"],
    "paths": ["commit", "-q", "-m", "outer", "--", "tracked"],
}
INNER = {
    "status": "status",
    "shadow": "run --history shadow -- sh -c 'echo x > made'",
}


def _hook(repo: GitRepo, name: str, inner: str, out: Path) -> None:
    """A hook that runs `git-atomic INNER` and notes its exit code and stderr."""
    line = f"{shlex.quote(sys.executable)} -m git_atomic {inner}"
    hook = repo.path / ".git" / "hooks" / name
    hook.write_text(
        f"#!/bin/sh\n{line} >/dev/null 2>{shlex.quote(str(out))}.err\n"
        f"echo $? > {shlex.quote(str(out))}.rc\nexit 0\n"
    )
    hook.chmod(0o755)


@pytest.mark.parametrize("inner", sorted(INNER))
@pytest.mark.parametrize("outer", sorted(OUTER))
@pytest.mark.parametrize("hook", HOOKS)
def test_a_commit_hook_on_gits_temporary_index_is_told_what_is_going_on(
    repo: GitRepo, tmp_path: Path, hook: str, outer: str, inner: str
) -> None:
    repo.write("tracked", b"one\n")
    repo.git("add", "tracked")
    repo.git("commit", "-q", "-m", "base")
    repo.write("tracked", b"two\n")
    repo.write("wip", b"untracked, yours\n")
    out = tmp_path / "inner"
    _hook(repo, hook, INNER[inner], out)
    res = subprocess.run(
        ["git", *OUTER[outer]], cwd=repo.path, env=repo.env, capture_output=True, check=False
    )
    assert res.returncode == 0, res.stderr  # git's own commit lands
    said = Path(f"{out}.err").read_text()
    assert int(Path(f"{out}.rc").read_text()) == 2, said
    assert said.count("\n") == 1 and said.startswith("git-atomic: "), said
    assert "GIT_INDEX_FILE=" in said and "`git commit` (pid " in said, said
    assert "temporary index" in said and "outside" in said, said
    assert "unset GIT_INDEX_FILE" not in said, said
    assert "Traceback" not in said
    assert repo.git("log", "-1", "--format=%s") == "outer\n"
    assert repo.git("show", "HEAD:tracked") == "two\n"
    assert not os.path.lexists(repo.path / "made")  # nothing ran
    assert repo.read("wip") == b"untracked, yours\n"
    assert repo.git("status", "--porcelain") == "?? wip\n"


def test_another_index_outside_a_hook_is_said_as_before(repo: GitRepo, tmp_path: Path) -> None:
    other = tmp_path / "other-index"
    env = {**repo.env, "GIT_INDEX_FILE": str(other)}
    res = subprocess.run(
        [sys.executable, "-m", "git_atomic", "status"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    assert f"GIT_INDEX_FILE={other} names another index" in res.stderr
    assert "unset GIT_INDEX_FILE to use it" in res.stderr
    assert "git commit" not in res.stderr
    assert not other.exists()


def test_the_api_in_such_a_hook_says_its_own_words(repo: GitRepo, tmp_path: Path) -> None:
    """`git_atomic.api.operation` run by the hook: the same refusal (UsageError, nothing
    changed), its way to shadow mode in the API's words (`pass history="shadow"`)."""
    repo.write("tracked", b"one\n")
    repo.git("add", "tracked")
    repo.git("commit", "-q", "-m", "base")
    repo.write("tracked", b"two\n")
    out = tmp_path / "api"
    script = (
        "import sys\nfrom git_atomic import api\nfrom git_atomic.core.errors import UsageError\n"
        "try:\n    with api.operation('x'):\n        pass\n"
        "except UsageError as exc:\n    print(exc.message, exc.hint, sep='\\n')\n"
    )
    (tmp_path / "api.py").write_text(script)
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    line = f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'api.py'))}"
    hook.write_text(f"#!/bin/sh\n{line} > {shlex.quote(str(out))} 2>&1\nexit 0\n")
    hook.chmod(0o755)
    res = subprocess.run(
        ["git", "commit", "-q", "-a", "-m", "outer"], cwd=repo.path, env=repo.env, check=False
    )
    assert res.returncode == 0
    said = out.read_text()
    assert "`git commit` (pid " in said and 'pass history="shadow"' in said, said
    assert "--history" not in said and "Traceback" not in said, said
    assert repo.git("log", "-1", "--format=%s") == "outer\n"
