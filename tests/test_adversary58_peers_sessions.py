"""Peers' reports on other writers and odd names around a checkpoint, played against
git-atomic: agents' hook calls at the same instant (entireio/cli#160), the one stash list every
worktree of a repository shares (EffortlessMetrics/perl-lsp#4248), a `stash pop` that met a
file made since (jpsnover/ai-triad-research#414), names git took for options
(Vinzent03/obsidian-git#184, cs50/lib50#90) and names in two Unicode forms (cortex/ripasso
#435). The oracle is the disk (bytes, kinds, names a folder lists) and the stash list."""

from __future__ import annotations

import json
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo
from testing.oracle import disk

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def test_two_sessions_calls_at_the_same_instant_keep_each_its_own(repo: GitRepo) -> None:
    """entireio/cli#160: agents run in parallel made their checkpoints step on each other.
    Two Claude Code sessions make their `Write` calls at the same instant (their hook calls
    are processes running together, two rounds), then both turns end at once: session one's
    gate fails and only its files go; session two's stay, byte for byte."""
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    for s in ("s1", "s2"):
        claude_hook(repo, s, "UserPromptSubmit", prompt="go")

    def call(session: str, n: int, rel: str, data: str) -> None:
        fields = write_call(repo, n, rel, data)
        fields["tool_use_id"] = f"{session}-{n}"
        claude_hook(repo, session, "PreToolUse", **fields)
        repo.write(rel, data.encode())
        claude_hook(repo, session, "PostToolUse", **fields, tool_response={"success": True})

    with ThreadPoolExecutor(2) as pool:
        for n in range(2):
            ran = [
                pool.submit(call, "s1", n, f"one{n}.txt", "1"),
                pool.submit(call, "s2", n, f"two{n}.txt", "2"),
            ]
            for future in ran:
                future.result()
        call("s1", 9, "bad", "x")
        ends = [pool.submit(claude_hook, repo, s, "Stop") for s in ("s1", "s2")]
        answers = [json.loads(end.result().stdout or "{}") for end in ends]
    assert answers[0].get("decision") == "block" and "decision" not in answers[1], answers
    assert not repo.exists("bad")
    for n in range(2):
        assert not repo.exists(f"one{n}.txt") and repo.read(f"two{n}.txt") == b"2"


def test_a_stash_in_a_linked_worktree_takes_no_other_worktrees_stash(
    repo: GitRepo, tmp_path: Path
) -> None:
    """EffortlessMetrics/perl-lsp#4248: `refs/stash` is one list for every worktree of a
    repository, so one worktree's stash work reaches the others'. An operation in a linked
    worktree stashes (`git stash -u`) and fails: its files come back; the main worktree's
    stash stays in the list, and so do its files. Kept and taken back later with `rollback
    --op`, after the main worktree stashed again: both of the main worktree's stashes stay,
    and the linked worktree's files are as before the operation."""
    repo.write("p.txt", b"p\n")
    commit_all(repo)
    repo.write("p.txt", b"p\nmain wip\n")
    repo.git("stash", "-q", "-m", "main-old")
    linked = GitRepo(tmp_path / "linked", repo.env)
    repo.git("worktree", "add", "-q", str(linked.path), "-b", "wt")
    linked.write("p.txt", b"p\nlinked wip\n")
    linked.write("u.txt", b"u\n")
    main_files, linked_files = disk(repo.path), disk(linked.path)
    linked.atomic("run", "--", "sh", "-c", "git stash -u -q -m by-op; exit 1", check=1)
    assert disk(linked.path) == linked_files and disk(repo.path) == main_files
    assert "main-old" in repo.git("stash", "list")
    op = linked.atomic_json("run", "--no-gates", "--", "sh", "-c", "git stash -u -q -m op2")
    repo.write("README", b"main edit\n")
    repo.git("stash", "-q", "-m", "main-new")
    main_files = disk(repo.path)
    linked.atomic("rollback", "--op", op["op_id"], check=0)
    assert disk(linked.path) == linked_files and disk(repo.path) == main_files
    listed = repo.git("stash", "list")
    assert "main-old" in listed and "main-new" in listed, listed


def test_undo_never_writes_over_files_you_made_at_its_names(repo: GitRepo) -> None:
    """jpsnover/ai-triad-research#414: a `git stash pop` met an untracked file made since at
    a name the stash held, and stopped half way. The rollback took back a file and a folder
    the operation made, and a file it deleted; you then made your own at those names: `undo`
    refuses (exit 3), names them, and every byte of yours stays."""
    repo.write("gone.txt", b"tracked\n")
    commit_all(repo)
    script = "echo op > new.txt && mkdir d && echo op > d/f && rm gone.txt; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    for rel in ("new.txt", "d/f", "gone.txt"):
        repo.write(rel, b"mine\n")
    before = disk(repo.path, modes=True)
    res = repo.atomic("undo", check=3)
    assert all(name in res.stderr for name in ("new.txt", "d/f", "gone.txt")), res.stderr
    assert disk(repo.path, modes=True) == before


def test_names_git_could_take_for_options_are_only_names(repo: GitRepo) -> None:
    """Vinzent03/obsidian-git#184 and cs50/lib50#90: files named `-n`, `--orphan` or
    `--git-dir=x` were handed to git as options. The operation writes, deletes and makes such
    files, and a folder `--exec=y`: the rollback, and `rollback --op` over a later file of
    that kind, each leave exactly what they must."""
    repo.write("--orphan", b"t\n")
    repo.write("-n", b"u\n")
    commit_all(repo)
    repo.write("--output=x", b"yours\n")
    before = disk(repo.path, modes=True)
    script = (
        "echo 1 > ./--orphan && rm ./-n && echo 2 > ./--output=x && echo 3 > ./-rf && "
        "mkdir ./--exec=y && echo 4 > ./--exec=y/--git-dir=z"
    )
    repo.atomic("run", "--", "sh", "-c", f"{script}; exit 1", check=1)
    assert disk(repo.path, modes=True) == before
    op = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", script)["op_id"]
    repo.write("--later", b"l\n")
    repo.atomic("rollback", "--op", op, check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"--later")[1] == b"l\n" and now == before


def test_a_name_in_two_unicode_forms_is_two_files(repo: GitRepo) -> None:
    """cortex/ripasso#435: names in NFC and NFD form (`é` as one code point, or `e` and a
    combining accent) were taken for one another between git and the disk. Here both exist,
    tracked and untracked: the operation edits one and deletes the other; the rollback, and
    `undo` after it, leave each name's bytes as they must, the two never merged."""
    nfc = unicodedata.normalize("NFC", "café.txt")
    nfd = unicodedata.normalize("NFD", "café.txt")
    assert os.fsencode(nfc) != os.fsencode(nfd)
    repo.write(nfc, b"composed\n")
    commit_all(repo)
    repo.write(nfd, b"decomposed\n")
    before = disk(repo.path, modes=True)
    script = f"echo edited > '{nfc}' && rm '{nfd}' && echo new > 'dossier-{nfd}'"
    repo.atomic("run", "--", "sh", "-c", f"{script}; exit 1", check=1)
    assert disk(repo.path, modes=True) == before
    repo.atomic("undo", check=0)
    assert repo.read(nfc) == b"edited\n" and not repo.exists(nfd)
    assert repo.read(f"dossier-{nfd}") == b"new\n" and not repo.exists(f"dossier-{nfc}")
