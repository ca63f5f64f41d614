"""Peers' reports on what git tracks and how it lays a file down, played against git-atomic:
jj's ignored files that became tracked (jj-vcs/jj#6975, a file tracked by name despite its
rule; jj-vcs/jj#8628, files a rule no longer ignored picked up at the next snapshot), links
that git writes as small plain files where `core.symlinks` is off (vfarcic/dot-agent-deck#553,
jj-vcs/jj#2939), and a stash that held nothing because the only change was a submodule's
commit, after which the tool popped an older stash (aanand/git-up#74, sds/overcommit#148).
The oracle is the disk (bytes, kinds by lstat), the raw index entries and the stash list."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.oracle import disk


def with_ignored(repo: GitRepo) -> None:
    """`*.log` and `build/` ignored by a committed rule; `keep.log` and `build/o.bin` yours."""
    repo.write(".gitignore", b"*.log\nbuild/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("keep.log", b"precious\n")
    repo.write("build/o.bin", b"\0out\n")


TRACKED = {
    "by name": "git add -f keep.log build/o.bin",
    "rule dropped": ": > .gitignore && git add -A",
}


@pytest.mark.parametrize("history", ["shadow", "commits"])
@pytest.mark.parametrize("script", TRACKED.values(), ids=list(TRACKED))
def test_your_ignored_files_it_made_tracked_stay_yours(
    repo: GitRepo, script: str, history: str
) -> None:
    """An operation makes your two ignored files tracked (by name, or by dropping the rule
    and adding everything); you then write `later.txt`: `rollback --op` takes the index
    entries (and in commits mode its commit) back, leaves both files with their bytes,
    ignored again, and `undo` tracks them again. A failed run of the same is exact."""
    with_ignored(repo)
    before = disk(repo.path, modes=True)
    state = repo.fingerprint()
    repo.atomic("run", "--history", history, "--", "sh", "-c", script + " && exit 1", check=1)
    assert disk(repo.path, modes=True) == before and repo.fingerprint().diff(state) == []
    out = repo.atomic_json("run", "--no-gates", "--history", history, "--", "sh", "-c", script)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n" and now == before
    assert repo.head() == state.head_commit
    status = repo.git("status", "--porcelain", "--ignored")
    assert status == "?? later.txt\n!! build/\n!! keep.log\n"
    repo.atomic("undo", check=0)
    assert repo.git("ls-files", "keep.log", "build/o.bin").split() == ["build/o.bin", "keep.log"]
    assert repo.read("keep.log") == b"precious\n" and repo.read("build/o.bin") == b"\0out\n"


def test_links_laid_down_as_plain_files_stay_plain_files(repo: GitRepo) -> None:
    """vfarcic/dot-agent-deck#553: with `core.symlinks` off git writes a link as a plain file
    holding its target, silently. An operation edits such a file (`ln`) and checks out another
    (`ln2`, a link on another branch): a failed run puts `ln` back as the plain file it was and
    removes `ln2`; `undo` brings `ln2` back as git laid it down, a plain file, its entry a
    link's (mode 120000); `rollback --op` of a kept one over your later file does the same."""
    os.symlink("README", repo.path / "ln")
    repo.git("add", "ln")
    repo.git("commit", "-qm", "ln")
    repo.git("checkout", "-qb", "other")
    os.symlink("README", repo.path / "ln2")
    repo.git("add", "ln2")
    repo.git("commit", "-qm", "ln2")
    repo.git("checkout", "-q", "main")
    repo.git("config", "core.symlinks", "false")
    os.unlink(repo.path / "ln")
    repo.git("checkout", "--", "ln")
    assert stat.S_ISREG(os.lstat(repo.path / "ln").st_mode)
    before, state = disk(repo.path), repo.fingerprint()
    script = "echo edited > ln && git checkout other -- ln2"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script + " && exit 1", check=1)
    assert disk(repo.path) == before and repo.fingerprint().diff(state) == []
    repo.atomic("undo", check=0)
    assert disk(repo.path)[b"ln2"] == ("file", b"README")
    assert disk(repo.path)[b"ln"] == ("file", b"edited\n")
    assert repo.git("ls-files", "-s", "ln2").startswith("120000 ")
    repo.git("reset", "-q", "--hard")
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path)
    assert now.pop(b"later.txt") == ("file", b"yours\n") and now == before


def test_an_operation_that_only_moved_a_submodule_leaves_your_stashes(
    repo: GitRepo, tmp_path: Path
) -> None:
    """aanand/git-up#74 and sds/overcommit#148: where the only change was a submodule's
    commit, `git stash` made nothing and the tool popped an older stash of yours. An
    operation whose only change is the submodule's recorded commit (checked out and staged),
    with a stash of yours listed: its failed run and its `rollback --op` put the gitlink
    entry back, touch no stash and no other file, and name the submodule's checkout, which
    a checkpoint does not hold (one line)."""
    upstream = GitRepo.create(tmp_path / "upstream", tmp_path / "home")
    for n in (1, 2):
        upstream.write("s.txt", b"%d\n" % n)
        upstream.git("add", "s.txt")
        upstream.git("commit", "-qm", f"s{n}")
    add = ("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream.path))
    repo.git(*add, "sub")
    repo.git("commit", "-qm", "sub")
    repo.write("README", b"hello\nstashed\n")
    repo.git("stash", "-q")
    stashes, state = repo.git("stash", "list"), repo.fingerprint()
    script = "git -C sub checkout -q HEAD~ && git add sub"
    ran = repo.atomic("run", "--no-gates", "--", "sh", "-c", script + " && exit 1", check=1)
    assert [line for line in ran.stderr.splitlines() if "sub:" in line], ran.stderr
    inside = [d for d in repo.fingerprint().diff(state) if not d.startswith("file b'sub/")]
    assert inside == [] and repo.git("stash", "list") == stashes
    repo.git("-C", "sub", "checkout", "-q", "main")
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert repo.git("diff", "--cached", "--name-only") == ""
    assert repo.git("stash", "list") == stashes and repo.read("README") == b"hello\n"
