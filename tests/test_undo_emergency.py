"""`git atomic emergency` and `git atomic undo`: rescue everything, go back, come back exactly."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, State

MODES = ("commits", "shadow")


def same(a: State, b: State) -> None:
    assert a == b, "\n".join(a.diff(b))


def atomic_refs(repo: GitRepo) -> str:
    return repo.checkpoint_refs()


def mess_up(repo: GitRepo) -> None:
    """Tracked edit, staged edit, untracked file, deletion, mode change, an ignored file."""
    repo.write(".gitignore", b"*.log\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "ignore logs")
    repo.write("README", b"edited\n")
    repo.write("staged.txt", b"staged\n")
    repo.git("add", "staged.txt")
    repo.write("untracked/deep.txt", b"untracked\n")
    repo.write("build.log", b"ignored\n")
    os.chmod(repo.path / "README", 0o755)


@pytest.mark.parametrize("mode", MODES)
def test_emergency_returns_to_the_last_validated_state_and_undo_returns(
    repo: GitRepo, mode: str
) -> None:
    repo.atomic("run", "--history", mode, "--", "sh", "-c", "echo good > good.txt", check=0)
    good = repo.fingerprint()
    repo.write("good.txt", b"broken\n")
    repo.write("junk.txt", b"junk\n")
    repo.git("add", "junk.txt")
    repo.git("commit", "-qm", "a bad commit")
    repo.write("more-junk.txt", b"more\n")
    bad = repo.fingerprint()
    res = repo.atomic_json("emergency")
    assert res["status"] == "rolled_back" and res["event"] == "emergency"
    assert res["target"]["label"].startswith("POST-OP")
    assert res["checkpoints"]["rescue"]
    same(repo.fingerprint(), good)
    res = repo.atomic("undo", check=0)
    assert "undid the last emergency" in res.stderr
    same(repo.fingerprint(), bad)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), good)


def test_emergency_without_history_goes_to_heads_commit(repo: GitRepo) -> None:
    mess_up(repo)
    before = repo.fingerprint()
    head = repo.head()
    res = repo.atomic_json("emergency")
    assert res["op_id"] is None and res["status"] == "rolled_back"
    assert res["target"]["label"].startswith("HEAD's commit")
    assert repo.head() == head
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    assert repo.read("README") == b"hello\n"
    assert repo.read("build.log") == b"ignored\n"  # ignored: neither captured nor touched
    assert not repo.exists("untracked")
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("detached", [False, True])
def test_emergency_to_a_commit_moves_only_heads_branch(repo: GitRepo, detached: bool) -> None:
    first = repo.head()
    repo.write("two.txt", b"2\n")
    repo.git("add", "two.txt")
    repo.git("commit", "-qm", "two")
    repo.git("branch", "other")
    if detached:
        repo.git("checkout", "-q", "--detach")
    repo.write("two.txt", b"edited\n")
    before = repo.fingerprint()
    other = repo.git("rev-parse", "other").strip()
    repo.atomic("emergency", "--to", first[:10], check=0)
    assert repo.head() == first
    assert repo.git("rev-parse", "other").strip() == other
    head_file = (repo.path / ".git" / "HEAD").read_text()
    assert head_file.startswith("ref:") != detached
    assert not repo.exists("two.txt")
    assert repo.git("status", "--porcelain") == ""
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)


def test_emergency_closes_an_open_operation(repo: GitRepo) -> None:
    before = repo.fingerprint()
    op_id = repo.atomic_json("begin", "risky")["op_id"]
    repo.write("risky.txt", b"r\n")
    repo.atomic("checkpoint", check=0)
    repo.write("risky.txt", b"rr\n")
    during = repo.fingerprint()
    res = repo.atomic_json("emergency")
    assert res["op_id"] == op_id and res["status"] == "rolled_back"
    same(repo.fingerprint(), before)
    assert repo.atomic_json("status")["open"] is None
    assert repo.atomic_json("show", op_id)["status"] == "rolled_back"
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), during)
    # The operation stays closed: undo brings the work back, not the operation.
    assert repo.atomic_json("status")["open"] is None


def test_emergency_dry_run_and_errors_change_nothing(repo: GitRepo, tmp_path: Path) -> None:
    mess_up(repo)
    before, refs = repo.fingerprint(), atomic_refs(repo)
    res = repo.atomic_json("emergency", "--dry-run")
    assert res["dry_run"] is True
    assert {c["path"]: c["action"] for c in res["changes"]} == {
        "README": "modify",
        "staged.txt": "delete",
        "untracked/deep.txt": "delete",
    }
    assert res["index"] == ["staged.txt"]
    res2 = repo.atomic("emergency", "--to", "no-such-commit")
    assert res2.returncode == 2 and "Traceback" not in res2.stderr
    same(repo.fingerprint(), before)
    assert atomic_refs(repo) == refs
    empty_repo = GitRepo.create(tmp_path / "empty", tmp_path / "home2", initial_commit=False)
    empty_repo.write("f", b"f\n")
    res3 = empty_repo.atomic("emergency")
    assert res3.returncode == 2 and empty_repo.exists("f")


def test_emergency_when_already_there_does_nothing(repo: GitRepo) -> None:
    refs = atomic_refs(repo)
    res = repo.atomic("emergency", check=0)
    assert "nothing to do" in res.stderr
    assert atomic_refs(repo) == refs


@pytest.mark.parametrize("mode", MODES)
def test_undo_after_abort_and_after_a_failed_gate(repo: GitRepo, mode: str) -> None:
    before = repo.fingerprint()
    repo.atomic("begin", "a", "--history", mode, check=0)
    repo.write("work.txt", b"work\n")
    repo.atomic("checkpoint", check=0)
    repo.write("work.txt", b"more work\n")
    repo.write("README", b"x\n")
    repo.git("add", "README")
    during = repo.fingerprint()
    repo.atomic("abort", check=0)
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), during)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)
    # A run whose gate fails is rolled back; undo brings its changes back, exactly.
    repo.atomic(
        "run",
        "--history",
        mode,
        "-g",
        "false",
        "--",
        "sh",
        "-c",
        "echo gated > gated.txt; echo y >> README",
        check=1,
    )
    same(repo.fingerprint(), before)
    res = repo.atomic_json("undo", "--dry-run")
    assert {c["path"] for c in res["changes"]} == {"gated.txt", "README"}
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    assert repo.read("gated.txt") == b"gated\n"


def test_undo_refuses_to_cross_an_open_operation(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo 1 > one", check=0)
    repo.atomic("rollback", check=0)
    repo.atomic("begin", "new", check=0)
    before = repo.fingerprint()
    res = repo.atomic("undo")
    assert res.returncode == 3 and "Traceback" not in res.stderr
    same(repo.fingerprint(), before)


def test_undo_with_nothing_to_undo(repo: GitRepo) -> None:
    before = repo.fingerprint()
    res = repo.atomic("undo", "--json")
    assert res.returncode == 2 and "nothing to undo" in res.stderr
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("verb", ["commit", "abort", "checkpoint"])
def test_an_operation_whose_git_dir_was_made_anew_is_said_gone(repo: GitRepo, verb: str) -> None:
    """`begin`, then `rm -rf .git; git init; git commit` (the history, the journal and every
    checkpoint gone with the git dir): `commit` said only that no operation was open, as if
    none had been begun. It says the journal and checkpoints went with the git dir (exit 2:
    nothing changed)."""
    repo.atomic("begin", "op", check=0)
    repo.write("README", b"the op's\n")
    shutil.rmtree(repo.path / ".git")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "fresh"]):
        repo.git(*args)
    res = repo.atomic(verb, check=2)
    assert "no operation is open" in res.stderr, res.stderr
    assert "went with the git dir" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert repo.read("README") == b"the op's\n"
    assert repo.git("log", "--format=%s").split() == ["fresh"]


def test_undo_after_a_rollback_that_changed_nothing_says_so(repo: GitRepo) -> None:
    """The operation's file went with your `git stash -u` before its rollback, which then had
    nothing to take back: `undo` said "no rollback, abort, emergency or recover yet", though a
    rollback ran. It says that none has changed the worktree yet."""
    said = repo.atomic("undo", check=2).stderr
    assert "no rollback, abort, emergency or recover has changed it yet" in said, said
    op = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", "echo x > a")
    repo.git("stash", "-u")
    res = repo.atomic("rollback", "--op", op["op_id"], check=None)
    assert res.returncode == 0, res.stderr
    said = repo.atomic("undo", check=2).stderr
    assert "no rollback, abort, emergency or recover has changed it yet" in said, said
    assert not repo.exists("a")
