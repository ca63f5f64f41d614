"""Every platform's every installed hook event, fed payloads no reference promises: each is
answered with exit 0, no traceback, at most one JSON object on stdout, and no file written
outside the repository's own folders.

The shapes: documented fields of the wrong JSON type (a number for a string, a list for
anything), a lone UTF-16 surrogate and a NUL in the session's id, a session id that climbs out
of its folder (`../../..`), a tool input naming a file outside the repository, a `cwd` that is
a subfolder, another repository, a folder that does not exist or a relative one, bytes that
are no UTF-8, a line that is no JSON, and JSON nested 100,000 deep. The hooks passed every one
of these when this file was written (stop 58): kept as cheap checks, through the suite's
forked hook calls (testing/agents.py).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from git_atomic.commands.agents import ADAPTERS
from testing.gitrepo import GitRepo, command_line


def _hook(repo: GitRepo, platform: str, event: str, data: bytes) -> str:
    """The hook call's stdout, checked: exit 0, no traceback, stderr valid UTF-8."""
    env = {k: v for k, v in repo.env.items() if k != "CLAUDE_PROJECT_DIR"}
    ran = command_line(["hook", platform, event], repo.path, env, data, 120, errors="strict")
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, (event, ran.stderr)
    return ran.stdout


def _events(platform: str) -> list[str]:
    layout = importlib.import_module(f"git_atomic.agents.{ADAPTERS[platform]}").LAYOUT
    return [event.name for event in layout.events]


def _shaped(platform: str, event: str, repo: Path) -> dict[str, Any]:
    """A payload with the fields the platform's reference documents for `event`'s family."""
    if platform == "cursor":
        return {
            "conversation_id": "c1",
            "generation_id": "g1",
            "hook_event_name": event,
            "workspace_roots": [str(repo)],
            "tool_name": "Shell",
            "tool_input": {"command": "echo"},
            "tool_use_id": "t1",
            "cwd": str(repo),
            "status": "completed",
            "loop_count": 0,
        }
    if platform == "copilot":
        return {
            "timestamp": 1704614600000,
            "cwd": str(repo),
            "sessionId": "s1",
            "toolName": "bash",
            "toolArgs": json.dumps({"command": "echo"}),
            "toolResult": {"resultType": "success", "textResultForLlm": "ok"},
            "prompt": "go",
        }
    if platform == "openhands":
        return {
            "event_type": event,
            "tool_name": "terminal",
            "tool_input": {"command": "echo"},
            "session_id": "s1",
            "working_dir": str(repo),
        }
    return {
        "session_id": "s1",
        "transcript_path": "/dev/null",
        "cwd": str(repo),
        "hook_event_name": event,
        "tool_name": "run_shell_command" if platform == "gemini" else "Bash",
        "tool_input": {"command": "echo x", "file_path": str(repo / "f.txt")},
        "tool_use_id": "t1",
        "tool_response": {"success": True},
        "prompt": "go",
        "stop_hook_active": False,
    }


def _odd(shaped: dict[str, Any], repo: Path, other: Path) -> dict[str, str]:
    """The odd payloads made from `shaped`, as the text sent."""
    text = json.dumps(shaped)
    here = json.dumps(str(repo))[1:-1]

    def moved(to: str) -> str:
        return text.replace(here, to)

    return {
        "wrong types": json.dumps({k: 7 if isinstance(v, str) else "x" for k, v in shaped.items()}),
        "lists": json.dumps({k: [v] for k, v in shaped.items()}),
        "surrogate": text.replace('"s1"', '"\\ud800s"').replace('"c1"', '"\\udfffc"'),
        "nul": text.replace('"s1"', '"s\\u0000"').replace('"c1"', '"c\\u0000"'),
        "climbing id": text.replace('"s1"', '"../../../../climbed"').replace(
            '"c1"', '"../../../../climbed"'
        ),
        "outside": text.replace("f.txt", "../../outside.txt").replace(
            '"command": "echo"', '"command": "cat /etc/hostname"'
        ),
        "subfolder": moved(here + "/sub"),
        "other repository": moved(json.dumps(str(other))[1:-1]),
        "no such folder": moved("/nonexistent/x"),
        "relative": moved("sub"),
        "not utf-8": text.replace('"go"', '"g\udcff"').replace('"s1"', '"s\udcfe"'),
        "not json": text[: len(text) // 2],
        "deep": "[" * 100_000 + "]" * 100_000,
    }


@pytest.fixture
def other(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "other", tmp_path / "home-other")


@pytest.mark.parametrize("platform", sorted(ADAPTERS))
def test_odd_payloads_are_answered_at_every_event(
    repo: GitRepo, other: GitRepo, tmp_path: Path, platform: str
) -> None:
    repo.write("sub/keep.txt", b"k\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "true"\n')
    events = _events(platform)
    for event in events:
        odd = _odd(_shaped(platform, event, repo.path), repo.path, other.path)
        # Every shape at a tool event and at the turn's end; three at the others (cheaper).
        wide = event in events[1:3] or event in ("Stop", "AfterAgent", "stop", "agentStop")
        for name, text in odd.items():
            if not wide and name not in ("wrong types", "lists", "surrogate"):
                continue
            out = _hook(repo, platform, event, text.encode("utf-8", "surrogateescape")).strip()
            assert not out or isinstance(json.loads(out), dict), (event, name, out)
            assert len(out.splitlines()) <= 1, (event, name, out)
    # Nothing was written where a climbing session id leads (it is never a path).
    assert not list(tmp_path.rglob("climbed*")), list(tmp_path.rglob("climbed*"))
