"""Submodules whose git dir is a folder inside them (stop 53's adversary).

A submodule's `.git` is a file naming `.git/modules/<name>` where `git submodule add` cloned
it, but a folder of its own where the repository was there first (`git clone URL sub; git
submodule add URL sub`: "Adding existing repo at 'sub' to the index"), where an older git
cloned it, or where it was made by hand. An operation's PRE-OP noted only the first kind, so
for the second its rollback said "it had changed nothing" over the files it edited inside,
left the folder a `git submodule deinit -f` emptied empty without a word, and after a `git
submodule absorbgitdirs` said the submodule "was not" checked out when the operation began,
and that `git submodule deinit -f -- sub` empties it again: advice that throws away what you
had not committed there. Each case is run for both kinds: they must behave alike.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from testing.agents import failed_shell_turn
from testing.gitrepo import GitRepo
from testing.takeback import taken_back

LAYOUTS = ["git-file", "git-folder"]


def _submodule(repo: GitRepo, tmp_path: Path, layout: str) -> Path:
    upstream = GitRepo.create(tmp_path / "upstream", tmp_path / "home")
    upstream.write("s.txt", b"s\n")
    upstream.git("add", "s.txt")
    upstream.git("commit", "-qm", "s")
    if layout == "git-folder":  # the repository was there first: its `.git` stays a folder
        repo.git("-c", "protocol.file.allow=always", "clone", "-q", str(upstream.path), "sub")
    repo.git(
        "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream.path), "sub"
    )
    repo.git("commit", "-qm", "sub")
    sub = repo.path / "sub"
    assert (sub / ".git").is_dir() == (layout == "git-folder")
    return sub


def _sub_git(repo: GitRepo, sub: Path, *args: str) -> str:
    return GitRepo(sub, repo.env).git(*args)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_files_changed_inside_either_kind_of_submodule_are_named(
    repo: GitRepo, tmp_path: Path, layout: str, how: str
) -> None:
    """Left as they are (no checkpoint holds a submodule's files), but named, never "it had
    changed nothing" nor "exactly its PRE-OP state" over them; yours from before are not."""
    sub = _submodule(repo, tmp_path, layout)
    (sub / "yours.txt").write_bytes(b"before the operation\n")
    time.sleep(0.1)
    script = "echo x > sub/s.txt; echo n > sub/new"
    res = taken_back(repo, script, how)
    assert "changed nothing" not in res.stderr and "exactly" not in res.stderr, res.stderr
    assert "sub: files in this submodule changed while the operation ran (" in res.stderr
    named = res.stderr.split("operation ran (", 1)[1].split(")", 1)[0]
    assert sorted(named.split(", ")) == ["new", "s.txt"], res.stderr
    assert (sub / "s.txt").read_bytes() == b"x\n"  # left as it is: not captured


def _emptied(sub: Path) -> None:
    assert os.listdir(sub) == []


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op"])
def test_either_kind_of_submodule_an_operation_deinitialised_is_checked_out_again(
    repo: GitRepo, tmp_path: Path, layout: str, how: str
) -> None:
    """`git submodule deinit -f sub` of one with a `.git` folder first moves that folder to
    `.git/modules/sub` (git absorbs it), then empties the submodule's folder. Its rollback
    left it empty and named nothing but the config lines: it is checked out again from that
    git dir now, as one with a `.git` file is, at the commit it had, and named."""
    sub = _submodule(repo, tmp_path, layout)
    head = _sub_git(repo, sub, "rev-parse", "HEAD")
    files = sorted(os.listdir(sub))
    line = "git submodule deinit -q -f sub"
    res = taken_back(repo, line, how, kept=lambda _: _emptied(sub))
    assert res.returncode == (1 if how == "failed-run" else 0), res.stderr
    assert sorted(os.listdir(sub)) == files, res.stderr
    assert (sub / "s.txt").read_bytes() == b"s\n"
    assert _sub_git(repo, sub, "rev-parse", "HEAD") == head
    assert _sub_git(repo, sub, "status", "--porcelain") == ""
    assert "sub: the operation emptied this submodule's folder" in res.stderr, res.stderr


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_a_submodule_whose_git_dir_was_absorbed_is_not_said_checked_out_since(
    repo: GitRepo, tmp_path: Path, layout: str, how: str
) -> None:
    """`git submodule absorbgitdirs` moves a submodule's `.git` folder into `.git/modules/`
    and leaves a `.git` file: git sees no change. The rollback said the submodule "was not"
    checked out when the operation began and that `git submodule deinit -f -- sub` empties it
    again, which would throw away your uncommitted edit there. It stays checked out, with
    that edit, and no such line is said."""
    sub = _submodule(repo, tmp_path, layout)
    (sub / "s.txt").write_bytes(b"yours, not committed\n")
    line = "git submodule absorbgitdirs 2>/dev/null"
    res = taken_back(repo, line, how)
    assert "deinit" not in res.stderr and "was not when" not in res.stderr, res.stderr
    assert (sub / "s.txt").read_bytes() == b"yours, not committed\n"
    assert _sub_git(repo, sub, "status", "--porcelain") == " M s.txt\n"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_turn_taken_back_checks_out_either_kind_of_submodule_its_call_deinitialised(
    repo: GitRepo, tmp_path: Path, layout: str
) -> None:
    """An agent turn's shell call ran `git submodule deinit -f sub`, and the gate failed: its
    take-back at Stop checks the submodule out again, whichever kind its `.git` was."""
    sub = _submodule(repo, tmp_path, layout)
    files = sorted(os.listdir(sub))
    answer = failed_shell_turn(repo, "git submodule deinit -q -f sub")
    assert sorted(os.listdir(sub)) == files, answer
    assert (sub / "s.txt").read_bytes() == b"s\n"
    assert "sub: the operation emptied this submodule's folder" in answer["systemMessage"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_submodule_moved_by_git_mv_is_not_said_checked_out_since(
    repo: GitRepo, tmp_path: Path, layout: str
) -> None:
    """`git mv sub a/sub2`, rolled back, then `undo`: the undo said a/sub2 "was not" checked
    out when the operation began and that `git submodule deinit -f -- a/sub2` empties it
    again: the same submodule (its name), moved, with your uncommitted edit in it."""
    sub = _submodule(repo, tmp_path, layout)
    (sub / "s.txt").write_bytes(b"yours, not committed\n")
    line = "mkdir -p a; git mv sub a/sub2"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    undone = repo.atomic("undo", check=None)
    for said in (res.stderr, undone.stderr):
        assert "deinit" not in said and "was not when" not in said, said
    where = [p for p in ("sub", "a/sub2") if (repo.path / p / "s.txt").exists()]
    assert where and all(repo.read(f"{p}/s.txt") == b"yours, not committed\n" for p in where)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("to", ["a/sub2", "sub 2"])
def test_a_submodule_moved_by_git_mv_is_moved_back_and_again_by_undo(
    repo: GitRepo, tmp_path: Path, layout: str, to: str
) -> None:
    """`git mv sub a/sub2` of one whose `.git` is a folder (git 2.39 moves the folder, its
    git dir in it; it absorbs nothing): its rollback named it but left it at a/sub2, and
    made `sub` again empty. It is moved back now, its `.git` folder and your uncommitted edit
    in it, as one with a `.git` file is; `undo` moves it to a/sub2 again."""
    sub = _submodule(repo, tmp_path, layout)
    (sub / "s.txt").write_bytes(b"yours, not committed\n")
    inode = os.lstat(sub / "s.txt").st_ino
    line = f"mkdir -p a; git mv sub '{to}'"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    assert not os.path.lexists(repo.path / to), res.stderr
    assert (sub / "s.txt").read_bytes() == b"yours, not committed\n"
    assert os.lstat(sub / "s.txt").st_ino == inode  # moved, never copied
    assert (sub / ".git").is_dir() == (layout == "git-folder")
    assert _sub_git(repo, sub, "status", "--porcelain") == " M s.txt\n"
    assert f"sub: the submodule is at {to} (moved by `git mv`); it is moved back" in res.stderr
    undone = repo.atomic("undo", check=0)
    moved = repo.path / to
    assert not os.path.lexists(sub) and (moved / "s.txt").read_bytes() == b"yours, not committed\n"
    assert os.lstat(moved / "s.txt").st_ino == inode, undone.stderr
    assert _sub_git(repo, moved, "status", "--porcelain") == " M s.txt\n"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_undo_of_the_rollback_of_a_deinit_names_the_submodule_it_leaves_checked_out(
    repo: GitRepo, tmp_path: Path, layout: str
) -> None:
    """The rollback of `git submodule deinit -f sub` checks it out again; its `undo` said
    "nothing to do" (no checkpoint sees a submodule's files). It does not empty it again
    (what you changed there since would go) but says so, and how: a `deinit` without -f,
    which refuses while the submodule holds changes of yours."""
    sub = _submodule(repo, tmp_path, layout)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "git submodule deinit -q -f sub; exit 1")
    (sub / "s.txt").write_bytes(b"yours, since\n")
    undone = repo.atomic("undo", check=0)
    assert "nothing to do" not in undone.stderr, undone.stderr
    assert "sub: the last rollback checked this submodule out again" in undone.stderr
    assert "`git submodule deinit -- sub` empties it again (it refuses while" in undone.stderr
    assert (sub / "s.txt").read_bytes() == b"yours, since\n"
    advice = subprocess.run(
        ["git", "submodule", "deinit", "--", "sub"], cwd=repo.path, env=repo.env, check=False
    )
    assert advice.returncode != 0 and (sub / "s.txt").read_bytes() == b"yours, since\n"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_undo_of_a_turn_taken_back_over_a_deinit_names_the_submodule(
    repo: GitRepo, tmp_path: Path, layout: str
) -> None:
    """The same after an agent turn's take-back at Stop: its `undo` said "nothing to do"."""
    sub = _submodule(repo, tmp_path, layout)
    failed_shell_turn(repo, "git submodule deinit -q -f sub")
    assert (sub / "s.txt").read_bytes() == b"s\n"
    undone = repo.atomic("undo", check=0)
    assert "nothing to do" not in undone.stderr, undone.stderr
    assert "`git submodule deinit -- sub` empties it again" in undone.stderr
    assert (sub / "s.txt").read_bytes() == b"s\n"
