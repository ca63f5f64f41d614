"""A split index (`core.splitIndex`) whose shared index is gone when an index is put back.

Under `splitIndex.sharedIndexExpire=now`, any write of another index file (`GIT_INDEX_FILE`,
as a script or a tool does for a side commit) makes a shared index of its own and expires the
others: the worktree's index then names a shared index that is not there, and git reads
nothing of it ("index file open failed"). Or the shared index is removed by hand. An abort, a
run's rollback, `rollback`, a `recover` after a refused rollback and `undo` put the index back
as the checkpoint holds it (entries, stages, flags), split again, never failing with git's
message; the files on disk are the checkpoint's.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, split_index

# The ways a shared index goes: git expires it (a write of a side index under
# sharedIndexExpire=now), or it is removed by hand.
# (A side index of other entries: one of the same entries is written on the same shared index.)
# git keeps one touched in the same second: the index's was written a minute before.
EXPIRE = (
    "touch -d '1 minute ago' $(git rev-parse --absolute-git-dir)/sharedindex.* && "
    "export GIT_INDEX_FILE=$(git rev-parse --absolute-git-dir)/side && git read-tree HEAD && "
    "git update-index --add --cacheinfo 100644,$(git hash-object -w /dev/null),side && "
    'rm -f "$GIT_INDEX_FILE"'
)
REMOVE = "rm -f $(git rev-parse --absolute-git-dir)/sharedindex.*"
BREAKS = {"expire": EXPIRE, "remove": REMOVE}


def split_repo(repo: GitRepo, *, worktree: Path | None = None, flags: bool = True) -> GitRepo:
    """`repo` (or a linked worktree of it made at `worktree`) with a split index; `flags`: an
    entry staged only, one intent-to-add, one skip-worktree (without them, a restore whose
    entries are the index's as it is asks git nothing of the index before it splits it)."""
    repo.git("config", "core.splitIndex", "true")
    repo.git("config", "splitIndex.sharedIndexExpire", "now")
    for name in ("a", "b", "c"):
        repo.write(name, f"{name}\n".encode())
    repo.write("bin/run", b"#!/bin/sh\n", mode=0o755)
    repo.git("add", ".")
    repo.git("commit", "-qm", "files")
    if worktree is not None:
        repo.git("worktree", "add", "-q", str(worktree))
        repo = GitRepo(worktree, repo.env)
    if not flags:
        repo.git("update-index", "--split-index")
        return repo
    repo.write("staged", b"staged only\n")
    repo.git("add", "staged")
    repo.write("intent", b"intent\n")
    repo.git("add", "-N", "intent")
    repo.git("update-index", "--skip-worktree", "b")
    repo.git("update-index", "--split-index")
    assert split_index(index_bytes(repo))
    return repo


def sh(repo: GitRepo, script: str) -> None:
    subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=True)


def git_dir(repo: GitRepo) -> Path:
    return Path(repo.git("rev-parse", "--absolute-git-dir").strip())


def index_bytes(repo: GitRepo) -> bytes:
    return (git_dir(repo) / "index").read_bytes()


def entries(repo: GitRepo) -> tuple[str, str, list[str]]:
    """What git reads of the index: entries and stages, flags (skip-worktree as `S`,
    intent-to-add's extended flag in --debug)."""
    staged = repo.git("ls-files", "-s", "-z")
    tags = repo.git("ls-files", "-v", "-z")
    debug = repo.git("ls-files", "-s", "--debug")
    flags = [line.strip() for line in debug.splitlines() if line.strip().startswith("flags:")]
    return staged, tags, flags


