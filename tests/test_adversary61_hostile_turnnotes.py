"""The hostile tree against an agent turn's noted files (agents/turnfiles.py): a file tool's
call after the turn's first step takes no checkpoint; its files are noted as loose objects at
`PreToolUse`, noted again at `PostToolUse`, and the step settled at the turn's next capture.
At the moment between two of those steps, the folder of the noted file swapped for a link to
a folder outside, or, after the window, the file swapped for a FIFO or a folder, its folder
for a file. Oracle: the take-back at `Stop` (a failing gate) writes nothing through the link
and leaves the folder outside as the tool left it; where yours since overlaps the turn's
change, nothing is taken back and nothing on disk changes, the same for a `Write` (noted) as
for a `Bash` call that wrote the same file (captured)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testing import oracle
from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def outside_tree(tmp: Path) -> Path:
    out = tmp / "outside"
    out.mkdir()
    (out / "a.txt").write_bytes(b"OUTSIDE a\n")
    return out


def setup(repo: GitRepo) -> None:
    repo.write("src/a.txt", b"a\n")
    repo.write("src/b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")


def bash(repo: GitRepo, n: int, command: str) -> None:
    call: dict[str, Any] = {
        "tool_name": "Bash",
        "tool_input": {"command": command},
        "tool_use_id": f"b{n}",
    }
    claude_hook(repo, "s1", "PreToolUse", **call)
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})


def write(
    repo: GitRepo, n: int, rel: str, data: bytes, between: Callable[[], None] | None = None
) -> None:
    call = write_call(repo, n, rel, data.decode())
    claude_hook(repo, "s1", "PreToolUse", **call)
    if between is not None:
        between()
    full = repo.path / rel
    with open(full, "wb") as fh:  # as a tool writes: by name, through whatever is there
        fh.write(data)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})


def link_src(repo: GitRepo, target: str) -> None:
    shutil.rmtree(repo.path / "src")
    os.symlink(target, repo.path / "src")


@pytest.mark.parametrize("when", ["inside the window", "after the window"])
def test_folder_swapped_for_a_link_outside(repo: GitRepo, tmp_path: Path, when: str) -> None:
    setup(repo)
    out = outside_tree(tmp_path)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    bash(repo, 1, "echo x > bad")

    def swap() -> None:
        link_src(repo, str(out))

    write(repo, 2, "src/a.txt", b"agent\n", swap if when == "inside the window" else None)
    if when == "after the window":
        link_src(repo, str(out))
    seen = oracle.walk_exact(out)
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert oracle.walk_exact(out) == seen  # as the tool left it: written through the link
    tool_wrote = when == "inside the window"
    assert (out / "a.txt").read_bytes() == (b"agent\n" if tool_wrote else b"OUTSIDE a\n")
    assert os.readlink(repo.path / "src") == str(out)  # not the turn's file: left
    if when == "inside the window":
        assert not repo.exists("bad")  # the turn's own change taken back
    else:  # yours since overlaps the noted file's change: nothing taken back
        assert "could not be taken back" in answer["reason"] and repo.exists("bad")


@pytest.mark.parametrize("tool", ["Write", "Bash"])
@pytest.mark.parametrize("kind", ["fifo", "folder", "file-for-folder"])
def test_kinds_swapped_after_the_window(repo: GitRepo, kind: str, tool: str) -> None:
    setup(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    bash(repo, 1, "echo x > bad")
    if tool == "Write":
        write(repo, 2, "src/a.txt", b"agent\n")
    else:
        bash(repo, 2, "echo agent > src/a.txt")
    if kind == "fifo":
        os.unlink(repo.path / "src/a.txt")
        os.mkfifo(repo.path / "src/a.txt")
    elif kind == "folder":
        os.unlink(repo.path / "src/a.txt")
        repo.write("src/a.txt/mine", b"mine\n")
    else:
        shutil.rmtree(repo.path / "src")
        repo.write("src", b"a file of mine\n")
    seen = oracle.walk_exact(repo.path)
    answer = json.loads(claude_hook(repo, "s1", "Stop", timeout=60).stdout or "{}")
    # The same whether the file was noted (Write) or captured (Bash): yours since overlaps
    # the turn's change, so nothing is taken back, and nothing was changed.
    assert answer.get("decision") == "block", answer
    assert "could not be taken back" in answer["reason"], answer
    after = oracle.walk_exact(repo.path)
    assert {k: v for k, v in after.items() if k.split(b"/")[0] != b".git"} == {
        k: v for k, v in seen.items() if k.split(b"/")[0] != b".git"
    }


@pytest.mark.parametrize("tool", ["Write", "Bash"])
def test_a_file_noted_while_git_is_mid_merge(repo: GitRepo, tool: str) -> None:
    """The turn's first call leaves git mid-merge on a conflict; the next writes the
    conflicted file (noted, or captured by a shell call); its gate fails. A merge in progress
    is not the turn's to judge: `Stop` says so and changes nothing on disk or in git's merge
    state, the same whether the file was noted or captured."""
    repo.write("c.txt", b"base\n")
    repo.git("add", "c.txt")
    repo.git("commit", "-qm", "base")
    repo.git("checkout", "-qb", "other")
    repo.write("c.txt", b"theirs\n")
    repo.git("commit", "-qam", "theirs")
    repo.git("checkout", "-q", "main")
    repo.write("c.txt", b"ours\n")
    repo.git("commit", "-qam", "ours")
    setup(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    bash(repo, 1, "git merge -q other >/dev/null 2>&1; echo x > bad")
    if tool == "Write":
        write(repo, 2, "c.txt", b"resolved\n")
    else:
        bash(repo, 2, "echo resolved > c.txt")
    seen = repo.fingerprint()
    merge_head = (repo.path / ".git" / "MERGE_HEAD").read_bytes()
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert "a merge is in progress" in answer["systemMessage"], answer
    assert repo.fingerprint().diff(seen) == []
    assert (repo.path / ".git" / "MERGE_HEAD").read_bytes() == merge_head
    assert repo.read("c.txt") == b"resolved\n"
