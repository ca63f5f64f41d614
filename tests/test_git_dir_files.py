"""git's own files an operation changes beside the checkpoint's state: what its rollback does
with each, read from the disk (git's t5700-repack's alternates, t1400-update-ref's
packed-refs, t3200-branch's rename of a branch another worktree has checked out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_an_alternates_file_the_operation_added_is_named_by_its_rollback(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """An operation that added `objects/info/alternates` had git read objects from another
    repository's store after its rollback, which said it "had changed nothing". The file
    stays (objects written since may be only there: removing it could lose them), and the
    rollback names it, with the way to take it away that copies the objects here first."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    store = other.path / ".git" / "objects"
    alternates = repo.path / ".git" / "objects" / "info" / "alternates"
    op = f"echo {store} > .git/objects/info/alternates"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert alternates.read_text() == f"{store}\n"  # never removed: nothing is lost
    said = [line for line in res.stderr.splitlines() if str(alternates) in line]
    assert len(said) == 1 and str(store) in said[0] and "git repack -a -d" in said[0], res.stderr
    assert "changed nothing" not in res.stderr, res.stderr


def test_an_alternates_file_you_had_is_not_named(repo: GitRepo, tmp_path: Path) -> None:
    """One there at PRE-OP, left as it was, is no change of the operation's."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    alternates = repo.path / ".git" / "objects" / "info" / "alternates"
    alternates.write_text(f"{other.path / '.git' / 'objects'}\n")
    res = repo.atomic("run", "--", "sh", "-c", "echo x > x; exit 1", check=1)
    assert "alternates" not in res.stderr, res.stderr
