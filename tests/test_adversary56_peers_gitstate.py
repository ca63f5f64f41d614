"""Peers' reports on git's own state around a checkpoint, played against git-atomic: the
executable bit where `core.fileMode` is off (jj's exec-bit policy), a merge left half-way, a
staged file with no copy on disk that an "unapply" lost, refusals that said nothing (Gemini
CLI outside a repository), paths git reads as pathspec magic, ignore rules the operation
changed. Each checks the disk (lstat, bytes, bits) and the raw index entries."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest

from testing.agents import run_claude_hook
from testing.gitrepo import GitRepo, read_index
from testing.oracle import disk


def entries(repo: GitRepo) -> Any:
    return read_index((repo.path / ".git" / "index").read_bytes())


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def failed(repo: GitRepo, script: str) -> str:
    return repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1).stderr


@pytest.mark.parametrize("then_undo", [False, True])
def test_bits_come_back_where_git_is_told_to_ignore_them(repo: GitRepo, then_undo: bool) -> None:
    """jj-vcs/jj#7484: the executable bit in the repository and on disk may differ, and a
    checkout must keep the disk's. With `core.fileMode=false` (git sees no bit change) and a
    tracked script whose disk bit already differs from the index's, the operation flips three
    bits: the rollback gives each file the bits it had on disk; `undo` the operation's."""
    repo.git("config", "core.fileMode", "false")
    repo.write("run.sh", b"#!/bin/sh\n", mode=0o755)
    repo.write("plain.txt", b"p\n")
    commit_all(repo)
    os.chmod(repo.path / "run.sh", 0o644)
    repo.write("u.sh", b"u\n", mode=0o755)
    before = disk(repo.path, modes=True)
    failed(repo, "chmod +x plain.txt run.sh && chmod -x u.sh")
    assert disk(repo.path, modes=True) == before
    if then_undo:
        repo.atomic("undo", check=0)
        bits = {n: os.stat(repo.path / n).st_mode & 0o111 for n in ("plain.txt", "run.sh", "u.sh")}
        assert bits == {"plain.txt": 0o111, "run.sh": 0o111, "u.sh": 0}


def test_a_merge_the_operation_left_half_way_is_gone(repo: GitRepo) -> None:
    """jj-vcs/jj#3860 (a conflict's state lost or kept wrongly) and gitbutlerapp/gitbutler
    #12310 (a resolve mode left behind took later work): the operation starts a merge that
    conflicts and fails. Index (no stage 1-3 entries), files, HEAD and `.git/MERGE_HEAD` are
    as before, and the next operation is not refused as "merge in progress"."""
    repo.write("f.txt", b"base\n")
    commit_all(repo)
    repo.git("checkout", "-qb", "other")
    repo.write("f.txt", b"other\n")
    commit_all(repo)
    repo.git("checkout", "-q", "main")
    repo.write("f.txt", b"main\n")
    commit_all(repo)
    repo.write("mine.txt", b"mine\n")
    before, index, head = disk(repo.path, modes=True), entries(repo), repo.head()
    failed(repo, "git merge -q other")
    assert disk(repo.path, modes=True) == before
    assert (entries(repo), repo.head()) == (index, head)
    assert not (repo.path / ".git" / "MERGE_HEAD").exists()
    repo.atomic("run", "--no-gates", "--", "true", check=0)


def test_staged_work_with_no_copy_on_disk_comes_back(repo: GitRepo) -> None:
    """gitbutlerapp/gitbutler#3765 and #4266: staged, uncommitted work was lost by an
    "unapply" and by setting up a project. A file staged one way and reverted on disk, and a
    new file staged then deleted from disk (its bytes only in the index); the operation
    resets hard and cleans: both index entries and the disk are back exactly."""
    repo.write("t.txt", b"head\n")
    commit_all(repo)
    repo.write("t.txt", b"staged\n")
    repo.write("n.txt", b"new staged\n")
    repo.git("add", "t.txt", "n.txt")
    repo.write("t.txt", b"head\n")
    os.unlink(repo.path / "n.txt")
    before, index = disk(repo.path, modes=True), entries(repo)
    failed(repo, "git reset -q --hard; git clean -fdq")
    assert disk(repo.path, modes=True) == before
    assert entries(repo) == index


