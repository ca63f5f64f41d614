"""Your stashes are part of the state: an operation that drops, pops, clears or pushes one is
rolled back with them, `undo` makes the operation's stash list again, and no stash a
checkpoint names is lost to `git gc --prune=now` (a peer's report: a stash dropped by a tool is
the point of no return). Checked on the reflog's bytes and the ref, not only `git stash list`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

OPS = {
    "drop": "git stash drop -q",
    "pop": "git stash pop -q",
    "clear": "git stash clear",
    "push": "echo op > new.txt && git stash push -q -u -m agent",
    "drop-middle": "git stash drop -q stash@{1}",
}


def stashes(repo: GitRepo) -> tuple[str, bytes | None]:
    """refs/stash and its reflog's bytes (the stash list)."""
    log = repo.path / ".git" / "logs" / "refs" / "stash"
    ref = repo.git("rev-parse", "-q", "--verify", "refs/stash", check=False).strip()
    return ref, log.read_bytes() if log.exists() else None


def two_stashes(repo: GitRepo) -> None:
    repo.write("a.txt", b"stashed one\n")
    repo.git("stash", "push", "-q", "-m", "one")
    repo.write("u.txt", b"untracked, stashed\n")
    repo.git("stash", "push", "-q", "-u", "-m", "two")


def every_stash_readable(repo: GitRepo) -> None:
    n = len(repo.git("stash", "list").splitlines())
    for i in range(n):
        repo.git("stash", "show", "-p", "--include-untracked", f"stash@{{{i}}}")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    repo.write("a.txt", b"a\n")
    repo.git("add", "a.txt")
    repo.git("commit", "-qm", "a")
    two_stashes(repo)
    return repo


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_an_operations_stash_changes_are_rolled_back_and_undone(
    repo: GitRepo, op: str, history: str, tmp_path: Path
) -> None:
    before, files = stashes(repo), repo.fingerprint()
    saved = tmp_path / "after"
    keep = f"cp .git/logs/refs/stash {saved} 2>/dev/null; git rev-parse -q --verify refs/stash"
    script = f"{OPS[op]} && {{ {keep} > {saved}.ref; }}; exit 1"
    res = repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=1)
    assert "changed nothing" not in res.stderr, res.stderr  # it changed your stashes
    assert stashes(repo) == before
    assert repo.fingerprint() == files
    repo.git("gc", "-q", "--prune=now")  # what a checkpoint names stays
    every_stash_readable(repo)
    repo.atomic("undo", check=0)
    after = (
        saved.with_suffix(".ref").read_text().strip(),
        saved.read_bytes() if saved.exists() else None,
    )
    assert stashes(repo) == after
    repo.git("gc", "-q", "--prune=now")
    every_stash_readable(repo)
    repo.atomic("undo", check=0)
    assert stashes(repo) == before


def test_a_kept_operations_dropped_stash_comes_back_with_its_rollback(repo: GitRepo) -> None:
    """Effect, not state: `rollback` of a kept operation that dropped a stash brings it back,
    your later edit stays; with a stash you pushed since, the list is yours: left, and named."""
    before = stashes(repo)
    repo.atomic("run", "--history", "shadow", "--", "git", "stash", "drop", "-q", check=0)
    repo.write("later.txt", b"yours\n")
    repo.git("gc", "-q", "--prune=now")
    repo.atomic("rollback", check=0)
    assert stashes(repo) == before and repo.read("later.txt") == b"yours\n"
    every_stash_readable(repo)

    repo.atomic("run", "--history", "shadow", "--", "git", "stash", "drop", "-q", check=0)
    repo.write("a.txt", b"a stash of yours, after\n")
    repo.git("stash", "push", "-q", "-m", "yours")
    mine = stashes(repo)
    res = repo.atomic("rollback", check=0)
    assert "refs/stash changed since: left as it is" in res.stderr, res.stderr
    assert stashes(repo) == mine


def test_no_stash_at_all_and_a_link_for_the_reflog(repo: GitRepo, tmp_path: Path) -> None:
    """A repository without stashes gets none from a rollback, and one the operation made goes;
    a stash reflog the operation made a link to a file outside is never read or written
    through (set aside, as any reflog made a link)."""
    repo.git("stash", "clear")
    assert stashes(repo) == ("", None)
    repo.atomic("run", "--", "sh", "-c", "echo x > n.txt && git stash push -q -u; exit 1", check=1)
    assert stashes(repo) == ("", None)
    two_stashes(repo)
    before = stashes(repo)
    outside = tmp_path / "outside-log"
    outside.write_bytes(b"OUTSIDE-MARKER\n")
    script = f"rm .git/logs/refs/stash && ln -s {outside} .git/logs/refs/stash; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert outside.read_bytes() == b"OUTSIDE-MARKER\n"
    assert not os.path.islink(repo.path / ".git" / "logs" / "refs" / "stash")
    assert stashes(repo) == before


def test_a_stash_another_worktree_pushed_meanwhile_is_left_and_named(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`refs/stash` is shared by every worktree: a stash pushed from another one while an
    operation runs here was dropped by the operation's rollback, without a word. As for a
    branch another worktree may have moved, the stash list is left as it is, and named."""
    other = tmp_path / "other"
    repo.git("worktree", "add", "-q", "-b", "side", str(other))
    env = {k: v for k, v in repo.env.items()}
    script = (
        f"echo op > op.txt && (cd {other} && echo wip >> a.txt && git stash push -q -m theirs)"
        "; exit 1"
    )
    res = repo.atomic("run", "--", "sh", "-c", script, check=1, env=env)
    assert "your stash list changed meanwhile" in res.stderr, res.stderr
    assert "theirs" in repo.git("stash", "list").splitlines()[0]
    assert not repo.exists("op.txt")


def test_undo_after_a_stash_list_left_beside_another_worktree_is_exact(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Found by the differential test: in a repository with other worktrees, an operation
    that stashes, commits and stops in its `stash pop`'s conflict is rolled back with the
    stash list left as it is (it changed while the operation ran, `refs/stash` is shared,
    named). `undo` took that list for a change made since and refused to make the conflict
    again (exit 3): it is what the rollback left, no change since. `undo` brings the conflict
    back and leaves the list; a second `undo` clears the conflict."""
    repo.git("worktree", "add", "-q", "-b", "side", str(tmp_path / "other"))
    script = (
        "echo stashed > f && git add -A && git stash -q && echo ours > f && git add -A"
        " && git commit -qm ours && git stash pop; exit 0"
    )
    before = repo.fingerprint()
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    assert "your stash list changed meanwhile" in res.stderr, res.stderr
    left = stashes(repo)
    assert left[0] and repo.fingerprint() == before
    repo.atomic("undo", check=0)
    assert repo.git("ls-files", "-u", "--", "f") and b"<<<<<<<" in repo.read("f")
    assert stashes(repo) == left
    repo.atomic("undo", check=0)
    assert repo.fingerprint() == before and stashes(repo) == left
