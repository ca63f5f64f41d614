"""Peers' reports on files too large for a checkpoint that a take-back met, played against
git-atomic: Hermes' safe restore took a file absent from its checkpoint for one the turn made
and deleted it, when the size cap had only kept it out (NousResearch/hermes-agent#95207: an
agent's append to a large dataset, the copy gone for good and the file listed as restored),
and a pre-execution checkpoint that held nothing of files over its size limit while its
rollback said it succeeded (shisa-ai/shisad#131). Your untracked files over
`max_new_file_size` that a turn or a run appended to, cut below the limit, rewrote or deleted
are never deleted by the take-back, each is named as one no checkpoint holds, and one it did
not touch keeps its bytes and time. The oracle: the disk by lstat, the answer's words."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from testing.agents import claude_hook
from testing.gitrepo import GitRepo
from testing.oracle import disk

BIG = b"d" * 400
ACTIONS = (
    "echo more >> append.csv",
    "truncate -s 10 cut.csv",
    "printf 'new\\n' > rewrite.csv",
    "rm gone.csv",
)
GATED = b'max_new_file_size = 100\n[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def _turn(repo: GitRepo, *commands: str) -> dict[str, Any]:
    """A Claude Code turn of `Bash` calls, one per command, under a gate that fails where
    `bad` exists and a budget of 100 bytes: its Stop's answer."""
    repo.write(".git-atomic.toml", GATED)
    for n, command in enumerate(commands, start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer: dict[str, Any] = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    return answer


def _yours(repo: GitRepo) -> os.stat_result:
    repo.write(".git-atomic.toml", b"max_new_file_size = 100\n")
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    for name in ("append.csv", "cut.csv", "rewrite.csv", "gone.csv", "untouched.csv"):
        repo.write(name, BIG)
    return (repo.path / "untouched.csv").stat()


def _left_as_the_operation_left_them(repo: GitRepo, untouched: os.stat_result) -> None:
    assert repo.read("append.csv") == BIG + b"more\n"
    assert repo.read("cut.csv") == BIG[:10] and repo.read("rewrite.csv") == b"new\n"
    assert not repo.exists("gone.csv")
    st = (repo.path / "untouched.csv").stat()
    assert repo.read("untouched.csv") == BIG and st.st_mtime_ns == untouched.st_mtime_ns


def test_a_failed_turn_never_deletes_a_large_file_of_yours_it_changed(repo: GitRepo) -> None:
    """A turn's calls append to, cut, rewrite and delete your large files, then fail the gate.
    The take-back removes what the turn made (`bad`) and deletes none of your large files:
    each stays as the turn left it, the deleted one is named as one that cannot come back,
    the changed ones as left as they are."""
    untouched = _yours(repo)
    answer = _turn(repo, *ACTIONS, "echo x > bad")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("bad")
    said = answer["reason"]
    for name in ("cut.csv", "rewrite.csv", "gone.csv"):
        assert name in said, said
    assert "cannot come back" in said and "untouched.csv" not in said, said
    _left_as_the_operation_left_them(repo, untouched)


def test_rollback_of_a_run_never_deletes_a_large_file_of_yours_it_changed(repo: GitRepo) -> None:
    """The same changes by one `run`, taken back by `rollback --op` after a file of yours:
    your large files stay as the run left them, named; your later file stays; `undo` after
    it changes none of them. The run's tree change is only files the budget keeps where they
    are, so the take-back has no file to write: it was said to have had "nothing to do"
    (exit 0) and the deleted `gone.csv` went unnamed, its dry run too. It names it now, as a
    path it could not put back (exit 3)."""
    untouched = _yours(repo)
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c", " && ".join(ACTIONS)
    )
    repo.write("later.txt", b"yours\n")
    dry = repo.atomic("rollback", "--op", out["op_id"], "--dry-run", check=0)
    assert "gone.csv" in dry.stdout + dry.stderr and "cannot come back" in dry.stdout, dry
    back = repo.atomic("rollback", "--op", out["op_id"], check=None)
    assert back.returncode == 3, back  # the one path it could not put back: `gone.csv`
    said = back.stdout + back.stderr
    for name in ("cut.csv", "rewrite.csv", "gone.csv"):
        assert name in said, said
    assert "untouched.csv" not in said and "gone now" in said, said
    _left_as_the_operation_left_them(repo, untouched)
    assert repo.read("later.txt") == b"yours\n"
    before_undo = disk(repo.path, modes=True)
    repo.atomic("undo", check=None)
    assert disk(repo.path, modes=True) == before_undo


def test_rollback_of_a_run_that_only_cut_your_large_file_names_it(repo: GitRepo) -> None:
    """A run whose one change is your large file cut in place below the budget: its rollback
    has nothing to write (the file stays as the run left it: its old bytes were never held),
    and it said only "nothing to do"; it and its dry run name the file as left now (exit 0),
    in its JSON answer too."""
    repo.write(".git-atomic.toml", b"max_new_file_size = 100\n")
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("cut.csv", BIG)
    out = repo.atomic_json(
        "run", "--no-gates", "--history", "shadow", "--", "sh", "-c", "truncate -s 10 cut.csv"
    )
    for dry in (["--dry-run"], []):
        said = repo.atomic("rollback", "--op", out["op_id"], *dry, check=0)
        assert "warning: cut.csv was larger than max_new_file_size" in said.stderr, said
    answer = repo.atomic_json("rollback", "--op", out["op_id"])
    assert any("cut.csv" in p for p in answer["problems"]), answer
    assert repo.read("cut.csv") == BIG[:10]
