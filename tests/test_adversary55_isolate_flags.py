"""`run --isolate` and the index's entry flags (stop 55's adversary): the result that comes
home is what the command did, its flags too. The private worktree starts from PRE-OP's index,
flags and all; what the command changes of them (`git add -N` of a new file, `git
update-index --no-skip-worktree` or `--assume-unchanged`) comes home, and the flags you set
meanwhile stay. Before, the apply kept your flags only: an intent-to-add entry the command made
was missing (the file untracked), a skip-worktree flag it cleared was still set.

Compared with the same command run without `--isolate` in a twin repository, on the raw index
(entry flags, read independently of the product) and the disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, read_index

SETUP = (
    "echo a > a; echo s > s; echo k > k; git add a s k; git commit -qm files; "
    "git update-index --skip-worktree s; echo user-s > s; "
    "echo i > i; git add -N i"
)
COMMANDS = {
    "intent-to-add made": "echo n > n; git add -N n; echo more >> a",
    "intent-to-add staged": "echo more >> i; git add i",
    "skip-worktree cleared": "git update-index --no-skip-worktree s; echo op >> s; git add s",
    "assume-unchanged set": "git update-index --assume-unchanged k; echo op >> a",
    "skip-worktree set": "git update-index --skip-worktree a; echo op >> k",
}


def _state(repo: GitRepo) -> tuple[object, ...]:
    files = {}
    for name in sorted(os.listdir(repo.path)):
        if name != ".git":
            st = os.lstat(repo.path / name)
            files[name] = (oct(st.st_mode), repo.read(name))
    return read_index((repo.path / ".git" / "index").read_bytes()), files


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_commands_flag_changes_come_home(tmp_path: Path, command: str, history: str) -> None:
    plain = GitRepo.create(tmp_path / "plain", tmp_path / "home")
    isolated = GitRepo.create(tmp_path / "isolated", tmp_path / "home")
    for repo in (plain, isolated):
        subprocess.run(["sh", "-ec", SETUP], cwd=repo.path, env=repo.env, check=True)
    line = COMMANDS[command]
    plain.atomic("run", "--no-gates", "--history", history, "--", "sh", "-c", line, check=0)
    ran = isolated.atomic(
        "run", "--isolate", "--no-gates", "--history", history, "--", "sh", "-c", line, check=0
    )
    assert "applied to your worktree" in ran.stderr, ran.stderr
    assert _state(isolated) == _state(plain)
    isolated.atomic("undo", check=0)  # the apply taken back: your flags as they were
    fresh = GitRepo.create(tmp_path / "fresh", tmp_path / "home")
    subprocess.run(["sh", "-ec", SETUP], cwd=fresh.path, env=fresh.env, check=True)
    assert _state(isolated) == _state(fresh)


def test_your_flags_set_meanwhile_stay_beside_the_commands(repo: GitRepo, tmp_path: Path) -> None:
    subprocess.run(["sh", "-ec", SETUP], cwd=repo.path, env=repo.env, check=True)
    started = tmp_path / "started"
    go = tmp_path / "go"
    line = (
        f"touch {started}; while [ ! -e {go} ]; do sleep 0.05; done; "
        "git update-index --no-skip-worktree s; echo n > n; git add -N n"
    )
    run = ("run", "--isolate", "--no-gates", "--history", "shadow", "--", "sh", "-c", line)
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *run],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not started.exists():
        assert proc.poll() is None, proc.communicate()
    repo.git("update-index", "--assume-unchanged", "k")  # yours, meanwhile
    go.touch()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    flags = {e[0]: e[4] for e in read_index((repo.path / ".git" / "index").read_bytes())}
    assert flags == {
        b"README": "",
        b"a": "",
        b"i": "intent-to-add",
        b"k": "assume-unchanged",
        b"n": "intent-to-add",
        b"s": "",
    }
