"""The restore's compare-and-swap (engine/unchanged.py) when it starts from the caller's look
(`there`, taken a few calls before) and reads a file only up to the size its status data
says: whatever happened at the name since that look, or to the file while it was read, the
file there now is left, byte for byte, and nothing else is removed."""

from __future__ import annotations

import os
from pathlib import Path

from git_atomic.engine import safefs, unchanged


def _expected(data: bytes) -> unchanged.Expected:
    return unchanged.Expected("100644", unchanged.blob_id(data, like="0" * 40))


def _tree(root: Path) -> safefs.Tree:
    return safefs.Tree(os.fsencode(root), aside=os.fsencode(root.parent / "aside"))


def test_the_file_the_look_saw_is_removed(tmp_path: Path) -> None:
    root = tmp_path / "w"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"ours\n")
    with _tree(root) as tree:
        there = tree.lstat(b"d/f")
        found = unchanged.remove(tree, b"d/f", _expected(b"ours\n"), there=there)
    assert found is unchanged.Found.SAME
    assert not (root / "d" / "f").exists()


def test_a_file_put_at_the_name_after_the_look_is_left(tmp_path: Path) -> None:
    """An editor's save by rename after the caller looked: the same bytes even, another file."""
    root = tmp_path / "w"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"ours\n")
    with _tree(root) as tree:
        there = tree.lstat(b"d/f")
        (root / "d" / "new").write_bytes(b"ours\n")
        os.replace(root / "d" / "new", root / "d" / "f")
        found = unchanged.remove(tree, b"d/f", _expected(b"ours\n"), there=there)
    assert found is unchanged.Found.CHANGED
    assert (root / "d" / "f").read_bytes() == b"ours\n"
    assert os.lstat(root / "d" / "f").st_ino != there.st_ino  # type: ignore[union-attr]


def test_a_link_put_at_the_name_after_the_look_is_left(tmp_path: Path) -> None:
    root = tmp_path / "w"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"ours\n")
    (tmp_path / "outside").write_bytes(b"ours\n")
    with _tree(root) as tree:
        there = tree.lstat(b"d/f")
        os.unlink(root / "d" / "f")
        os.symlink(tmp_path / "outside", root / "d" / "f")
        found = unchanged.remove(tree, b"d/f", _expected(b"ours\n"), there=there)
    assert found is unchanged.Found.CHANGED
    assert os.readlink(root / "d" / "f") == str(tmp_path / "outside")
    assert (tmp_path / "outside").read_bytes() == b"ours\n"


def test_bytes_written_past_the_size_seen_make_the_file_another(tmp_path: Path) -> None:
    """Read up to the size its status data said, and no further: what was appended after that
    look (the same bytes first, more after) is found by the status data looked at again."""
    path = tmp_path / "f"
    path.write_bytes(b"ours\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        seen = os.fstat(fd)
        with open(path, "ab") as fh:
            fh.write(b"theirs\n")
        assert not unchanged._same_bytes(fd, seen, _expected(b"ours\n"))
        assert unchanged._same_bytes(fd, os.fstat(fd), _expected(b"ours\ntheirs\n"))
    finally:
        os.close(fd)


def test_an_empty_file_and_one_cut_short_since_the_look(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert unchanged._same_bytes(fd, os.fstat(fd), _expected(b""))
        path.write_bytes(b"x")  # grown after an empty look
        assert not unchanged._same_bytes(fd, os.stat(path), _expected(b""))
    finally:
        os.close(fd)
    path.write_bytes(b"ours\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        seen = os.fstat(fd)
        os.truncate(path, 2)  # cut short after the look
        assert not unchanged._same_bytes(fd, seen, _expected(b"ours\n"))
    finally:
        os.close(fd)
