"""`core.ignoreCase`: where git folds case in its ignore rules, `protect` (gitignore-like
patterns) folds it too. Git matches `.gitignore` lines case-insensitively then, never a
pathspec (`:(glob)**/.env` does not name `.ENV`): `protect = [".env"]` missed the `.ENV` a rule
`.env` ignored, no checkpoint held it, and an operation's `rm .ENV` was not taken back.

This filesystem tells names apart by case, and our git calls do not believe a `core.ignoreCase`
that says otherwise (gitconfig.py): the command runs in a fresh interpreter that takes the
filesystem for one that folds case, as on macOS or Windows, where the setting is git's own."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from testing.gitrepo import GitRepo

MODES = ("commits", "shadow")

_FOLDING = """
import sys
from git_atomic.engine import gitconfig
gitconfig._case_sensitive = lambda root, env: False
from git_atomic.cli.entry import console_main
sys.argv = ["git-atomic", *sys.argv[1:]]
raise SystemExit(console_main())
"""


def folding_atomic(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    """`git atomic ARGS` as on a filesystem that folds case (no warm helper: its children
    would not take it so)."""
    return subprocess.run(
        [sys.executable, "-c", _FOLDING, *args],
        cwd=repo.path,
        env={**repo.env, "GIT_ATOMIC_HELPER": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def held(repo: GitRepo, checkpoint: str) -> set[str]:
    out = repo.git("ls-tree", "-r", "--name-only", "--full-tree", f"{checkpoint}:files")
    return set(out.splitlines())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("icase", [True, False], ids=["ignorecase", "exact"])
def test_protect_folds_case_where_git_ignore_rules_do(
    repo: GitRepo, mode: str, icase: bool
) -> None:
    """A protected file whose name differs in case from the pattern, at the top, in a folder
    git looks into, inside a folder a rule ignores whole (the second listing), and below a
    folder the pattern names (`Secrets/`): held and brought back exactly where git folds case;
    where it does not, the rules do not ignore them (but the one in `build/`) and they are
    captured as untracked files."""
    repo.write(".gitignore", b".env\nbuild/\nsecrets/\n")
    repo.write(
        ".git-atomic.toml", b'protect = [".env", "secrets/", "/conf/*.KEY", "/build/*.KEY"]\n'
    )
    repo.git("add", ".gitignore", ".git-atomic.toml")
    repo.git("commit", "-qm", "rules")
    repo.git("config", "core.ignoreCase", "true" if icase else "false")
    files = {
        ".ENV": b"top\n",
        "app/.Env": b"app\n",
        "build/sub/.eNV": b"in an ignored folder\n",
        "Secrets/key": b"named folder\n",
        "conf/a.key": b"anchored\n",
        "build/b.key": b"anchored, in an ignored folder\n",
    }
    for path, data in files.items():
        repo.write(path, data, mode=0o600)
    repo.write("conf/.gitignore", b"*.key\n")
    script = "rm -rf .ENV app build Secrets conf/a.key; exit 1"
    res = folding_atomic(repo, "run", "--json", "--history", mode, "--", "sh", "-c", script)
    assert res.returncode == 1, res.stderr
    # Without folding, those in `build/` and `conf/a.key` are ignored and not protected.
    kept = {p for p in files if icase or p in (".ENV", "app/.Env", "Secrets/key")}
    assert held(repo, json.loads(res.stdout)["checkpoints"]["pre_op"]) >= kept
    for path, data in files.items():
        assert repo.exists(path) == (path in kept), path
        if path in kept:
            assert repo.read(path) == data, path
            assert stat.S_IMODE(os.lstat(repo.path / path).st_mode) == 0o600, path
    undone = folding_atomic(repo, "undo")
    assert undone.returncode == 0, undone.stderr
    assert not any(repo.exists(p) for p in files)


def test_a_tracked_file_protect_names_in_another_case_keeps_its_bits(repo: GitRepo) -> None:
    """In a worktree whose scan index is split (past about 40,000 files: here from the first),
    a clean tracked file's permission bits are kept only where `protect` names it: a committed
    0640 `lib/.ENV` that `.env` names where git folds case comes back 0640 after an
    operation's `chmod 666` (it stayed 0666)."""
    repo.write(".gitignore", b".env\n")
    repo.write(".git-atomic.toml", b'protect = [".env"]\n')
    repo.write("lib/.ENV", b"k\n", mode=0o640)
    repo.git("add", ".gitignore", ".git-atomic.toml")
    repo.git("add", "-f", "lib/.ENV")
    repo.git("commit", "-qm", "a key")
    repo.git("config", "core.ignoreCase", "true")
    repo.env["GIT_ATOMIC_SPLIT_SCAN_AT"] = "1"
    res = folding_atomic(repo, "run", "--", "sh", "-c", "chmod 666 lib/.ENV; exit 1")
    assert res.returncode == 1, res.stderr
    assert stat.S_IMODE(os.lstat(repo.path / "lib" / ".ENV").st_mode) == 0o640
