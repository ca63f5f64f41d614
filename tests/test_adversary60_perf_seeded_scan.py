"""A fresh clone's first capture (issue 17, target 5): the scan seeded from your index is written
whole until it is kept, then split once (scan.Scan.split_when_kept).

Split from the start, the seeded scan's `git status` made a shared index in the scan's own
second, which the smudge (scanracy.py) could not trust: the index was written whole again
(`update-index --no-split-index`), smudged, and split anew, and the clean bits record read
that first shared index in Python (sharedmemo.py) only for it to be dropped. Here: the git
calls of the first `begin` counted, the scan index kept split on a shared index of its own,
and what the checkpoint holds compared with the disk, through an abort, an undo and a later
capture that starts from that scan index.
"""

from __future__ import annotations

import json
import os

import pytest

from testing.gitrepo import GitRepo, split_index


def _traced(repo: GitRepo, *args: str) -> tuple[list[str], int]:
    """The git commands a git-atomic command ran, and how many shared indexes they wrote
    (GIT_TRACE2_EVENT)."""
    trace = repo.path.parent / "trace.json"
    trace.unlink(missing_ok=True)
    repo.atomic(*args, env={"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_HELPER": "0"})
    calls: list[str] = []
    shared = 0
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "start":
            argv = event["argv"][1:]
            while argv[:1] == ["-c"]:
                argv = argv[2:]
            calls.append(" ".join(argv))
        elif event["event"] == "region_leave" and event.get("label") == "shared/do_write_index":
            shared += 1
    return calls, shared


def _scan_indexes(repo: GitRepo) -> list[str]:
    return sorted(p.name for p in (repo.path / ".git" / "atomic").glob("scan-*"))


def _shared(repo: GitRepo) -> list[str]:
    return sorted(p.name for p in (repo.path / ".git").glob("sharedindex.*"))


@pytest.mark.parametrize("yours", ["whole", "split", "flagged"])  # (flagged: an intent-to-add
# entry, a scan seeded from a copy without it, heldanyway.unflagged_scan)
def test_a_seeded_scan_is_split_once_when_kept(repo: GitRepo, yours: str) -> None:
    repo.env["GIT_ATOMIC_SPLIT_SCAN_AT"] = "1"  # every scan index split
    for i in range(30):
        repo.write(f"d{i % 3}/f{i:02d}.txt", f"file {i}\n".encode())
    repo.write("bin/run", b"#!/bin/sh\n", mode=0o755)
    repo.write("keys/secret", b"key\n", mode=0o600)  # bits only a look at the disk has
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    if yours == "split":
        repo.git("update-index", "--split-index")
    elif yours == "flagged":
        repo.write("d0/intent.txt", b"intent to add\n")
        repo.git("add", "-N", "d0/intent.txt")
    repo.write("d0/f00.txt", b"edited, unstaged\n")
    repo.write("new/untracked.txt", b"untracked\n")
    os.unlink(repo.path / "d1" / "f01.txt")
    os.chmod(repo.path / "d2" / "f02.txt", 0o640)
    assert _scan_indexes(repo) == []  # no scan state yet: the scan is seeded
    yours_shared = _shared(repo)
    state = repo.fingerprint()

    calls, shared = _traced(repo, "begin", "first")
    # Only the seed's, where yours is split (a scan index never depends on your shared index).
    whole = [c for c in calls if "--no-split-index" in c]
    assert len(whole) == (1 if yours == "split" else 0), calls
    assert shared == 1, (shared, calls)  # (two before: the status's, then the one kept)
    (kept,) = _scan_indexes(repo)
    index = repo.path / ".git" / "atomic" / kept
    assert split_index(index.read_bytes())  # split once, on a shared index of its own
    assert len(set(_shared(repo)) - set(yours_shared)) == 1

    # What it holds is the disk's: the operation taken back, brought again, and captured anew
    # from that scan index.
    repo.write("d0/f00.txt", b"the operation's\n")
    os.chmod(repo.path / "keys" / "secret", 0o644)
    os.unlink(repo.path / "bin" / "run")
    repo.atomic("abort")
    assert repo.fingerprint() == state
    assert os.stat(repo.path / "keys" / "secret").st_mode & 0o777 == 0o600
    repo.atomic("undo")
    assert repo.read("d0/f00.txt") == b"the operation's\n"
    assert not (repo.path / "bin" / "run").exists()
    brought = repo.fingerprint()
    later, _ = _traced(repo, "begin", "second")  # from the scan index the first one kept
    assert not [c for c in later if "--no-split-index" in c], later
    repo.write("new/more.txt", b"more\n")
    os.chmod(repo.path / "keys" / "secret", 0o600)
    repo.atomic("abort")
    assert repo.fingerprint() == brought
