"""The entries of a scan index whose stat data git took anew (scanbits._entries with `base`):
compared with those of the index the scan started from by halving ranges of entries, with
files that came and went between (the entries after them moved), in indexes of version 2 and 4.
Checked against a comparison by path of indexes git itself wrote (`update-index --refresh`
after files were touched, folders swapped, files added and removed)."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from git_atomic.engine import scanbits
from testing.gitrepo import GitRepo

FOLDERS = ["a", "a/b", "ab", "b", "b/c/d", "z"]


def _by_path(data: bytes) -> dict[bytes, bytes]:
    starts, names, _ = scanbits._parse(data, 20, None)
    return {name: data[at : at + 40] for at, name in zip(starts, names, strict=False)}


def _expected(new: bytes, base: bytes) -> set[bytes]:
    before = _by_path(base)
    return {p for p, stat_data in _by_path(new).items() if before.get(p) != stat_data}


@pytest.mark.parametrize("version", [2, 4])
def test_entries_taken_anew_are_found_by_halving(repo: GitRepo, version: int) -> None:
    rng = random.Random(version)
    names = [f"{rng.choice(FOLDERS)}/f{i:03}{'x' * rng.randrange(12)}.txt" for i in range(300)]
    for name in names:
        repo.write(name, b"same\n")
    repo.git("add", "-A")
    repo.git("update-index", "--index-version", str(version))
    index = repo.path / ".git" / "index"
    for _ in range(25):
        base = index.read_bytes()
        present = sorted(p for p in repo.git("ls-files", "-z").split("\0") if p)
        for name in rng.sample(present, rng.randrange(4)):  # the same bytes, other stat data
            os.utime(repo.path / name, ns=(1, rng.randrange(1, 10**18)))
        if rng.random() < 0.3:  # two folders swapped: other inodes, older ctimes
            os.rename(repo.path / "ab", repo.path / "swap")
            shutil.copytree(repo.path / "swap", repo.path / "ab.new", copy_function=os.link)
            shutil.rmtree(repo.path / "swap")
            os.rename(repo.path / "ab.new", repo.path / "ab")
        gone = rng.sample(present, rng.randrange(3)) + (present[-2:] if rng.random() < 0.1 else [])
        gone = sorted(set(gone))
        repo.git("rm", "-q", "--cached", "--", *gone) if gone else None
        for _ in range(rng.randrange(3)):
            where = rng.choice([*FOLDERS, "0", "zz"])  # before the first, after the last too
            new = f"{where}/n{rng.randrange(10**6)}.txt"
            repo.write(new, b"same\n")
            repo.git("add", "--", new)
        repo.git("update-index", "-q", "--refresh", check=False)
        data = index.read_bytes()
        assert data[4:8] == version.to_bytes(4, "big")
        found = scanbits._entries(data, 2**32 - 1, sha256=False, base=base)
        assert sorted(found) == sorted(_expected(data, base))
        assert scanbits._differing(data, base, *scanbits._parse(data, 20, None)[:2], 20) is not None


def test_an_index_of_another_version_is_compared_by_path(repo: GitRepo, tmp_path: Path) -> None:
    for i in range(50):
        repo.write(f"d{i % 5}/f{i}.txt", b"same\n")
    repo.git("add", "-A")
    index = repo.path / ".git" / "index"
    base = index.read_bytes()
    repo.git("update-index", "--index-version", "4")
    os.utime(repo.path / "d1/f1.txt", ns=(1, 10**18))
    repo.git("update-index", "-q", "--refresh", check=False)
    data = index.read_bytes()
    found = scanbits._entries(data, 2**32 - 1, sha256=False, base=base)
    assert found == [b"d1/f1.txt"]
