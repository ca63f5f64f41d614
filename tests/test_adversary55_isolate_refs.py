"""`run --isolate` that fails, after its command changed branches the repository shares with
your worktree (adversary 55). The private worktree is a linked worktree of your repository:
its `git branch -D side` or `git update-ref refs/heads/main ...` reaches your branches. The
failed run said "your worktree was not touched", yet a branch it deleted stayed deleted (the
rule everywhere else: a branch the state before has that is not there now is made again,
creating a ref loses nothing), and your own checked-out branch moved under you in silence
(its files then looked changed to `git status`)."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo


def two_commits(repo: GitRepo) -> str:
    repo.write("b.txt", b"b\n")
    repo.git("add", "b.txt")
    repo.git("commit", "-qm", "b")
    repo.git("branch", "side")
    return repo.head()


@pytest.mark.parametrize("how", ["fail", "gate"])
def test_a_branch_the_isolated_command_deleted_is_made_again(repo: GitRepo, how: str) -> None:
    tip = two_commits(repo)
    repo.write("wip.txt", b"wip\n")
    before = repo.fingerprint()
    script = "git branch -qD side" + ("; exit 1" if how == "fail" else "")
    gates = ["-g", "false"] if how == "gate" else ["--no-gates"]
    res = repo.atomic("run", "--isolate", *gates, "--", "sh", "-c", script, check=1)
    assert repo.git("rev-parse", "refs/heads/side").strip() == tip
    assert repo.fingerprint() == before, "\n".join(repo.fingerprint().diff(before))
    lines = [line for line in res.stderr.splitlines() if "side" in line]
    assert len(lines) == 1 and "made again" in lines[0], res.stderr


def test_your_branch_the_isolated_command_moved_is_named(repo: GitRepo) -> None:
    tip = two_commits(repo)
    res = repo.atomic(
        "run",
        "--isolate",
        "--",
        "sh",
        "-c",
        "git update-ref refs/heads/main HEAD~; exit 1",
        check=1,
    )
    # Left where it is (you may have committed on it meanwhile: git records nowhere which
    # worktree moved it), but said, with the commit it was at.
    assert repo.git("rev-parse", "main").strip() != tip
    said = [line for line in res.stderr.splitlines() if " main" in line]
    assert len(said) == 1 and tip[:12] in said[0], res.stderr