def disk(repo: GitRepo) -> dict[str, tuple[int, bytes]]:
    """Each file of the worktree (not .git): its mode and bytes, read with lstat."""
    found: dict[str, tuple[int, bytes]] = {}
    for top, dirs, files in os.walk(repo.path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            if name == ".git" and top == str(repo.path):
                continue
            full = os.path.join(top, name)
            st = os.lstat(full)
            data = os.readlink(full).encode() if os.path.islink(full) else Path(full).read_bytes()
            found[os.path.relpath(full, repo.path)] = (st.st_mode, data)
    return found


def assert_put_back(repo: GitRepo, before: tuple[str, str, list[str]], files: object) -> None:
    assert entries(repo) == before
    data = index_bytes(repo)
    assert split_index(data), "the index was split: it is split again"
    shared = [n for n in os.listdir(git_dir(repo)) if n.startswith("sharedindex.")]
    assert shared, "the shared index the index names is there"
    assert disk(repo) == files
    assert "index file open failed" not in repo.git("status", "--porcelain")


OP = "echo new > a && git add a && echo more > c && rm b && echo n > new && git add new"
# The index itself untouched, its bytes PRE-OP's: a capture knows its entries without git.
FILES_ONLY = "echo more > c && rm bin/run && echo n > new"
OPS = {"staged": OP, "files": FILES_ONLY}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("how", sorted(BREAKS))
@pytest.mark.parametrize("flags", [True, False], ids=["flags", "plain"])
def test_a_failed_run_puts_the_index_back(repo: GitRepo, how: str, op: str, flags: bool) -> None:
    split_repo(repo, flags=flags)
    before, files = entries(repo), disk(repo)
    res = repo.atomic("run", "--", "sh", "-c", f"{OPS[op]} && {BREAKS[how]} && exit 1", check=1)
    assert "index file open failed" not in res.stderr
    assert_put_back(repo, before, files)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("how", sorted(BREAKS))
@pytest.mark.parametrize("history", ["commits", "shadow"])
@pytest.mark.parametrize("flags", [True, False], ids=["flags", "plain"])
def test_rollback_puts_the_index_back(
    repo: GitRepo, how: str, op: str, history: str, flags: bool
) -> None:
    """In `commits` history the operation's checkpoint commit writes the index too."""
    split_repo(repo, flags=flags)
    before, files = entries(repo), disk(repo)
    run = ("run", "--history", history, "--", "sh", "-c", f"{OPS[op]} && {BREAKS[how]}")
    res = repo.atomic(*run)
    if res.returncode == 1:  # the index git cannot read failed the run's checks, said as ours
        assert "the command left an index git cannot read" in res.stderr, res.stderr
    else:
        assert res.returncode == 0, res.stderr
        res = repo.atomic("rollback", check=0)
        assert "index file open failed" not in res.stderr
    assert_put_back(repo, before, files)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("how", sorted(BREAKS))
@pytest.mark.parametrize("flags", [True, False], ids=["flags", "plain"])
def test_abort_puts_the_index_back(repo: GitRepo, how: str, op: str, flags: bool) -> None:
    split_repo(repo, flags=flags)
    before, files = entries(repo), disk(repo)
    repo.atomic("begin", "edit", check=0)
    sh(repo, f"{OPS[op]} && {BREAKS[how]}")
    res = repo.atomic("abort", check=0)
    assert "index file open failed" not in res.stderr
    assert_put_back(repo, before, files)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("how", sorted(BREAKS))
@pytest.mark.parametrize("layout", ["main", "worktree"])
@pytest.mark.parametrize("flags", [True, False], ids=["flags", "plain"])
def test_recover_after_a_refused_rollback(
    repo: GitRepo, how: str, op: str, layout: str, flags: bool, tmp_path: Path
) -> None:
    """The rollback refused (the config a link) until the config is a file again; then
    `recover`. In a linked worktree too (its shared index in its own git dir)."""
    repo = split_repo(repo, worktree=tmp_path / "wt" if layout == "worktree" else None, flags=flags)
    before, files = entries(repo), disk(repo)
    outside = tmp_path / "config-outside"
    common = Path(repo.git("rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    config = common / "config"
    link = f"cp {config} {outside} && mv {config} {config}.orig && ln -s {outside} {config}"
    res = repo.atomic("run", "--", "sh", "-c", f"{OPS[op]} && {BREAKS[how]} && {link} && exit 1")
    assert res.returncode == 3, res.stderr
    config.unlink()
    Path(f"{config}.orig").rename(config)
    res = repo.atomic("recover", check=0)
    assert "index file open failed" not in res.stderr
    assert_put_back(repo, before, files)


@pytest.mark.parametrize("since", ["nothing", "a file of yours"])
@pytest.mark.parametrize("how", sorted(BREAKS))
def test_undo_puts_the_operation_s_index_back(repo: GitRepo, how: str, since: str) -> None:
    """The rollback's own index broken the same way before `undo` puts back the operation's.
    Before, `undo` held the index's bytes for a change since and refused (exit 3) as for git's
    half-way state; git reads nothing of such an index, as for an `abort` it is built anew
    from what the rollback left, and the rescue keeps its bytes: a second `undo` gives them
    back. With a file of yours written since, the rollback is undone on top of it."""
    split_repo(repo)
    done = repo.atomic_json("run", "--", "sh", "-c", OP)
    after, files = entries(repo), disk(repo)
    repo.atomic("rollback", "--op", done["op_id"], check=0)
    if since != "nothing":
        repo.write("yours", b"yours\n")
        files["yours"] = (os.lstat(repo.path / "yours").st_mode, b"yours\n")
    sh(repo, BREAKS[how])
    broken, before = index_bytes(repo), disk(repo)
    res = repo.atomic("undo")
    assert "index file open failed" not in res.stderr
    assert res.returncode == 0, res.stderr
    assert "shared index that is gone" in res.stderr, res.stderr
    assert_put_back(repo, after, files)
    res = repo.atomic("undo")
    assert res.returncode == 0, res.stderr
    assert index_bytes(repo) == broken
    assert disk(repo) == before
