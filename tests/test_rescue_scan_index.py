"""A rollback's rescue keeps no scan index of its own where the restore goes back to the tree its
scan started from (an `abort`, a failed run): that tree's scan index stays the worktree's, and
the rescue's update of its copy (`update-index --index-info`, an index read and written whole)
is never made (scankeep.keep, scantree.Deferred). What the next captures hold is still the
disk's."""

from __future__ import annotations

import os

import pytest

from testing.gitrepo import GitRepo


def _traced(repo: GitRepo, *args: str) -> list[str]:
    """The git commands a git-atomic command ran (GIT_TRACE), as outside the tests."""
    trace = repo.path.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    env = {"GIT_TRACE": str(trace), "GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_VERIFY_SCAN": "0"}
    repo.atomic(*args, env=env)
    return [
        line.split("trace: built-in: ", 1)[1]
        for line in trace.read_text().splitlines()
        if "trace: built-in: git" in line
    ]


def _scan_ref(repo: GitRepo) -> str:
    return repo.git("for-each-ref", "--format=%(objectname)", "refs/atomic/scan/").strip()


@pytest.mark.parametrize("change", ["edit", "new folders", "delete", "mode"])
def test_an_abort_keeps_the_scan_index_it_started_from(repo: GitRepo, change: str) -> None:
    repo.write("src/a.py", b"a\n")
    repo.write("src/b.py", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.write("notes.txt", b"untracked\n")
    repo.atomic("run", "--", "true")  # a scan index of this state
    state = repo.fingerprint()
    pre_op = repo.atomic_json("begin", "x")["checkpoints"]["pre_op"]
    files = repo.git("rev-parse", f"{pre_op}:files").strip()
    assert _scan_ref(repo) == files
    if change == "edit":
        repo.write("src/a.py", b"changed\n")
    elif change == "new folders":
        repo.write("new/deep/er/file.py", b"n\n")
        repo.write("new/top.py", b"t\n")
    elif change == "delete":
        os.unlink(repo.path / "src" / "b.py")
        os.unlink(repo.path / "notes.txt")
    else:
        os.chmod(repo.path / "src" / "a.py", 0o755)
    changed = repo.fingerprint()
    calls = _traced(repo, "abort")
    assert not [c for c in calls if c.startswith("git update-index")], calls
    assert repo.fingerprint() == state
    # PRE-OP's scan index names the worktree again; the rescue's was not kept.
    assert _scan_ref(repo) == files
    kept = sorted(p.name for p in (repo.path / ".git" / "atomic").glob("scan-*"))
    assert kept == [f"scan-main-{files}"], kept
    # The next captures hold the disk: the state, then the change brought back by `undo`.
    again = repo.atomic_json("begin", "y")["checkpoints"]["pre_op"]
    assert repo.git("rev-parse", f"{again}:files").strip() == files
    repo.atomic("abort")
    repo.atomic("undo")  # of that abort: the state again
    assert repo.fingerprint() == state
    repo.atomic("begin", "z")
    if change == "edit":
        repo.write("src/a.py", b"changed\n")
    elif change == "new folders":
        repo.write("new/deep/er/file.py", b"n\n")
        repo.write("new/top.py", b"t\n")
    elif change == "delete":
        os.unlink(repo.path / "src" / "b.py")
        os.unlink(repo.path / "notes.txt")
    else:
        os.chmod(repo.path / "src" / "a.py", 0o755)
    rescue = repo.atomic_json("abort")["checkpoints"]["rescue"]
    assert repo.fingerprint() == state
    repo.atomic("undo")
    assert repo.fingerprint() == changed
    # A scan from PRE-OP's scan index finds the change the undo wrote back: the next
    # checkpoint holds what the rescue held.
    probe = repo.atomic_json("begin", "w")["checkpoints"]["pre_op"]
    assert repo.git("rev-parse", f"{probe}:files") == repo.git("rev-parse", f"{rescue}:files")
