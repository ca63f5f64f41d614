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
