"""git's t7003-filter-branch: the copies `refs/original/refs/heads/<branch>` that a filter-branch
keeps of the branches it rewrites. An operation's rollback put the branch back and left the
copy, naming the commit the branch names again: your next `git filter-branch` refused ("A
previous backup already exists in refs/original/") until `-f`. They go (said, and by the dry
run), `undo` makes them again; yours stay."""

from __future__ import annotations

import subprocess

import pytest

from testing.gitrepo import GitRepo

FILTER = "FILTER_BRANCH_SQUELCH_WARNING=1 git filter-branch {} --msg-filter 'sed s/^/x/' {}"
MAIN = "refs/original/refs/heads/main"


def _sh(repo: GitRepo, script: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, capture_output=True)


def _copies(repo: GitRepo) -> dict[str, str]:
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/original/")
    return dict(line.split() for line in out.splitlines())


def _history(repo: GitRepo) -> str:
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    return repo.git("rev-parse", "main").strip()


@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op"])
def test_the_copy_a_filter_branch_kept_goes_with_its_rollback(repo: GitRepo, how: str) -> None:
    main = _history(repo)
    op = FILTER.format("", "HEAD") + " >/dev/null 2>&1"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "filter", check=0)
        assert _sh(repo, op).returncode == 0
        res = repo.atomic("abort", check=0)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        assert _copies(repo) == {MAIN: main}
        dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0)
        assert MAIN in dry.stdout, dry.stdout
        assert _copies(repo) == {MAIN: main}
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert repo.git("rev-parse", "main").strip() == main
    assert _copies(repo) == {}, res.stderr
    assert not (repo.path / ".git" / "refs" / "original").exists()
    assert MAIN in res.stderr, res.stderr
    # git does next what it did before the operation: a filter-branch runs, without -f
    undone = repo.atomic("undo", check=0)  # but first: undo makes the copy again, with its
    assert _copies(repo) == {MAIN: main}, undone.stderr  # rewritten branch
    assert repo.git("rev-parse", "main").strip() != main
    repo.atomic("undo", check=0)
    assert _copies(repo) == {} and repo.git("rev-parse", "main").strip() == main
    again = _sh(repo, FILTER.format("", "HEAD"))
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_copies_in_a_refs_original_of_yours_stay(repo: GitRepo, how: str) -> None:
    """A `refs/original/` there before the operation (your own filter-branch's backup): its
    copies are yours and stay; the one the operation added there of a branch that is back at
    it goes."""
    main = _history(repo)
    repo.git("branch", "side")
    assert _sh(repo, FILTER.format("", "side")).returncode == 0
    mine = _copies(repo)
    op = f"git update-ref {MAIN} HEAD && git commit -q --amend -m y"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert repo.git("rev-parse", "main").strip() == main
    assert _copies(repo) == mine


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op"])
def test_your_backup_a_forced_filter_branch_deleted_comes_back(
    repo: GitRepo, how: str, packed: bool
) -> None:
    """`git filter-branch -f` deletes every copy in refs/original/ before it writes its own:
    your backup of another branch (after a `git gc`, packed), the one ref to its old commits,
    was gone after the rollback, and `git gc --prune=now` took those commits. It comes back,
    said, and the copy the operation made goes; `undo` makes the operation's again."""
    main = _history(repo)
    repo.git("branch", "side")
    assert _sh(repo, FILTER.format("", "side")).returncode == 0
    if packed:
        repo.git("pack-refs", "--all")
    mine = _copies(repo)
    op = FILTER.format("-f", "HEAD") + " >/dev/null 2>&1"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "filter", check=0)
        assert _sh(repo, op).returncode == 0
        res = repo.atomic("abort", check=0)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        assert _copies(repo) == {MAIN: main}
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert repo.git("rev-parse", "main").strip() == main
    assert _copies(repo) == mine, res.stderr
    assert "refs/original/refs/heads/side, your copy" in res.stderr, res.stderr
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    old = mine["refs/original/refs/heads/side"]
    assert repo.git("cat-file", "-t", old).strip() == "commit"
    repo.atomic("undo", check=0)
    assert _copies(repo) == {MAIN: main}


def test_a_copy_whose_branch_moved_since_stays(repo: GitRepo) -> None:
    """`rollback --op` of a filter-branch kept, your commit on the branch since: the branch
    stays yours, and the copy still names what the filter-branch rewrote."""
    main = _history(repo)
    done = repo.atomic_json("run", "--", "sh", "-c", FILTER.format("", "HEAD") + " >/dev/null 2>&1")
    repo.write("b", b"b\n")
    repo.git("add", "b")
    repo.git("commit", "-qm", "b")
    repo.atomic("rollback", "--op", done["op_id"], check=None)
    assert _copies(repo) == {MAIN: main}
