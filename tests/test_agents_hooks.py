"""Claude Code hooks, end to end: the installed hook commands fed recorded hook payloads.

The payloads are shaped exactly as Claude Code sends them on stdin (see
docs/agents-research.md); a small dispatcher plays Claude Code's part: for each event it
runs every installed command whose matcher fits the tool, as a real process.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from git_atomic.agents.claude_code import FILE_TOOLS, QUIET, handle, hook_cwd
from git_atomic.agents.claude_settings import desired_hooks
from git_atomic.commands.agents import hook_event
from testing.gitrepo import GitRepo

SESSION = "3f6c2a1e-8b7d-4c55-9e0a-1b2c3d4e5f60"
OP_NAME = "claude-turn-3f6c2a1e"

CHECK_APP = b"""\
import pathlib, sys
text = pathlib.Path("app.py").read_text()
if "BUG" in text:
    lines = [line.strip() for line in text.splitlines()]
    print("check_app: app.py still contains BUG on line", lines.index("BUG") + 1)
    sys.exit(1)
print("check_app: ok")
"""


def common(hook_event_name: str) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "transcript_path": f"/home/dev/.claude/projects/-work-app/{SESSION}.jsonl",
        "cwd": "{cwd}",
        "permission_mode": "default",
        "hook_event_name": hook_event_name,
    }


def tool_call(name: str, tool_input: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The PreToolUse and PostToolUse payloads of one tool call."""
    pre = {
        **common("PreToolUse"),
        "tool_name": name,
        "tool_input": tool_input,
        "tool_use_id": f"toolu_01A{n:04d}",
    }
    post = {
        **pre,
        "hook_event_name": "PostToolUse",
        "tool_response": {"filePath": tool_input.get("file_path"), "success": True},
    }
    return [pre, post]


def stop(*, active: bool = False) -> dict[str, Any]:
    return {**common("Stop"), "stop_hook_active": active}


@dataclass(frozen=True)
class Answer:
    event: str
    command: str
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data


