"""Peers' reports on checkpoint tools that moved git's own folders or followed git's variables
to the wrong repository, played against git-atomic: Cline's checkpoints that renamed nested
`.git` folders to `.git_disabled` and left them so (cline/cline#1313, the fix in
cline/cline#9620), or renamed the workspace's own `.git` (cline/cline#9286, #5598); Roo
Code's checkpoints committed into whatever `GIT_DIR` the environment named
(RooCodeInc/Roo-Code#4567) and a checkpoint helper that committed onto the host branch from
inside a hook that exported git's variables (ai-sdlc-framework/ai-sdlc#461); a shadow
repository that sets `core.worktree` (anomalyco/opencode#1286). Here the operation is the one
doing it, or git-atomic runs where the variables point elsewhere. The oracle is the disk
(bytes and modes by lstat), the refs of every repository involved, and the config file's
bytes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook, shell_turn
from testing.gitrepo import GitRepo, git_atomic_on_path
from testing.oracle import disk
from tests.test_adversary56_peers_nested import clone_inside


@pytest.mark.parametrize(
    "script",
    ["mv vendor/lib/.git vendor/lib/.git_disabled", "rm -rf vendor/lib/.git"],
    ids=["renamed aside", "removed"],
)
@pytest.mark.parametrize("kept", [False, True], ids=["failed run", "rollback --op"])
def test_a_nested_repositorys_git_renamed_aside_keeps_every_byte(
    repo: GitRepo, script: str, kept: bool
) -> None:
    """cline/cline#1313 and #9620: a nested repository's `.git` renamed to `.git_disabled`
    and never renamed back. An operation does the same, or removes it (and edits a file of
    the top): its rollback (a failed run; `rollback --op` of a kept one over a later file of
    yours) puts the top's file back and takes nothing of the nested repository: neither its
    files (never captured: they are its own), nor its empty folders (its `cache/`, the
    renamed git folder's `refs/tags/`, `objects/pack/`), which the rollback removed as
    folders the operation made; it names the folder in one line. The `.git` is not renamed
    back (docs/limits.md)."""
    clone_inside(repo, "vendor/lib")
    (repo.path / "vendor/lib/cache").mkdir()
    before = disk(repo.path, modes=True)
    script += " && echo x > README"

    def renamed(state: dict[bytes, Any]) -> dict[bytes, Any]:
        old, new = b"vendor/lib/.git", b"vendor/lib/.git_disabled"
        if "rm -rf" in script:
            return {k: v for k, v in state.items() if not (k == old or k.startswith(old + b"/"))}
        return {
            (new + k[len(old) :] if k == old or k.startswith(old + b"/") else k): v
            for k, v in state.items()
        }

    want = renamed(before)
    if kept:
        out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
        repo.write("later.txt", b"yours\n")
        dry = repo.atomic("rollback", "--op", out["op_id"], "--dry-run", check=0).stdout
        assert ".git_disabled" not in dry and "cache" not in dry, dry
        ran = repo.atomic("rollback", "--op", out["op_id"], check=0)
        assert repo.read("later.txt") == b"yours\n"
        os.unlink(repo.path / "later.txt")
    else:
        ran = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    said = [line for line in ran.stderr.splitlines() if "vendor/lib" in line]
    assert len(said) == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert disk(repo.path, modes=True) == want, ran.stderr


def test_the_worktrees_own_git_renamed_aside_changes_nothing_until_it_is_back(
    repo: GitRepo,
) -> None:
    """cline/cline#9286 and #5598: the workspace's own `.git` left as `.git_disabled`. An
    operation that renames it is refused its rollback in one line (exit 3), which touches
    nothing; with the folder put back, `recover` returns every file to PRE-OP exactly."""
    repo.write("mine.txt", b"mine\n", mode=0o600)
    before, state = disk(repo.path, modes=True), repo.fingerprint()
    script = "echo x > README; echo n > new.txt; mv .git .git_disabled; exit 1"
    ran = repo.atomic("run", "--", "sh", "-c", script, check=3)
    assert len(ran.stderr.splitlines()) == 1 and ".git" in ran.stderr, ran.stderr
    assert repo.read("README") == b"x\n" and repo.exists("new.txt")
    os.rename(repo.path / ".git_disabled", repo.path / ".git")
    repo.atomic("recover", check=0)
    assert disk(repo.path, modes=True) == before and repo.fingerprint().diff(state) == []


def test_git_dir_and_work_tree_in_the_environment_are_the_repository_acted_on(
    repo: GitRepo, tmp_path: Path
) -> None:
    """RooCodeInc/Roo-Code#4567: with `GIT_DIR` set, checkpoints went into that repository.
    A dotfiles-style bare repository (`GIT_DIR` and `GIT_WORK_TREE` set) whose worktree is a
    folder inside another repository: git-atomic acts on the one the variables name, as git
    does: its failed run puts the worktree's files back, and the repository around it gets
    no checkpoint, no ref and no change. With `GIT_DIR` alone, the folder the command runs in
    is the worktree, as for git."""
    bare, home = tmp_path / "dot.git", repo.path / "home"
    home.mkdir()
    env = {"GIT_DIR": str(bare), "GIT_WORK_TREE": str(home)}
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], env=repo.env, check=True)
    (home / ".bashrc").write_bytes(b"rc\n")
    for args in (["add", ".bashrc"], ["commit", "-qm", "rc"]):
        subprocess.run(["git", *args], cwd=home, env={**repo.env, **env}, check=True)
    (home / "notes.txt").write_bytes(b"mine\n")
    outer, inner = repo.fingerprint(), disk(home, modes=True)
    outer_refs = repo.git("for-each-ref")
    script = "echo x > .bashrc; echo y > new.txt; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, env=env, cwd=home, check=1)
    assert disk(home, modes=True) == inner
    assert repo.fingerprint().diff(outer) == [] and repo.git("for-each-ref") == outer_refs
    assert not (repo.path / ".git" / "atomic").exists()
    listed = subprocess.run(
        ["git", "for-each-ref", "refs/atomic/"], env={**repo.env, **env}, capture_output=True
    )
    assert listed.stdout, "the bare repository holds the checkpoints"
    # `GIT_DIR` alone (a dev container's `remoteEnv`, Roo's report): git takes the folder the
    # command runs in for the worktree, and so does git-atomic. Its failed run leaves that
    # folder and the repository's own worktree as they were.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "o.txt").write_bytes(b"o\n")
    there, outer_disk = disk(elsewhere, modes=True), disk(repo.path, modes=True)
    alone = {"GIT_DIR": str(repo.path / ".git")}
    script = "echo x > a; echo y > README; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, env=alone, cwd=elsewhere, check=1)
    assert disk(elsewhere, modes=True) == there and disk(repo.path, modes=True) == outer_disk
    assert repo.fingerprint().diff(outer) == []


def test_inside_a_commit_hook_git_atomic_refuses_and_the_commit_stops(
    repo: GitRepo, tmp_path: Path
) -> None:
    """ai-sdlc-framework/ai-sdlc#461: a tool run from a git hook inherited the variables git
    exports there and committed where they pointed. A `pre-commit` hook that wraps a
    formatter in `git atomic run`, under `git commit -a` (git's temporary index in
    `GIT_INDEX_FILE`): git-atomic refuses in one line before anything changes (a checkpoint
    of that index would not be the worktree's), the commit stops, and the files, the index
    and the branch are as they were."""
    repo.write("a.txt", b"a\n")
    repo.git("add", "a.txt")
    repo.git("commit", "-qm", "a")
    repo.write("a.txt", b"a2\n")
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexec git atomic run --no-gates -- sh -c 'echo fmt >> a.txt'\n")
    hook.chmod(0o755)
    env = git_atomic_on_path(tmp_path / "bin", repo.env)
    before, state = disk(repo.path, modes=True), repo.fingerprint()
    ran = subprocess.run(
        ["git", "commit", "-qam", "c"], cwd=repo.path, env=env, capture_output=True, text=True
    )
    said = [line for line in ran.stderr.splitlines() if line.startswith("git-atomic:")]
    assert ran.returncode != 0 and len(said) == 1 and "GIT_INDEX_FILE" in said[0], ran.stderr
    assert disk(repo.path, modes=True) == before and repo.fingerprint().diff(state) == []


def test_core_worktree_an_operation_set_is_unset_and_the_folder_untouched(
    repo: GitRepo, tmp_path: Path
) -> None:
    """anomalyco/opencode#1286: a shadow repository set `core.worktree` to point git at the
    workspace. An operation that sets it in your repository's config to another folder (and
    edits a file): its rollback puts the config file back byte for byte (and says so), the
    file back, and the other folder is never written."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "o.txt").write_bytes(b"o\n")
    config = (repo.path / ".git" / "config").read_bytes()
    before, there = disk(repo.path, modes=True), disk(other, modes=True)
    script = f"echo x > README; git config core.worktree {other}; exit 1"
    ran = repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert "core.worktree" in ran.stderr, ran.stderr
    assert (repo.path / ".git" / "config").read_bytes() == config
    assert disk(repo.path, modes=True) == before and disk(other, modes=True) == there


def test_a_git_folder_renamed_aside_twice_is_never_taken_as_the_operations(
    repo: GitRepo,
) -> None:
    """cline/cline#1313, again and again: the failed run above leaves the nested `.git` as
    `.git_disabled`; you rename it back (the next PRE-OP holds it as a repository again, as
    git lists it: tests/test_adversary61_nested_back.py). A kept operation that renames the
    `.git` aside again is taken back by `rollback --op` over a later file of yours: before,
    the rollback deleted the renamed git folder, every object and ref of the nested
    repository (the rescue its only copy), as files the operation made; now it removes
    nothing there, names the folder, and its dry run lists none of them."""
    clone_inside(repo, "vendor/lib")
    aside = "mv vendor/lib/.git vendor/lib/.git_disabled && echo x > README"
    repo.atomic("run", "--", "sh", "-c", aside + "; exit 1", check=1)
    os.rename(repo.path / "vendor/lib/.git_disabled", repo.path / "vendor/lib/.git")
    before = disk(repo.path, modes=True)
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", aside)
    repo.write("later.txt", b"yours\n")
    dry = repo.atomic("rollback", "--op", out["op_id"], "--dry-run", check=0)
    assert ".git_disabled" not in dry.stdout, dry.stdout
    back = repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert [line for line in back.stderr.splitlines() if "vendor/lib" in line], back.stderr
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    old, new = b"vendor/lib/.git", b"vendor/lib/.git_disabled"
    want = {
        (new + k[len(old) :] if k == old or k.startswith(old + b"/") else k): v
        for k, v in before.items()
    }
    assert now == want


def test_an_agent_turn_that_renamed_a_nested_git_aside_keeps_every_byte(repo: GitRepo) -> None:
    """cline/cline#1313 in an agent's turn: a `Bash` call renames a nested clone's `.git`
    aside and edits a file of the top; the gate fails, and the take-back at Stop puts the
    top's file back and leaves the nested repository's files, its empty folder and the
    renamed git folder as they were, naming it in the answer."""
    clone_inside(repo, "vendor/lib")
    (repo.path / "vendor/lib/cache").mkdir()
    before = disk(repo.path, modes=True)
    call = "mv vendor/lib/.git vendor/lib/.git_disabled && echo x > README"
    answer = shell_turn(repo, call, "echo x > bad")
    assert answer["decision"] == "block" and "vendor/lib" in answer["reason"], answer
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    old, new = b"vendor/lib/.git", b"vendor/lib/.git_disabled"
    want = {
        (new + k[len(old) :] if k == old or k.startswith(old + b"/") else k): v
        for k, v in before.items()
    }
    assert now == want


def test_a_turn_whose_call_renamed_the_worktrees_git_aside_loses_nothing(repo: GitRepo) -> None:
    """cline/cline#9286 in an agent's turn: a call renames the worktree's own `.git` aside
    (and writes a file the gate refuses). Its PostToolUse and Stop find no repository there
    and say nothing, as outside any (docs/limits.md: the turn is not judged); with the `.git`
    put back, the next prompt records the turn as kept, not judged, and `rollback --op` of it
    returns every file to what it was before the turn."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("mine.txt", b"mine\n", mode=0o600)
    before = disk(repo.path, modes=True)
    call = {"tool_name": "Bash", "tool_input": {"command": "mv .git .git_disabled"}}
    claude_hook(repo, "s1", "PreToolUse", **call, tool_use_id="t1")
    repo.write("README", b"x\n")
    repo.write("bad", b"x\n")
    os.rename(repo.path / ".git", repo.path / ".git_disabled")
    done = {"tool_use_id": "t1", "tool_response": {"success": True}}
    for event, fields in (("PostToolUse", {**call, **done}), ("Stop", {})):
        said = claude_hook(repo, "s1", event, **fields)
        assert said.stdout == "" and "Traceback" not in said.stderr, said.stderr
    os.rename(repo.path / ".git_disabled", repo.path / ".git")
    told = claude_hook(repo, "s1", "UserPromptSubmit", prompt="go on").stdout
    op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    assert op_id in told, told
    repo.atomic("rollback", "--op", op_id, check=0)
    assert disk(repo.path, modes=True) == before


def test_the_worktrees_own_git_file_renamed_aside_is_put_back(
    repo: GitRepo, tmp_path: Path
) -> None:
    """cline/cline#9286 where the worktree's `.git` is a file naming its git dir (a linked
    worktree; a repository made with `--separate-git-dir`): the git dir stays where it is, so
    the rollback of an operation that renames the `.git` file aside (and writes files) puts
    the file back with everything else; `undo` brings the operation's files back and leaves
    the `.git` file where it is, so that it never breaks the worktree again (design.md)."""
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    separate = GitRepo.create(tmp_path / "sep", tmp_path / "home2", git_dir=tmp_path / "s.git")
    script = "echo x > README; echo n > new.txt; mv .git .git_disabled; exit 1"
    for where in (GitRepo(wt, repo.env), separate):
        where.write("mine.txt", b"mine\n", mode=0o600)

        def state(at: GitRepo = where) -> tuple[str, ...]:
            asks = (["symbolic-ref", "HEAD"], ["for-each-ref", "refs/heads"], ["ls-files", "-s"])
            return tuple(at.git(*args) for args in asks)

        before, was = disk(where.path, modes=True), state()
        dot_git = (where.path / ".git").read_bytes()
        where.atomic("run", "--", "sh", "-c", script, check=1)
        assert (where.path / ".git").read_bytes() == dot_git
        assert disk(where.path, modes=True) == before and state() == was
        where.atomic("undo", check=0)
        assert (where.path / ".git").read_bytes() == dot_git and where.exists(".git_disabled")
        assert where.read("README") == b"x\n" and where.git("status", "--short", "README")
