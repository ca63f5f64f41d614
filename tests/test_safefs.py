"""safefs: the worktree reached component by component, never through a symbolic link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from git_atomic.engine import fdcalls, safefs


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    """A worktree `w` with a/b/c/f.txt, and a folder `out` outside it with the same names."""
    root, out = tmp_path / "w", tmp_path / "out"
    for base in (root / "a" / "b" / "c", out, out / "b" / "c", out / "c"):
        base.mkdir(parents=True, exist_ok=True)
    (root / "a" / "b" / "c" / "f.txt").write_bytes(b"inside\n")
    for f in (out / "f.txt", out / "b" / "c" / "f.txt", out / "c" / "f.txt"):
        f.write_bytes(b"outside\n")
    return root, out


def _outside(out: Path) -> dict[str, tuple[int, bytes]]:
    seen = {}
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            seen[os.path.relpath(full, out)] = (st.st_mode, Path(full).read_bytes())
    return seen


@pytest.mark.parametrize("where", ["a", "a/b", "a/b/c"])
def test_a_link_on_the_way_means_not_there(trees: tuple[Path, Path], where: str) -> None:
    root, out = trees
    target = out
    os.rename(root / where, root / (where + ".real"))
    os.symlink(target, root / where)
    before = _outside(out)
    with safefs.Tree(os.fsencode(root)) as tree:
        assert tree.lstat(b"a/b/c/f.txt") is None
        assert tree.read(b"a/b/c/f.txt") is None
        assert not tree.reachable(b"a/b/c/f.txt")
        assert not tree.unlink(b"a/b/c/f.txt")
        assert not tree.chmod(b"a/b/c/f.txt", 0o755)
        with pytest.raises(safefs.Blocked) as blocked:
            tree.make_folders(b"a/b/c")
        assert blocked.value.path == os.fsencode(where)
        with pytest.raises(safefs.Blocked):
            tree.write(b"a/b/c/f.txt", b"x", 0o644)
        assert not tree.export(b"a/b/c/f.txt", os.fsencode(root.parent / "copy"))
        # The link itself is there, and is what is removed.
        assert tree.kind(os.fsencode(where)) == stat.S_IFLNK
        assert tree.readlink(os.fsencode(where)) == os.fsencode(target)
        assert tree.unlink(os.fsencode(where))
    assert _outside(out) == before
    assert not os.path.lexists(root / where)


def test_writes_make_files_folders_and_links(trees: tuple[Path, Path]) -> None:
    root, _out = trees
    with safefs.Tree(os.fsencode(root)) as tree:
        tree.make_folders(b"x/y/z")
        tree.write(b"x/y/z/new.sh", b"#!/bin/sh\n", 0o755)
        tree.symlink(b"x/y/l", b"z/new.sh")
        assert tree.read(b"x/y/z/new.sh") == b"#!/bin/sh\n"
        assert tree.readlink(b"x/y/l") == b"z/new.sh"
        assert tree.read(b"x/y/l") is None  # a link is never read through
        assert tree.chmod(b"x/y/z/new.sh", 0o644)
        with pytest.raises(FileExistsError):
            tree.write(b"x/y/z/new.sh", b"again", 0o644)
        assert not tree.rmdir(b"x/y/z")  # not empty
        assert tree.unlink(b"x/y/z/new.sh") and tree.rmdir(b"x/y/z")
        assert not tree.rmdir(b"x/y/l")  # a link is never removed as a folder
    assert stat.S_IMODE(os.lstat(root / "x").st_mode) == 0o777 & ~_umask()
    assert not (root / "x" / "y" / "z").exists() and (root / "x" / "y" / "l").is_symlink()


@pytest.mark.parametrize("mode", [0o644, 0o755, 0o600, 0o444])
def test_a_file_has_its_mode_before_any_byte_is_written(
    trees: tuple[Path, Path], mode: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restore killed while writing must never leave the target's bytes under 0600 (git
    compares the executable bit only, so the next restore would take the file for done):
    the mode is the file's before its first byte."""
    root, _out = trees
    seen: list[int] = []
    real_write_all = fdcalls.write_all

    def watched(fd: int, data: bytes) -> None:
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_write_all(fd, data)

    monkeypatch.setattr(fdcalls, "write_all", watched)
    with safefs.Tree(os.fsencode(root)) as tree:
        tree.write(b"a/new.txt", b"bytes\n", mode)
    assert seen == [mode]
    assert (root / "a" / "new.txt").read_bytes() == b"bytes\n"
    assert stat.S_IMODE(os.lstat(root / "a" / "new.txt").st_mode) == mode


