"""`recover --accept` finishing a rollback that was killed half way: the branch lock a killed
git left goes before the branch moves back, as `recover` without `--accept` removes it
(docs/guarantees.md: "before it moves HEAD and the branches back"). Stop 61 moved the removal
before the restore but only where `--accept` was not given; with it, an interrupted restore
was finished with the lock still there: "branch main was moved by someone else; left as it
is" (untrue), the branch on the operation's commit, and the lock left for good."""

from __future__ import annotations

from testing.gitrepo import GitRepo


def test_recover_accept_of_a_killed_abort_removes_the_branch_lock_first(repo: GitRepo) -> None:
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    before = repo.fingerprint()
    for flags in (["--accept"], []):  # (without it: removed first since stop 61, kept so)
        repo.atomic("begin", "op", check=0)
        repo.write("a", b"b\n")
        repo.git("commit", "-qam", "b")
        killed = repo.atomic("abort", env={"GIT_ATOMIC_FAILPOINT": "restore:after-files"})
        assert killed.returncode == -9, killed.stderr
        lock = repo.path / ".git" / "refs" / "heads" / "main.lock"
        lock.write_bytes(b"")  # as the restore's own git, killed, would leave it
        res = repo.atomic("recover", *flags, check=0)
        assert "by someone else" not in res.stderr, res.stderr
        assert "main.lock" in res.stderr and "is removed" in res.stderr, res.stderr
        assert repo.fingerprint().diff(before) == [], res.stderr
        assert not list((repo.path / ".git").rglob("*.lock")), res.stderr
