"""The suite's GIT_ATOMIC_VERIFY_SCAN observes, never changes what the product does: a run with it
leaves every file as a run without it (docs/contributing.md). A rescue's scan that goes back
(scan.goes_back) edits its tree and leaves its scan index as it found it; the check of that edit
against git's `write-tree` is made on a copy, never on that index (two data-loss bugs hid
behind the index brought up to date: e05b4326, 6e339d65). GIT_ATOMIC_TEST_VERIFY=0 runs the
suite as users run it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_atomic.engine import discovery, scanindex, scantree
from git_atomic.engine.git import Repo
from testing.gitrepo import GitRepo, hermetic_env, verify_flag


def _scan_index(repo: GitRepo) -> tuple[Repo, Path, str]:
    """The worktree's scan index after a command, and its tree."""
    repo.write("a.txt", b"a\n")
    repo.write("d/b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.atomic("run", "--", "true", env={"GIT_ATOMIC_HELPER": "0"})
    tree = repo.git("for-each-ref", "--format=%(objectname)", "refs/atomic/scan/").strip()
    g = discovery.discover(str(repo.path))
    index = scanindex.index_file(g, tree)
    assert index.is_file()
    return g, index, tree


def _snapshot(path: Path) -> tuple[bytes, int, int]:
    st = os.lstat(path)
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


def _scratch(g: Repo) -> list[str]:
    return sorted(os.listdir(g.scratch_dir()))


@pytest.mark.parametrize("flag", ["1", "0"])
def test_a_going_back_edit_leaves_its_scan_index_as_it_found_it(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    g, index, base = _scan_index(repo)
    repo.write("a.txt", b"changed\n")
    os.unlink(repo.path / "d" / "b.txt")
    before, scratch = _snapshot(index), _scratch(g)
    monkeypatch.setenv("GIT_ATOMIC_VERIFY_SCAN", flag)
    edits = scantree.read_edits(g, [b"d/b.txt"], [b"a.txt"])
    assert edits is not None
    tree, pending = scantree.edit_tree(
        g, index, split=scanindex.is_split(g, index), base=base, edits=edits, index_too=False
    )
    assert pending is None and tree is not None and tree != base
    # The index file untouched: the same bytes, the same file.
    assert _snapshot(index) == before
    assert _scratch(g) == scratch  # the copy checked is gone
    # The tree is the disk's.
    assert repo.git("cat-file", "blob", f"{tree}:a.txt").encode() == b"changed\n"
    assert "d/b.txt" not in repo.git("ls-tree", "-r", "--name-only", tree).split()


@pytest.mark.parametrize("flag", ["1", "0"])
def test_a_kept_edit_brings_its_scan_index_up_to_date_either_way(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    g, index, base = _scan_index(repo)
    repo.write("a.txt", b"changed\n")
    monkeypatch.setenv("GIT_ATOMIC_VERIFY_SCAN", flag)
    edits = scantree.read_edits(g, [], [b"a.txt"])
    assert edits is not None
    tree, pending = scantree.edit_tree(
        g, index, split=scanindex.is_split(g, index), base=base, edits=edits
    )
    assert tree is not None
    if pending is not None:
        assert pending.wait(check=False).returncode == 0
    listed = repo.git("ls-files", "-s", "a.txt", env={"GIT_INDEX_FILE": str(index)})
    blob = repo.git("rev-parse", f"{tree}:a.txt").strip()
    assert listed.split()[1] == blob
    assert repo.git("cat-file", "blob", blob).encode() == b"changed\n"


def test_the_suite_runs_as_users_do_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GIT_ATOMIC_TEST_VERIFY", raising=False)
    assert verify_flag() == "1"
    assert hermetic_env(tmp_path / "h")["GIT_ATOMIC_VERIFY_SCAN"] == "1"
    monkeypatch.setenv("GIT_ATOMIC_TEST_VERIFY", "0")
    assert verify_flag() == "0"
    assert hermetic_env(tmp_path / "h")["GIT_ATOMIC_VERIFY_SCAN"] == "0"
