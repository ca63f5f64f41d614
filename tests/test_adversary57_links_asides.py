"""Family: files git-atomic writes under a name of its process (an aside renamed over a memo or a
git dir file, a scratch file git is handed, an index copy) in the git dir, where an operation's
command writes as freely as in the worktree. The names are foreseeable (the pid, a count), so a
command that plants links at them (a spray over the next pids) had the next writer write its
bytes through the link, over a file of yours. Each is now made anew with O_EXCL|O_NOFOLLOW
(core/wholefile.py `write_new`), or opened with O_NOFOLLOW where it must exist (an index copy):
the file outside keeps its bytes and mtime."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def outside(path: Path, data: bytes = b"your file\n") -> tuple[Path, bytes, int]:
    path.write_bytes(data)
    return path, data, path.stat().st_mtime_ns


def untouched(seen: tuple[Path, bytes, int]) -> None:
    path, data, mtime = seen
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


def _found(repo: GitRepo, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from git_atomic.engine import discovery

    monkeypatch.chdir(repo.path)
    for name, value in repo.env.items():
        monkeypatch.setenv(name, value)
    return discovery.discover(str(repo.path))


def test_a_git_dir_file_written_aside_is_not_written_through(repo: GitRepo, tmp_path: Path) -> None:
    """gitstate's write of a file of the git dir (MERGE_MSG, a sequencer's file: a restore's)."""
    from git_atomic.engine import gitstate

    seen = outside(tmp_path / "yours.txt")
    path = repo.path / ".git" / "MERGE_MSG"
    (path.parent / f".MERGE_MSG.{os.getpid()}.atomic-tmp").symlink_to(seen[0])
    gitstate._write(path, b"merge message\n")
    untouched(seen)
    assert not path.is_symlink() and path.read_bytes() == b"merge message\n"


def test_a_scratch_file_git_is_handed_is_not_written_through(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scratch name of ours (`<stem>-<pid>-<count>`) a link: branchconfig's copy of a
    branch's configuration lines, read back by `git config --file`."""
    from git_atomic.engine import branchconfig, gitrunner

    found = _found(repo, monkeypatch)
    seen = outside(tmp_path / "yours.txt")
    folder = found.scratch_dir()
    after = next(gitrunner._scratch_names)
    for n in range(after + 1, after + 20):
        (folder / f"branch-config-{os.getpid()}-{n}").symlink_to(seen[0])
    entries = branchconfig._entries(found, b'[branch "main"]\n\tremote = origin\n')
    assert entries == {"main": (("remote", "origin"),)}
    untouched(seen)


def test_an_index_copy_is_not_written_through(repo: GitRepo, tmp_path: Path) -> None:
    from git_atomic.engine import indexstate

    repo.write("a.txt", b"a\n")
    repo.git("add", "a.txt")
    seen = outside(tmp_path / "yours.txt")
    dest = tmp_path / "copy"
    dest.symlink_to(seen[0])
    with pytest.raises(OSError):
        indexstate.copy_index(repo.path / ".git" / "index", dest)
    untouched(seen)
    dest.unlink()
    indexstate.copy_index(repo.path / ".git" / "index", dest)
    assert dest.read_bytes() == (repo.path / ".git" / "index").read_bytes()
    assert dest.stat().st_mtime_ns == (repo.path / ".git" / "index").stat().st_mtime_ns


def test_a_memo_written_aside_is_not_written_through(repo: GitRepo, tmp_path: Path) -> None:
    """reconcile's memo of its last answer (`reconciled-<worktree>.json`, aside `.<pid>`)."""
    from git_atomic.engine import reconcile

    seen = outside(tmp_path / "yours.txt")
    memo = repo.path / ".git" / "atomic-memo.json"
    (memo.parent / f"{memo.name}.{os.getpid()}").symlink_to(seen[0])
    reconcile._remember_reconciled(memo, "a" * 40, "b" * 40, [], [], [])
    untouched(seen)
    assert not memo.is_symlink() and json.loads(memo.read_bytes())["tree"] == "b" * 40


def test_write_new_removes_what_stands_there(tmp_path: Path) -> None:
    from git_atomic.core import wholefile

    seen = outside(tmp_path / "yours.txt")
    (tmp_path / "aside").symlink_to(seen[0])
    wholefile.write_new(tmp_path / "aside", b"ours\n", mode=0o600)
    untouched(seen)
    assert (tmp_path / "aside").read_bytes() == b"ours\n"
    assert (tmp_path / "aside").stat().st_mode & 0o777 == 0o600
    os.mkfifo(tmp_path / "fifo")
    wholefile.write_new(tmp_path / "fifo", b"x")  # removed, never opened (no wait)
    assert (tmp_path / "fifo").read_bytes() == b"x"
