"""A rollback reads the `folder-ids` blob of its rescue (foldermoves.take_back) right after the
rescue's capture wrote it, in the same process: 5,475 records at 100,000 files, read back and
parsed (about 5 ms). The blob's id names its bytes, so what `load` would read of it is known
when it is written (folderids._KNOWN); every other blob is still read, and each reading is
the same as git's bytes say."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from git_atomic.engine import folderids
from git_atomic.engine.git import Repo
from testing.gitrepo import GitRepo


def test_a_blob_written_here_is_not_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a/b/f.txt", b"f\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    git_dir = repo.path / ".git"
    engine = Repo(repo.path, git_dir, git_dir)
    st = os.stat(repo.path / "a" / "b")
    found = {b"a": (st.st_dev, 11), b"a/b": (st.st_dev, st.st_ino), b"x y/\xff\n": (1, 2)}
    oid = folderids.blob(engine, found)
    assert oid is not None
    # git's bytes say the same
    stored = subprocess.run(
        ["git", "cat-file", "blob", oid], cwd=repo.path, env=repo.env, capture_output=True
    ).stdout
    assert folderids._RECORD.findall(stored) == [
        (b"%d" % d, b"%d" % i, p) for p, (d, i) in sorted(found.items())
    ]
    read: list[str] = []
    real = Repo.cat_blob

    def counted(self: Repo, wanted: str) -> bytes:
        read.append(wanted)
        return real(self, wanted)

    monkeypatch.setattr(Repo, "cat_blob", counted)
    loaded = folderids.load(engine, oid)
    assert loaded == found and read == []
    loaded[b"a"] = (0, 0)  # the caller's own: the next one is as written
    assert folderids.load(engine, oid) == found
    # One written by another process: read (once), the same.
    other = repo.git("hash-object", "-w", "--stdin", input=b"1:2 c\x003:4 d/e\x00").strip()
    assert folderids.load(engine, other) == {b"c": (1, 2), b"d/e": (3, 4)}
    assert folderids.load(engine, other) == {b"c": (1, 2), b"d/e": (3, 4)}
    assert read == [other]
