"""An index that names a path twice at one stage (git's t4058-diff-duplicates: "garbage in,
garbage out"), side by side or apart (the first entry written again at the end), or whose
entries are out of order: git 2.39 reads each without a word (`ls-files` lists the path twice,
`status` shows it added), and its `write-tree` makes a tree naming the path twice, or one out
of order. A capture that starts from such an index (the rescue of an operation that left one)
worked its files out against that tree: the failed run's rollback left the operation's new
file and its edit, and said the files were as before. A rescue now holds such an index as its
bytes, as one git cannot read (staged.py: side by side since stop 61, apart and out of order
since the review of stop 62); a checkpoint does not look for one (docs/limits.md, "An index
that names a path twice")."""

from __future__ import annotations

import sys

from testing.gitrepo import GitRepo

# The index with its entries as `ENTRIES` lists them (`ents`: its own, in order), its
# extensions dropped, its checksum made again: what a tool that writes the index by itself may
# leave.
REWRITE = r"""
import hashlib
d = open(".git/index", "rb").read()
n, off, ents = int.from_bytes(d[8:12], "big"), 12, []
for _ in range(n):
    size = 62 + (int.from_bytes(d[off + 60:off + 62], "big") & 0xFFF)
    size += 8 - size % 8
    ents.append(d[off:off + size])
    off += size
ents = ENTRIES
body = d[:8] + len(ents).to_bytes(4, "big") + b"".join(ents)
open(".git/index", "wb").write(body + hashlib.sha1(body).digest())
"""


def _rolled_back_exactly(repo: GitRepo, entries: str) -> None:
    repo.write("b", b"b\n")
    repo.git("add", "b")
    repo.git("commit", "-qm", "b")
    before = repo.fingerprint()
    rewrite = REWRITE.replace("ENTRIES", entries)
    script = f"echo x > x; echo B > b; {sys.executable} -c '{rewrite}'; exit 1"
    # As users run it: under test every edited scan tree is checked against git's own
    # write-tree (GIT_ATOMIC_VERIFY_SCAN), which takes git's answer where they differ.
    unchecked = {"GIT_ATOMIC_VERIFY_SCAN": "0"}
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1, env=unchecked)
    assert repo.read("b") == b"b\n"
    assert not repo.exists("x")
    assert repo.fingerprint().diff(before) == []
    repo.atomic("undo", check=0, env=unchecked)  # the operation's files, and its index, again
    assert repo.read("b") == b"B\n" and repo.read("x") == b"x\n"


def test_a_failed_run_that_left_an_index_naming_a_path_twice(repo: GitRepo) -> None:
    _rolled_back_exactly(repo, "[ents[0], *ents]")
    assert repo.git("ls-files", "-s").count("README") == 2  # (undo: its index again)


def test_a_failed_run_that_left_an_index_naming_a_path_twice_apart(repo: GitRepo) -> None:
    _rolled_back_exactly(repo, "[*ents, ents[0]]")
    assert repo.git("ls-files", "-s").count("README") == 2  # (undo: its index again)


def test_a_failed_run_that_left_an_index_out_of_order(repo: GitRepo) -> None:
    _rolled_back_exactly(repo, "ents[::-1]")
    assert repo.git("ls-files").splitlines() == ["b", "README"]  # (undo: its index again)
