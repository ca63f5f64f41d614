"""t0020-crlf, t0021-conversion, t2204-add-ignored (stop 56's adversary): a file tracked in a
folder a rule ignores (`git add -f build/sub/keep.txt`), beside a `.gitattributes` there that
is ignored too and asks for a conversion (`eol=crlf`, a clean/smudge filter). git applies it:
the file's blob is the converted one, its bytes on disk are not. The capture's walk never
looks into an ignored folder, so it saw no conversion and, once the file's times were past
git's racy second, held the stat cache's blob as the file: a failed run, a recover after
kill -9 and a `rollback --op` wrote the converted bytes back (LF for CRLF, the filter's
output) and `git status` said the file was modified.

Read from the disk: the file's bytes, and `git status` as before. One repository per rule,
made before a single wait past the racy second (a file changed within it is read again)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.takeback import take_back

# rule: (its line in build/sub/.gitattributes, the file's bytes on disk)
RULES = {
    "eol=crlf": ("*.txt text eol=crlf\n", b"a\r\nb\r\n"),
    "filter": ("*.txt filter=rot\n", b"hello\n"),
}


def _set_up(repo: GitRepo, rule: str) -> None:
    line, data = RULES[rule]
    repo.git("config", "filter.rot.clean", "tr a-z n-za-m")
    repo.git("config", "filter.rot.smudge", "tr a-z n-za-m")
    repo.write(".gitignore", b"build/\n")
    repo.write("build/sub/.gitattributes", line.encode())
    repo.write("build/sub/keep.txt", data)
    repo.write("build/sub/gone.txt", data)
    repo.git("add", "-f", "build/sub/keep.txt", "build/sub/gone.txt")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "a file kept in an ignored folder")
    assert repo.git("cat-file", "blob", "HEAD:build/sub/keep.txt").encode() != data


def _status(repo: GitRepo) -> list[str]:
    """`git status`, but for README (`rollback --op` writes one of yours after the run)."""
    return [line for line in repo.git("status", "--porcelain").splitlines() if "README" not in line]


@pytest.mark.parametrize("how", ["failed run", "recover after kill -9", "rollback --op"])
def test_a_tracked_file_in_an_ignored_folder_comes_back_as_it_was(tmp_path: Path, how: str) -> None:
    repos = {}
    for rule in RULES:
        repos[rule] = GitRepo.create(tmp_path / rule.replace("=", "-"), tmp_path / "home")
        _set_up(repos[rule], rule)
    time.sleep(1.1)  # the files' times past the racy second: their stat data is trusted
    wrong = []
    for rule, repo in repos.items():
        status = _status(repo)  # git refreshes its stat cache, as a user's `git status` does
        script = "printf 'op\\n' > build/sub/keep.txt; rm build/sub/gone.txt"
        take_back(repo, script, how, ())
        data = RULES[rule][1]
        got = (repo.read("build/sub/keep.txt"), repo.read("build/sub/gone.txt"))
        if got != (data, data) or _status(repo) != status:
            wrong.append(f"{rule}: {got!r} {_status(repo)} (was {status})")
    assert not wrong, "\n".join(wrong)
