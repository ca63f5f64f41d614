"""Peers' reports on an operation's change and a later one that sit close together, played
against git-atomic's `rollback --op` and agent turns: GitButler's lanes that both owned a
hunk (gitbutlerapp/gitbutler#4136), an undo of a change at a file's last line that has no
newline (samu/git-diff-details#41), a restore that took the user's changes with the tool's
(Kilo-Org/kilocode#1670), a change of mode beside a change of bytes, and binary files. Where
the two changes do not touch, the operation's goes and yours stays; where they do, nothing
changes and one line names the file. The oracle is the disk: bytes and permission bits."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo
from testing.oracle import disk

TEN = b"".join(b"line %d\n" % i for i in range(1, 11))
GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def kept(repo: GitRepo, script: str) -> str:
    """A kept shadow-mode `run` of `script`; its operation id."""
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    return str(out["op_id"])


def mode(repo: GitRepo, rel: str) -> int:
    return stat.S_IMODE(os.lstat(repo.path / rel).st_mode)


def bash(repo: GitRepo, session: str, n: int, command: str) -> None:
    """One Bash call of `session`'s, between its PreToolUse and PostToolUse."""
    call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"{session}{n}"}
    claude_hook(repo, session, "PreToolUse", **call)
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    claude_hook(repo, session, "PostToolUse", **call, tool_response={"success": True})


def test_changes_a_line_apart_are_taken_apart_and_touching_ones_refused(repo: GitRepo) -> None:
    """gitbutlerapp/gitbutler#4136: a change whose hunk touched two lanes' hunks stopped
    GitButler without a word. An operation changes line 5; you then change line 7: `rollback
    --op` takes back line 5 and keeps yours. Another changes line 2 and you change line 3, the
    line touching it: refused (exit 3) in one line naming the file, nothing changed."""
    repo.write("f.txt", TEN)
    commit_all(repo)
    op = kept(repo, "sed -i 's/^line 5$/FIVE/' f.txt")
    repo.write("f.txt", repo.read("f.txt").replace(b"line 7\n", b"mine 7\n"))
    repo.atomic("rollback", "--op", op, check=0)
    assert repo.read("f.txt") == TEN.replace(b"line 7\n", b"mine 7\n")
    op = kept(repo, "sed -i 's/^line 2$/TWO/' f.txt")
    repo.write("f.txt", repo.read("f.txt").replace(b"line 3\n", b"mine 3\n"))
    before = disk(repo.path, modes=True)
    res = repo.atomic("rollback", "--op", op, check=3)
    assert len(res.stderr.splitlines()) == 1 and "f.txt" in res.stderr, res.stderr
    assert disk(repo.path, modes=True) == before


@pytest.mark.parametrize("theirs", [6, 8])
def test_two_sessions_lanes_in_one_file(repo: GitRepo, theirs: int) -> None:
    """gitbutlerapp/gitbutler#4136 with two agents as the lanes: sessions one and two of
    Claude Code change lines 5 and `theirs` of one file; session two's turn is kept, session
    one's gate fails. A line apart (8), only line 5 goes back; touching (6), the turn's
    take-back changes nothing, and its Stop says so and names the file: session two's line is
    never lost."""
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("f.txt", TEN)
    commit_all(repo)
    for s in ("s1", "s2"):
        claude_hook(repo, s, "UserPromptSubmit", prompt="go")
    bash(repo, "s1", 1, "sed -i 's/^line 5$/FIVE/' f.txt")
    bash(repo, "s2", 1, f"sed -i 's/^line {theirs}$/THEIRS/' f.txt")
    assert '"block"' not in claude_hook(repo, "s2", "Stop").stdout
    bash(repo, "s1", 2, "touch bad")
    said = claude_hook(repo, "s1", "Stop").stdout
    theirs_line = TEN.replace(b"line %d\n" % theirs, b"THEIRS\n")
    if theirs == 8:
        assert repo.read("f.txt") == theirs_line and not repo.exists("bad")
    else:
        assert repo.read("f.txt") == theirs_line.replace(b"line 5\n", b"FIVE\n")
        assert '"block"' in said and "f.txt" in said and repo.exists("bad"), said


