"""The small state files the hooks and the MCP server write between calls (core/wholefile.py):
a process killed at any instant of a write leaves the old content or the new, never an empty
or a partial file, and none of them is read or written through a link or waited on as a fifo.

Each writer is run to completion once (the old content), then killed in a second process at
the one instant a write has between its first byte and its last (`wholefile:aside`: the new
content complete aside, not yet renamed over): the file on disk must hold the old bytes.
Before, an MCP server's marker was truncated and then written (read empty: no server's, and
another server's abort of its operation was not refused), and a note for the model, or the
count of Stops that sent the agent back, was written over in place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.gitrepo import ROOT, GitRepo

_PRELUDE = (
    "import sys; from pathlib import Path; "
    "from git_atomic.engine import discovery; "
    "from git_atomic.agents import baseline, mcp_owners, turnmarks, turnsession, turnstate; "
    "repo = discovery.discover(sys.argv[1]); state = repo.state_dir; value = sys.argv[2]; "
)
# What each writer writes (`value` differs between the two processes), and where.
_WRITERS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "mcp-server-marker": (
        "state.mkdir(exist_ok=True); mcp_owners.mark(state, 'op-1')",
        lambda state: state / "mcp-sessions" / "op-1",
    ),
    "open-turn-mark": (
        "turnmarks.mark_open(state, 'wt', turnstate.new_record(value, 's1', 'claude-code', "
        "repo.root))",
        lambda state: state.parent / turnstate_marks() / f"{session_key('s1')}.wt",
    ),
    "turn-record": (
        "slot = turnstate.Slot(state, 's1', 'wt'); "
        "slot.write(turnstate.new_record(value, 's1', 'claude-code', repo.root))",
        lambda state: state / "turns" / session_key("s1") / "wt.json",
    ),
    "note-for-the-model": (
        "turnsession.put_note(state, 's1', value * 1000)",
        lambda state: state / "turns" / session_key("s1") / "note.txt",
    ),
    "stops-in-a-row": (
        "turnstate.real_folder(turnstate.session_dir(state, 's1'), make=True); "
        "turnsession.blocks_in_a_row(state, 's1', add=True)",
        lambda state: state / "turns" / session_key("s1") / "blocks",
    ),
    "gates-baseline-cache": (
        "baseline._save(repo, {value: True})",
        lambda state: state / "turns" / "baseline.json",
    ),
}


def turnstate_marks() -> str:
    from git_atomic.agents import turnstate

    return turnstate.OPEN_MARKS


def session_key(session: str) -> str:
    from git_atomic.agents import turnstate

    return turnstate.session_key(session)


def _write(repo: GitRepo, code: str, value: str, env: dict[str, str] | None = None) -> int:
    paths = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-c", _PRELUDE + code, str(repo.path), value],
        env={**os.environ, "PYTHONPATH": paths, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode in (0, -9), done.stderr
    return done.returncode


def _state(repo: GitRepo) -> Path:
    return repo.path / ".git" / "atomic"


@pytest.mark.parametrize("writer", list(_WRITERS))
def test_a_writer_killed_half_way_leaves_the_old_content(repo: GitRepo, writer: str) -> None:
    code, where = _WRITERS[writer]
    path = where(_state(repo))
    assert _write(repo, code, "old") == 0
    old = path.read_bytes()
    assert old
    killed = _write(repo, code, "new", {"GIT_ATOMIC_FAILPOINT": "wholefile:aside"})
    assert killed == -9, "the write was not killed half way"
    assert path.read_bytes() == old
    assert _write(repo, code, "new") == 0  # the aside a killed process left is no obstacle
    assert path.read_bytes() not in (old, b"")


@pytest.mark.parametrize("writer", list(_WRITERS))
def test_a_first_write_killed_half_way_leaves_no_file(repo: GitRepo, writer: str) -> None:
    """Where there was none, a killed write leaves none: never an empty one (an empty marker
    is read as no server's, an empty record as no turn)."""
    code, where = _WRITERS[writer]
    path = where(_state(repo))
    _state(repo).mkdir(exist_ok=True)
    killed = _write(repo, code, "new", {"GIT_ATOMIC_FAILPOINT": "wholefile:aside"})
    assert killed == -9, "the write was not killed half way"
    assert not os.path.lexists(path)


@pytest.mark.parametrize("writer", list(_WRITERS))
def test_a_state_file_made_a_link_is_replaced_never_written_through(
    repo: GitRepo, writer: str
) -> None:
    code, where = _WRITERS[writer]
    path = where(_state(repo))
    assert _write(repo, code, "old") == 0
    outside = repo.path.parent / "outside"
    outside.write_bytes(b"theirs\n")
    path.unlink()
    path.symlink_to(outside)
    assert _write(repo, code, "new") == 0
    assert outside.read_bytes() == b"theirs\n"
    assert not path.is_symlink() and path.read_bytes()


# What each reads where its file is no file of ours: nothing (no note, a count from 0, no turn).
_READERS = {
    "note-for-the-model": ("print(repr(turnsession.take_note(state, 's1')))", "''"),
    "stops-in-a-row": ("print(turnsession.blocks_in_a_row(state, 's1', add=True))", "1"),
    "turn-record": ("print(turnstate.Slot(state, 's1', 'wt').read())", "None"),
}


@pytest.mark.parametrize("kind", ["link-outside", "fifo"])
@pytest.mark.parametrize("reader", list(_READERS))
def test_a_state_file_made_a_link_or_a_fifo_is_never_read(
    repo: GitRepo, reader: str, kind: str
) -> None:
    """A note made a link to a file outside was read and handed to the model (its content);
    a fifo there hung the hook call that read it."""
    code, where = _WRITERS[reader]
    path = where(_state(repo))
    assert _write(repo, code, "old") == 0
    outside = repo.path.parent / "outside"
    outside.write_text(json.dumps({"op_id": "x", "session": "s1"}) if "record" in reader else "7")
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(outside)
    paths = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-c", _PRELUDE + _READERS[reader][0], str(repo.path), "x"],
        env={**os.environ, "PYTHONPATH": paths},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == _READERS[reader][1]
