"""Peers' reports on a stash that swept away files that were not the stasher's, played against
git-atomic: `git stash push --include-untracked` run by one session in a checkout others share
took their untracked files off the disk, and the `stash drop` after it was the point of no
return (martymcenroe/AssemblyZero#2364, zts212653/clowder-ai#402); a sync tool whose stash took
ignored files that sat in an untracked folder (git-town/git-town#744), the stash's own rules
for what is ignored inside an untracked folder (schneidmaster/gitreports.com#72, the same shape
in libgit2's stash, libgit2/libgit2#2290); and Sapling's `shelve` of some paths only, the
pathspec form of `git stash push`. The operation that stashed and dropped is taken back by
`rollback --op`: every file of yours back with its bytes and mode, the file you made since
kept, no stash left behind. The oracle: the disk by lstat and the stash ref."""

from __future__ import annotations

import pytest

from testing.gitrepo import GitRepo
from testing.oracle import disk


def _yours(repo: GitRepo) -> None:
    repo.write(".gitignore", b"ignored\nclients/*/docs\n")
    repo.write("a.txt", b"a\n")
    repo.write("tools/run.sh", b"#!/bin/sh\n", mode=0o755)
    repo.git("add", ".gitignore", "a.txt", "tools/run.sh")
    repo.git("commit", "-qm", "base")
    repo.write("a.txt", b"a\nyour edit\n")
    repo.write("tools/run.sh", b"#!/bin/sh\necho yours\n", mode=0o755)
    repo.write("notes.md", b"480 lines of notes\n", mode=0o600)
    repo.write("tools/land_one.py", b"print(1)\n")
    repo.write("clients/x/docs/test.jpg", b"\xff\xd8\xff\x00jpeg")
    repo.write("clients/x/readme.txt", b"untracked beside ignored\n")
    repo.write("test/ignored/important", b"very important\n")
    repo.write("ignored/test.dat", b"\x00dat\n")


IGNORED = [
    b"clients/x/docs",
    b"clients/x/docs/test.jpg",
    b"ignored",
    b"ignored/test.dat",
    b"test",
    b"test/ignored",
    b"test/ignored/important",
]


@pytest.mark.parametrize(
    "stash",
    [
        "git stash push -q -u -m wip && git stash drop -q",
        "git stash push -q -a -m wip && git stash drop -q",
        "git stash push -q -u -m shelve -- tools notes.md && git stash drop -q",
        "git stash push -q -u -m wip && echo new > notes.md && git stash drop -q",
    ],
    ids=["untracked", "all", "pathspec", "remade"],
)
def test_a_stash_that_swept_your_files_and_was_dropped_is_taken_back(
    repo: GitRepo, stash: str
) -> None:
    """The stash takes your edits, your untracked files and (with `-a`, or where git's rules
    put them in the untracked folder's sweep) your ignored ones; the drop leaves no handle on
    them. `rollback --op` after a file you made later gives back every file a checkpoint holds,
    bytes and modes, and keeps the later file; the stash list is as it was, empty. The ignored
    files `-a` took and the drop threw away are a documented limit (as after `git clean
    -fdx`): they stay gone, and nothing else is disturbed by their absence."""
    _yours(repo)
    before = disk(repo.path, modes=True)
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", stash)
    assert repo.git("stash", "list").strip() == ""
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    if "-a" in stash.split():
        # docs/limits.md "Ignored files an operation stashed": a stash the operation dropped
        # itself is gone before the rollback looks, so the ignored files it took stay gone.
        for gone in IGNORED:
            assert before.pop(gone) and gone not in now
    assert now == before
    assert repo.git("stash", "list").strip() == ""


def test_a_shelve_then_unshelve_over_your_new_file_is_taken_back(repo: GitRepo) -> None:
    """Sapling's `unshelve` and git's `stash pop` refuse every untracked file when one of them
    meets a file made since (all or nothing, zts212653/clowder-ai#402). The operation stashes
    with `-u`, makes `notes.md` anew, and its pop fails: the stash is kept. `rollback --op`
    gives back your `notes.md` and the rest, and takes away the stash the operation left."""
    _yours(repo)
    before = disk(repo.path, modes=True)
    script = "git stash push -q -u && echo theirs > notes.md && git stash pop -q; true"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    assert repo.read("notes.md") == b"theirs\n"
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert disk(repo.path, modes=True) == before
    assert repo.git("stash", "list").strip() == ""
