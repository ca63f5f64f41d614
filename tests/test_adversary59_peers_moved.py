"""Peers' reports on a workspace that moved between a checkpoint and its restore, played
against git-atomic: a checkpoint that kept paths relative to a root it never recorded and was
restored into another workspace, rewriting and deleting files there
(wso2/product-integrator#2445), and sessions bound to the absolute path of a workspace that
was renamed since (clabby/tact#32). The repository is copied (`cp -a`) or renamed after an
operation was kept, while one is open, after one was killed half way, and in the middle of
an agent turn: each command acts on the repository it runs in, and a copy left behind is not
touched at all. The oracle is the disk (bytes, modes, times where nothing may change)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo
from testing.oracle import disk, walk_exact

CHANGE = "echo changed > f.txt && rm gone.txt && mkdir new && echo n > new/n.txt"


def with_work(repo: GitRepo) -> None:
    """Two committed files and an untracked one of yours."""
    repo.write("f.txt", b"f\n")
    repo.write("gone.txt", b"g\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    repo.write("wip.txt", b"wip\n")


def elsewhere(repo: GitRepo, tmp_path: Path, how: str) -> tuple[GitRepo, object]:
    """The repository copied or renamed to `tmp_path/elsewhere`; the old place's exact walk
    where a copy stays there (None where it moved)."""
    other = GitRepo(tmp_path / "elsewhere", repo.env)
    if how == "copy":
        shutil.copytree(repo.path, other.path, symlinks=True)
        return other, walk_exact(repo.path)
    os.rename(repo.path, other.path)
    return other, None


def left_alone(repo: GitRepo, old: object) -> None:
    if old is None:
        assert not repo.path.exists()
    else:
        assert walk_exact(repo.path) == old


@pytest.mark.parametrize("how", ["copy", "move"])
def test_a_kept_operation_is_taken_back_where_the_repository_is_now(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """wso2/product-integrator#2445: `rollback --op` of an operation kept before the
    repository was copied or renamed puts the new place back as before the operation; the
    copy left at the old place keeps every byte and time."""
    with_work(repo)
    before = disk(repo.path, modes=True)
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", CHANGE)
    other, old = elsewhere(repo, tmp_path, how)
    other.atomic("rollback", "--op", out["op_id"], check=0)
    assert disk(other.path, modes=True) == before
    left_alone(repo, old)


@pytest.mark.parametrize(("how", "end"), [("copy", "abort"), ("move", "commit")])
def test_an_open_operation_ends_where_the_repository_is_now(
    repo: GitRepo, tmp_path: Path, how: str, end: str
) -> None:
    """clabby/tact#32: an operation opened (`begin`) before the repository was copied or
    renamed is ended at its new place: `abort`, or a `commit` whose gate fails (exit 1),
    brings back its PRE-OP state there (HEAD, index, files); the copy left behind is not
    touched, and `abort` there ends its own."""
    with_work(repo)
    before, state = disk(repo.path, modes=True), repo.fingerprint()
    repo.atomic("begin", "x", "--history", "shadow", check=0)
    subprocess.run(["sh", "-c", CHANGE], cwd=repo.path, env=repo.env, check=True)
    other, old = elsewhere(repo, tmp_path, how)
    if end == "abort":
        other.atomic("abort", check=0)
    else:
        other.atomic("commit", "-g", "false", check=1)
    assert disk(other.path, modes=True) == before and other.fingerprint().diff(state) == []
    left_alone(repo, old)
    if old is not None:
        repo.atomic("abort", check=0)
        assert disk(repo.path, modes=True) == before


def test_an_operation_killed_half_way_is_recovered_where_the_repository_is_now(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A run killed in the middle of its rollback (SIGKILL after its removals), then the
    repository renamed: `status` there names the interrupted operation and `recover` there
    finishes the job, the tree as before the run."""
    with_work(repo)
    before = disk(repo.path, modes=True)
    killed = repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        f"{CHANGE}; exit 1",
        env={"GIT_ATOMIC_FAILPOINT": "restore:after-removals"},
    )
    assert killed.returncode == -9, killed.stderr
    other, _ = elsewhere(repo, tmp_path, "move")
    assert "interrupted" in other.atomic("status", check=0).stdout
    other.atomic("recover", check=0)
    assert disk(other.path, modes=True) == before


def test_an_agent_turn_goes_on_where_the_repository_is_now(repo: GitRepo, tmp_path: Path) -> None:
    """A Claude Code turn whose first `Write` was made before the repository was renamed and
    its second after (the hooks' `cwd` the new place): its gate fails at Stop and both writes
    are taken back at the new place."""
    with_work(repo)
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    before = disk(repo.path, modes=True)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    here = repo
    for n, rel in enumerate(("f.txt", "bad")):
        if n == 1:
            here, _ = elsewhere(repo, tmp_path, "move")
        call = write_call(here, n, rel, "x\n")
        claude_hook(here, "s1", "PreToolUse", **call)
        here.write(rel, b"x\n")
        claude_hook(here, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(claude_hook(here, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert disk(here.path, modes=True) == before
