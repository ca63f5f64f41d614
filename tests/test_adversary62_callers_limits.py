"""git-atomic started under a file size limit (`ulimit -f`, RLIMIT_FSIZE: a CI job's, a
sandbox's), as a full disk is met where no tiny file system can be mounted. A git of ours
that wrote past it was killed by SIGXFSZ, and the one line said "git add -A failed: exit
status -25"; sqlite, past it, said "disk I/O error: is the disk full, or read-only?" and the
hint was to free space on a disk with room to spare. Each now names the limit and how to lift
it, in one line, exit 3, the repository as it was. The oracle: the disk, before and after."""

from __future__ import annotations

import subprocess
import sys

from testing.gitrepo import GitRepo


def _limited(repo: GitRepo, blocks: int, *args: str) -> subprocess.CompletedProcess[str]:
    """git-atomic run under `ulimit -f blocks` (512-byte blocks, as sh counts them)."""
    script = f'ulimit -f {blocks} && exec "$0" -m git_atomic "$@"'
    return subprocess.run(
        ["sh", "-c", script, sys.executable, *args],
        cwd=repo.path,
        env={**repo.env, "GIT_ATOMIC_HELPER": "0"},  # the limit is this process's own
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_file_size_limit_is_named_not_taken_for_a_full_disk(repo: GitRepo) -> None:
    repo.write("big", bytes(range(256)) * 400)  # ~100 KB: past a 48 KB limit
    repo.git("add", "big")
    repo.git("commit", "-qm", "big")
    repo.write("README", b"yours\n")
    repo.write("new-big", bytes(range(256)) * 300)
    before = repo.fingerprint()
    for blocks in (96, 1):  # git's write past it (the capture); the journal's too
        res = _limited(repo, blocks, "run", "--", "sh", "-c", "echo x > x; exit 1")
        assert res.returncode == 3, res.stderr
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
        assert "file size limit" in res.stderr and "ulimit -f" in res.stderr, res.stderr
        assert "exit status -" not in res.stderr and "disk full" not in res.stderr, res.stderr
        assert repo.fingerprint() == before
