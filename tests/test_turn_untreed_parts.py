"""What a rollback puts back that no tree holds (empty folders, the stash list,
`.git/info/exclude` and `info/attributes`), in an agent turn. A window is a step when its
state changed; that state left these out, so a shell call that changed only one of them (a
`mkdir -p out/logs`, a `git stash drop` of yours) was a window that changed nothing and the
turn's end kept it, and a file tool's first window, whose step is its capture when only its
files changed in the tree, took your `mkdir` or `git stash drop` meanwhile as its own and took
it back. Real hook calls; the oracle is the disk and git's stash list."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from testing.agents import claude_hook, claude_write
from testing.gitrepo import GitRepo
from testing.oracle import disk

# What a call (or you) does, that only these parts show.
CHANGES = {
    "empty folders made": "mkdir -p out/logs",
    "an empty folder removed": "rmdir keep",
    "a stash dropped": "git stash drop -q",
    "info/exclude": "echo '*.log' >> .git/info/exclude",
    "info/attributes": "echo '*.txt -diff' >> .git/info/attributes",
}


def _setup(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("f.txt", b"f\n")
    repo.git("add", "f.txt")
    repo.git("commit", "-qm", "f")
    repo.write("f.txt", b"stashed\n")
    repo.git("stash", "-q")
    (repo.path / "keep").mkdir()


def _sh(repo: GitRepo, command: str) -> None:
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)


def _seen(repo: GitRepo) -> tuple[object, ...]:
    info = repo.path / ".git" / "info"
    return (
        disk(repo.path),
        repo.git("stash", "list", "--format=%H"),
        (info / "exclude").read_bytes(),
        (info / "attributes").read_bytes() if (info / "attributes").exists() else None,
    )


def _write(repo: GitRepo, n: int, rel: str, data: bytes, meanwhile: str = "") -> None:
    claude_write(repo, n, rel, data, (lambda: _sh(repo, meanwhile)) if meanwhile else None)


def _taken_back(repo: GitRepo) -> None:
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert "were rolled back" in answer["reason"], answer


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("later", [False, True], ids=["first call", "a later call"])
def test_a_shell_call_that_changed_only_what_no_tree_holds_is_taken_back(
    repo: GitRepo, change: str, later: bool
) -> None:
    _setup(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    if later:
        _write(repo, 1, "a.txt", b"a\n")
    before = _seen(repo)
    call = {"tool_name": "Bash", "tool_input": {"command": "x"}, "tool_use_id": "b1"}
    claude_hook(repo, "s1", "PreToolUse", **call)
    _sh(repo, CHANGES[change])
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"stdout": ""})
    assert _seen(repo) != before
    _write(repo, 2, "bad", b"x\n")
    _taken_back(repo)
    after = _seen(repo)
    if later:
        assert not repo.exists("a.txt")
        before = (
            {k: v for k, v in before[0].items() if k != b"a.txt"},  # type: ignore[union-attr]
            *before[1:],
        )
    assert after == before


@pytest.mark.parametrize("change", CHANGES)
def test_yours_while_a_file_tool_opens_the_turn_is_not_taken_back(
    repo: GitRepo, change: str
) -> None:
    _setup(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    _write(repo, 1, "a.txt", b"a\n", meanwhile=CHANGES[change])
    yours = _seen(repo)
    _write(repo, 2, "bad", b"x\n")
    _taken_back(repo)
    after = _seen(repo)
    expected = {k: v for k, v in yours[0].items() if k != b"a.txt"}  # type: ignore[union-attr]
    assert not repo.exists("a.txt")
    assert after == (expected, *yours[1:])


@pytest.mark.parametrize("rel", ["keep/new.txt", "keep/deeper/new.txt"])
@pytest.mark.parametrize("when", ["first call", "first call, yours meanwhile", "a later call"])
def test_an_empty_folder_of_yours_a_file_tool_wrote_into_is_there_again(
    repo: GitRepo, rel: str, when: str
) -> None:
    # A later call notes its files (no checkpoint): a new file's note said nothing of the
    # empty folder it went into, and the take-back removed the folder with the file. A first
    # call's step narrowed to its files kept the folder listed empty with the file in it.
    _setup(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    if when == "a later call":
        _write(repo, 1, "a.txt", b"a\n")
    before = _seen(repo)
    meanwhile = "echo yours > yours.txt" if when.endswith("meanwhile") else ""
    _write(repo, 2, rel, b"new\n", meanwhile=meanwhile)
    yours = {b"yours.txt": ("file", b"yours\n")} if meanwhile else {}
    _write(repo, 3, "bad", b"x\n")
    _taken_back(repo)
    expected = {k: v for k, v in before[0].items() if k != b"a.txt"}  # type: ignore[union-attr]
    assert _seen(repo) == ({**expected, **yours}, *before[1:])
    assert (repo.path / "keep").is_dir() and not any((repo.path / "keep").iterdir())


@pytest.mark.parametrize("how", ["stop", "recover"])
def test_a_hook_a_call_installed_and_nothing_else_is_named_by_the_take_back(
    repo: GitRepo, how: str
) -> None:
    # The take-back names the git hooks made within the turn's calls (README, "Git hooks"),
    # read as the spans of its steps: a call that only installed one (`pre-commit install`)
    # was a window that changed nothing a checkpoint holds, no step, and its hook went
    # unnamed. One you write between the calls is still yours, not named.
    _setup(repo)
    install = "printf '#!/bin/sh\\nexit 1\\n' > .git/hooks/pre-commit"
    install += "; chmod +x .git/hooks/pre-commit"
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    _write(repo, 1, "a.txt", b"a\n")
    call = {"tool_name": "Bash", "tool_input": {"command": "install"}, "tool_use_id": "b1"}
    claude_hook(repo, "s1", "PreToolUse", **call)
    _sh(repo, install)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"stdout": ""})
    # The calls' windows are widened by a clock tick each way (hooksmade._MARGIN: a file's
    # times come from the kernel's coarse clock), so that a turn's hook is never missed: a
    # hook written within 10 ms of a call's start or end is named as the call's. A person
    # writes further from the agent's calls than that (the fork server is not so slow).
    time.sleep(0.05)
    _sh(repo, "printf '#!/bin/sh\\n' > .git/hooks/pre-push; chmod +x .git/hooks/pre-push")
    time.sleep(0.05)
    _write(repo, 2, "bad", b"x\n")
    if how == "stop":
        answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
        said = answer["systemMessage"].split("; ")
    else:
        kill = {"GIT_ATOMIC_FAILPOINT": "rollback:after-rescue"}
        assert claude_hook(repo, "s1", "Stop", env=kill, check=False).returncode == -9
        said = repo.atomic("recover", check=0).stderr.splitlines()
    hooked = [line for line in said if "a git hook made or changed" in line]
    assert len(hooked) == 1 and ".git/hooks/pre-commit" in hooked[0], said
    assert not repo.exists("a.txt") and not repo.exists("bad")
