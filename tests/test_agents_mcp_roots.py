"""`git atomic mcp` and the client's roots: never work outside the folders a client shares.

A real server process and the official SDK's client, which answers `roots/list` as a client
with workspace folders (VS Code's) does. Oracles read the disk: a repository outside the roots
keeps every file, and gets no journal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp_types import TextContent

from testing import mcpfork
from testing.gitrepo import GitRepo

Roots = Callable[[], "list[Path | str] | types.ErrorData"]


def served(
    repo: GitRepo,
    roots: Roots,
    script: Callable[[ClientSession], Awaitable[None]],
    *,
    cwd: Path | None = None,
) -> None:
    """The server run as a client with `roots` (asked again on each roots/list) starts it."""

    async def list_roots(ctx: Any) -> types.ListRootsResult | types.ErrorData:
        given = roots()
        if isinstance(given, types.ErrorData):
            return given
        uris = [r if isinstance(r, str) else r.as_uri() for r in given]
        return types.ListRootsResult(roots=[types.Root(uri=u) for u in uris])  # type: ignore[arg-type]

    params = mcpfork.server_params(repo.env, cwd or repo.path)

    async def main() -> None:
        with anyio.fail_after(120):
            async with (
                stdio_client(params) as (read, write),
                ClientSession(read, write, list_roots_callback=list_roots) as session,
            ):
                await session.initialize()
                await script(session)

    anyio.run(main)


def _line(result: Any) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent), result
    return first.text


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


@pytest.fixture
def other(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "other", tmp_path / "home")


OUTSIDE_CALLS = [
    ("status", {}),
    ("log", {}),
    ("run", {"command": ["sh", "-c", "echo made > made.txt"], "no_gates": True}),
    ("begin", {"name": "x"}),
    ("gates", {"run": True}),
    ("recover", {}),
]


@pytest.mark.parametrize(
    "how",
    ["absolute", "relative", "dot-dot", "through-a-link", "root-is-a-subfolder"],
)
def test_a_repository_outside_the_clients_roots_is_refused_and_untouched(
    repo: GitRepo, other: GitRepo, tmp_path: Path, how: str
) -> None:
    """Each tool took any `repo` a call named, wherever it was: a client sharing one workspace
    folder had its agent run commands, open operations and write a journal in another. Now a
    worktree not inside the client's roots is an error result, and nothing is done there."""
    (tmp_path / "link").symlink_to(other.path)
    (repo.path / "sub").mkdir()
    roots: list[Path | str] = [repo.path]
    named = {
        "absolute": str(other.path),
        "relative": "../other",
        "dot-dot": str(repo.path / ".." / "other"),
        "through-a-link": str(tmp_path / "link"),
        # the client shares a subfolder; the worktree around it is more than it shares
        "root-is-a-subfolder": str(repo.path),
    }[how]
    target = repo if how == "root-is-a-subfolder" else other
    if how == "root-is-a-subfolder":
        roots = [repo.path / "sub"]
    before = target.fingerprint()
    lines: list[str] = []

    async def script(session: ClientSession) -> None:
        for tool, arguments in OUTSIDE_CALLS:
            result = await session.call_tool(tool, {**arguments, "repo": named})
            assert result.is_error, (tool, result)
            lines.append(_line(result))

    served(repo, lambda: roots, script)
    said = (
        f"the worktree {repo.path} is more than the client shares"
        if how == "root-is-a-subfolder"
        else "outside the folders this client lets the server work in"
    )
    for line in lines:
        assert said in line, line
        assert "\n" not in line
    assert not target.exists("made.txt")
    assert not (target.path / ".git" / "atomic").exists()
    assert target.fingerprint().diff(before) == []


