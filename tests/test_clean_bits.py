"""A tracked file clean by your index whose bits a tree cannot keep (committed 100644, 0600 on
disk: `chmod 600 key` leaves git's view clean) comes back with them when the operation deleted
or replaced it, though no capture lstats a clean file (scanbits.py: the scan's record, brought
up to date for the files whose ctime says they changed).

Compared against the disk (lstat), for each kind of change and each way an effect is taken back.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo
from testing.takeback import take_back

# Each test on a whole scan index and on a split one (conftest.py).
pytestmark = pytest.mark.usefixtures("scan_index_kind")

# name -> bits on disk; each committed as git makes it (100644, or 100755 where executable)
CLEAN = {
    "key": 0o600,
    "team.cfg": 0o640,
    "run.sh": 0o700,
    "frozen.txt": 0o444,
    "gid.sh": 0o2755,
    "sticky.txt": 0o1644,
}

# What the operation does to each of them.
CHANGES = {
    "delete": "rm -f {n}",
    "overwrite": "chmod u+w {n}; echo new > {n}",
    "replace by a rename": "echo new > n.tmp; mv -f n.tmp {n}",
    "replace by a link": "rm -f {n}; ln -s README {n}",
    "replace by a folder": "rm -f {n}; mkdir {n}; echo x > {n}/x",
}


def _bits(repo: GitRepo, name: str) -> int:
    return stat.S_IMODE(os.lstat(repo.path / name).st_mode)


def _setup(repo: GitRepo, *, chmod_later: bool) -> None:
    for name, bits in CLEAN.items():
        repo.write(name, f"{name} as committed\n".encode(), mode=0o755 if bits & 0o100 else 0o644)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    if chmod_later:
        # A first operation's scans keep their record before the bits change: the next one's
        # scan must find the change by the files' ctime alone.
        repo.atomic("run", "--no-gates", "--", "true", check=0)
    for name, bits in CLEAN.items():
        os.chmod(repo.path / name, bits)
    assert repo.git("status", "--porcelain") == "", "the files must be clean to git"


def _script(change: str) -> str:
    return "; ".join(CHANGES[change].format(n=name) for name in CLEAN)


def _back(repo: GitRepo) -> None:
    for name, bits in CLEAN.items():
        assert repo.read(name) == f"{name} as committed\n".encode(), name
        assert _bits(repo, name) == bits, f"{name}: {oct(_bits(repo, name))} != {oct(bits)}"


@pytest.mark.parametrize("chmod_later", [False, True], ids=["bits before", "bits between"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_clean_files_bits_come_back_after_a_failed_run(
    repo: GitRepo, change: str, chmod_later: bool
) -> None:
    _setup(repo, chmod_later=chmod_later)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", _script(change) + "; exit 1", check=1)
    _back(repo)


@pytest.mark.parametrize(
    "how", ["abort", "rollback", "rollback --op", "undo of undo", "recover after kill -9"]
)
def test_a_clean_files_bits_come_back_every_way_it_is_taken_back(repo: GitRepo, how: str) -> None:
    _setup(repo, chmod_later=True)
    take_back(repo, _script("delete"), how, CLEAN)
    _back(repo)


def test_a_clean_files_bits_come_back_at_an_agent_turns_stop(repo: GitRepo) -> None:
    _setup(repo, chmod_later=True)
    gate = "test -e key"
    repo.write(".git-atomic.toml", f'[[gates]]\nname = "g"\nrun = {json.dumps(gate)}\n'.encode())
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    call = {"tool_name": "Bash", "tool_input": {"command": _script("delete")}, "tool_use_id": "t1"}
    assert claude_hook(repo, "s1", "PreToolUse", **call).stdout == ""
    subprocess.run(["sh", "-c", _script("delete")], cwd=repo.path, env=repo.env, check=True)
    after = claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    assert after.stdout == ""
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    _back(repo)


def test_bits_you_opened_since_the_last_capture_are_not_closed_again(repo: GitRepo) -> None:
    """The record follows your chmod both ways: a key you opened (`chmod 644`) after a capture
    saw it 0600 comes back 0644, as it was when the operation began."""
    _setup(repo, chmod_later=False)
    repo.atomic("run", "--no-gates", "--", "true", check=0)
    os.chmod(repo.path / "key", 0o644)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "rm key; exit 1", check=1)
    assert _bits(repo, "key") == 0o644


@pytest.mark.parametrize("mask", [0o077, 0o022])
def test_files_checked_out_under_a_umask_come_back_as_they_were(repo: GitRepo, mask: int) -> None:
    """Under `umask 077` git checks every file out 0600; a rollback under `umask 022` makes
    them again 0600, not 0644."""
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a")
    subprocess.run(
        ["sh", "-c", f"umask {mask:03o}; rm a.txt README; git checkout -- a.txt README"],
        cwd=repo.path,
        env=repo.env,
        check=True,
    )
    expected = 0o666 & ~mask
    assert _bits(repo, "a.txt") == expected
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "rm a.txt README; exit 1", check=1)
    assert _bits(repo, "a.txt") == expected
    assert _bits(repo, "README") == expected


@pytest.mark.parametrize("shape", ["", "killed", "index v4", "sha256"])
def test_a_folder_renamed_in_brings_its_files_bits(tmp_path: Path, shape: str) -> None:
    """A folder renamed over another keeps its files' ctimes: its `key`, 0600 with the bytes
    git has, is another inode at that path, older than the record, and git takes its stat data
    without a change to report. Its bits are looked at all the same (scanbits.py): in an index
    of version 4 and of SHA-256 ids too, and after a capture killed between its scan index kept
    and its bits record written."""
    sha = "sha256" if shape == "sha256" else "sha1"
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", object_format=sha)
    if shape == "index v4":
        repo.git("config", "index.version", "4")
    for name in ("conf/a", "conf/key", "conf/z", "other/b"):
        repo.write(name, b"secret\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "key")
    repo.write("alt/key", b"secret\n", mode=0o600)
    for name in ("a", "z"):  # the same bytes, other inodes, git's bits
        repo.write("alt/" + name, b"secret\n")
    repo.write(".git/info/exclude", b"alt/\nold/\n")
    time.sleep(1.1)  # older than a second: kept by the record
    repo.atomic("run", "--no-gates", "--", "true")
    repo.atomic("run", "--no-gates", "--", "true")
    os.rename(repo.path / "conf", repo.path / "old")
    os.rename(repo.path / "alt", repo.path / "conf")
    repo.write("new.txt", b"a file more\n")  # the entries no longer at the same offsets
    assert repo.git("status", "--porcelain") == "?? new.txt\n", "git sees no other change"
    if shape == "killed":
        kill = {"GIT_ATOMIC_FAILPOINT": "scanbits:aside", "GIT_ATOMIC_HELPER": "0"}
        repo.atomic("run", "--no-gates", "--", "true", env=kill, check=-9)
        repo.atomic("recover", check=0)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "rm conf/key; exit 1", check=1)
    assert repo.read("conf/key") == b"secret\n"
    assert _bits(repo, "conf/key") == 0o600
