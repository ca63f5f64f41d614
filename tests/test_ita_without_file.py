"""An intent-to-add entry (`git add -N`) whose file is gone, or whose file has another mode
now, in the state an effect is worked out on, the state an operation left, or the state a
move goes back to.

git makes such an entry only with `add -N` of a file on disk, so a checkpoint of one used to
keep the index's bytes, and an effect could not be worked out on top of it: an agent's turn
that ran `git add -N a`, whose file you removed before its gate failed, was not taken back
("your index holds intent-to-add entries without their files..."). indexbuild.add_intents
makes each entry from a scratch work tree holding an empty file (or link) of the entry's
mode, so the index is its tree and flags, and the effect is worked out path by path. The
oracle is `ls-files -s --debug` (each entry's mode and flags) and the bytes on disk."""

from __future__ import annotations

import os
import subprocess

import pytest

from testing import agents, oracle
from testing.gitrepo import GitRepo

ITA = 1 << 29


def _index(repo: GitRepo) -> dict[bytes, tuple[str, bool]]:
    """path -> (mode, intent-to-add) of every entry but the fixture's README."""
    return {
        path: (mode, bool(flags & ITA))
        for path, mode, _oid, _stage, flags in oracle.index_entries(repo.env, repo.path)
        if path != b"README"
    }


def _op_removed_the_ita_file(repo: GitRepo) -> str:
    repo.write("ita.txt", b"intent\n")
    repo.git("add", "-N", "ita.txt")
    repo.atomic("run", "--no-gates", "--", "true", check=0)
    script = "rm ita.txt; echo n > new.txt; git add new.txt"
    repo.atomic("run", "--no-gates", "--history", "commits", "--", "sh", "-c", script, check=0)
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    repo.write("mine.txt", b"yours, since\n")
    repo.git("add", "-N", "mine.txt")  # your change to the index since
    return op_id


def test_an_operation_that_removed_your_intent_to_adds_file_is_taken_back(
    repo: GitRepo,
) -> None:
    """The operation's end holds the entry without its file; your `git add -N` since is kept
    (this was refused as an index only its bytes describe)."""
    op_id = _op_removed_the_ita_file(repo)
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("ita.txt") == b"intent\n" and not repo.exists("new.txt")
    assert repo.read("mine.txt") == b"yours, since\n"
    assert _index(repo) == {b"ita.txt": ("100644", True), b"mine.txt": ("100644", True)}
    repo.atomic("undo", check=0)  # and back: the file gone again under its entry
    assert not repo.exists("ita.txt") and repo.read("new.txt") == b"n\n"
    assert _index(repo) == {
        b"ita.txt": ("100644", True),
        b"mine.txt": ("100644", True),
        b"new.txt": ("100644", False),
    }


def test_your_file_made_again_where_the_operation_removed_it_is_an_overlap(
    repo: GitRepo,
) -> None:
    op_id = _op_removed_the_ita_file(repo)
    repo.write("ita.txt", b"yours again\n")
    before = repo.fingerprint()
    for dry in ([], ["--dry-run"]):
        res = repo.atomic("rollback", "--op", op_id, *dry, check=3)
        assert "ita.txt" in res.stderr, res.stderr
        assert "finish or abort it first" not in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == []


@pytest.mark.parametrize("yours", ["rm a", "rm a && mkdir a && echo f > a/f", "chmod +x a"])
def test_a_turns_take_back_removes_its_intent_to_add_whatever_you_did_to_the_file(
    repo: GitRepo, yours: str
) -> None:
    """The turn wrote `a` and ran `git add -N a`; you then removed the file, or put a folder
    there, or made it executable; the gate failed. The turn's entry goes and what you did to
    the place stays (the file you removed is not made again); the file you changed is an
    overlap with the turn's, and nothing changes."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    agents.claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    bash = {"tool_name": "Bash", "tool_input": {"command": "x"}, "tool_use_id": "t1"}
    agents.claude_hook(repo, "s1", "PreToolUse", **bash)
    repo.write("a", b"turn\n")
    repo.git("add", "-N", "a")
    repo.write("bad", b"x\n")
    agents.claude_hook(repo, "s1", "PostToolUse", **bash, tool_response={})
    subprocess.run(["sh", "-c", yours], cwd=repo.path, check=True)
    before = repo.fingerprint()
    yours_on_disk = {p: v for p, v in oracle.walk_exact(repo.path).items() if p[:1] == b"a"}
    res = agents.claude_hook(repo, "s1", "Stop", check=False)
    said = res.stdout + res.stderr
    if yours.startswith("chmod"):
        assert "a: modify/delete" in said, said
        assert repo.fingerprint().diff(before) == []
        return
    assert b"a" not in _index(repo) and not repo.exists("bad"), said
    after = {p: v for p, v in oracle.walk_exact(repo.path).items() if p[:1] == b"a"}
    assert after == yours_on_disk  # nothing where you removed it; your folder, bytes and all


def test_an_intent_to_add_entry_keeps_its_mode_when_its_file_has_another(repo: GitRepo) -> None:
    """`git add -N x; chmod +x x`: the entry is 100644 on a file of mode 100755. An operation
    that changes the index elsewhere, taken back, leaves the entry 100644 (`add -N` on your
    file would make it 100755); the whole-state `rollback` of one that removed it makes it
    again, still 100644, with the file as it was."""
    repo.write("x", b"x\n")
    repo.git("add", "-N", "x")
    os.chmod(repo.path / "x", 0o755)
    repo.write("other", b"o\n")
    op = repo.atomic("run", "--no-gates", "--", "git", "add", "other", check=0)
    assert _index(repo)[b"other"] == ("100644", False), op.stderr
    op_id: str = repo.atomic_json("log")["operations"][0]["op_id"]
    repo.write("later", b"yours\n")
    repo.git("add", "later")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert _index(repo) == {b"x": ("100644", True), b"later": ("100644", False)}
    assert os.stat(repo.path / "x").st_mode & 0o777 == 0o755

    repo.atomic("run", "--no-gates", "--", "git", "rm", "-q", "--cached", "-f", "x", check=0)
    assert b"x" not in _index(repo)
    repo.atomic("rollback", check=0)
    assert _index(repo) == {b"x": ("100644", True), b"later": ("100644", False)}
    assert os.stat(repo.path / "x").st_mode & 0o777 == 0o755
    assert repo.read("x") == b"x\n"
