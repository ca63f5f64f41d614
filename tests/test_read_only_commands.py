"""A command that only reads leaves the repository exactly as it was; in a repository the user
can only read, a command works or says in one line why not.

Every command of the parser is listed here as reading or writing (a new one fails the first
test until it is), and each reading one runs in a repository where git-atomic was never used
and in one where it was; the oracle is every entry of the worktree and the git dir (kind, mode,
mtime to the nanosecond, bytes or link target), before and after. Then each command runs as
another user in a repository whose git dir, or whole tree, that user cannot write.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from git_atomic.cli.parser import build_parser
from testing import mcpfork
from testing.gitrepo import GitRepo
from testing.oracle import walk_exact

OP = "{op}"  # the id of an operation of the repository (one that does not exist where none do)
PAYLOAD = b'{"session_id": "s-read", "hook_event_name": "Stop"}'

# The ways each command that only reads is called.
READS: dict[str, list[list[str]]] = {
    "status": [["status"], ["status", "--json"]],
    "log": [["log"], ["log", "--json"], ["log", "-n", "1", "--status", "committed"]],
    "show": [["show", OP], ["show", OP, "--diff", "--json"], ["show", OP, "--stat"]],
    "gates": [["gates"], ["gates", "--json"]],
    "hooks": [["hooks", "status"]],
    "help": [["help"], ["help", "show"], ["--help"], ["--version"], ["run", "--help"]],
    "init": [["init", "--dry-run"]],
}
# Dry runs: they scan the tree where there is something to take back, into a store of their
# own outside the repository (engine/quarantine.py), and write nothing in it.
DRY: dict[str, list[list[str]]] = {
    "rollback": [["rollback", "--dry-run"], ["rollback", "--op", OP, "--dry-run"]],
    "undo": [["undo", "--dry-run"]],
    "emergency": [["emergency", "--dry-run"]],
}
# What a command that writes is called with, in a repository it may not write.
WRITES: dict[str, list[str]] = {
    "run": ["run", "--no-gates", "--", "true"],
    "begin": ["begin", "x"],
    "checkpoint": ["checkpoint"],
    "commit": ["commit", "--no-gates"],
    "abort": ["abort"],
    "rollback": ["rollback"],
    "emergency": ["emergency"],
    "undo": ["undo"],
    "recover": ["recover"],
    "tdd": ["tdd", "green", "--", "true"],
    "gc": ["gc"],
    "init": ["init"],
    "hooks": ["hooks", "install", "claude-code"],
    "hook": ["hook", "claude-code", "UserPromptSubmit"],
}
# `mcp` is a server: its tools that only read are tested below, its others are the commands'.
SERVED = {"mcp"}


def _verbs() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_every_command_of_the_parser_is_listed_as_reading_or_writing() -> None:
    assert _verbs() == set(READS) | set(DRY) | set(WRITES) | SERVED


def state(root: Path) -> dict[bytes, tuple[object, ...]]:
    """Every entry of the repository, its top folder too, as walk_exact tells them."""
    st = os.lstat(root)
    return {b".": (st.st_mode, st.st_mtime_ns, None), **walk_exact(root)}


def changed(before: dict[bytes, Any], after: dict[bytes, Any]) -> list[bytes]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _used(repo: GitRepo) -> str:
    """Two operations, the second rolled back: an id to show, a rollback to undo."""
    repo.atomic("run", "-n", "made-b", "--no-gates", "--", "sh", "-c", "echo b > b", check=0)
    repo.atomic("run", "-n", "grew-a", "--no-gates", "--", "sh", "-c", "echo c >> README", check=0)
    repo.atomic("rollback", check=0)
    ops = repo.atomic_json("log")["operations"]
    return str(ops[-1]["op_id"])


def _argv(args: list[str], op: str) -> list[str]:
    return [op if a == OP else a for a in args]


def _one_clear_line(res: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    if res.returncode not in (0,):
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("git-atomic"), res.stderr


def _cases(table: dict[str, list[list[str]]]) -> list[Any]:
    out = []
    for args in (a for calls in table.values() for a in calls):
        for where in ("never-used", "used"):
            out.append(pytest.param(args, where, id=f"{where}:{' '.join(args)}"))
    return out


@pytest.mark.parametrize(("args", "where"), _cases(READS) + _cases(DRY))
def test_a_command_that_only_reads_leaves_the_repository_as_it_was(
    tmp_path: Path, args: list[str], where: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    op = _used(repo) if where == "used" else "abcd1234"
    before = state(repo.path)
    res = repo.atomic(*_argv(args, op), input=PAYLOAD)
    _one_clear_line(res)
    assert res.returncode in (0, 2), res.stderr  # 2: nothing to show or take back
    assert changed(before, state(repo.path)) == []
    if where == "never-used":
        assert not repo.exists(".git/atomic") and not repo.exists(".git/atomic-journal-kept")


def test_the_queries_answer_in_a_repository_never_used(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    before = state(repo.path)
    assert repo.atomic_json("status") == {
        "schema": "git-atomic/1",
        "open": None,
        "interrupted": None,
        "lock": None,
        "blocked": None,
        "turns": [],
    }
    assert repo.atomic_json("log")["operations"] == []
    assert "no operations yet" in repo.atomic("log", check=0).stderr
    shown = repo.atomic("show", "abcd1234", check=2)
    assert "unknown operation id" in shown.stderr
    assert "nothing to undo" in repo.atomic("undo", "--dry-run", check=2).stderr
    assert "nothing to roll back" in repo.atomic("rollback", "--dry-run", check=2).stderr
    for event in ("SessionStart", "Stop"):  # an agent's hooks where no turn was ever begun
        repo.atomic("hook", "claude-code", event, input=PAYLOAD, check=0)
    assert changed(before, state(repo.path)) == []


# Each agent's hook calls that begin no turn: where none was ever begun, they read only.
NO_TURN: list[tuple[str, str]] = [
    ("claude-code", "Stop"),
    ("claude-code", "SessionStart"),
    ("claude-code", "SessionEnd"),
    ("codex", "Stop"),
    ("codex", "SessionStart"),
    ("gemini", "SessionStart"),
    ("gemini", "AfterAgent"),
    ("gemini", "SessionEnd"),
    ("cursor", "stop"),
    ("copilot", "sessionStart"),
    ("copilot", "sessionEnd"),
    ("openhands", "Stop"),
    ("openhands", "SessionStart"),
]


@pytest.mark.parametrize(("agent", "event"), NO_TURN, ids=[f"{a}:{e}" for a, e in NO_TURN])
def test_an_agents_hook_that_begins_no_turn_leaves_a_repository_never_used_as_it_was(
    tmp_path: Path, agent: str, event: str
) -> None:
    from git_atomic.cli.parser import AGENTS

    assert {a for a, _ in NO_TURN} == set(AGENTS)
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    payload = {
        "session_id": "s1",
        "conversation_id": "s1",
        "sessionId": "s1",
        "hook_event_name": event,
        "cwd": str(repo.path),
        "workspace_roots": [str(repo.path)],
    }
    before = state(repo.path)
    res = repo.atomic("hook", agent, event, input=json.dumps(payload).encode())
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert changed(before, state(repo.path)) == []


def test_status_reads_a_journal_left_with_its_write_ahead_log(tmp_path: Path) -> None:
    """A writer killed with its records in the journal's `-wal` (never folded into the file):
    a command that only reads sees them (SQLite's read-only mode, not `immutable`)."""
    import sqlite3

    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.atomic("begin", "open-one", check=0)
    journal = repo.path / ".git" / "atomic" / "journal.sqlite3"
    # The file as a killed writer leaves it: a connection that never checkpoints, copied aside.
    conn = sqlite3.connect(journal, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("UPDATE operations SET name='renamed-in-wal'")
    aside = tmp_path / "aside"
    aside.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copy2(f"{journal}{suffix}", aside / f"journal.sqlite3{suffix}")
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        shutil.copy2(aside / f"journal.sqlite3{suffix}", f"{journal}{suffix}")
    assert os.path.getsize(f"{journal}-wal") > 0
    assert repo.atomic_json("status")["open"]["name"] == "renamed-in-wal"


def test_a_writer_that_changed_the_journal_while_it_was_copied_is_read_again(
    tmp_path: Path,
) -> None:
    """The copy takes no lock: a writer that folded its log into the file meanwhile (as every
    writing command does as it closes) could have shown it a torn page. The file changed under
    the copy: it is taken again, and the reader answers with the writer's records."""
    import sqlite3
    import time

    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    _used(repo)
    pause = tmp_path / "paused"
    env = {
        **repo.env,
        "GIT_ATOMIC_HELPER": "0",
        "GIT_ATOMIC_FAILPOINT_PAUSE": "journal:read-copied",
        "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
    }
    reader = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "log", "--json"],
        cwd=repo.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not pause.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pause.exists(), reader.communicate()
    journal = repo.path / ".git" / "atomic" / "journal.sqlite3"
    conn = sqlite3.connect(journal, isolation_level=None)
    conn.execute("UPDATE operations SET name = 'written-meanwhile'")
    conn.close()  # the log folded into the file, and removed
    pause.unlink()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    names = {o["name"] for o in json.loads(out)["operations"]}
    assert names == {"written-meanwhile"}


def test_a_reader_killed_after_its_copy_leaves_nothing(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    _used(repo)
    before = state(repo.path)
    env = {"GIT_ATOMIC_FAILPOINT": "journal:read-copied", "GIT_ATOMIC_HELPER": "0"}
    res = repo.atomic("status", "--json", env=env)
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)
    assert changed(before, state(repo.path)) == []
    assert repo.atomic_json("status")["open"] is None


# --- A repository the user can only read --------------------------------------------------


def _other_user() -> list[str]:
    """The prefix that runs a command as a user the repository's permissions bind: ours where
    we are not root, `nobody` where we are."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root, and no setpriv to run as another user: permissions would not bite")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A folder every user can reach (pytest's own is its user's only)."""
    where = Path(tempfile.mkdtemp(prefix="ga-readonly-"))
    os.chmod(where, 0o755)
    yield where
    for dirpath, dirnames, _ in os.walk(where):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
    os.chmod(where, 0o755)
    shutil.rmtree(where, ignore_errors=True)


def _read_only(path: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if not stat.S_ISLNK(st.st_mode):
                os.chmod(full, stat.S_IMODE(st.st_mode) & ~0o222)
    os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o222)


def _as_other(prefix: list[str], repo: GitRepo, home: Path, args: list[str]) -> Any:
    env = {**repo.env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    # Another user's clone is refused by git itself (safe.directory) unless they say it is
    # safe, as `git config --global --add safe.directory` would.
    env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="safe.directory", GIT_CONFIG_VALUE_0="*")
    return subprocess.run(
        [*prefix, sys.executable, "-m", "git_atomic", *args],
        cwd=repo.path,
        env=env,
        input=PAYLOAD.decode(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("where", ["never-used", "used"])
@pytest.mark.parametrize("what", ["git-dir", "whole-tree"])
def test_in_a_repository_the_user_can_only_read(shared: Path, where: str, what: str) -> None:
    prefix = _other_user()
    repo = GitRepo.create(shared / "repo", shared / "home")
    op = _used(repo) if where == "used" else "abcd1234"
    from testing.gitrepo import stop_helpers

    stop_helpers(repo.path)
    _read_only(repo.path / ".git" if what == "git-dir" else repo.path)
    home = shared / "other-home"
    home.mkdir(mode=0o777)
    os.chmod(home, 0o777)
    before = state(repo.path)
    for verb, calls in READS.items():
        for args in calls:
            res = _as_other(prefix, repo, home, _argv(args, op))
            _one_clear_line(res)
            ok = (0, 2) if verb == "show" and where == "never-used" else (0,)
            assert res.returncode in ok, (args, res.stderr)
    for calls in DRY.values():
        for args in calls:  # it scans into a store of its own, outside the repository
            res = _as_other(prefix, repo, home, _argv(args, op))
            _one_clear_line(res)
            assert res.returncode in (0, 2), (args, res.stderr)
    for verb, args in WRITES.items():
        res = _as_other(prefix, repo, home, args)
        _one_clear_line(res)
        if verb in ("init", "hooks") and what == "git-dir":
            continue  # they write the worktree, which this user may
        if verb == "hook":
            assert res.returncode == 0, res.stderr  # an agent's hook never stops the agent
            continue
        assert res.returncode in (2, 3), (args, res.returncode, res.stderr)
    assert changed(before, state(repo.path)) == [] or what == "git-dir"
    if what == "whole-tree":
        return
    after = state(repo.path)
    assert [p for p in changed(before, after) if p.startswith(b".git")] == []


# --- The MCP server's tools that only read -------------------------------------------------


@pytest.mark.parametrize("where", ["never-used", "used"])
def test_the_mcp_tools_that_only_read_leave_the_repository_as_it_was(
    tmp_path: Path, where: str
) -> None:
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    from git_atomic.agents.mcp_tools import TOOLS

    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    op = _used(repo) if where == "used" else "abcd1234"
    reading = sorted(name for name, spec in TOOLS.items() if spec.read_only)
    assert set(reading) >= {"status", "log", "show"}
    arguments = {"show": {"id": op, "diff": True}}
    answers: dict[str, Any] = {}
    params = mcpfork.server_params(repo.env, repo.path)

    async def main() -> None:
        with anyio.fail_after(120):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                before = state(repo.path)
                for name in reading:
                    answers[name] = await s.call_tool(name, arguments.get(name, {}))
                answers["changed"] = changed(before, state(repo.path))

    anyio.run(main)
    assert answers.pop("changed") == []
    logged = json.loads(json.dumps(answers["log"].structured_content))["operations"]
    assert [o["name"] for o in logged] == ([] if where == "never-used" else ["grew-a", "made-b"])
    assert answers["status"].structured_content["open"] is None
    assert answers["show"].is_error == (where == "never-used")


def test_a_journal_of_an_older_schema_is_read_and_left_as_it_was(tmp_path: Path) -> None:
    """Schema 1 (no `command` column of gates): migrated in memory for the reader, never in
    its file (a writing command migrates it)."""
    import sqlite3

    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    op = _used(repo)
    journal = repo.path / ".git" / "atomic" / "journal.sqlite3"
    conn = sqlite3.connect(journal, isolation_level=None)
    conn.execute("ALTER TABLE gates DROP COLUMN command")
    conn.execute("PRAGMA user_version=1")
    conn.close()
    before = state(repo.path)
    assert len(repo.atomic_json("log")["operations"]) == 2
    assert repo.atomic_json("show", op)["op_id"] == op
    repo.atomic("status", check=0)
    assert changed(before, state(repo.path)) == []
    repo.atomic("run", "--no-gates", "--", "true", check=0)  # a writer migrates the file
    conn = sqlite3.connect(journal)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()