def test_refusals_are_one_line_with_specs_code(repo: GitRepo, tmp_path: Path) -> None:
    """google-gemini/gemini-cli#4115 and #1716: checkpointing outside a git repository failed
    silently or crashed. Outside one, every command is refused: exit 3, one line; in a
    repository with nothing done yet, `undo`, `rollback`, `abort`, `commit` and `checkpoint`
    say so in one line, exit 2; in a merge with unmerged paths, `run` is refused (exit 3, one
    line) and changes nothing; Claude Code's hooks outside a repository never block."""
    plain = tmp_path / "plain"
    plain.mkdir()
    for argv in (("run", "--", "true"), ("undo",), ("rollback",), ("status",), ("abort",)):
        res = repo.atomic(*argv, cwd=plain, check=3)
        assert res.stderr.count("\n") == 1 and "not a git repository" in res.stderr
    for argv in (("undo",), ("rollback",), ("abort",), ("commit",), ("checkpoint",)):
        res = repo.atomic(*argv, check=2)
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    for event in ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"):
        payload = {
            "session_id": "s",
            "transcript_path": "/dev/null",
            "cwd": str(plain),
            "hook_event_name": event,
            "tool_name": "Bash",
            "tool_input": {"command": "true"},
            "tool_use_id": "x",
            "prompt": "p",
        }
        res = run_claude_hook(repo, payload, check=False)
        assert res.returncode == 0, res.stderr
        # Never a block; a shell call run outside the worktree is told so (stop 58).
        said = json.loads(res.stdout) if res.stdout.strip() else {}
        assert said.get("decision") != "block" and said.get("continue") is not False, said
        if event != "PostToolUse":
            assert res.stdout == "", res.stdout
    repo.write("f.txt", b"base\n")
    commit_all(repo)
    repo.git("checkout", "-qb", "o")
    repo.write("f.txt", b"o\n")
    commit_all(repo)
    repo.git("checkout", "-q", "main")
    repo.write("f.txt", b"m\n")
    commit_all(repo)
    repo.git("merge", "o", check=False)
    before = disk(repo.path, modes=True)
    res = repo.atomic("run", "--", "sh", "-c", "echo x > y", check=3)
    assert res.stderr.count("\n") == 1
    assert disk(repo.path, modes=True) == before


NAMES = [":(top)x", "*", "-rf", "[ab]", "a b", "back\\slash", ":!y", "q'q", "~t", ".git-x"]


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_names_git_reads_as_pathspec_magic_are_only_names(repo: GitRepo, history: str) -> None:
    """google-gemini/gemini-cli#11243: a restore by pathspec failed ("pathspec '.' did not
    match"). Files named `*`, `[ab]`, `:(top)x`, `:!y`, `-rf`... made and staged by the
    operation go, the files those patterns would match (`a`, `b`, `x`, `y`, `-n`) stay, the
    index is as before; `undo` makes each again."""
    for name in ("a", "b", "x"):
        repo.write(name, name.encode() + b"\n")
    commit_all(repo)
    repo.write("y", b"y untracked\n")
    repo.write("-n", b"mine\n")
    before, index = disk(repo.path, modes=True), entries(repo)
    writes = " && ".join(f"printf z > {shlex.quote(n)}" for n in NAMES)
    script = writes + " && echo changed > a && git add -A -- ."
    repo.atomic("run", "--history", history, "--", "sh", "-c", script + "; exit 1", check=1)
    assert disk(repo.path, modes=True) == before
    assert entries(repo) == index
    repo.atomic("undo", check=0)
    assert {n: repo.read(n) for n in NAMES} == dict.fromkeys(NAMES, b"z")


def test_a_selective_rollback_takes_a_path_as_it_is_spelled(repo: GitRepo) -> None:
    """The same, for `rollback --to CHECKPOINT -- PATH`: `'*.txt'` names the file `*.txt`
    only, and a folder names what is under it (a new file there goes, others stay changed)."""
    repo.write("a.txt", b"a\n")
    repo.write("dir/d.txt", b"d\n")
    commit_all(repo)
    script = "echo A > a.txt && echo s > '*.txt' && echo D > dir/d.txt && echo n > dir/new.txt"
    pre = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", script)["checkpoints"]["pre_op"]
    repo.atomic("rollback", "--to", pre, "--", "*.txt", check=0)
    assert (repo.read("a.txt"), repo.exists("*.txt")) == (b"A\n", False)
    repo.atomic("rollback", "--to", pre, "--", "dir", check=0)
    assert (repo.read("dir/d.txt"), repo.exists("dir/new.txt")) == (b"d\n", False)
    assert repo.read("a.txt") == b"A\n"


RULES = {
    "gitignore": "echo notes.txt >> .gitignore",
    "exclude": "echo notes.txt >> .git/info/exclude",
    "excludesFile": "echo 'n*' > .git/x && git config core.excludesFile .git/x",
}


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("act", ["rm notes.txt", "echo more >> notes.txt", "chmod +x notes.txt"])
def test_a_file_the_operation_made_ignored_then_changed_comes_back(
    repo: GitRepo, rule: str, act: str
) -> None:
    """jj-vcs/jj#3203, #3204 and #4686: a change to the ignore rules changed which files the
    snapshot took. The operation ignores your untracked `notes.txt` (in `.gitignore`,
    `info/exclude` or a new `core.excludesFile`) and then changes it: the rule, the config
    file come back (it was yours, not ignored, when the operation began); a setting the
    operation added to the config, which no checkpoint holds, is named by the rollback."""
    repo.write(".gitignore", b"build/\n")
    commit_all(repo)
    repo.write("notes.txt", b"my notes\n")
    before, config = disk(repo.path, modes=True), (repo.path / ".git" / "config").read_bytes()
    said = failed(repo, f"{RULES[rule]} && {act}")
    assert disk(repo.path, modes=True) == before
    if rule == "excludesFile":  # config is in no checkpoint (README): the setting is named
        assert "excludesfile" in said.lower(), said
    else:
        assert (repo.path / ".git" / "config").read_bytes() == config
    assert stat.S_IMODE(os.lstat(repo.path / "notes.txt").st_mode) == 0o644
