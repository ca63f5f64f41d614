"""Family: the configuration's parse kept in your cache folder (`$XDG_CACHE_HOME/git-atomic`,
core/config: the TOML parser's import costs a command 5 to 8 ms). Its files are written as
state files are (core/wholefile.py: an aside name made with O_EXCL|O_NOFOLLOW, renamed over
the entry), read without following a link, and the `git-atomic` folder in the cache is ours:
one that is a link (or not your own) is no cache, the parse made each time. The cache folder
itself (`~/.cache`, `$XDG_CACHE_HOME`) is yours, followed as every program that keeps a cache
there follows it (often a link to another disk). The file outside is never written: its
bytes and mtime are as they were.

- A link at the temporary name the entry was written under (`config-<crc>-<size>.<pid>.tmp`,
  a name anyone can foresee) had the parse written through it, over a file of yours.
- A link at an entry's name was read through: an entry elsewhere made for the same bytes
  gave the command a configuration those bytes do not say.
- The `git-atomic` folder a link: every entry written into the folder it names."""

from __future__ import annotations

import marshal
import os
import tomllib
from pathlib import Path

import pytest

from git_atomic.core import config

RAW = b'history = "shadow"\n'


def outside(path: Path, data: bytes) -> tuple[Path, bytes, int]:
    path.write_bytes(data)
    return path, data, path.stat().st_mtime_ns


def untouched(seen: tuple[Path, bytes, int]) -> None:
    path, data, mtime = seen
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache" / "git-atomic").mkdir(parents=True, mode=0o700)
    return tmp_path / "cache" / "git-atomic"


def test_a_link_at_the_temporary_name_is_not_written_through(cache: Path, tmp_path: Path) -> None:
    entry = config._cache_file(RAW)
    assert entry is not None and entry.parent == cache
    seen = outside(tmp_path / "yours.txt", b"your file\n")
    pid = os.getpid()
    for name in (f"{entry.name}.{pid}.tmp", f".{entry.name}.{pid}.tmp"):
        (cache / name).symlink_to(seen[0])
    config._remember_parsed(RAW, tomllib.loads(RAW.decode()))
    untouched(seen)
    assert not entry.is_symlink() and entry.read_bytes().startswith(config._CACHE_VERSION)
    assert config._parsed_before(RAW) == {"history": "shadow"}


def test_a_link_at_an_entry_is_not_read_through(cache: Path, tmp_path: Path) -> None:
    """An entry elsewhere made for the very bytes of your configuration (its check passes) but
    with another parse: read through the link before, the command went by it."""
    entry = config._cache_file(RAW)
    assert entry is not None
    forged = config._CACHE_VERSION + marshal.dumps((RAW, {"history": "commits"}))
    seen = outside(tmp_path / "forged", forged)
    entry.symlink_to(seen[0])
    assert config._parsed_before(RAW) is None
    path = tmp_path / "repo" / ".git-atomic.toml"  # (the cache beside the worktree, not in it)
    path.parent.mkdir()
    path.write_bytes(RAW)
    assert config._parse(path, ".git-atomic.toml") == {"history": "shadow"}
    untouched(seen)  # the link replaced by a file of ours (renamed over it), never written
    assert not entry.is_symlink() and config._parsed_before(RAW) == {"history": "shadow"}


@pytest.mark.parametrize("at", ["link", "fifo"])
def test_the_cache_folder_a_link_is_no_cache(cache: Path, tmp_path: Path, at: str) -> None:
    """Ours made a link to a folder elsewhere: nothing is read from there or written there,
    the parse made each time (a cache: time, never correctness)."""
    cache.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    entry = config._cache_file(RAW)
    assert entry is not None
    forged = config._CACHE_VERSION + marshal.dumps((RAW, {"history": "commits"}))
    seen = outside(elsewhere / entry.name, forged)
    if at == "link":
        cache.symlink_to(elsewhere)
    else:
        os.mkfifo(cache)
    path = tmp_path / "repo" / ".git-atomic.toml"  # (the cache beside the worktree, not in it)
    path.parent.mkdir()
    path.write_bytes(RAW)
    assert config._parse(path, ".git-atomic.toml") == {"history": "shadow"}
    assert config._parsed_before(RAW) is None
    untouched(seen)
    assert sorted(os.listdir(elsewhere)) == [entry.name]
    assert cache.is_symlink() if at == "link" else not cache.is_dir()
