"""Peers' reports on checkpoints and nested repositories, played against git-atomic: a
repository of its own inside the worktree (a clone, not a submodule) that an operation moved.
Its contents are never captured; what its rollback must do is put the folder back where it
was, its `.git` and every byte in it untouched, and `undo` must move it again. The oracle is
the disk: lstat, readlink, the bytes and the permission bits."""

from __future__ import annotations

import subprocess

import pytest

from testing.agents import shell_turn
from testing.gitrepo import GitRepo
from testing.oracle import disk


def clone_inside(repo: GitRepo, rel: str) -> None:
    """A repository of its own at `rel`: a commit, an uncommitted edit, an untracked file."""
    where = repo.path / rel
    where.mkdir(parents=True)
    env = repo.env
    subprocess.run(["git", "init", "-q"], cwd=where, env=env, check=True)
    (where / "f.txt").write_bytes(b"committed\n")
    subprocess.run(["git", "add", "f.txt"], cwd=where, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", "n"], cwd=where, env=env, check=True)
    (where / "f.txt").write_bytes(b"edited, uncommitted\n")
    (where / "wip.txt").write_bytes(b"untracked in the clone\n")


@pytest.mark.parametrize(
    ("move", "to"),
    [
        ("mv vendor/lib moved", "moved"),
        ("mkdir -p a/b && mv vendor/lib a/b/lib", "a/b/lib"),
        ("mv vendor other", "other/lib"),
    ],
)
def test_a_clone_the_operation_moved_goes_back_and_undo_moves_it_again(
    repo: GitRepo, move: str, to: str
) -> None:
    """cline/cline#5598 and #4388: checkpoints renamed nested `.git` folders aside and left
    them so; jdx/mise#12835: a rollback wrote into a nested repository. Here the operation
    itself moves a folder holding a clone of its own: before, the rollback left the clone at
    the new name and made an empty folder at the old one (its contents are not captured).
    Now the rollback moves it back, byte for byte, `.git` included, and says so; `undo` moves
    it again."""
    repo.write("top.txt", b"top\n")
    repo.git("add", "top.txt")
    repo.git("commit", "-qm", "top")
    clone_inside(repo, "vendor/lib")
    before = disk(repo.path, modes=True)
    res = repo.atomic("run", "--", "sh", "-c", f"{move} && echo x > top.txt; exit 1", check=1)
    assert disk(repo.path, modes=True) == before, res.stderr
    assert "moved back" in res.stderr
    assert "Traceback" not in res.stderr
    repo.atomic("undo", check=0)
    assert repo.read("top.txt") == b"x\n"
    assert not repo.exists("vendor/lib")
    inside = {p: v for p, v in before.items() if p.startswith(b"vendor/lib/")}
    prefix = to.encode() + b"/"
    now = disk(repo.path, modes=True)
    moved = {p[len(prefix) :]: v for p, v in now.items() if p.startswith(prefix)}
    assert moved == {p[len(b"vendor/lib/") :]: v for p, v in inside.items()}


def test_two_clones_at_one_commit_are_left_where_they_are(repo: GitRepo) -> None:
    """Nothing the checkpoint holds tells two clones at one commit apart: both moved, neither
    is moved back (each stays, named), and no byte in either changes."""
    clone_inside(repo, "one")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo.path / "one", env=repo.env, capture_output=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "-q", "one", "two"], cwd=repo.path, env=repo.env, check=True)
    assert (
        subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo.path / "two", env=repo.env, capture_output=True
        ).stdout.strip()
        == head
    )
    res = repo.atomic("run", "--", "sh", "-c", "mv one x1 && mv two x2; exit 1", check=1)
    assert "moved back" not in res.stderr
    assert repo.read("x1/wip.txt") == b"untracked in the clone\n"
    assert (repo.path / "x2" / ".git").is_dir()


def test_the_dry_run_says_the_move_back(repo: GitRepo) -> None:
    """What `undo --dry-run` says of the clone is what `undo` does."""
    clone_inside(repo, "lib")
    repo.atomic("run", "--", "sh", "-c", "mv lib lib2; exit 1", check=1)
    dry = repo.atomic("undo", "--dry-run", check=0)
    assert "moved back to lib2" in dry.stderr + dry.stdout
    real = repo.atomic("undo", check=0)
    assert "moved back to lib2" in real.stderr
    assert repo.read("lib2/f.txt") == b"edited, uncommitted\n"
    assert not repo.exists("lib")


def test_a_turn_and_a_rollback_of_a_kept_operation_move_it_back_too(repo: GitRepo) -> None:
    """The same move taken back by an agent turn's failed gate (Claude Code, through its
    hooks) and by `rollback --op` of a kept operation: the clone is where it was."""
    clone_inside(repo, "lib")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    before = disk(repo.path, modes=True)
    answer = shell_turn(repo, "mv lib lib2 && touch bad")
    assert answer["decision"] == "block", answer
    assert disk(repo.path, modes=True) == before
    out = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", "mv lib lib3")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert disk(repo.path, modes=True) == before