def test_a_folder_swapped_for_a_link_after_it_was_opened_is_not_followed(
    trees: tuple[Path, Path],
) -> None:
    """The race: once a folder is open, a link put in its place is never written through."""
    root, out = trees
    before = _outside(out)
    with safefs.Tree(os.fsencode(root)) as tree:
        assert tree.folder(b"a/b/c") is not None
        os.rename(root / "a" / "b", root / "moved")
        os.symlink(out, root / "a" / "b")
        tree.write(b"a/b/c/late.txt", b"late\n", 0o644)
    assert _outside(out) == before
    assert (root / "moved" / "c" / "late.txt").read_bytes() == b"late\n"


def test_a_fifo_is_never_read_and_a_dangling_link_blocks(trees: tuple[Path, Path]) -> None:
    root, _out = trees
    os.mkfifo(root / "a" / "pipe")
    os.symlink("nowhere", root / "a" / "dangling")
    with safefs.Tree(os.fsencode(root)) as tree:
        assert tree.read(b"a/pipe") is None
        assert tree.kind(b"a/pipe") == stat.S_IFIFO
        with pytest.raises(safefs.Blocked):
            tree.make_folders(b"a/dangling/x")
    assert os.path.islink(root / "a" / "dangling")


def test_export_copies_the_file_for_git_and_leaves_it_as_it_was(
    trees: tuple[Path, Path],
) -> None:
    """A copy, not a hard link: a link changes the file's ctime, which git's stat cache sees."""
    root, _out = trees
    source = root / "a" / "b" / "c" / "f.txt"
    ctime = os.lstat(source).st_ctime_ns
    dest = root.parent / "exported"
    with safefs.Tree(os.fsencode(root)) as tree:
        assert tree.export(b"a/b/c/f.txt", os.fsencode(dest))
        assert not tree.export(b"a/b/c", os.fsencode(root.parent / "folder"))
    assert dest.read_bytes() == b"inside\n"
    assert os.lstat(source).st_ctime_ns == ctime and os.lstat(source).st_nlink == 1


@pytest.mark.parametrize("bad", [b"", b"a/", b"a/../b", b"a/./b", b"a\0b"])
def test_paths_that_are_not_worktree_paths_are_refused(
    trees: tuple[Path, Path], bad: bytes
) -> None:
    root, _out = trees
    with safefs.Tree(os.fsencode(root)) as tree, pytest.raises(ValueError):
        tree.lstat(bad)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_empty_folders_are_found_and_removed_only_when_nothing_else_is_there(
    trees: tuple[Path, Path],
) -> None:
    root, out = trees
    (root / "e" / "x" / "y").mkdir(parents=True)
    (root / "e" / "z").mkdir()
    (root / "n" / "x").mkdir(parents=True)
    (root / "n" / "x" / "kept").write_bytes(b"ignored, say\n")
    os.symlink(out, root / "n" / "link")
    with safefs.Tree(os.fsencode(root)) as tree:
        assert tree.empty_folders(b"e") == [b"e/x/y", b"e/z"]
        assert tree.empty_folders(b"n") is None
        assert tree.empty_folders(b"n/link") is None  # a link is not a folder
        assert not tree.remove_empty_folders(b"n")
        assert tree.remove_empty_folders(b"e")
    assert not (root / "e").exists()
    assert (root / "n" / "x" / "kept").exists() and (out / "f.txt").exists()
