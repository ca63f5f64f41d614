"""`git atomic mcp` in a worktree git left half way (a merge, a rebase...): what the tools say.

A real server process and the official SDK's client; git makes each state for real, and the
oracle reads git's own files on disk: the server changes nothing while the state is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp_types import TextContent

from testing import mcpfork
from testing.gitrepo import GitRepo

# How each state is made (after `diverged`: `side` and `main` both changed `c`), git's file
# that marks it, and the words the answer must carry: what it is and the way out.
STATES: dict[str, tuple[list[list[str]], str, str]] = {
    "merge": ([["merge", "-q", "side"]], "MERGE_HEAD", "git merge --abort"),
    "cherry-pick": ([["cherry-pick", "side"]], "CHERRY_PICK_HEAD", "git cherry-pick --abort"),
    "revert": ([["revert", "--no-edit", "HEAD~1"]], "REVERT_HEAD", "git revert --abort"),
    "rebase": ([["rebase", "side"]], "rebase-merge", "git rebase --abort"),
    "bisect": ([["bisect", "start"]], "BISECT_START", "git bisect reset"),
}


def _line(result: Any) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent), result
    return first.text


@pytest.mark.parametrize("state", list(STATES))
def test_status_says_what_git_left_half_way_and_every_change_is_refused(
    tmp_path: Path, state: str
) -> None:
    """`status` is the tool an agent calls when unsure what state it is in, and it said
    nothing of a merge left half way (the human status notes it): `open`, `interrupted`,
    `lock` all null, and then each begin, run, tdd was refused. Its `blocked` now says what
    git waits for and the ways out, the same words the refusals use."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.diverged()
    if state == "revert":  # a revert of main's change to c, under a later change to c
        repo.write("c", b"later\n")
        repo.git("commit", "-qam", "later")
    steps, marker, way_out = STATES[state]
    for step in steps:
        repo.git(*step, check=False)
    assert (repo.path / ".git" / marker).exists(), marker
    before = repo.fingerprint()
    said: dict[str, Any] = {}
    params = mcpfork.server_params(repo.env, repo.path)

    async def main() -> None:
        with anyio.fail_after(120):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                said["status"] = await s.call_tool("status", {})
                for tool, arguments in [
                    ("begin", {"name": "x"}),
                    ("run", {"command": ["touch", "made.txt"], "no_gates": True}),
                    ("tdd", {"phase": "red", "command": ["touch", "made.txt"]}),
                ]:
                    if tool == "run" and state == "bisect":
                        continue  # `run` works in a bisect (`git bisect run`)
                    said[tool] = await s.call_tool(tool, arguments)

    anyio.run(main)
    status = said.pop("status")
    assert not status.is_error, _line(status)
    blocked = status.structured_content["blocked"]
    assert isinstance(blocked, str) and way_out in blocked, blocked
    for tool, result in said.items():
        assert result.is_error and _line(result) == blocked, (tool, _line(result))
    assert (repo.path / ".git" / marker).exists()
    assert not repo.exists("made.txt")
    assert repo.fingerprint().diff(before) == []


def test_a_worktree_with_nothing_half_way_is_not_blocked(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    data = repo.atomic_json("status")
    assert data["blocked"] is None