def test_a_last_line_with_no_newline_comes_back_as_it_was(repo: GitRepo) -> None:
    """samu/git-diff-details#41: undoing a hunk at the end of a file whose last line had no
    newline put back the wrong bytes. An operation adds a line after such a last line; you
    change the first line: `rollback --op` leaves your first line and the last line exactly
    as it was, no newline added."""
    repo.write("f.txt", TEN + b"last")
    commit_all(repo)
    op = kept(repo, "printf '\\nmore' >> f.txt")
    repo.write("f.txt", repo.read("f.txt").replace(b"line 1\n", b"mine 1\n"))
    repo.atomic("rollback", "--op", op, check=0)
    assert repo.read("f.txt") == (TEN + b"last").replace(b"line 1\n", b"mine 1\n")


def test_a_change_of_mode_and_a_change_of_bytes_are_two_changes(repo: GitRepo) -> None:
    """Kilo-Org/kilocode#1670: a restore took the user's changes with the tool's. An
    operation makes `a.sh` executable and appends to `b.sh`; you then append to `a.sh` and
    make `b.sh` executable: `rollback --op` takes back its own two changes only (`a.sh` 0644
    with your line, `b.sh` its first bytes, still 0755 as you made it)."""
    repo.write("a.sh", TEN)
    repo.write("b.sh", TEN)
    commit_all(repo)
    op = kept(repo, "chmod +x a.sh && echo op >> b.sh")
    with open(repo.path / "a.sh", "ab") as fh:
        fh.write(b"mine\n")
    os.chmod(repo.path / "b.sh", 0o755)
    repo.atomic("rollback", "--op", op, check=0)
    assert (repo.read("a.sh"), mode(repo, "a.sh")) == (TEN + b"mine\n", 0o644)
    assert (repo.read("b.sh"), mode(repo, "b.sh")) == (TEN, 0o755)


def test_a_binary_file_comes_back_and_one_you_changed_too_is_refused(repo: GitRepo) -> None:
    """cline/cline#1582 (checkpoints and binary files): an operation appends to a binary
    file; with another file of yours changed since, `rollback --op` puts its bytes back
    exactly. Another appends to it and you append too: no merge of binary bytes exists, so
    the rollback is refused in one line naming it, nothing changed."""
    blob = bytes(range(256)) * 4
    repo.write("img.bin", blob)
    commit_all(repo)
    op = kept(repo, "printf '\\0\\7op' >> img.bin")
    repo.write("other.txt", b"yours\n")
    repo.atomic("rollback", "--op", op, check=0)
    assert repo.read("img.bin") == blob and repo.read("other.txt") == b"yours\n"
    op = kept(repo, "printf '\\0\\7op' >> img.bin")
    repo.write("img.bin", repo.read("img.bin") + b"\0mine")
    before = disk(repo.path, modes=True)
    res = repo.atomic("rollback", "--op", op, check=3)
    assert len(res.stderr.splitlines()) == 1 and "img.bin" in res.stderr, res.stderr
    assert disk(repo.path, modes=True) == before


@pytest.mark.parametrize(
    ("script", "yours"),
    [
        ("echo op >> f.txt", "rm f.txt"),  # it edited, you deleted
        ("ln -s f.txt ln", "rm ln && echo mine > ln"),  # it made a link, you a file there
        ("git mv f.txt g.txt", "echo mine >> g.txt"),  # it renamed, you edited the new name
    ],
)
def test_your_later_change_to_the_same_path_is_never_taken(
    repo: GitRepo, script: str, yours: str
) -> None:
    """Kilo-Org/kilocode#1670: "restore checkpoint removed all the changes of mine also".
    What the operation did to a path and what you did to it since cannot both be kept:
    `rollback --op` is refused (exit 3) in one line naming the path, nothing changed."""
    repo.write("f.txt", TEN)
    commit_all(repo)
    op = kept(repo, script)
    subprocess.run(["sh", "-c", yours], cwd=repo.path, env=repo.env, check=True)
    before = disk(repo.path, modes=True)
    res = repo.atomic("rollback", "--op", op, check=3)
    assert len(res.stderr.splitlines()) == 1, res.stderr
    assert disk(repo.path, modes=True) == before
