"""A capture of an index whose shared index is gone records it as the split index it is.

Your index split (`core.splitIndex`) on a shared index removed by hand: git reads nothing of
it, and a rescue keeps its bytes. The capture looked for its shared index among those in the
git dir, found none, and recorded the index as a whole one (`index_shared` ""): the state it
describes was not the one on disk, and an index put back from it was not split again. Now the
name its "link" extension holds is recorded (splitindex.named), there or not.
"""

from __future__ import annotations

from git_atomic.engine import checkpoint, discovery, snapshot, splitindex
from testing.gitrepo import GitRepo
from tests.test_split_index_expired import REMOVE, git_dir, sh, split_repo


def test_a_capture_of_a_split_index_whose_shared_index_is_gone(repo: GitRepo) -> None:
    split_repo(repo)
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    name = splitindex.named(g, git_dir(repo) / "index")
    assert name is not None and name.startswith("sharedindex.")
    sh(repo, REMOVE)
    broken = (git_dir(repo) / "index").read_bytes()
    snap = snapshot.capture(g, message="t", ref=None, allow_unmerged=True).snapshot
    assert (snap.index_shared, snap.index_split) == (name, True)
    kept = checkpoint.load(g, snap.commit)
    assert (kept.index_shared, kept.index_split) == (name, True)
    assert kept.index_blob is not None and g.cat_blob(kept.index_blob) == broken
