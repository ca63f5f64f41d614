"""`git bisect run git atomic run -- TEST`: bisect runs us at each commit it checks out, with
its own state in the git dir (BISECT_LOG, refs/bisect/). `run` refused "a bisect is in
progress" (exit 3), which bisect reads as "bad": every step was marked bad and bisect named a
first bad commit that was good, without a word but our line per step. A bisect leaves the
index and the files as the commit it checked out has them: nothing of it is half way for a
run. So `run` works in a bisect: a failing test's files are rolled back (bisect's state and
HEAD as they were), a passing one's are kept; commits mode commits nothing there (a commit
would move HEAD off the commit bisect judges: as `--history shadow`, said); `rollback` and
`undo` of such a run take back and bring back its effect alone. `begin` still refuses a
bisect. The oracle: bisect's answer, and the disk (files, BISECT_LOG, refs/bisect/, HEAD)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testing.gitrepo import GitRepo, git_atomic_on_path

# the test a bisect runs: it writes a file (an untracked build product) every time, and
# passes where `n` is below 4
_TEST = "echo built > product; test $(cat n) -lt 4"


def test_bisect_run_through_a_run_finds_the_first_bad_commit(repo: GitRepo, tmp_path: Path) -> None:
    for i in range(1, 7):
        repo.write("n", f"{i}\n".encode())
        repo.git("commit", "-qam", f"c{i}") if i > 1 else repo.git("add", "n")
        if i == 1:
            repo.git("commit", "-qm", "c1")
    commits = repo.git("log", "--format=%H %s").split("\n")
    first_bad = next(line.split()[0] for line in commits if line.endswith(" c4"))
    repo.write("yours", b"untracked of yours\n")
    env = git_atomic_on_path(tmp_path / "bin", repo.env)
    repo.git("bisect", "start", "HEAD", "HEAD~5")
    res = subprocess.run(
        ["git", "bisect", "run", "git", "atomic", "run", "--", "sh", "-c", _TEST],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert f"{first_bad} is the first bad commit" in res.stdout, res.stdout + res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    # a passing step's product is kept (bisect moves on over it), a failing one's is not;
    # no commit of ours anywhere: HEAD is bisect's, the branch untouched
    assert repo.git("log", "--branches", "--format=%s") == "c6\nc5\nc4\nc3\nc2\nc1\ninitial\n"
    assert "OP-EXEC" not in repo.git("log", "--format=%s", "HEAD")
    assert repo.read("yours") == b"untracked of yours\n"
    repo.git("bisect", "reset")
    assert repo.git("log", "-1", "--format=%s") == "c6\n"


def test_a_run_in_a_bisect_rolls_back_to_bisects_state(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("n", b"1\n")
    repo.git("add", "n")
    repo.git("commit", "-qm", "c1")
    repo.write("n", b"2\n")
    repo.git("commit", "-qam", "c2")
    repo.git("bisect", "start", "HEAD", "HEAD~1")
    git_dir = repo.path / ".git"
    log = (git_dir / "BISECT_LOG").read_bytes()
    refs = repo.git("for-each-ref", "refs/bisect/")
    head = (git_dir / "HEAD").read_bytes()
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "sh", "-c", "echo x > x; echo 9 > n; exit 1", check=1)
    assert res.stderr.count("\n") == 1, res.stderr
    assert repo.fingerprint() == before
    assert (git_dir / "BISECT_LOG").read_bytes() == log
    assert repo.git("for-each-ref", "refs/bisect/") == refs
    assert (git_dir / "HEAD").read_bytes() == head
    res = repo.atomic("run", "--", "sh", "-c", "echo x > x", check=0)
    assert "shadow" in res.stderr and "bisect" in res.stderr, res.stderr
    assert repo.read("x") == b"x\n" and (git_dir / "HEAD").read_bytes() == head
    assert (git_dir / "BISECT_LOG").read_bytes() == log
    # its effect taken back and brought back again, bisect's state untouched by either
    repo.atomic("rollback", check=0)
    assert not repo.exists("x") and repo.fingerprint() == before
    repo.atomic("undo", check=0)
    assert repo.read("x") == b"x\n"
    assert (git_dir / "BISECT_LOG").read_bytes() == log and (git_dir / "HEAD").read_bytes() == head
    assert repo.git("for-each-ref", "refs/bisect/") == refs
    # an operation in steps has no bisect run to answer: still refused
    res = repo.atomic("begin", "op", check=3)
    assert "bisect" in res.stderr and res.stderr.count("\n") == 1, res.stderr


def test_rebase_exec_through_a_run_tests_each_commit(repo: GitRepo, tmp_path: Path) -> None:
    """`git rebase -x 'git atomic run -- TEST'`: refused "a rebase is in progress" at the
    first exec line, the rebase stopped there. Each exec now runs: a passing one's commit (commits
    mode) is part of the rebased branch, as an exec's `git commit` is; the failing one is
    rolled back and the rebase stops there, its state (rebase-merge/) and the files as the
    last pick left them. `begin` in a rebase stopped there is still refused."""
    for i in (1, 2, 3):
        repo.write(f"n{i}", b"x\n")
        repo.git("add", f"n{i}")
        repo.git("commit", "-qm", f"c{i}")
    env = git_atomic_on_path(tmp_path / "bin", repo.env)
    test = "git atomic run -n fmt -- sh -c 'echo built > junk; echo f >> fmt; test ! -e n3'"
    res = subprocess.run(
        ["git", "rebase", "-q", "-x", test, "HEAD~2"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    # stopped at c3's exec: c2's passed and committed its change, c3's rolled back
    assert repo.git("log", "--format=%s", "HEAD").startswith("c3\nOP-EXEC: fmt"), res.stderr
    assert repo.read("fmt") == b"f\n" and repo.read("junk") == b"built\n", res.stderr
    assert (repo.path / ".git" / "rebase-merge").is_dir()
    assert repo.git("status", "--porcelain") == ""
    res = repo.atomic("begin", "op", check=3)
    assert "rebase" in res.stderr and res.stderr.count("\n") == 1, res.stderr
    # Stopped after its exec line failed, the rebase runs nothing: a `run` started from
    # anywhere else is in a rebase in progress, refused as the SPEC says (exit 3), unchanged.
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "sh", "-c", "echo no > fmt", check=3)
    assert "rebase" in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert repo.fingerprint().diff(before) == []
    repo.git("rebase", "--abort")
    assert repo.git("log", "--format=%s", "main") == "c3\nc2\nc1\ninitial\n"
