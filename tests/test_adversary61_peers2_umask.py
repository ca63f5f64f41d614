"""Peers' reports on the permission bits a restore wrote, played against git-atomic: a
checkpoint copy that brought a 0600 secret back world-readable (Growth-Circle/cadis#2916), a
restore that stripped executable bits so an unchanged checkout looked changed
(MoonLadderStudios/MoonMind#4086), a backup whose mode the umask cut (agentic-os-org/ANOLISA
#1958), setgid bits a restore lost (gilbertchen/duplicacy#417). An operation deletes your
0600 key, your 0640 group file, a tracked executable and a setgid folder with a file in it;
`rollback --op` run under a umask that takes every bit from the group and others (077), or
none (000), gives each of yours back with the bits it had (a checkpoint keeps them beside
the tree), and undo deletes them again. The tracked script, whose bits were git's own 0755,
is written as git writes it, under the umask of the process (a limit, docs/limits.md). The
oracle: the disk by lstat, modes included."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from testing.gitrepo import GitRepo
from testing.oracle import disk


def _under_umask(repo: GitRepo, mask: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = f'umask {mask} && exec "$0" -m git_atomic "$@"'
    return subprocess.run(
        ["sh", "-c", script, sys.executable, *args],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("mask", ["077", "000"])
def test_a_take_back_under_any_umask_gives_the_bits_back(repo: GitRepo, mask: str) -> None:
    repo.write("run.sh", b"#!/bin/sh\n", mode=0o755)
    repo.git("add", "run.sh")
    repo.git("commit", "-qm", "script")
    repo.write("key.pem", b"secret\n", mode=0o600)
    repo.write("group.cfg", b"g\n", mode=0o640)
    repo.write("shared/f.txt", b"f\n", mode=0o664)
    os.chmod(repo.path / "shared", 0o2775)
    before = disk(repo.path, modes=True)
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c",
        "rm -r key.pem group.cfg run.sh shared",
    )  # fmt: skip
    after = disk(repo.path, modes=True)
    back = _under_umask(repo, mask, "rollback", "--op", out["op_id"])
    assert back.returncode == 0, back
    now = disk(repo.path, modes=True)
    # A tracked file whose bits were git's own (0755) is written as git writes one: 0777 less
    # the umask of the take-back's process (docs/limits.md "Permission bits git's own").
    assert now.pop(b"run.sh") == ("file", b"#!/bin/sh\n", 0o777 & ~int(mask, 8))
    before.pop(b"run.sh")
    assert now == before
    again = _under_umask(repo, mask, "undo")
    assert again.returncode == 0, again
    now = disk(repo.path, modes=True)
    assert now == after