class ClaudeCode:
    """Plays Claude Code's part: runs the installed hook commands for each payload."""

    def __init__(self, repo: GitRepo, *, project: Path | None = None) -> None:
        settings = json.loads((repo.path / ".claude" / "settings.json").read_text())
        self.hooks: dict[str, list[dict[str, Any]]] = settings["hooks"]
        self.project = project or repo.path
        self.env = {**repo.env, "CLAUDE_PROJECT_DIR": str(self.project)}

    def send(self, payload: dict[str, Any]) -> list[Answer]:
        payload = json.loads(json.dumps(payload).replace('"{cwd}"', json.dumps(str(self.project))))
        event = payload["hook_event_name"]
        answers = []
        for group in self.hooks.get(event, []):
            matcher = group.get("matcher", "")
            if matcher not in ("", "*") and not re.fullmatch(matcher, payload["tool_name"]):
                continue
            for handler in group["hooks"]:
                answers.append(self._run(event, handler["command"], payload))
        return answers

    def _run(self, event: str, command: str, payload: dict[str, Any]) -> Answer:
        argv = shlex.split(command)
        assert argv[:3] == ["git-atomic", "hook", "claude-code"], command
        # The console script of this checkout: the same code, whatever is on PATH.
        argv = [sys.executable, "-m", "git_atomic", *argv[1:]]
        proc = subprocess.run(
            argv,
            input=json.dumps(payload),
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return Answer(event, command, proc.returncode, proc.stdout, proc.stderr)

    def turn(self, steps: list[tuple[list[dict[str, Any]], Any]]) -> list[Answer]:
        """Each step: the tool call's payloads, and what the tool does to the tree."""
        answers = []
        for (pre, post), act in steps:
            answers += self.send(pre)
            act()
            answers += self.send(post)
        return answers


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[GitRepo]:
    repo = GitRepo.create(tmp_path / "app", tmp_path / "home")
    repo.write("app.py", b"def answer():\n    return 41\n")
    repo.write("check_app.py", CHECK_APP)
    repo.write(
        ".git-atomic.toml",
        f'[[gates]]\nname = "check"\nrun = "{sys.executable} check_app.py"\n'.encode(),
    )
    repo.atomic("hooks", "install", "claude-code", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "app, its check, git-atomic hooks")
    yield repo


def edit(repo: GitRepo, n: int, new: str) -> tuple[list[dict[str, Any]], Any]:
    payloads = tool_call(
        "Edit",
        {"file_path": str(repo.path / "app.py"), "old_string": "return 41", "new_string": new},
        n,
    )
    return payloads, lambda: repo.write("app.py", f"def answer():\n    {new}\n".encode())


def bash_notes(repo: GitRepo, n: int) -> tuple[list[dict[str, Any]], Any]:
    payloads = tool_call(
        "Bash",
        {"command": "printf 'notes\\n' > NOTES.md", "description": "Write the notes file"},
        n,
    )
    return payloads, lambda: repo.write("NOTES.md", b"notes\n")


def read_only(repo: GitRepo, n: int) -> tuple[list[dict[str, Any]], Any]:
    return tool_call("Read", {"file_path": str(repo.path / "app.py")}, n), lambda: None


def by_event(answers: list[Answer], event: str) -> list[Answer]:
    return [a for a in answers if a.event == event]


def test_a_turn_that_passes_its_gates_is_one_committed_operation(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    assert claude.send({**common("UserPromptSubmit"), "prompt": "make it 42"}) == []

    answers = claude.turn([read_only(repo, 1), edit(repo, 2, "return 42"), bash_notes(repo, 3)])
    answers += claude.send(stop())

    assert [(a.event, a.exit_code) for a in answers] == [
        ("PreToolUse", 0),
        ("PostToolUse", 0),
        ("PreToolUse", 0),
        ("PostToolUse", 0),
        ("Stop", 0),
    ]  # the Read call ran no hook at all
    assert all(a.stdout == "" for a in answers[:-1]), answers  # tool calls are silent
    final = answers[-1].json()
    assert "decision" not in final
    assert "committed" in final["systemMessage"] and "check" in final["systemMessage"]

    op = repo.atomic_json("log")["operations"][0]
    assert (op["name"], op["status"]) == (OP_NAME, "committed")
    assert len(op["checkpoints"]["op_exec"]) == 2
    assert [g["name"] for g in op["gates"]] == ["check"]
    assert repo.atomic_json("status")["open"] is None
    assert repo.read("app.py").endswith(b"return 42\n") and repo.exists("NOTES.md")
    subjects = repo.git("log", "--format=%s").splitlines()
    assert f"OP-EXEC: {OP_NAME} - Edit: app.py" in subjects
    assert f"OP-EXEC: {OP_NAME} - Bash: Write the notes file" in subjects

    # The next turn is the next operation.
    answers = claude.turn([edit(repo, 4, "return 43")]) + claude.send(stop())
    assert "committed" in answers[-1].json()["systemMessage"]
    assert [o["status"] for o in repo.atomic_json("log")["operations"][:2]] == [
        "committed",
        "committed",
    ]


def test_a_turn_whose_gate_fails_is_rolled_back_and_the_agent_told(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    before = repo.fingerprint()

    claude.turn([edit(repo, 1, "BUG"), bash_notes(repo, 2)])
    [answer] = claude.send(stop())

    assert answer.exit_code == 0
    out = answer.json()
    assert out["decision"] == "block"  # Claude keeps working, with the reason as instruction
    assert "gate 'check' failed (exit 1)" in out["reason"]
    assert "rolled back" in out["reason"] and "git atomic show" in out["reason"]
    assert "rolled back" in out["systemMessage"]
    assert repo.fingerprint().diff(before) == []  # exactly as before the turn
    op = repo.atomic_json("log")["operations"][0]
    assert (op["name"], op["status"], op["failed_phase"]) == (OP_NAME, "rolled_back", "validate")

    # Claude goes on (stop_hook_active), fixes it, and this time the gate passes.
    claude.turn([edit(repo, 3, "return 42")])
    [answer] = claude.send(stop(active=True))
    assert "decision" not in answer.json()
    assert "committed" in answer.json()["systemMessage"]
    assert repo.read("app.py").endswith(b"return 42\n")


def test_a_second_failure_while_stop_hook_active_does_not_loop(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    before = repo.fingerprint()

    claude.turn([edit(repo, 1, "BUG")])
    [answer] = claude.send(stop(active=True))

    out = answer.json()
    assert "decision" not in out  # no second block: the turn ends
    assert "rolled back" in out["systemMessage"] and "git atomic undo" in out["systemMessage"]
    assert repo.fingerprint().diff(before) == []


def test_the_failed_gates_output_reaches_the_agent(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    [answer] = claude.send(stop())
    assert "check_app: app.py still contains BUG on line 2" in answer.json()["reason"]


def test_an_operation_a_person_opened_is_never_touched(repo: GitRepo) -> None:
    repo.atomic("begin", "my-refactor", check=0)
    claude = ClaudeCode(repo)

    answers = claude.turn([edit(repo, 1, "return 42")]) + claude.send(stop())

    assert [a.exit_code for a in answers] == [0, 0, 0]  # never breaks the agent
    warning = answers[0].json()["systemMessage"]
    assert "not protected" in warning and "my-refactor" in warning
    assert answers[1].stdout == answers[2].stdout == ""  # no checkpoint, no commit of theirs
    open_op = repo.atomic_json("status")["open"]
    assert open_op["name"] == "my-refactor" and open_op["checkpoints"]["op_exec"] == []


def test_outside_a_repository_the_agent_is_warned_not_stopped(
    tmp_path: Path, repo: GitRepo
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    claude = ClaudeCode(repo, project=plain)

    answers = claude.turn([edit(repo, 1, "return 42")]) + claude.send(stop())

    assert [a.exit_code for a in answers] == [0, 0, 0]
    assert "not protected" in answers[0].json()["systemMessage"]


def test_a_turn_cut_short_goes_on_in_the_same_operation(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "return 42")])  # the user pressed Esc: no Stop
    answers = claude.turn([bash_notes(repo, 2)]) + claude.send(stop())

    assert "committed" in answers[-1].json()["systemMessage"]
    ops = repo.atomic_json("log")["operations"]
    assert len(ops) == 1 and len(ops[0]["checkpoints"]["op_exec"]) == 2


def test_an_operation_closed_by_hand_mid_turn_is_not_resurrected(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "return 42")])
    repo.atomic("commit", "--no-gates", check=0)  # the person finished it themselves

    answers = claude.turn([bash_notes(repo, 2)]) + claude.send(stop())

    assert [a.exit_code for a in answers] == [0, 0, 0]
    assert "committed" in answers[-1].json()["systemMessage"]
    assert [o["status"] for o in repo.atomic_json("log")["operations"][:2]] == [
        "committed",
        "committed",
    ]


def test_hooks_that_lost_their_state_find_their_operation_again(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "return 42")])
    state = Path(repo.env["HOME"]) / ".local" / "state" / "git-atomic" / "claude-code"
    for file in state.iterdir():
        file.unlink()

    answers = claude.turn([bash_notes(repo, 2)]) + claude.send(stop())

    assert answers[0].stdout == ""  # it is ours: no warning
    assert "committed" in answers[-1].json()["systemMessage"]
    assert len(repo.atomic_json("log")["operations"]) == 1


