"""What naming a large index costs once git wrote it anew (a `git status`, a stash, a reset:
engine/indexentries.py, engine/indexmemo.py), and that its cost was cut without trusting less.

At 100,000 files a checkpoint after such a write paid 46 ms of processor time for the key of
the index (its bytes hashed twice to find a key already made, the index read as 64 MiB, the
9 MB memo read 64 KiB at a time and copied twice, each entry of a block that differs looked at
in Python); 15 ms now. Here: the reads, the hashes and the looks are counted, and the keys
compared with git's own reading of the index (`ls-files --stage`, `write-tree`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_atomic.core import wholefile
from git_atomic.engine import indexentries, indexmemo, objectformat
from testing.gitrepo import GitRepo

_FILES = 2_000  # about 170 KB of index: three blocks of the memo's comparison


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.setenv("GIT_ATOMIC_INDEX_MEMO_AT", "1")
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for i in range(_FILES):
        repo.write(f"d{i // 50:02d}/f{i:04d}.txt", f"file {i}\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    return repo


def _memo(tmp_path: Path) -> indexentries.Memo:
    return indexentries.Memo(tmp_path / "memo", tmp_path / "memo-new")


def _key(repo: GitRepo, memo: indexentries.Memo) -> str | None:
    indexentries._keys.clear()
    return indexentries.entries_key(repo.path / ".git" / "index", sha256=False, memo=memo)


def _reads(repo: GitRepo) -> tuple[str, str]:
    return repo.git("ls-files", "-z", "--stage"), repo.git("write-tree")


def test_a_state_file_is_read_in_one_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """wholefile.read asks for the file's size at once (a 9 MB memo took 150 reads of 64 KiB),
    and still stops at `limit`."""
    path = tmp_path / "state"
    data = os.urandom((1 << 20) + 5)
    path.write_bytes(data)
    calls: list[int] = []
    real = os.read

    def counted(fd: int, n: int) -> bytes:
        calls.append(n)
        return real(fd, n)

    monkeypatch.setattr(wholefile.os, "read", counted)
    assert wholefile.read(path, limit=4 << 20) == data
    assert len(calls) <= 2, calls
    calls.clear()
    assert wholefile.read(path, limit=1000) == data[:1000]
    assert len(calls) == 1
    assert wholefile.read(tmp_path / "state", limit=len(data)) == data


def test_the_same_index_is_found_again_without_hashing_it(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staged side asks for the key of a hard link to the index the rule files' answer
    asked for: found by comparing its bytes, not by a hash of the whole index at each ask."""
    index = repo.path / ".git" / "index"
    link = tmp_path / "index-link"
    os.link(index, link)
    size = index.stat().st_size
    whole: list[int] = []
    real = objectformat.checksum

    def counted(data: bytes, *, sha256: bool) -> bytes:
        if len(data) == size:
            whole.append(len(data))
        return real(data, sha256=sha256)

    monkeypatch.setattr(objectformat, "checksum", counted)
    memo = _memo(tmp_path)
    first = _key(repo, memo)
    assert first is not None
    assert indexentries.entries_key(link, sha256=False, memo=memo) == first
    assert whole == []
    # Other bytes are another index: read and named again, never taken for the one kept.
    repo.write("d00/f0000.txt", b"changed\n")
    repo.git("add", "d00/f0000.txt")
    assert indexentries.entries_key(index, sha256=False, memo=memo) not in (None, first)


def _stat_only(repo: GitRepo, names: list[str]) -> None:
    """New stat data for `names` (same bytes, an earlier mtime), taken by git."""
    for name in names:
        path = repo.path / name
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 5_000_000_000))
    repo.git("update-index", "-q", "--refresh")


@pytest.mark.parametrize(
    "change",
    ["none", "content", "mode", "content beside", "last entry", "first entry"],
)
def test_a_block_with_new_stat_data_is_looked_at_entry_by_entry_where_it_differs(
    repo: GitRepo, tmp_path: Path, change: str
) -> None:
    """Stat data taken again for entries spread over the index (a run of them compared whole is
    passed over; one that differs is looked at alone): the same key, and another for any other
    change of an entry, even one beside an entry whose stat data changed."""
    memo = _memo(tmp_path)
    first, reads = _key(repo, memo), _reads(repo)
    assert first is not None and memo.file.exists()
    kept = memo.file.read_bytes()
    spread = [f"d{i // 50:02d}/f{i:04d}.txt" for i in (0, 3, 640, 641, 1300, _FILES - 1)]
    _stat_only(repo, spread)
    if change == "content":
        repo.write("d12/f0620.txt", b"other\n")
        repo.git("add", "d12/f0620.txt")
    elif change == "mode":
        repo.git("update-index", "--chmod=+x", "d25/f1290.txt")
    elif change == "content beside":  # the entry next to one whose stat data changed
        repo.write("d12/f0642.txt", b"other\n")
        repo.git("add", "d12/f0642.txt")
    elif change == "last entry":
        repo.git("update-index", "--chmod=+x", f"d39/f{_FILES - 1:04d}.txt")
    elif change == "first entry":
        repo.git("update-index", "--chmod=+x", "d00/f0000.txt")
    now = _key(repo, memo)
    assert now is not None
    assert (now == first) == (_reads(repo) == reads) == (change == "none")
    if change == "none":  # few blocks differ: the memo on disk is left as it was
        assert memo.file.read_bytes() == kept


class _Counted(bytes):
    """An index's bytes that count how often they are sliced or compared in place."""

    looks = 0

    def __getitem__(self, item):  # type: ignore[no-untyped-def]
        _Counted.looks += 1
        return bytes.__getitem__(self, item)

    def startswith(self, *args, **kw):  # type: ignore[no-untyped-def]
        _Counted.looks += 1
        return bytes.startswith(self, *args, **kw)


def test_a_few_entries_with_new_stat_data_cost_a_few_looks(repo: GitRepo, tmp_path: Path) -> None:
    """One entry's stat data taken again in a block of about 700: before, each entry of the
    block was sliced twice (1,400 looks); now the runs that did not change are passed whole."""
    memo = _memo(tmp_path)
    assert _key(repo, memo) is not None
    _stat_only(repo, ["d20/f1000.txt"])
    data = (repo.path / ".git" / "index").read_bytes()
    loaded = indexmemo._load(memo.file)
    assert loaded is not None
    *_, offsets, old = loaded
    _Counted.looks = 0
    assert indexmemo._same_entries(_Counted(data), old, offsets) == 1
    assert _Counted.looks < 60, _Counted.looks
