"""What git reads of an index file (engine/indexentries.py): the same key after git takes stat
data again, another key for any change of an entry, a flag, the version or a record; each
index read whole, and each compared with the last one's bytes kept in a memo (indexmemo.py,
what an index past 4 MiB gets: every index here, with GIT_ATOMIC_INDEX_MEMO_AT=1).

The oracle is git's own: `ls-files --stage --debug` without the stat lines, `ls-files -v`
(flags), the resolve-undo record, `write-tree`. Keys are equal exactly when all of those are.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from git_atomic.engine import indexentries
from testing.gitrepo import GitRepo, next_second

# How an index is named in this test: None, read whole; a path, through that memo file.
_MEMO: dict[int, indexentries.Memo | None] = {0: None}


@pytest.fixture(autouse=True, params=["read whole", "through a memo"])
def way(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "through a memo":
        monkeypatch.setenv("GIT_ATOMIC_INDEX_MEMO_AT", "1")
        monkeypatch.setitem(_MEMO, 0, indexentries.Memo(tmp_path / "memo", tmp_path / "new"))
    else:
        monkeypatch.setitem(_MEMO, 0, None)
    return str(request.param)


def key(repo: GitRepo) -> str | None:
    indexentries._keys.clear()
    return indexentries.entries_key(repo.path / ".git" / "index", sha256=False, memo=_MEMO[0])


def what_git_reads(repo: GitRepo) -> tuple[bytes, ...]:
    """Everything of the index git's commands show, its stat data aside."""
    return (
        repo.git("ls-files", "-z", "--stage").encode(),
        repo.git("ls-files", "-z", "-v", "--cached", "--resolve-undo").encode(),
        repo.git("ls-files", "-z", "-t", "--cached").encode(),
        repo.git("write-tree").encode(),
        (repo.path / ".git" / "index").read_bytes()[4:8],  # the version
    )


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for name in ("a.txt", "dir/b.txt", "dir/sub/c.txt", "d.sh", "e.txt"):
        repo.write(name, name.encode() + b"\n")
    os.symlink("a.txt", repo.path / "link")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    return repo


def refreshed(repo: GitRepo) -> None:
    """git takes the stat data of every file again, in a later second than the index's."""
    next_second()
    for name in ("a.txt", "dir/b.txt", "e.txt"):
        (repo.path / name).touch()
    repo.git("update-index", "-q", "--really-refresh")
    repo.git("status", "--porcelain")


FLAGS: dict[str, Callable[[GitRepo], None]] = {
    "none": lambda repo: None,
    "assume-unchanged": lambda repo: repo.git("update-index", "--assume-unchanged", "e.txt"),
    "skip-worktree": lambda repo: repo.git("update-index", "--skip-worktree", "e.txt"),
    "intent-to-add": lambda repo: (repo.write("new.txt", b"n\n"), repo.git("add", "-N", "new.txt")),
}


@pytest.mark.parametrize("version", ["2", "3", "4"])
@pytest.mark.parametrize("flag", list(FLAGS))
def test_stat_data_taken_again_keeps_the_key(repo: GitRepo, version: str, flag: str) -> None:
    repo.git("update-index", "--index-version", version)
    FLAGS[flag](repo)
    first, reads = key(repo), what_git_reads(repo)
    raw = (repo.path / ".git" / "index").read_bytes()
    refreshed(repo)
    assert (repo.path / ".git" / "index").read_bytes() != raw  # git wrote it anew
    assert what_git_reads(repo) == reads
    assert first is not None and key(repo) == first


CHANGES: dict[str, Callable[[GitRepo], None]] = {
    "content": lambda repo: (repo.write("a.txt", b"other\n"), repo.git("add", "a.txt")),
    "mode": lambda repo: repo.git("update-index", "--chmod=+x", "a.txt"),
    "removed": lambda repo: repo.git("rm", "-q", "--cached", "dir/b.txt"),
    "added": lambda repo: (repo.write("dir/z.txt", b"z\n"), repo.git("add", "dir/z.txt")),
    "renamed": lambda repo: repo.git("mv", "dir/sub/c.txt", "dir/sub/C.txt"),
    "link made a file": lambda repo: (
        os.unlink(repo.path / "link"),
        repo.write("link", b"a.txt"),
        repo.git("add", "link"),
    ),
    "assume-unchanged": lambda repo: repo.git("update-index", "--assume-unchanged", "a.txt"),
    "skip-worktree": lambda repo: repo.git("update-index", "--skip-worktree", "a.txt"),
    "intent-to-add": lambda repo: (repo.write("n.txt", b"n\n"), repo.git("add", "-N", "n.txt")),
    "version": lambda repo: repo.git("update-index", "--index-version", "4"),
    "resolve-undo": lambda repo: _resolved_conflict(repo),
}


