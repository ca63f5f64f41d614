"""Files of the git dir git reads through a link at nearly every command (`packed-refs`,
`objects/info/alternates`, `shallow`, `info/attributes`), made a link to a file outside: no
command of ours has git open that file (engine/gitdirfiles.py).

The witness is the kernel's own (testing/opened.py: inotify's IN_OPEN on the file outside, in
any process, a warm helper's too); the file's times are not one. Before, `begin`'s first
`for-each-ref`, a hook call's, `abort`'s, and `status` and `log` (their `git log`, `diff`) read
it before the capture refused or set it aside.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from testing import opened
from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo

_QUICK_S = 60
_FILES = {
    "packed-refs": ".git/packed-refs",
    "alternates": ".git/objects/info/alternates",
    "shallow": ".git/shallow",
    "attributes": ".git/info/attributes",
}
_COMMANDS = ["status", "log", "begin", "run", "undo", "hook", "status of an open operation"]

pytestmark = pytest.mark.skipif(not opened.available(), reason="no inotify here")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.atomic("run", "--", "sh", "-c", "echo x > new.txt; exit 1", check=1)  # for `undo`
    repo.git("pack-refs", "--all")  # every ref in packed-refs: read at every ref lookup
    (tmp_path / "outside").write_bytes(b"outside, not yours to read\n")
    return repo


def _link(repo: GitRepo, which: str) -> Path:
    path = repo.path / _FILES[which]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    os.symlink(repo.path.parent / "outside", path)
    return path


def _hook(repo: GitRepo) -> subprocess.CompletedProcess[str]:
    session, fields = "9b1d7c40-0000-4c55-9e0a-dddddddddddd", write_call(repo, 1, "n.txt", "n\n")
    return claude_hook(repo, session, "PreToolUse", check=False, timeout=_QUICK_S, **fields)


def _command(repo: GitRepo, command: str) -> subprocess.CompletedProcess[str]:
    if command == "hook":
        return _hook(repo)
    args = {
        "begin": ("begin", "x"),
        "run": ("run", "--", "true"),
        "status of an open operation": ("status",),
    }.get(command, (command,))
    return repo.atomic(*args, timeout=_QUICK_S)


@pytest.mark.parametrize("command", _COMMANDS)
@pytest.mark.parametrize("which", sorted(_FILES))
def test_a_link_of_yours_is_never_read_through(repo: GitRepo, which: str, command: str) -> None:
    """Yours, there before the command: refused by name before any git runs, exit 3 (a hook
    call: 0, the agent told its call is not protected); the file outside never opened."""
    if command == "status of an open operation":
        repo.atomic("begin", "y", check=0, timeout=_QUICK_S)
    _link(repo, which)
    with opened.watching(repo.path.parent / "outside") as watch:
        res = _command(repo, command)
    assert not watch.opened(), (command, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and _FILES[which] in lines[0], res.stderr
    assert res.returncode == (0 if command == "hook" else 3), res.stderr


def test_abort_sets_aside_a_link_the_operation_made_at_packed_refs(repo: GitRepo) -> None:
    """Made inside an open operation: `abort` sets it aside (its rescue holds the link), its
    branch back, without reading through it."""
    head = repo.head()
    repo.atomic("begin", "y", check=0, timeout=_QUICK_S)
    repo.write("new.txt", b"new\n")
    path = _link(repo, "packed-refs")
    with opened.watching(repo.path.parent / "outside") as watch:
        res = repo.atomic("abort", timeout=_QUICK_S)
    assert not watch.opened(), res.stderr
    assert res.returncode == 0 and "aborted" in res.stderr, res.stderr
    assert not path.is_symlink() and repo.head() == head and not repo.exists("new.txt")


def test_a_run_whose_command_makes_packed_refs_a_link_is_rolled_back(repo: GitRepo) -> None:
    head = repo.head()
    outside = repo.path.parent / "outside"
    script = f"echo new > new.txt && rm .git/packed-refs && ln -s {outside} .git/packed-refs"
    with opened.watching(outside) as watch:
        res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", timeout=_QUICK_S)
    assert not watch.opened(), res.stderr
    assert res.returncode == 1 and "rolled back" in res.stderr, res.stderr
    assert not (repo.path / ".git/packed-refs").is_symlink()
    assert repo.head() == head and not repo.exists("new.txt")


@pytest.mark.parametrize("command", ["status", "log"])
@pytest.mark.parametrize("which", ["attributes", "shallow"])
def test_a_link_to_a_device_never_hangs_a_view(repo: GitRepo, which: str, command: str) -> None:
    """`ln -s /dev/zero .git/info/attributes`: `status` and `log` (their diff of the last
    operation) read it and never ended. Refused by name now, as `begin` refuses it: as a link,
    from its `lstat`, the device it names never looked at (test_syscalls_outside.py)."""
    path = repo.path / _FILES[which]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.symlink("/dev/zero", path)
    res = repo.atomic(command, timeout=_QUICK_S)
    assert res.returncode == 3 and "Traceback" not in res.stderr, res.stderr
    assert _FILES[which] in res.stderr and "is a symbolic link" in res.stderr, res.stderr


@pytest.mark.parametrize("which", sorted(_FILES))
def test_an_mcp_tool_call_never_reads_through_it(repo: GitRepo, which: str) -> None:
    """The MCP server's `status` and `begin` tools (each a CLI child, through the same door):
    an error naming the file, the file outside never opened, the server still answering."""
    from testing.agents import Lines

    _link(repo, which)
    lines = Lines(repo)
    try:
        with opened.watching(repo.path.parent / "outside") as watch:
            lines.hello()
            for ident, tool, arguments in ((1, "status", {}), (2, "begin", {"name": "x"})):
                lines.call(ident, tool, **arguments)
                answer = lines.receive(timeout=_QUICK_S) or {}
                assert answer.get("id") == ident, answer
                result = answer["result"]
                assert result.get("isError") is True, result
                assert _FILES[which] in json.dumps(result), result
        assert not watch.opened()
    finally:
        lines.close()


@pytest.mark.parametrize("command", ["begin", "run"])
def test_a_branch_of_yours_made_a_link_is_never_read_through(repo: GitRepo, command: str) -> None:
    """`.git/refs/heads/main` a link to a file outside (refs kept elsewhere): refused by name
    as before (gitlinks.refuse_found), but only after the scan started early had `git status`
    read HEAD's branch through it. Now looked for before that scan starts."""
    path = repo.path / ".git" / "refs" / "heads" / "main"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(repo.path.parent / "outside", path)
    with opened.watching(repo.path.parent / "outside") as watch:
        res = _command(repo, command)
    assert not watch.opened(), res.stderr
    assert res.returncode == 3 and "refs/heads/main is a symbolic link" in res.stderr, res.stderr
