"""Peers' reports on an agent's tool call cut short, played against git-atomic's agent turns:
Kiro's checkpoint revert that skipped a file because the call that changed it was aborted
before its snapshot was kept (`No pre-snapshot found ..., skipping`, kirodotdev/Kiro#10593).
A Claude Code `Write` that wrote half its file and never got its `PostToolUse`: the turn's
take-back at Stop, and `rollback --op` of a turn an error ended (`StopFailure`), take that
file back with the rest. The oracle is the disk: bytes and modes."""

from __future__ import annotations

import json

from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo
from testing.oracle import disk

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'


def a_turn_cut_short(repo: GitRepo, first: str) -> dict[bytes, tuple[object, ...]]:
    """A committed `f.txt`; a turn whose first `Write` (of `first`) completes and whose second
    writes half of `f.txt` and is never closed. The disk as it was before the turn."""
    repo.write("f.txt", b"f\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    before = disk(repo.path, modes=True)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    call = write_call(repo, 1, first, "x")
    claude_hook(repo, "s1", "PreToolUse", **call)
    repo.write(first, b"x")
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    claude_hook(repo, "s1", "PreToolUse", **write_call(repo, 2, "f.txt", "half"))
    repo.write("f.txt", b"half")  # aborted here: no PostToolUse
    return before


def test_a_call_never_closed_is_taken_back_at_stop(repo: GitRepo) -> None:
    """The turn's gate fails at Stop: both writes go, the half-written `f.txt` too."""
    before = a_turn_cut_short(repo, "bad")
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert disk(repo.path, modes=True) == before


def test_a_turn_an_error_ended_is_taken_back_whole_later(repo: GitRepo) -> None:
    """The turn ends by an error (`StopFailure`): kept unjudged, recorded as an operation.
    `rollback --op` of it, over a later file of yours, takes back both writes, the
    half-written `f.txt` included; your file stays."""
    before = a_turn_cut_short(repo, "new.txt")
    said = json.loads(claude_hook(repo, "s1", "StopFailure", error="aborted").stdout)
    op_id = said["systemMessage"].split()[-1]
    assert repo.read("f.txt") == b"half"
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", op_id, check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n" and now == before
