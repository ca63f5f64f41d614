"""A repository whose objects are precious (`extensions.preciousObjects`, stop 55's adversary):
git refuses to prune or repack away any object there (`git gc` skips its prune), so `git atomic
gc` retires the checkpoints and journal rows of old operations and leaves their objects, as
git's own gc does. Before, its `git prune` was refused: exit 3 on every gc after the refs had
gone, "git prune failed" and a log file the only answer."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo


@pytest.mark.parametrize("version", ["0", "1"])
def test_gc_retires_checkpoints_and_keeps_precious_objects(repo: GitRepo, version: str) -> None:
    repo.git("config", "core.repositoryFormatVersion", version)
    repo.git("config", "extensions.preciousObjects", "true")
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo op > README; exit 1", check=1)
    op_id = repo.atomic_json("log")["operations"][0]["op_id"]
    saved = repo.git("rev-parse", f"refs/atomic/ops/{op_id}/001-pre-op").strip()
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo two > README; exit 1", check=1)
    ran = repo.atomic("gc", "--older-than", "0", check=0)
    assert "Traceback" not in ran.stderr and "failed" not in ran.stderr, ran.stderr
    assert "retired 1 operation" in ran.stderr, ran.stderr
    assert "precious" in ran.stderr, ran.stderr
    assert op_id not in repo.checkpoint_refs()
    repo.git("cat-file", "-e", saved)  # the object stays: git may not prune it here
    assert repo.read("README") == b"hello\n"
    repo.atomic("undo", check=0)  # the newest rescue stays usable
    assert repo.read("README") == b"two\n"