def _resolved_conflict(repo: GitRepo) -> None:
    """A conflict resolved by `git add`: the index keeps the stages it had (REUC)."""
    repo.git("checkout", "-qb", "side")
    repo.write("a.txt", b"side\n")
    repo.git("commit", "-qam", "side")
    repo.git("checkout", "-q", "-")
    repo.write("a.txt", b"main\n")
    repo.git("commit", "-qam", "main")
    before = what_git_reads(repo)
    repo.git("merge", "side", check=False)
    repo.write("a.txt", b"main\n")
    repo.git("add", "a.txt")  # the same entry as before the merge, with a resolve-undo record
    assert what_git_reads(repo)[0] == before[0]


@pytest.mark.parametrize("change", list(CHANGES))
def test_any_change_git_reads_changes_the_key(repo: GitRepo, change: str) -> None:
    repo.git("update-index", "--index-version", "3")
    first, reads = key(repo), what_git_reads(repo)
    CHANGES[change](repo)
    assert what_git_reads(repo) != reads  # git reads it as another index
    assert key(repo) not in (None, first)


def test_a_split_index_and_what_is_no_index_have_no_key(repo: GitRepo, tmp_path: Path) -> None:
    index = repo.path / ".git" / "index"
    whole = index.read_bytes()
    assert key(repo) is not None
    for bad in (whole[:-30], whole[:40] + bytes(len(whole) - 40), b"DIRC\0\0\0\x09" + whole[8:]):
        index.write_bytes(bad)
        assert key(repo) is None, bad[:12]
    index.write_bytes(whole)
    repo.git("update-index", "--split-index")
    assert key(repo) is None  # its entries are in its shared index
    index.unlink()
    assert key(repo) is None


def test_an_index_written_over_in_place_is_read_again(repo: GitRepo) -> None:
    """The key is kept per index file for the process (the staged side and the rule files'
    answer ask for the same one): by its size, times and inode. Written over with as many
    bytes and its mtime put back, its ctime tells: read again."""
    path = repo.path / ".git" / "index"
    first = indexentries.entries_key(path, sha256=False, memo=_MEMO[0])
    assert first is not None
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.write(bytes(st.st_size))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_ino == st.st_ino
    assert indexentries.entries_key(path, sha256=False, memo=_MEMO[0]) is None


