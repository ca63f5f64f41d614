"""git's configuration given by the caller's environment: `git -c KEY=VALUE atomic ...` (git
passes it on as GIT_CONFIG_PARAMETERS) and GIT_CONFIG_COUNT/GIT_CONFIG_KEY_n/VALUE_n (a CI
job's, a wrapper's). One git cannot parse (a count with no key, a bogus count, a bogus
format) was said "cannot use this folder as a git worktree: unable to parse command-line
config", exit 3: the folder was fine, the environment was not, and git's reason (its
`error:` line) was dropped. It is a configuration error (exit 2), one line naming the
variables and git's reason, nothing changed. The oracle: the exit code, the line, the disk."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, git_atomic_on_path

BROKEN = {
    "count without its key": (
        {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "core.x", "GIT_CONFIG_VALUE_0": "1"},
        "GIT_CONFIG_KEY_1",
    ),
    "bogus count": ({"GIT_CONFIG_COUNT": "abc"}, "GIT_CONFIG_COUNT"),
    "bogus -c format": ({"GIT_CONFIG_PARAMETERS": "'core.x"}, "GIT_CONFIG_PARAMETERS"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_configuration_the_environment_gives_that_git_cannot_parse(
    repo: GitRepo, case: str
) -> None:
    env, named = BROKEN[case]
    repo.write("README", b"yours\n")
    before = repo.fingerprint()
    for argv in (["run", "--", "sh", "-c", "echo x > x; exit 1"], ["rollback"], ["undo"]):
        res = repo.atomic(*argv, env=env, check=2)
        assert res.stderr.count("\n") == 1 and named in res.stderr, res.stderr
        assert "worktree" not in res.stderr, res.stderr
        assert repo.fingerprint() == before


def test_git_dash_c_holds_for_the_whole_operation(repo: GitRepo, tmp_path: Path) -> None:
    """`git -c core.autocrlf=true atomic run` (and a KEY_n pair): your command's `git add`
    stores LF blobs, our capture and restore keep the bytes on disk; the failed run comes back
    byte for byte, its commit gone; the kept one's `rollback --op` without the setting too."""
    env = git_atomic_on_path(tmp_path / "bin", repo.env)
    repo.write("crlf", b"a\r\nb\n")
    repo.write("README", b"yours\r\n")
    before = repo.fingerprint()
    op = "printf 'n\\r\\n' > new; printf 'q\\r\\n' >> crlf; git add -A; git commit -qm c"
    pairs = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.safecrlf"}
    for how in (["-c", "core.autocrlf=true"], []):
        extra = {} if how else {**pairs, "GIT_CONFIG_VALUE_0": "warn"}
        res = subprocess.run(
            ["git", *how, "atomic", "run", "--", "sh", "-c", op + "; exit 1"],
            cwd=repo.path, env={**env, **extra}, capture_output=True, text=True,
        )  # fmt: skip
        assert res.returncode == 1, res.stderr
        assert repo.fingerprint() == before
    res = subprocess.run(
        ["git", "-c", "core.autocrlf=true", "atomic", "run", "--json", "--", "sh", "-c", op],
        cwd=repo.path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert repo.git("log", "-1", "--format=%s") == "c\n"
    repo.atomic("rollback", "--op", json.loads(res.stdout)["op_id"], check=0)
    assert repo.fingerprint() == before
