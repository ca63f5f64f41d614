"""t0020-crlf, t0027-auto-crlf, t1300-config (stop 56's adversary): `core.autocrlf` written
the ways git reads a boolean (`on`, `2`, a bare `autocrlf` line with no value) or `input` in
capitals. A file committed with CRLF on disk and left alone is stored LF (git's `add` converts
it), so the stat cache's blob is not the bytes on disk. The capture took those spellings for
"off" and, once the file's times were past git's racy second, held the stat cache's LF blob
as the file: a failed run, an abort, a recover after kill -9 and a `rollback --op` wrote
`a\\nb\\n` back where the disk had `a\\r\\nb\\r\\n`.

Read from the disk: the file's bytes, and `git status` as before (the index's stat data is of
the bytes written). One repository per spelling, made before a single wait past the racy
second (a file changed within it is read again, whatever the setting)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.takeback import take_back

# Each read as "off" before (`true`, `yes`, `input` were read right).
SPELLINGS = ["on", "2", "bare-key", "INPUT"]
CRLF = b"a\r\nb\r\n"


def _set_up(repo: GitRepo, spelling: str) -> None:
    if spelling == "bare-key":  # `[core] autocrlf` with no `=`: git reads it as true
        with open(repo.path / ".git" / "config", "a") as fh:
            fh.write("[core]\n\tautocrlf\n")
    else:
        repo.git("config", "core.autocrlf", spelling)
    repo.write("crlf.txt", CRLF)
    repo.write("other.txt", b"o\r\n")
    repo.git("add", "crlf.txt", "other.txt")
    repo.git("commit", "-qm", "crlf files")
    assert repo.git("cat-file", "blob", "HEAD:crlf.txt") == "a\nb\n"  # git converted it
    repo.write("untracked.txt", b"u\r\n")


def _status(repo: GitRepo) -> list[str]:
    """`git status`, but for README (`rollback --op` writes one of yours after the run)."""
    return [line for line in repo.git("status", "--porcelain").splitlines() if "README" not in line]


@pytest.mark.parametrize("how", ["failed run", "recover after kill -9", "rollback --op"])
def test_crlf_files_come_back_crlf_whatever_the_spelling(tmp_path: Path, how: str) -> None:
    repos = {}
    for spelling in SPELLINGS:
        repos[spelling] = GitRepo.create(tmp_path / spelling, tmp_path / "home")
        _set_up(repos[spelling], spelling)
    time.sleep(1.1)  # the files' times past the racy second: their stat data is trusted
    wrong = []
    for spelling, repo in repos.items():
        status = _status(repo)  # git refreshes its stat cache, as a user's `git status` does
        take_back(repo, "printf 'op\\n' > crlf.txt; rm other.txt untracked.txt", how, ())
        got = (repo.read("crlf.txt"), repo.read("other.txt"), repo.read("untracked.txt"))
        if got != (CRLF, b"o\r\n", b"u\r\n") or _status(repo) != status:
            wrong.append(f"{spelling}: {got!r} {_status(repo)} (was {status})")
    assert not wrong, "\n".join(wrong)
