"""Peers' reports on what a shell command did that a checkpoint missed, played against
git-atomic: Claude Code's file history that brought back a file a `mv` had moved, rewinds
that restored some files and not others, a checkpoint that skipped folders and large files
and still said it succeeded, snapshots that changed the bytes, a restore that followed a link
out of the project. The oracle is the disk (lstat, readlink, bytes, bits), inside the
repository and outside it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from testing.agents import claude_hook, claude_write
from testing.gitrepo import GitRepo
from testing.oracle import disk, walk_exact

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def with_gate(repo: GitRepo) -> None:
    repo.write(".git-atomic.toml", GATE)
    with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
        fh.write(b".git-atomic.toml\n")


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def bash_call(repo: GitRepo, n: int, command: str) -> None:
    call = {"tool_use_id": f"b{n}", "tool_name": "Bash", "tool_input": {"command": command}}
    claude_hook(repo, "s1", "PreToolUse", **call)
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})


def test_a_file_edited_then_moved_in_a_kept_turn_stays_moved(repo: GitRepo) -> None:
    """anthropics/claude-code#20671: a file the Edit tool had changed, then moved by a shell
    `mv`, was brought back at its old name by the file history. A kept turn (its gate
    passes) changes nothing at Stop: `a.py` stays gone, `b.py` holds the edit."""
    with_gate(repo)
    repo.write("a.py", b"old\n")
    commit_all(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="x")
    claude_write(repo, 1, "a.py", b"edited\n")
    bash_call(repo, 2, "mv a.py b.py")
    after = disk(repo.path, modes=True)
    assert '"block"' not in claude_hook(repo, "s1", "Stop").stdout
    assert disk(repo.path, modes=True) == after
    assert not repo.exists("a.py") and repo.read("b.py") == b"edited\n"


def test_a_folder_removed_and_a_file_truncated_come_back_byte_for_byte(repo: GitRepo) -> None:
    """shisa-ai/shisad#131: a checkpoint kept no contents of a folder or of a file over 1 MB,
    so `rm -rf` and `truncate` could not be undone, and the rollback said it succeeded;
    Nano-Collective/nanocoder#965: snapshots read as text changed binary bytes; and
    anthropics/claude-code#14002 and #18516: some files restored, others not. A 4 MB binary,
    invalid UTF-8, CRLF and NUL bytes, a private file and an empty folder come back exact."""
    repo.write("data/blob.bin", bytes(range(256)) * (16 * 1024 + 3))
    repo.write("data/sub/deeper/x.txt", b"\xff\xfe\x00bad utf8\r\n", mode=0o600)
    repo.write("notes.txt", b"notes\r\nmore\x00\n")
    (repo.path / "data" / "emptydir").mkdir()
    before = disk(repo.path, modes=True)
    script = "rm -rf data && truncate -s 0 notes.txt && exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert disk(repo.path, modes=True) == before


def test_a_large_file_it_cannot_hold_is_named_not_passed_over(repo: GitRepo) -> None:
    """shisa-ai/shisad#131: the skip of a large file was told nowhere but inside the
    checkpoint. A new file over `max_new_file_size` is not held (design: large files have a
    budget); the run names it before the command starts and its rollback says it cannot come
    back, in one line each, instead of claiming the files are as before."""
    repo.write("big.bin", os.urandom(11 * 1024 * 1024))
    res = repo.atomic("run", "--", "sh", "-c", "rm big.bin; echo x > small.txt; exit 1", check=1)
    said = res.stderr.splitlines()
    assert any("not protected" in line and "big.bin" in line for line in said), res.stderr
    assert any("cannot come back" in line and "big.bin" in line for line in said), res.stderr
    assert not repo.exists("small.txt")


def test_a_shell_write_outside_the_project_is_never_touched_by_the_take_back(
    repo: GitRepo, tmp_path: Path
) -> None:
    """anthropics/claude-code#70727 and google-gemini/gemini-cli checkpointing: a rewind
    reaches only the project. A failed turn whose shell call also wrote a file outside the
    repository: the turn's files in the repository go, the folder outside is left exactly as
    the call left it (kind, bits, mtime, bytes)."""
    with_gate(repo)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"k\n")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="x")
    bash_call(repo, 1, f"echo o > {outside}/made.txt && echo in > in.txt && touch bad")
    seen = walk_exact(outside)
    assert '"block"' in claude_hook(repo, "s1", "Stop").stdout
    assert walk_exact(outside) == seen
    assert not repo.exists("in.txt")


def test_a_folder_swapped_for_a_link_out_is_restored_without_writing_through_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """arul28/ADE#724 and entireio/cli#661: restores that wrote or deleted where they should
    not. The operation replaces the tracked folder `src` by a link to a folder outside and
    writes through it: the rollback makes `src` again from the checkpoint and writes nothing
    outside; `undo` puts the link back, still writing nothing there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "theirs.txt").write_bytes(b"t\n")
    repo.write("src/a.txt", b"a\n")
    repo.write("src/b/c.txt", b"c\n")
    commit_all(repo)
    repo.write("src/untracked.txt", b"u\n")
    before = disk(repo.path, modes=True)
    script = f"rm -rf src && ln -s {elsewhere} src && echo x > src/new.txt && exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    os.unlink(elsewhere / "new.txt")  # the command's own write, outside: not ours to take
    seen = walk_exact(elsewhere)
    assert disk(repo.path, modes=True) == before
    repo.atomic("undo", check=0)
    assert os.readlink(repo.path / "src") == str(elsewhere)
    assert walk_exact(elsewhere) == seen


def test_a_link_to_a_folder_replaced_by_a_folder_comes_back_a_link(repo: GitRepo) -> None:
    """jj-vcs/jj#6781 (a link jj could not snapshot) and gemini-cli's symlinks: the
    operation replaces the link `alias -> real` by a real folder and writes into `real`: the
    link, its target and `real`'s files are back, nothing written through the link."""
    repo.write("real/a.txt", b"a\n")
    os.symlink("real", repo.path / "alias")
    commit_all(repo)
    before = disk(repo.path, modes=True)
    script = "rm alias && mkdir alias && echo b > alias/b.txt && echo c > real/c.txt; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert disk(repo.path, modes=True) == before
