"""Fixed costs of a command: the git processes a rollback starts, counted (GIT_TRACE), with
what they produce checked against git's own way of producing it."""

from __future__ import annotations

import os

from testing.gitrepo import GitRepo


def _traced(repo: GitRepo, *args: str, check: int = 0) -> list[str]:
    """The git commands a git-atomic command ran, in order (GIT_TRACE)."""
    trace = repo.path.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    repo.atomic(*args, check=check, env={"GIT_TRACE": str(trace), "GIT_ATOMIC_HELPER": "0"})
    return [
        line.split("trace: built-in: ", 1)[1]
        for line in trace.read_text().splitlines()
        if "trace: built-in: git" in line
    ]


def test_a_rollback_lists_the_refs_once(repo: GitRepo) -> None:
    """`abort` looked for branches made symbolic refs to our refs (one `for-each-ref` of
    refs/heads/), then its rescue listed refs/heads/ again: one listing now serves both."""
    repo.atomic("begin", "x")
    repo.write("new/deep/file", b"n\n")
    repo.write("README", b"changed\n")
    calls = _traced(repo, "abort")
    heads = [c for c in calls if c.startswith("git for-each-ref") and "refs/heads/" in c]
    assert len(heads) == 1, calls
    assert repo.read("README") == b"hello\n" and not repo.exists("new")


def test_a_branch_made_a_symbolic_ref_to_ours_is_still_made_a_branch_again(
    repo: GitRepo,
) -> None:
    """The one listing still finds such a branch: `abort` makes it a branch of its own again
    (as PRE-OP had it), and the rescue holds the state after that."""
    repo.git("branch", "side")
    side = repo.git("rev-parse", "side").strip()
    repo.atomic("begin", "x")
    ours = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/ops").split()[0]
    repo.git("symbolic-ref", "refs/heads/side", ours)
    repo.write("README", b"changed\n")
    repo.atomic("abort")
    assert repo.git("symbolic-ref", "-q", "refs/heads/side", check=False).strip() == ""
    assert repo.git("rev-parse", "side").strip() == side
    assert (
        os.path.isfile(repo.path / ".git" / "refs" / "heads" / "side")
        or b"refs/heads/side" in (repo.path / ".git" / "packed-refs").read_bytes()
    )
