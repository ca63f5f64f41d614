"""What a 100,000-file checkpoint pays for its own memos (issue 17, stop 60), and that they are
read as exactly as before.

The entries memo (engine/indexmemo.py: a large index of yours found equal to the last one by
its bytes) carried the SHA-1 of its own 9.6 MB, computed at each read and each write of it:
5-16 ms of processor time apiece at 100,000 files, in every checkpoint after a git command
wrote your index anew (the benchmark's `begin`, after its stash round trip). A CRC-32, as every
state file of `.git/atomic` carries, tells a damaged memo as well for a fifth of that. Here:
the hashes of the memo's bytes are counted, and a memo damaged anywhere is no memo.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from git_atomic.engine import indexentries, indexmemo
from testing.gitrepo import GitRepo

_FILES = 1_200


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.setenv("GIT_ATOMIC_INDEX_MEMO_AT", "1")  # (small indexes named through a memo)
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for i in range(_FILES):
        repo.write(f"d{i // 40:02d}/f{i:04d}.txt", f"file {i}\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    return repo


def _key(repo: GitRepo, memo: indexentries.Memo) -> str | None:
    indexentries._keys.clear()  # (a new process: nothing remembered in memory)
    return indexentries.entries_key(repo.path / ".git" / "index", sha256=False, memo=memo)


def _new_stat_data(repo: GitRepo, every: int) -> None:
    """New stat data (an older mtime, the same bytes) for every `every`th file, taken by git."""
    for i in range(0, _FILES, every):
        path = repo.path / f"d{i // 40:02d}/f{i:04d}.txt"
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 7_000_000_000))
    repo.git("update-index", "-q", "--refresh")


def test_the_memo_is_read_and_kept_again_without_a_sha1_of_its_bytes(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memo = indexentries.Memo(tmp_path / "memo", tmp_path / "memo-new")
    first = _key(repo, memo)
    assert first is not None and memo.file.exists()
    _new_stat_data(repo, 7)
    monkeypatch.setattr(indexmemo, "_REKEEP_BLOCKS", 0)  # (kept again: its write counted too)
    size = memo.file.stat().st_size
    hashed: list[int] = []
    real = hashlib.sha1

    def counted(data: Any = b"", **kwargs: Any) -> Any:
        if len(data) > size // 2:
            hashed.append(len(data))
        return real(data, **kwargs)

    monkeypatch.setattr(hashlib, "sha1", counted)
    before = memo.file.stat().st_ino
    assert _key(repo, memo) == first  # the same entries: the same key
    assert memo.file.stat().st_ino != before  # read back, compared, and kept again
    assert hashed == []
    monkeypatch.setattr(hashlib, "sha1", real)
    assert _key(repo, memo) == first  # what was kept again is read back as a memo


@pytest.mark.parametrize("where", ["head", "offsets", "entries", "last byte"])
def test_a_memo_damaged_anywhere_is_no_memo(repo: GitRepo, tmp_path: Path, where: str) -> None:
    """One bit of the memo flipped: never the key of other entries, and the index is named
    again from its own bytes (the same key: the key names entries, not the memo)."""
    memo = indexentries.Memo(tmp_path / "memo", tmp_path / "memo-new")
    first = _key(repo, memo)
    kept = bytearray(memo.file.read_bytes())
    head = len(indexmemo._MAGIC) + indexmemo._HEAD.size
    at = {"head": len(indexmemo._MAGIC) + 1, "offsets": head + 6, "entries": len(kept) // 2}
    bit = at.get(where, len(kept) - 1)
    kept[bit] ^= 1
    memo.file.write_bytes(bytes(kept))
    assert indexmemo._load(memo.file) is None
    assert _key(repo, memo) == first
    assert indexmemo._load(memo.file) is not None  # kept anew


# The shared index memo (engine/sharedmemo.py): a split scan index's shared index, 100,000
# entries at 100,000 files, read at every capture for the bits record (scanbits.py). Its paths
# were split out of the memo into 100,000 objects each time (5-8 ms of the memo's 9-16 ms);
# now a version 2 or 3 shared index's paths are read where they are, when asked: the few its
# split index's own part names, found by their place.


def _split_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "1")
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for i in range(300):
        repo.write(f"d{i // 30}/f{i:03d}.txt", f"file {i}\n".encode())
    repo.write("private/key", b"mine\n", mode=0o600)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.atomic("begin", "first")
    repo.atomic("abort")
    return repo


def test_a_capture_reads_the_paths_of_the_shared_index_its_own_part_names_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from git_atomic.engine import scanbits, sharedmemo, splitentries

    repo = _split_repo(tmp_path, monkeypatch)
    git_dir = repo.path / ".git"
    (scan,) = [p for p in (git_dir / "atomic").iterdir() if p.name.startswith("scan-")]
    (shared,) = [p for p in git_dir.iterdir() if p.name.startswith("sharedindex.")]
    data = shared.read_bytes()
    assert data[4:8] == b"\0\0\0\2"  # (the case: git's default version)
    # Three files with new stat data, as a scan that found them changed writes them
    for name in ("d0/f000.txt", "d5/f150.txt", "private/key"):
        (repo.path / name).write_bytes(b"changed\n")
    repo.atomic("begin", "second")
    monkeypatch.delenv("GIT_ATOMIC_VERIFY_SCAN", raising=False)  # (its check reads them all)
    read: list[int] = []
    real = sharedmemo.Names.__getitem__

    def counted(self: sharedmemo.Names, i: Any) -> Any:
        read.append(i)
        return real(self, i)

    monkeypatch.setattr(sharedmemo.Names, "__getitem__", counted)
    splitentries._last.clear()
    (scan,) = [p for p in (git_dir / "atomic").iterdir() if p.name.startswith("scan-")]
    index = scan.read_bytes()
    own = indexentries.walk(index, 20, None)
    assert splitentries.link_of(index, own.starts[-1], 20) is not None
    kept = scanbits.load(_engine(repo))  # the bits record: trusted from the second it names
    assert kept is not None
    memo = sharedmemo.memo_of(_engine(repo))
    # The memo holds the shared index a capture read last; `begin second` may have split its
    # scan index on a shared index made anew (git's split.maxPercentChange, or racily clean
    # entries of the first scan's second), which the next capture's read walks and keeps. That
    # read first, then the one counted: as every capture after it reads.
    splitentries.read(index, own, 20, kept.since, git_dir, memo)
    splitentries._last.clear()
    read.clear()
    ours = splitentries.read(index, own, 20, kept.since, git_dir, memo)
    assert isinstance(ours.view.own.names, sharedmemo.Names)
    assert len(read) <= 2 * len(own.names) + 8  # a few, not 300
    brought = scanbits.brought_up_to_date(
        _engine(repo), scan, base_tree=None, base_index=None, changed=(), gone=()
    )
    assert brought is not None and brought.bits.get(b"private/key") == 0o600


def _engine(repo: GitRepo) -> Any:
    from git_atomic.engine.git import Repo

    git_dir = repo.path / ".git"
    return Repo(repo.path, git_dir, git_dir)


@pytest.mark.parametrize("version", ["2", "3"])
def test_paths_read_where_they_are_are_the_walk_s(tmp_path: Path, version: str) -> None:
    """Every path `Names` reads is the one indexentries.walk reads: long ones (4,095 bytes and
    more: their length is not in the flags), after extended flags (version 3: `add -N`),
    from the end, in slices, and compared whole."""
    from git_atomic.engine import sharedmemo

    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for name in ("a.txt", "b/c.txt", "z.txt"):
        repo.write(name, name.encode() + b"\n")
    repo.git("add", "a.txt", "b/c.txt")
    # (an entry only: no file system holds a path this long)
    blob = repo.git("hash-object", "-w", "a.txt").strip()
    deep = "/".join(["x" * 200] * 21)  # 4,220 bytes
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{deep}/long.txt")
    if version == "3":
        repo.git("add", "-N", "z.txt")
    data = (repo.path / ".git" / "index").read_bytes()
    assert data[4:8] == int(version).to_bytes(4, "big")
    walked = indexentries.walk(data, 20, None)
    names = sharedmemo.Names(data, walked.starts, 20)
    assert names == walked.names and walked.names == names
    assert list(names) == walked.names and len(names) == len(walked.names)
    assert names[-1] == walked.names[-1] and names[1:3] == walked.names[1:3]
    assert any(len(n) > 4095 for n in names)
    assert names != walked.names[:-1]
    kept = sharedmemo.Names(data, walked.starts, 20, b"\0".join(walked.names))
    assert kept.listed() == walked.names == names.listed() and kept.listed() is kept.listed()
    with pytest.raises(IndexError):
        names[len(names)]
