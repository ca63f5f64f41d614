"""core/linkplace.py: where a path named by an agent's tool (or on the command line) really
is in the worktree, its links inside followed as text, nothing outside looked at (the system
calls themselves: test_syscalls_outside.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_atomic.core.linkplace import placed, reached, spelled_tops, within


def test_paths_are_placed_as_the_kernel_places_them_but_never_past_the_worktree(
    tmp_path: Path,
) -> None:
    top = tmp_path / "wt"
    (top / "src" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.symlink("src/deep", top / "inner")  # relative, inside
    os.symlink(top / "src", top / "whole")  # absolute, inside
    os.symlink(tmp_path / "elsewhere", top / "out")
    os.symlink("../elsewhere", top / "up")
    os.symlink("loop", top / "loop")
    root = str(top)
    assert within(root, f"{root}/src/a.py") == "src/a.py"
    assert within(root, f"{root}/inner/x") == "src/deep/x"
    assert within(root, f"{root}/whole/deep/../b") == "src/b"
    assert within(root, f"{root}/inner/../c") == "src/c"  # `..` after the link: its folder's
    assert within(root, f"{root}/new/folder/f") == "new/folder/f"  # not there yet
    assert within(root, root) == "."
    for leaves in ("out/x", "up/x", "out", "src/../../x", "loop", "inner/../../../x"):
        assert within(root, f"{root}/{leaves}") is None, leaves
    assert within(root, str(tmp_path / "elsewhere" / "x")) is None
    assert placed(root, f"{root}/out/x") == (None, str(tmp_path / "elsewhere" / "x"))
    # The top as a caller spells it, through a link on the way to it.
    os.symlink(top, tmp_path / "via")
    assert within(root, f"{tmp_path}/via/inner/y", spellings=[str(tmp_path / "via")]) == (
        "src/deep/y"
    )


def test_a_path_spelled_from_anywhere_is_resolved_outside_and_placed_inside(tmp_path: Path) -> None:
    """`reached`: the part of a path outside the worktree resolved as the kernel would (your
    links on the way in), the part inside placed as `within` places it: a link of the worktree
    that leads out ends the walk, its target never looked at (a name there that does not
    exist would make a look at it fail; here it answers all the same)."""
    top = tmp_path / "wt"
    (top / "src").mkdir(parents=True)
    (tmp_path / "sub").mkdir()
    os.symlink(top, tmp_path / "via")  # your way in
    os.symlink(tmp_path / "nowhere" / "deeper", top / "out")  # out, to nothing at all
    os.symlink("src", top / "in")
    root = str(top)
    assert reached(root, f"{tmp_path}/via/in/t.txt") == (True, "src/t.txt")
    assert reached(root, f"{tmp_path}/sub/../via/t.txt") == (True, "t.txt")
    assert reached(root, f"{root}/.git/trace") == (True, ".git/trace")
    assert reached(root, f"{tmp_path}/via/out/t.txt") == (True, None)  # in, then out
    assert reached(root, f"{tmp_path}/sub/t.txt") == (False, None)
    assert reached(root, f"{tmp_path}/missing/t.txt") == (False, None)
    os.symlink("loop", tmp_path / "loop")
    assert reached(root, f"{tmp_path}/loop/t.txt") == (False, None)


def test_the_tops_a_caller_spells_are_the_ways_in_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`spelled_tops`: CLAUDE_PROJECT_DIR, GEMINI_PROJECT_DIR and PWD count as the top where
    they reach it by your links on the way in; one that goes into the worktree and out through
    a link of it (to a folder that is the top again, by its own link) is no way in, and what
    that link points to is never looked at (its text alone)."""
    top = tmp_path / "wt"
    top.mkdir()
    os.symlink(top, tmp_path / "via")
    (tmp_path / "outside").mkdir()
    os.symlink(top, tmp_path / "outside" / "back")  # out, and back to the top from there
    os.symlink(tmp_path / "outside", top / "out")
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(tmp_path / "via"))
    monkeypatch.setenv("GEMINI_PROJECT_DIR", str(top / "out" / "back"))
    monkeypatch.setenv("PWD", str(tmp_path / "elsewhere"))
    assert spelled_tops(str(top), str(top)) == (str(top), str(tmp_path / "via"))
