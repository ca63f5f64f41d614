"""t0410-partial-clone and t3008-ls-files-lazy-fetch (stop 58's adversary D): a partial clone
(`--filter=blob:none`) whose promisor remote is gone, and a move that needs a blob it never
fetched. Before: the line named the git command as "git -c splitIndex.sharedIndexExpire=never
failed" (the first two words of its argument list, our own `-c` options); and the move was
recorded before its first read failed, so it stayed interrupted, `recover` (and `--accept`)
needed the same blob, and every new operation waited. Now the move fetches what it lacks
before it is recorded: refused in one line (exit 3, nothing changed, nothing to recover)
where the remote cannot give it, carried out where it can.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def _partial_clone(tmp_path: Path, *, commits: int) -> tuple[GitRepo, GitRepo]:
    """An origin with `commits` versions of `a`, and a `--filter=blob:none` clone of it."""
    origin = GitRepo.create(tmp_path / "origin", tmp_path / "home")
    for n in range(1, commits + 1):
        origin.write("a", f"v{n}\n".encode())
        origin.git("add", "a")
        origin.git("commit", "-qm", f"v{n}")
    origin.git("config", "uploadpack.allowFilter", "true")
    url = f"file://{origin.path}"
    origin.git("clone", "-q", "--filter=blob:none", url, str(tmp_path / "clone"))
    return origin, GitRepo(tmp_path / "clone", origin.env)


@pytest.mark.parametrize("dry", [False, True])
def test_a_blob_the_promisor_cannot_give_is_one_line_naming_git_command(
    tmp_path: Path, dry: bool
) -> None:
    origin, repo = _partial_clone(tmp_path, commits=3)
    shutil.rmtree(origin.path)
    before = repo.fingerprint()
    res = repo.atomic("emergency", "--to", "HEAD~2", *(["--dry-run"] if dry else []))
    assert "Traceback" not in res.stderr, res.stderr
    if dry:  # listing the paths needs no blob
        assert res.returncode == 0, res.stderr
    else:
        assert res.returncode == 3, res.stderr
        ours = [x for x in res.stderr.splitlines() if x.startswith("git-atomic:")]
        assert len(ours) == 1 and "promisor remote" in ours[0], res.stderr
        assert "git -c" not in ours[0] and " -c " not in ours[0], ours[0]
    assert repo.fingerprint().diff(before) == []


def test_a_move_refused_for_a_missing_blob_leaves_nothing_to_recover(tmp_path: Path) -> None:
    origin, repo = _partial_clone(tmp_path, commits=2)
    shutil.rmtree(origin.path)
    before = repo.fingerprint()
    for command in (["emergency", "--to", "HEAD~1"], ["emergency", "--to", "HEAD~1"]):
        res = repo.atomic(*command)
        ours = [x for x in res.stderr.splitlines() if x.startswith("git-atomic:")]
        assert res.returncode == 3 and len(ours) == 1, res.stderr
        assert "never fetched" in ours[0] and "nothing was changed" in ours[0], ours[0]
        assert "interrupted" not in repo.atomic("status", check=0).stdout
        assert repo.fingerprint().diff(before) == []
    repo.atomic("run", "--", "sh", "-c", "echo y > a; exit 1", check=1)  # nothing waits


def test_with_the_remote_there_the_move_fetches_and_goes(tmp_path: Path) -> None:
    _origin, repo = _partial_clone(tmp_path, commits=2)
    repo.atomic("emergency", "--to", "HEAD~1", check=0)
    assert repo.read("a") == b"v1\n"
    repo.atomic("undo", check=0)
    assert repo.read("a") == b"v2\n"