def test_an_index_past_the_size_read_has_no_key_without_a_memo(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Read before a capture's scan starts: a large index is left to git, unless it is named
    through a memo (past MEMO_AT_MOST_BYTES, it is left to git all the same)."""
    path = repo.path / ".git" / "index"
    assert key(repo) is not None
    monkeypatch.delenv("GIT_ATOMIC_INDEX_MEMO_AT", raising=False)
    monkeypatch.setattr(indexentries, "AT_MOST_BYTES", path.stat().st_size - 1)
    indexentries._keys.clear()
    assert indexentries.entries_key(path, sha256=False) is None
    memo = indexentries.Memo(tmp_path / "memo-past", tmp_path / "memo-new")
    assert indexentries.entries_key(path, sha256=False, memo=memo) is not None
    assert memo.file.exists() and not memo.scratch.exists()
    monkeypatch.setattr(indexentries, "MEMO_AT_MOST_BYTES", path.stat().st_size - 1)
    indexentries._keys.clear()
    assert indexentries.entries_key(path, sha256=False, memo=memo) is None


@pytest.mark.parametrize("what", ["link to a device", "link to a file outside"])
def test_a_checkpoint_never_reads_through_a_link_at_the_index_s_name(
    repo: GitRepo, tmp_path: Path, what: str
) -> None:
    """An operation may leave a link at `.git/index`. Once git's answer about the rule files is
    remembered (a tracked `.gitignore`, older than the walk's window), the next checkpoint
    keys the index by name (indexentries.open_index: never through a link, never waiting on a
    FIFO): it ends with one line, the link and what it points at untouched. (A FIFO there:
    tests/test_git_dir_special_files.py.)"""
    written = time.monotonic()
    repo.write(".gitignore", b"build/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    time.sleep(max(0.0, 3.2 - (time.monotonic() - written)))
    for name in ("one", "two"):
        repo.atomic("begin", name, check=0)
        repo.atomic("abort", check=0)
    index = repo.path / ".git" / "index"
    index.unlink()
    outside = tmp_path / "outside-index"
    outside.write_bytes(b"DIRC not yours\n")
    os.symlink("/dev/zero" if what == "link to a device" else outside, index)
    res = repo.atomic("begin", "three", timeout=60)
    assert "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert outside.read_bytes() == b"DIRC not yours\n"
    assert index.is_symlink()


def test_the_index_is_opened_only_as_a_regular_file(tmp_path: Path) -> None:
    """open_index: a FIFO is not waited on, a link is not followed, a missing file says so."""
    fifo, link, real = tmp_path / "fifo", tmp_path / "link", tmp_path / "real"
    os.mkfifo(fifo)
    real.write_bytes(b"DIRC")
    os.symlink(real, link)
    assert indexentries.open_index(fifo) is None  # (returns at once: O_NONBLOCK)
    assert indexentries.open_index(link) is None
    with pytest.raises(FileNotFoundError):
        indexentries.open_index(tmp_path / "none")
    opened = indexentries.open_index(real)
    assert opened is not None
    with opened:
        assert opened.read() == b"DIRC"


@pytest.mark.parametrize("way", ["through a memo"], indirect=True)
def test_a_damaged_memo_is_no_memo(repo: GitRepo, way: str) -> None:
    """A memo whose kept entries were written over with another index's (the same length: a
    file changed to other bytes of its size) would take that index for the first one: its own
    digest no longer holds, and the other index gets a key of its own."""
    assert _MEMO[0] is not None
    memo = _MEMO[0].file
    first = key(repo)
    repo.write("a.txt", b"A.txt\n")  # as many bytes as before
    repo.git("add", "a.txt")
    other = (repo.path / ".git" / "index").read_bytes()
    kept = memo.read_bytes()
    entries_at = len(kept) - (len(other) - 20 - _extensions_length(other))
    memo.write_bytes(kept[:entries_at] + other[: len(kept) - entries_at])
    assert key(repo) not in (None, first)
    assert what_git_reads(repo)[0] != b""


def _extensions_length(data: bytes) -> int:
    offsets = indexentries.starts(data, 20)
    assert offsets is not None
    return len(data) - 20 - offsets[-1]


@pytest.mark.parametrize("way", ["through a memo"], indirect=True)
@pytest.mark.parametrize("seed", range(6))
def test_keys_through_a_memo_are_equal_only_for_what_git_reads_the_same(
    repo: GitRepo, way: str, seed: int
) -> None:
    """Drawn sequences of changes to the index and refreshes of its stat data (at every
    version): whenever two indexes get the same key, git reads the same of both; an index
    only refreshed since the last one keeps its key."""
    import random

    rng = random.Random(seed)
    seen: dict[str, tuple[bytes, ...]] = {}
    steps = [*CHANGES.items(), *FLAGS.items()]
    last = key(repo)
    for i in range(8):
        if rng.random() < 0.4:
            reads = what_git_reads(repo)
            time.sleep(0.01)
            for name in ("a.txt", "dir/b.txt", "e.txt"):
                if (repo.path / name).exists():
                    os.utime(repo.path / name, ns=(i, time.time_ns()))
            repo.git("update-index", "-q", "--really-refresh")
            assert what_git_reads(repo) == reads
            now = key(repo)
            assert now == last, "refreshed only: the same key"
        else:
            name, change = rng.choice(steps)
            if name == "resolve-undo":
                continue
            try:
                change(repo)
            except (AssertionError, OSError, FileExistsError):
                continue  # not possible from here (a path already gone, say)
            now = key(repo)
        assert now is not None
        reads = what_git_reads(repo)
        assert seen.setdefault(now, reads) == reads, f"step {i}: one key, two indexes"
        last = now


@pytest.mark.parametrize("way", ["through a memo"], indirect=True)
@pytest.mark.parametrize("what", ["fifo", "link to a file outside"])
def test_a_memo_that_is_no_regular_file_is_never_read(
    repo: GitRepo, tmp_path: Path, way: str, what: str
) -> None:
    """A FIFO at the memo's name was waited on for ever, a link read through (the file
    outside, a memo of the same index, taken for ours): neither is read; the memo is written
    in its place, the file outside untouched."""
    assert _MEMO[0] is not None
    memo = _MEMO[0].file
    first = key(repo)
    kept = memo.read_bytes()
    memo.unlink()
    outside = tmp_path / "outside-memo"
    if what == "fifo":
        os.mkfifo(memo)
    else:
        outside.write_bytes(kept)
        os.symlink(outside, memo)
    refreshed(repo)
    now = key(repo)  # (a FIFO read would never return)
    assert now is not None and now != first  # not the memo's key: it was not read
    assert memo.is_file() and not memo.is_symlink()
    assert what == "fifo" or outside.read_bytes() == kept
