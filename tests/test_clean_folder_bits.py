"""A folder holding only clean tracked files, its permission bits set by you (a 0700 `secrets/`,
a 0750 one, a setgid team folder, a sticky drop box): no capture looked at it, for a capture
lstats only what differs from your index. The operation removed it, renamed it or put a file
in its place; made again by the take-back with `mkdir`, it came back with the umask's bits
(0755), its files readable by all. The walk of the folders (folderwalk.py) stats every folder
anyway: it keeps the bits, and the checkpoint holds those that are not what `mkdir` makes.

Compared against the disk (lstat), after every way an operation's effect is taken back."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo
from testing.takeback import take_back

# folder -> permission bits; each holds only clean tracked files
FOLDERS = {"mine": 0o700, "group": 0o750, "team": 0o2775, "drop": 0o1777, "pass": 0o711}
# what the operation does to each folder: its shell step
DONE = {
    "removed": "rm -rf {0}",
    "renamed": "mv {0} {0}.moved",
    "replaced by a file": "rm -rf {0}; echo file > {0}",
}
HOW = ["failed run", "abort", "recover after kill -9", "rollback", "rollback --op", "undo of undo"]


def _bits(repo: GitRepo, name: str) -> int:
    return stat.S_IMODE(os.lstat(repo.path / name).st_mode)


def _tracked_folders(repo: GitRepo) -> None:
    for name in FOLDERS:
        repo.write(f"{name}/deep/notes.txt", b"tracked, clean\n")
        repo.write(f"{name}/top.txt", b"tracked too\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "folders")
    for name, bits in FOLDERS.items():
        os.chmod(repo.path / name, bits)
        os.chmod(repo.path / name / "deep", 0o700)
    repo.atomic("run", "--no-gates", "--", "true", check=0)  # seen by a scan before


@pytest.mark.parametrize("done", list(DONE))
@pytest.mark.parametrize("how", HOW)
def test_a_folder_of_clean_files_made_again_gets_its_bits_back(
    repo: GitRepo, how: str, done: str
) -> None:
    _tracked_folders(repo)
    script = "; ".join(DONE[done].format(name) for name in FOLDERS)
    take_back(repo, script, how, FOLDERS if done != "replaced by a file" else ())
    for name, bits in FOLDERS.items():
        assert repo.read(f"{name}/deep/notes.txt") == b"tracked, clean\n", name
        assert not repo.exists(f"{name}.moved"), name
        got = _bits(repo, name)
        assert got == bits, f"{how}, {done}: {name}/ {oct(got)} != {oct(bits)}"
        assert _bits(repo, f"{name}/deep") == 0o700, f"{how}, {done}: {name}/deep/"


def test_a_folder_you_opened_since_stays_open_after_rollback_op(repo: GitRepo) -> None:
    """Known now, the bits of a folder of clean files are still only the operation's to take
    back: `rollback --op` of an operation that did not touch `mine/` leaves your later
    `chmod 755 mine` as it is."""
    _tracked_folders(repo)
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "rm", "README", check=0)
    op_id = repo.atomic_json("log")["operations"][0]["op_id"]
    os.chmod(repo.path / "mine", 0o755)
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("README") == b"hello\n"
    assert _bits(repo, "mine") == 0o755


def test_an_agent_turns_take_back_gives_the_folder_its_bits(repo: GitRepo) -> None:
    """The same by an agent turn's take-back at Stop (its gate failed): `rm -rf mine` of a
    call, the folder made again 0700, as it was."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    repo.git("add", ".git-atomic.toml")
    _tracked_folders(repo)
    for n, command in enumerate(["rm -rf " + " ".join(FOLDERS), "echo x > bad"], start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    for name, bits in FOLDERS.items():
        assert repo.read(f"{name}/deep/notes.txt") == b"tracked, clean\n", name
        assert _bits(repo, name) == bits, f"{name}/ {oct(_bits(repo, name))} != {oct(bits)}"


def test_a_0755_folder_under_umask_002_comes_back_0755(repo: GitRepo) -> None:
    """Under `umask 002` (a shared machine's default) `mkdir` makes 0775: a 0755 folder of
    clean files, left out as the usual bits, came back group-writable."""
    old = os.umask(0o002)
    try:
        repo.write("d/f.txt", b"tracked\n")
        repo.write("e/g.txt", b"tracked\n")
        repo.git("add", "-A")
        repo.git("commit", "-qm", "folders")
        os.chmod(repo.path / "d", 0o755)
        os.chmod(repo.path / "e", 0o775)
        repo.atomic("run", "--no-gates", "--", "true", check=0)
        repo.atomic("run", "--no-gates", "--", "sh", "-c", "rm -rf d e; exit 1", check=1)
    finally:
        os.umask(old)
    assert (_bits(repo, "d"), _bits(repo, "e")) == (0o755, 0o775)
