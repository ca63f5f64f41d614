"""Whether an index is a split index whose shared index is gone (splitindex.gone), told without
reading its entries in Python, and told as before.

Every restore asks it of your index. The benchmark's tree at 100,000 files has one path ending
in `link`, which put "link" and two NULs among the entries of a whole index: every restore
then read the 100,000 entries in Python to find no "link" extension (10 ms of processor time).
Here: the entries read are counted, and the answer compared with git's own reading.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from git_atomic.engine import indexentries, splitindex
from git_atomic.engine.git import Repo
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for i in range(200):
        repo.write(f"d{i // 20}/f{i:03d}.txt", f"file {i}\n".encode())
    # A name ending in `link`: "link" then the NULs that end its entry.
    repo.write("tools/symlink", b"not a link\n")
    repo.write("tools/hardlink", b"nor this\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    return repo


def _engine(repo: GitRepo) -> Repo:
    git_dir = repo.path / ".git"
    return Repo(repo.path, git_dir, git_dir)


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = indexentries.starts

    def counted(data: bytes | bytearray, width: int) -> list[int] | None:
        calls.append(len(data))
        return real(data, width)

    monkeypatch.setattr(indexentries, "starts", counted)
    return calls


def test_a_whole_index_is_told_without_reading_its_entries(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = repo.path / ".git" / "index"
    assert index.read_bytes().find(b"link\0\0", 12) != -1  # the case this is about
    calls = _counted(monkeypatch)
    assert splitindex.gone(_engine(repo), index) is False
    assert calls == []


def test_a_split_index_is_told_without_reading_its_entries(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.git("update-index", "--split-index")
    repo.write("d0/f000.txt", b"changed\n")
    repo.git("add", "d0/f000.txt")  # an entry of its own, beside the shared ones
    index = repo.path / ".git" / "index"
    calls = _counted(monkeypatch)
    engine = _engine(repo)
    assert splitindex.gone(engine, index) is False
    assert calls == []
    shared = splitindex.named(engine, index)
    assert shared is not None
    assert (repo.path / ".git" / shared).is_file()
    # Its shared index removed: gone, as git says (it cannot read the index).
    (repo.path / ".git" / shared).unlink()
    assert repo.git("ls-files", check=False) == ""
    assert splitindex.gone(engine, index) is True


def test_gone_agrees_with_the_entries_read(repo: GitRepo) -> None:
    """The answer is the one reading every entry gives (splitindex.named), whole and split,
    with and without the shared index, and for what is no index at all."""
    engine = _engine(repo)
    index = repo.path / ".git" / "index"

    def by_reading() -> bool:
        shared = splitindex.named(engine, index)
        return shared is not None and not splitindex.usable(engine, shared)

    assert splitindex.gone(engine, index) is by_reading() is False
    repo.git("update-index", "--split-index")
    assert splitindex.gone(engine, index) is by_reading() is False
    repo.git("update-index", "--no-split-index")
    assert splitindex.gone(engine, index) is by_reading() is False
    repo.git("update-index", "--split-index")
    shared = splitindex.named(engine, index)
    assert shared is not None
    (repo.path / ".git" / shared).rename(repo.path / ".git" / "elsewhere")
    assert splitindex.gone(engine, index) is by_reading() is True
    for junk in (b"", b"link\0\0", b"DIRC" + bytes(8) + b"link\0\0\0\0" + bytes(40)):
        index.write_bytes(junk)
        assert splitindex.gone(engine, index) is by_reading() is False
