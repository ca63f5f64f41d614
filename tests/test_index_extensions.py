"""The index's extensions (git's caches and records beside its entries) as a rollback leaves
them, read from the index file's bytes: each one the user's index had before an operation."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo, cache_tree, index_extensions


def tree_of(repo: GitRepo) -> list[tuple[bytes, int, int, str | None]]:
    return cache_tree(index_extensions((repo.path / ".git" / "index").read_bytes())["TREE"])


def nested(repo: GitRepo) -> None:
    for folder in ("d1/x", "d2", "d3"):
        for i in range(3):
            repo.write(f"{folder}/f{i}", f"{folder} {i}\n".encode())
    repo.git("add", ".")
    repo.git("commit", "-qm", "nested")
    repo.git("status", "--porcelain")  # git's own cache tree, whole


@pytest.mark.parametrize("version", ["2", "4"])
@pytest.mark.parametrize("how", ["failed-run", "rollback-op", "undo"])
def test_a_rollback_keeps_the_index_s_cached_trees(repo: GitRepo, how: str, version: str) -> None:
    """git's t0090-cache-tree: an index a rollback wrote had the entries of PRE-OP, but the
    cached trees (TREE extension) of every folder above an entry it wrote invalidated: the
    next `git status` and `git commit` hashed them again, and the index's bytes were not
    PRE-OP's. Each folder's cached tree is as before (or, after `undo`, as the operation left
    it), for every index format."""
    repo.git("config", "index.version", version)
    repo.git("update-index", "--index-version", version)
    nested(repo)
    before = tree_of(repo)
    assert all(count >= 0 for _name, count, _sub, _oid in before)
    op = "echo new > d2/f1; git add d2/f1; git rm -q d3/f0; git commit -qm op"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        after_op = tree_of(repo)
        repo.atomic("rollback", "--op", done["op_id"], check=0)
        if how == "undo":
            repo.atomic("undo", check=0)
            before = after_op
    assert tree_of(repo) == before
