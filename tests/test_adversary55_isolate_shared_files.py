"""A failed `run --isolate` and the files its private worktree shares with yours (stop 55's
adversary): `info/exclude`, `info/attributes` and `shallow` live in the common git dir, so a
command that writes them (`echo '*' >> "$(git rev-parse --git-common-dir)/info/exclude"`)
writes yours. A failed run said "your worktree was not touched" and left them: every file of
yours ignored, the line endings of every file read otherwise. They come back as PRE-OP had
them, as after a failed plain `run`, where they are still as the command left them."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo

LINE = (
    'common="$(git rev-parse --git-common-dir)"; echo "*" >> "$common/info/exclude"; '
    'echo "* -text" > "$common/info/attributes"; echo op >> README'
)


@pytest.mark.parametrize("fails", ["command", "gate"])
def test_shared_git_dir_files_the_failed_command_wrote_come_back(repo: GitRepo, fails: str) -> None:
    info = repo.path / ".git" / "info"
    (info / "exclude").write_bytes(b"*.log\n")
    repo.write("mine.txt", b"untracked, mine\n")
    before = repo.git("status", "--porcelain", "--ignored")
    if fails == "command":
        ran = repo.atomic("run", "--isolate", "--no-gates", "--", "sh", "-c", LINE + "; exit 1")
    else:
        ran = repo.atomic("run", "--isolate", "-g", "false", "--", "sh", "-c", LINE)
    assert ran.returncode == 1, ran.stderr
    assert "your worktree was not touched" in ran.stderr
    assert (info / "exclude").read_bytes() == b"*.log\n"
    assert not (info / "attributes").exists()
    assert repo.read("README") == b"hello\n"
    assert repo.git("status", "--porcelain", "--ignored") == before == "?? mine.txt\n"
