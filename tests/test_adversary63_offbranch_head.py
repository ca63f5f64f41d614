"""HEAD on a ref that is no branch, where the operation's take-back must give HEAD's commit
back: an unborn one, and one the operation left (it detached HEAD after its commit).

- `git symbolic-ref HEAD refs/wip/x` in a new repository (no such ref: "No commits yet" on
  it), then an operation that commits (commits mode's commit, its own `git commit`). Every
  take-back (a failed run, `abort`, `recover` after a kill, `rollback --op`) put the files
  and the index back and left the ref on the operation's commit: HEAD then named that commit,
  `git status` showed its files as deleted, staged. The plan never deleted that ref
  (restoreplan.head_ref_moved: "a target that does not know it leaves it"); an unborn target
  knows it: the ref goes, compare-and-swap, as an unborn branch's would. `undo` makes it again.
- HEAD on `refs/wip/x` (with a commit), an operation that commits there and then detaches HEAD
  (`git switch --detach HEAD~1`). Its rollback put HEAD back on the ref and left the ref on the
  operation's commit (HEAD was not on it at the end, so the plan did not move it): HEAD's
  commit was not PRE-OP's. Now the ref is read and moved back, compare-and-swap.
Oracle: HEAD's file and the ref's value, the raw index, every file's bytes (fingerprint).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

REFS = ["refs/wip/x", "refs/remotes/origin/main"]
COMMIT = "echo x > n && echo y >> a && git add n && git commit -qm op"


def _unborn_on(tmp_path: Path, ref: str) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", initial_commit=False)
    repo.git("symbolic-ref", "HEAD", ref)
    repo.write("a", b"yours\n")  # untracked work in progress
    return repo


def _ref(repo: GitRepo, ref: str) -> str | None:
    out = repo.git("for-each-ref", "--format=%(objectname)", ref).strip()
    return out or None


@pytest.mark.parametrize("ref", REFS)
@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op", "commits-mode"])
def test_an_unborn_ref_made_by_the_operation_goes_with_its_take_back(
    tmp_path: Path, ref: str, how: str
) -> None:
    repo = _unborn_on(tmp_path, ref)
    before = repo.fingerprint()
    head = (repo.path / ".git" / "HEAD").read_bytes()
    if how == "failed-run":
        repo.atomic("run", "--no-gates", "--", "sh", "-c", COMMIT + " && exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "op", check=0)
        repo.write("n", b"x\n")
        repo.git("add", "n")
        repo.git("commit", "-qm", "op")
        repo.atomic("abort", check=0)
    else:
        line = "echo x > n && echo y >> a" if how == "commits-mode" else COMMIT
        mode = "commits" if how == "commits-mode" else "shadow"
        done = repo.atomic_json("run", "--no-gates", "--history", mode, "--", "sh", "-c", line)
        assert _ref(repo, ref) is not None
        dry = repo.atomic("rollback", "--op", str(done["op_id"]), "--dry-run", check=0)
        assert f"{ref} " in dry.stdout and "(deleted)" in dry.stdout, dry.stdout
        repo.atomic("rollback", "--op", str(done["op_id"]), check=0)
    assert _ref(repo, ref) is None
    assert (repo.path / ".git" / "HEAD").read_bytes() == head
    assert repo.fingerprint().diff(before) == []
    repo.atomic("undo", check=0)  # the operation's commit and files back
    assert _ref(repo, ref) is not None
    assert repo.git("status", "--porcelain", "-uno") == ""


def test_recover_after_a_kill_deletes_it_too(tmp_path: Path) -> None:
    repo = _unborn_on(tmp_path, REFS[0])
    before = repo.fingerprint()
    failpoint = {"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"}
    killed = repo.atomic("run", "--no-gates", "--", "sh", "-c", COMMIT, env=failpoint)
    assert killed.returncode == -9, killed.stderr
    repo.atomic("recover", check=0)
    assert _ref(repo, REFS[0]) is None
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_a_ref_the_operation_left_detached_gets_its_commit_back(tmp_path: Path, how: str) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("update-ref", REFS[0], "HEAD")
    repo.git("symbolic-ref", "HEAD", REFS[0])
    at = _ref(repo, REFS[0])
    before = repo.fingerprint()
    line = "echo x > n && git add n && git commit -qm op && git switch -q --detach HEAD~1"
    if how == "failed-run":
        repo.atomic("run", "--no-gates", "--", "sh", "-c", line + " && exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", line)
        assert _ref(repo, REFS[0]) != at
        repo.atomic("rollback", "--op", str(done["op_id"]), check=0)
    assert (repo.path / ".git" / "HEAD").read_bytes() == f"ref: {REFS[0]}\n".encode()
    assert _ref(repo, REFS[0]) == at
    assert repo.fingerprint().diff(before) == []
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("yours", ["git checkout -q --detach", "git switch -q -c mine"])
def test_a_ref_you_left_since_keeps_its_commit_and_says_so(tmp_path: Path, yours: str) -> None:
    """HEAD on refs/wip/x; the operation's commit (commits mode) moved it; you left it since
    (detached HEAD there, or made a branch there). Its `rollback --op` left the files, the
    index and the ref as the operation left them and said "0 paths changed". Now the change is
    taken back in the files and the index (your HEAD holds its commit), and the ref, no branch
    and no longer HEAD's, stays where it is, said (where the operation left it is not known)."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("update-ref", REFS[0], "HEAD")
    repo.git("symbolic-ref", "HEAD", REFS[0])
    before = repo.fingerprint()
    line = "echo x > n && echo y >> README"
    done = repo.atomic_json("run", "--no-gates", "--history", "commits", "--", "sh", "-c", line)
    left = _ref(repo, REFS[0])
    subprocess.run(["sh", "-c", yours], cwd=repo.path, env=repo.env, check=True)
    head = (repo.path / ".git" / "HEAD").read_bytes()
    res = repo.atomic("rollback", "--op", str(done["op_id"]), check=0)
    assert (repo.path / ".git" / "HEAD").read_bytes() == head
    assert _ref(repo, REFS[0]) == left
    after = repo.fingerprint()
    assert (after.files, after.index) == (before.files, before.index), after.diff(before)
    assert f"ref {REFS[0]} (no branch) has moved since, or HEAD left it since" in res.stderr
    assert "HEAD has moved since (now " in res.stderr, res.stderr