def test_inside_the_roots_every_call_works_and_a_root_through_a_link_counts(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The check takes real folders: a root that is a link to the repository, a subfolder
    named as the repo, both inside."""
    (tmp_path / "link").symlink_to(repo.path)
    (repo.path / "sub").mkdir()

    async def script(session: ClientSession) -> None:
        ran = await session.call_tool(
            "run",
            {"command": ["sh", "-c", "echo made > made.txt"], "no_gates": True, "repo": "sub"},
        )
        assert not ran.is_error, _line(ran)
        status = await session.call_tool("status", {})
        assert not status.is_error, _line(status)

    served(repo, lambda: [tmp_path / "link"], script)
    assert repo.read("sub/made.txt") == b"made\n"  # the command ran in the folder named


def test_a_server_started_outside_the_only_root_works_on_that_root(
    repo: GitRepo, other: GitRepo
) -> None:
    """A client may start the server in its own folder or the user's home: the folder it
    shares is the repository meant, not the server's working directory (here another
    repository, which then kept its files and got no journal)."""
    before = other.fingerprint()

    (repo.path / "sub").mkdir()

    async def script(session: ClientSession) -> None:
        ran = await session.call_tool(
            "run", {"command": ["sh", "-c", "echo made > made.txt"], "no_gates": True}
        )
        assert not ran.is_error, _line(ran)
        # a relative repo is inside the folder the server works in, not its own
        status = await session.call_tool("status", {"repo": "sub"})
        assert not status.is_error, _line(status)

    served(repo, lambda: [repo.path], script, cwd=other.path)
    assert repo.read("made.txt") == b"made\n"
    assert not other.exists("made.txt") and not (other.path / ".git" / "atomic").exists()
    assert other.fingerprint().diff(before) == []


def test_roots_are_read_on_each_call_and_a_failed_roots_list_does_nothing(
    repo: GitRepo, other: GitRepo
) -> None:
    """The client's workspace changes during a session; and a client that declares roots but
    cannot list them has bounds the server does not know: nothing is done. An empty list (no
    folder open) sets no bound, as the reference filesystem server keeps its own then."""
    given: list[Any] = [[repo.path]]
    third = other.path.parent / "third"
    third.mkdir()
    lines: list[str] = []

    async def script(session: ClientSession) -> None:
        assert not (await session.call_tool("status", {})).is_error
        # now two folders, the server's own in neither: which one is for the call to say
        given[0] = [other.path, third]
        moved = await session.call_tool("begin", {"name": "x"})
        assert moved.is_error
        lines.append(_line(moved))
        given[0] = types.ErrorData(code=-32603, message="no workspace service")
        failed = await session.call_tool("run", {"command": ["touch", "made.txt"]})
        assert failed.is_error
        lines.append(_line(failed))
        given[0] = []
        anywhere = await session.call_tool("status", {"repo": str(other.path)})
        assert not anywhere.is_error, _line(anywhere)

    served(repo, lambda: given[0], script)
    assert f"{repo.path} is outside the folders" in lines[0], lines
    assert "roots/list failed (no workspace service)" in lines[1], lines
    assert not repo.exists("made.txt")


def test_the_2026_era_asks_for_the_roots_in_its_answer_and_keeps_to_them(
    repo: GitRepo, other: GitRepo
) -> None:
    """The 2026-07-28 era (the SDK's default `Client`) has no server-to-client request: the
    roots/list the server sent failed, so a client that declares roots could do nothing. The
    call is now answered `input_required` with a roots/list, and the client's retry carries
    them (the SDK's `Client` does this itself), and the same bounds hold."""
    from mcp.client.client import Client

    asked: list[int] = []
    before = other.fingerprint()

    async def list_roots(ctx: Any) -> types.ListRootsResult:
        asked.append(1)
        return types.ListRootsResult(roots=[types.Root(uri=repo.path.as_uri())])  # type: ignore[arg-type]

    params = mcpfork.server_params(repo.env, repo.path)
    answers: list[Any] = []

    async def main() -> None:
        with anyio.fail_after(120):
            async with Client(params, list_roots_callback=list_roots) as client:
                assert client.protocol_version == "2026-07-28"
                answers.append(await client.call_tool("status", {}))
                command = {"command": ["touch", "made.txt"], "no_gates": True}
                answers.append(await client.call_tool("run", {**command, "repo": str(other.path)}))

    anyio.run(main)
    inside, outside = answers
    assert not inside.is_error, _line(inside)
    assert outside.is_error and "outside the folders" in _line(outside), _line(outside)
    assert len(asked) == 2
    assert not other.exists("made.txt") and other.fingerprint().diff(before) == []
