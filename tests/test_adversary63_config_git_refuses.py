"""git's configuration git itself refuses to read, found before anything starts: a bad boolean
(`core.bare = bogus`), a bad number, a line git cannot parse, in the repository's config, in
~/.gitconfig or given by the environment (GIT_CONFIG_COUNT/KEY_n/VALUE_n). Every command said
"cannot use this folder as a git worktree: bad boolean config value ...", exit 3 (refused: an
unsafe or busy repository state). The folder is fine; its configuration is not: a configuration
error, exit 2 (the SPEC's "a malformed config": one line, nothing changed), git's own reason
kept. The oracle: the exit code, the one line, the disk (every file's bytes, lstat'ed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def _disk(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every path under `root` (the worktree and its .git): its mode and bytes (a link's
    target), never through a link."""
    seen: dict[str, tuple[int, bytes]] = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in dirs + names:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if os.path.islink(path):
                seen[path] = (st.st_mode, os.readlink(path).encode())
            elif os.path.isfile(path):
                seen[path] = (st.st_mode, Path(path).read_bytes())
            else:
                seen[path] = (st.st_mode, b"")
    return seen


BROKEN = {
    "bad boolean in .git/config": ("repo", "[core]\n\tbare = bogus\n", "core.bare"),
    "bad number in .git/config": ("repo", "[core]\n\tbigFileThreshold = lots\n", "lots"),
    "bad line in .git/config": ("repo", "[core\n", "bad config line"),
    "bad line in ~/.gitconfig": ("home", "[user\n", "bad config line"),
    "bad boolean from the environment": ("env", "core.autocrlf", "core.autocrlf"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_configuration_git_refuses_is_a_configuration_error(
    repo: GitRepo, tmp_path: Path, case: str
) -> None:
    where, text, named = BROKEN[case]
    repo.write("README", b"yours\n")
    repo.write("wip", b"untracked\n")
    env: dict[str, str] = {}
    if where == "repo":
        with open(repo.path / ".git" / "config", "a") as fh:
            fh.write(text)
    elif where == "home":
        (Path(repo.env["HOME"]) / ".gitconfig").write_text(text)
    else:
        env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": text, "GIT_CONFIG_VALUE_0": "bogus"}
    before = _disk(repo.path)
    for argv in (
        ["run", "--", "sh", "-c", "echo x > made"],
        ["run", "--history", "shadow", "--", "sh", "-c", "echo x > made"],
        ["begin", "b"],
        ["rollback"],
        ["undo"],
        ["status"],
        ["log"],
    ):
        res = repo.atomic(*argv, env=env)
        assert res.returncode == 2, (argv, res.returncode, res.stderr)
        lines = res.stderr.splitlines()
        assert len(lines) == 1 and named in lines[0], (argv, res.stderr)
        assert "configuration" in lines[0] and "worktree" not in lines[0], lines
        assert "Traceback" not in res.stderr
        assert _disk(repo.path) == before, argv