# --- in-process: payloads that are missing fields or have the wrong types ---------------------


@pytest.fixture
def hermetic(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    for key, value in repo.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    return repo


def test_events_and_tools_we_do_not_hook_cost_nothing(hermetic: GitRepo, tmp_path: Path) -> None:
    nowhere = tmp_path / "not-a-repo"
    nowhere.mkdir()
    read = tool_call("Read", {"file_path": "x"}, 1)[0]
    for event, payload in [
        ("PreToolUse", read),
        ("PostToolUse", read),
        ("Stop", stop()),
        ("SessionStart", {}),
        ("Notification", {"message": 1}),
    ]:
        # Outside a repository any CLI call would have been refused with a warning.
        assert handle(event, payload, cwd=nowhere) == QUIET


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"session_id": 42, "tool_name": None, "tool_input": "rm -rf"},
        {"session_id": ["x"], "tool_name": ["Edit"], "tool_input": {"file_path": 7}},
        {"session_id": "s", "tool_name": "Bash", "tool_input": {"command": None}},
    ],
)
def test_malformed_payloads_still_make_a_committed_turn(
    hermetic: GitRepo, payload: dict[str, Any]
) -> None:
    cwd = hermetic.path
    assert handle("PreToolUse", payload, cwd=cwd) == QUIET
    hermetic.write("app.py", b"def answer():\n    return 42\n")
    assert handle("PostToolUse", payload, cwd=cwd) == QUIET
    stop_payload = {**payload, "stop_hook_active": "yes please"}  # wrong type: do not loop
    out = json.loads(handle("Stop", stop_payload, cwd=cwd).stdout)
    assert "committed" in out["systemMessage"]


def test_a_payload_that_is_not_json_is_answered_with_exit_0(
    hermetic: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(hermetic.path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("{not json"))
    assert hook_event(target="claude-code", event="Stop") == 0
    assert capsys.readouterr().out == ""


def test_the_hook_acts_on_the_project_directory(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    env = {"CLAUDE_PROJECT_DIR": str(tmp_path)}
    assert hook_cwd({"cwd": str(sub)}, env) == tmp_path
    assert hook_cwd({"cwd": str(sub)}, {}) == sub
    assert hook_cwd({"cwd": 3}, {"CLAUDE_PROJECT_DIR": str(tmp_path / "gone")}) == Path.cwd()


def test_the_installed_commands_are_the_ones_the_handler_answers() -> None:
    groups = desired_hooks()
    events = {h["command"].split()[-1] for g in groups.values() for h in g["hooks"]}
    assert events == {"PreToolUse", "PostToolUse", "Stop"}
    assert set(groups["PreToolUse"]["matcher"].split("|")) == set(FILE_TOOLS)
