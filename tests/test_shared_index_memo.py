"""A split scan index's shared index read without walking its entries in Python at every capture
(engine/sharedmemo.py), and read as before.

Issue 17, stop 59: the 100,000-file checkpoint cost 45 ms more processor time than at stop 57,
all of it the bits record's walk of the scan index's shared index (splitentries.py, 100,000
entries in Python at every `begin`). The walk's answer (each entry's offset and path) is kept
in `.git/atomic/shared-memo-<worktree>` for the shared index it was made from. Here: the shared
index walks are counted, and what is read from the memo is compared with a walk and with git's
own listing; a memo damaged, of another shared index, or a link is no memo.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from git_atomic.engine import indexentries, scanbits, sharedmemo, splitentries
from git_atomic.engine.git import Repo
from testing.gitrepo import GitRepo
from tests.test_split_entries import _git_listing, _ours


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """A repository whose scan index is split (a `begin` and an `abort` made it), with files of
    bits of their own (what the bits record keeps). One for the module: each test leaves its
    memo as it found it."""
    tmp_path = tmp_path_factory.mktemp("shared-memo")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "1")
        repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for i in range(120):
        repo.write(f"d{i // 12}/f{i:03d}.txt", f"file {i}\n".encode())
    for i in range(3):
        repo.write(f"private/p{i}", b"mine\n", mode=0o600)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.atomic("begin", "warm")
    repo.write("d0/f000.txt", b"changed\n")
    repo.atomic("abort")
    return repo


def _engine(repo: GitRepo) -> Repo:
    git_dir = repo.path / ".git"
    return Repo(repo.path, git_dir, git_dir)


def _scan_index(repo: GitRepo) -> Path:
    (name,) = [n for n in os.listdir(repo.path / ".git" / "atomic") if n.startswith("scan-")]
    return repo.path / ".git" / "atomic" / name


def _shared(repo: GitRepo) -> Path:
    (name,) = [n for n in os.listdir(repo.path / ".git") if n.startswith("sharedindex.")]
    return repo.path / ".git" / name


def _memo(repo: GitRepo) -> Path:
    return repo.path / ".git" / "atomic" / "shared-memo-main"  # (the main worktree's)


def _counted(monkeypatch: pytest.MonkeyPatch, size: int) -> list[int]:
    """The walks of data of `size` bytes (the shared index's) from now on."""
    walks: list[int] = []
    real = indexentries.walk

    def counted(data: bytes, width: int, since: int | None) -> indexentries.Walked:
        if len(data) == size:
            walks.append(size)
        return real(data, width, since)

    monkeypatch.setattr(indexentries, "walk", counted)
    return walks


def _brought(repo: GitRepo) -> scanbits.Brought | None:
    """What a new process's capture reads of the scan index (no shared index read before)."""
    splitentries._last.clear()
    return scanbits.brought_up_to_date(
        _engine(repo), _scan_index(repo), base_tree=None, base_index=None, changed=(), gone=()
    )


def test_the_shared_index_is_walked_once_not_at_every_capture(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GIT_ATOMIC_VERIFY_SCAN", raising=False)  # (its check walks it too)
    index = _scan_index(repo).read_bytes()
    own = indexentries.walk(index, 20, None)
    assert splitentries.link_of(index, own.starts[-1], 20) is not None  # the case this is about
    shared = _shared(repo)
    walks = _counted(monkeypatch, shared.stat().st_size)
    counts = []
    results = []
    for drop in (False, True, False):  # the begin's memo; none; the one the last call kept
        if drop:
            _memo(repo).unlink(missing_ok=True)
        before = len(walks)
        results.append(_brought(repo))
        counts.append(len(walks) - before)
    assert counts == [0, 1, 0]
    assert results[0] is not None and results[0] == results[1] == results[2]
    assert {p: m for p, m in results[0].bits.items() if p.startswith(b"private/")} == {
        b"private/p0": 0o600,
        b"private/p1": 0o600,
        b"private/p2": 0o600,
    }


def test_what_the_memo_gives_is_what_a_walk_and_git_read(repo: GitRepo) -> None:
    shared = _shared(repo)
    data = shared.read_bytes()
    memo = indexentries.Memo(_memo(repo), None)
    starts = indexentries.walk(data, 20, None).starts
    ctimes = [int.from_bytes(data[at : at + 4], "big") for at in starts[:-1]]
    for since in (None, 0, min(ctimes), max(ctimes), max(ctimes) + 1):
        assert sharedmemo.walked(shared, data, 20, since, memo) == indexentries.walk(
            data, 20, since
        ), since
    index = _scan_index(repo).read_bytes()
    splitentries._last.clear()
    assert _ours(index, repo.path / ".git", 20) == _git_listing(repo, _scan_index(repo))


@pytest.mark.parametrize("harm", ["damaged", "another shared index", "cut short", "a link"])
def test_a_memo_not_of_these_bytes_is_no_memo(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, harm: str
) -> None:
    monkeypatch.delenv("GIT_ATOMIC_VERIFY_SCAN", raising=False)
    shared = _shared(repo)
    data = shared.read_bytes()
    path = _memo(repo)
    kept = path.read_bytes()
    outside = repo.path.parent / "elsewhere"
    if harm == "damaged":
        path.write_bytes(kept[:-5] + bytes([kept[-5] ^ 1]) + kept[-4:])
    elif harm == "another shared index":  # (its checksum right)
        other = "sharedindex." + "0" * 40
        at = kept.index(b"sharedindex.")
        body = kept[at:].replace(shared.name.encode(), other.encode(), 1)
        path.write_bytes(kept[: at - 4] + zlib.crc32(body).to_bytes(4, "big") + body)
    elif harm == "cut short":
        path.write_bytes(kept[: len(kept) // 2])
    else:
        outside.write_bytes(kept)
        path.unlink()
        path.symlink_to(outside)
    walks = _counted(monkeypatch, len(data))
    found = sharedmemo.walked(shared, data, 20, None, sharedmemo.memo_of(_engine(repo)))
    assert walks == [len(data)]
    assert found == indexentries.walk(data, 20, None)
    assert not path.is_symlink() and path.read_bytes() == kept  # kept again, in its place
    if harm == "a link":
        assert outside.read_bytes() == kept  # nothing written through the link
