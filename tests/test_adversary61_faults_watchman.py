"""A capture answered by Watchman killed at each of its steps (its first look at the tree, the
reconciliation memo and the scan's bits written aside, its scan index kept but not yet its
ref), in an open operation: `recover` takes the operation back to its PRE-OP exactly (the
disk oracle), and after more edits the next capture (answered by Watchman or by the usual
scan, whichever can) holds exactly what is on disk, byte for byte. Skipped without
Watchman."""

from __future__ import annotations

import json
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_watcher import captured, on_disk, pytestmark, scans, watched

__all__ = ["pytestmark", "watched"]

POINTS = ["capture:walk", "reconcile:aside", "scanbits:aside", "capture:scan-kept"]


def test_a_watched_capture_killed_at_each_step(watched: GitRepo, tmp_path: Path) -> None:
    repo = watched
    repo.write("a/one", b"one\n")
    repo.write("a/two", b"two\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    scans(repo, tmp_path, "begin", "warm", "--history", "shadow")  # Watchman's clock kept
    scans(repo, tmp_path, "abort")
    answered: list[str] = []
    for n, point in enumerate(POINTS):
        out, kinds = scans(repo, tmp_path, "begin", f"w{n}", "--history", "shadow", "--json")
        answered += kinds
        start = on_disk(repo)
        assert captured(repo, json.loads(out)["checkpoints"]["pre_op"]) == start, point
        repo.write("a/one", b"before the kill %d\n" % n)  # (same size each round)
        repo.write(f"b/new{n}", b"new\n")
        res = repo.atomic("checkpoint", check=None, env={"GIT_ATOMIC_FAILPOINT": point})
        assert res.returncode == -9, (point, res)
        res = repo.atomic("recover", check=None)
        assert res.returncode == 0 and "Traceback" not in res.stderr, (point, res.stderr)
        assert on_disk(repo) == start, point
        repo.write("a/two", b"after the kill %d\n" % n)
        repo.write(f"c/late{n}", b"late\n")
    out, kinds = scans(repo, tmp_path, "begin", "last", "--history", "shadow", "--json")
    answered += kinds
    assert "watchman" in answered, answered  # the path under test was taken
    assert captured(repo, json.loads(out)["checkpoints"]["pre_op"]) == on_disk(repo), kinds
