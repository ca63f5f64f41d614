"""An index that names a path twice at one stage (git's t4058-diff-duplicates: "garbage in,
garbage out"). git 2.39 reads one without a word (`ls-files` lists the path twice, `status`
shows it added) and `write-tree` makes a tree of it that names the path twice. A capture that
starts from such an index (the rescue of an operation that left one) worked its files out
against that tree and came out wrong: the failed run's rollback left the operation's new file
and its edit to a tracked one, and said the files were as before. A rescue now holds such an
index as its bytes, as one git cannot read (staged.py); a checkpoint does not look for one
(docs/limits.md, "An index that names a path twice").
"""

from __future__ import annotations

import hashlib

from testing.gitrepo import GitRepo

# The index with its first entry written twice, its extensions dropped, its checksum made
# again: what a tool that writes the index by itself may leave.
DOUBLE_FIRST = r"""
import hashlib, sys
d = open(".git/index", "rb").read()
n, off, ents = int.from_bytes(d[8:12], "big"), 12, []
for _ in range(n):
    size = 62 + (int.from_bytes(d[off + 60:off + 62], "big") & 0xFFF)
    size += 8 - size % 8
    ents.append(d[off:off + size])
    off += size
body = d[:8] + (n + 1).to_bytes(4, "big") + ents[0] + b"".join(ents)
open(".git/index", "wb").write(body + hashlib.sha1(body).digest())
"""


def test_a_failed_run_that_left_an_index_naming_a_path_twice(repo: GitRepo) -> None:
    import sys

    repo.write("b", b"b\n")
    repo.git("add", "b")
    repo.git("commit", "-qm", "b")
    before = repo.fingerprint()
    script = f"echo x > x; echo B > b; {sys.executable} -c '{DOUBLE_FIRST}'; exit 1"
    # As users run it: under test every edited scan tree is checked against git's own
    # write-tree (GIT_ATOMIC_VERIFY_SCAN), which takes git's answer where they differ.
    unchecked = {"GIT_ATOMIC_VERIFY_SCAN": "0"}
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1, env=unchecked)
    assert hashlib.sha256(repo.read("b")).digest() == hashlib.sha256(b"b\n").digest()
    assert not repo.exists("x")
    assert repo.fingerprint().diff(before) == []
    repo.atomic("undo", check=0, env=unchecked)  # the operation's files, and its index, again
    assert repo.read("b") == b"B\n" and repo.read("x") == b"x\n"
    assert repo.git("ls-files", "-s").count("README") == 2
