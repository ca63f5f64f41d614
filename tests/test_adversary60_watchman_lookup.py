"""A capture answered by Watchman looks the reported paths up in the scan's tree (tracked, a
folder, a submodule on the way: watchpaths.py). It reads them from the loose trees on the way
(each checked against its id) where they are loose, as a scan's own trees mostly are, and asks
git (`ls-tree`) only where one is packed; what it reads is what git lists (the oracle here is
git's own `ls-tree`, and under test every lookup is checked against it). Files written again
with the same bytes leave the scan's tree as it was: no tree is written again (not even
freshened). Whatever way went, the checkpoint holds exactly the disk.

The Watchman tests skip, visibly, where Watchman is not installed (CI)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_atomic.engine import discovery
from testing import oracle
from testing.gitrepo import GitRepo
from testing.watched import needs_watchman, watching

# The command as it runs for you: no check of the lookup against git's (which runs `cat-file`).
AS_SHIPPED = {"GIT_ATOMIC_VERIFY_SCAN": "0", "GIT_ATOMIC_HELPER": "0"}


@pytest.fixture
def watched(repo: GitRepo) -> Iterator[GitRepo]:
    with watching(repo.path):
        yield repo


def git_commands(repo: GitRepo, tmp: Path, *args: str) -> tuple[str, list[str]]:
    """Run git-atomic as shipped: its stdout, and the git command of each process it ran."""
    trace = tmp / "trace.json"
    trace.unlink(missing_ok=True)
    res = repo.atomic(*args, check=0, env={**AS_SHIPPED, "GIT_TRACE2_EVENT": str(trace)})
    return res.stdout, [
        next(a for a in e["argv"][1:] if not a.startswith("-") and "=" not in a)
        for e in map(json.loads, trace.read_text().splitlines())
        if e["event"] == "start"
    ]


def on_disk(repo: GitRepo) -> oracle.Files:
    return oracle.walk(repo.path)


def pre_op(repo: GitRepo, out: str) -> oracle.Files:
    return oracle.checkpoint_files(repo.env, repo.path, json.loads(out)["checkpoints"]["pre_op"])


def make_tree(repo: GitRepo) -> None:
    repo.write("a/b/one", b"one\n")
    repo.write("a/b/c/deep", b"deep\n")
    repo.write("a/two", b"two\n")
    repo.write("x/three", b"three\n", mode=0o755)
    os.symlink("a", repo.path / "link")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")


def change_every_kind(repo: GitRepo, round_: int) -> None:
    repo.write("a/b/one", b"one, edited %d\n" % round_)
    repo.write("a/two", repo.read("a/two"))  # the same bytes again
    repo.write(f"a/b/c/new{round_}", b"new\n")
    repo.write(f"fresh{round_}/deeper/file", b"in new folders\n")
    (repo.path / "x" / "three").unlink()
    repo.write("x/three", b"three, back\n", mode=0o755)


@needs_watchman
def test_a_watched_capture_looks_up_without_a_process_where_the_trees_are_loose(
    watched: GitRepo, tmp_path: Path
) -> None:
    repo = watched
    make_tree(repo)
    repo.atomic("begin", "w", "--history", "shadow", check=0)
    repo.atomic("abort", check=0)  # a clock kept with the scan's tree
    change_every_kind(repo, 1)
    out, commands = git_commands(repo, tmp_path, "begin", "w", "--history", "shadow", "--json")
    assert "status" not in commands  # Watchman answered
    assert "ls-tree" not in commands and "cat-file" not in commands, commands  # loose trees read
    assert pre_op(repo, out) == on_disk(repo)
    out, _ = git_commands(repo, tmp_path, "abort", "--json")
    # Every tree packed (and no loose copy left): the lookup asks git, the answer the same.
    repo.git("repack", "-adq")
    repo.git("prune-packed")
    repo.atomic("begin", "w", "--history", "shadow", check=0)
    repo.atomic("abort", check=0)
    repo.git("repack", "-adq")
    repo.git("prune-packed")
    change_every_kind(repo, 2)
    out, commands = git_commands(repo, tmp_path, "begin", "w", "--history", "shadow", "--json")
    assert "status" not in commands
    assert "ls-tree" in commands, commands
    assert pre_op(repo, out) == on_disk(repo)


@needs_watchman
def test_files_written_again_with_the_same_bytes_write_no_tree(
    watched: GitRepo, tmp_path: Path
) -> None:
    repo = watched
    make_tree(repo)
    repo.atomic("begin", "w", "--history", "shadow", check=0)
    repo.atomic("abort", check=0)
    objects = repo.path / ".git" / "objects"
    loose = [p for p in objects.glob("??/*") if p.is_file()]
    for path in loose:
        os.utime(path, (1_000_000_000, 1_000_000_000))
    for name in ("a/b/one", "a/b/c/deep", "x/three"):  # in place: bytes and bits the same
        path = repo.path / name
        path.write_bytes(path.read_bytes())
    before = on_disk(repo)
    out, commands = git_commands(repo, tmp_path, "begin", "w", "--history", "shadow", "--json")
    assert "status" not in commands
    # The folders on the way to the files written again (the tree's top aside: a checkpoint's
    # parts name it): none of their trees was written again, nor freshened.
    on_the_way = [repo.git("rev-parse", f"HEAD:{d}").strip() for d in ("a", "a/b", "a/b/c", "x")]
    touched = [p.parent.name + p.name for p in loose if p.stat().st_mtime != 1_000_000_000]
    assert not set(on_the_way) & set(touched), touched
    assert pre_op(repo, out) == before == on_disk(repo)
    repo.write("a/b/c/deep", b"deep, edited\n")  # the next change is still seen
    out, _ = git_commands(repo, tmp_path, "abort", "--json")
    rescue = json.loads(out)["checkpoints"]["rescue"]
    assert (
        oracle.checkpoint_files(repo.env, repo.path, rescue)[b"a/b/c/deep"] != before[b"a/b/c/deep"]
    )
    assert on_disk(repo) == before


def test_the_loose_lookup_says_what_git_says(repo: GitRepo) -> None:
    """Every kind of entry and of missing path, read from the loose trees and listed by git
    (`ls-tree`); where the trees are packed, git is asked. A submodule is its entry, whatever
    object it names (`cat-file`, which the lookup used before, says the kind of that object:
    here a blob, usually missing)."""
    make_tree(repo)
    blob = repo.git("rev-parse", "HEAD:a/two").strip()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{blob},sub/module")
    tree = repo.git("write-tree").strip()
    paths = [
        *(b"a", b"a/b", b"a/b/one", b"a/b/c", b"a/b/c/deep", b"a/two", b"x/three", b"link"),
        *(b"sub", b"sub/module", b"sub/module/inside", b"link/two", b"a/two/below"),
        *(b"nothing", b"nothing/below", b"a/b/nothing", b"A/two", b"a/b/one ", b"x:y"),
    ]
    discovery.discover.cache_clear()
    found = discovery.discover_with_config(str(repo.path))
    kinds = found.loose_kinds_at(tree, paths)
    assert kinds == found.told_kinds_at(tree, paths)
    assert kinds[b"sub/module"] == b"commit" and kinds[b"sub/module/inside"] == b"missing"
    assert kinds[b"link"] == b"blob" and kinds[b"link/two"] == b"missing"
    repo.git("repack", "-adq")  # write-tree's trees: unreachable, kept loose; packed here
    repo.git("update-ref", "refs/keep", repo.git("commit-tree", tree, "-m", "k").strip())
    repo.git("repack", "-adq")
    repo.git("prune-packed")
    discovery.discover.cache_clear()
    found = discovery.discover_with_config(str(repo.path))
    assert found.loose_kinds_at(tree, paths) is None  # packed: git is asked
