"""Every agent adapter, end to end: `hooks install`, then the installed commands fed payloads
built from each platform's documented schema (docs/agents.md), as real processes.

One scenario per platform, in the order a session lives it: a read-only turn (not judged), a
failing turn with parallel calls (sent back, only its own changes taken back), a retry that
fails again (told again), a passing turn (kept), and a turn that ends without its end event
(closed: a later failing turn never takes it back).
"""

from __future__ import annotations

import codecs
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from git_atomic.agents.hookfiles import Layout
from git_atomic.cli.parser import AGENTS
from git_atomic.commands.agents import ADAPTERS, _adapter
from testing.gitrepo import GitRepo, command_line

SESSION = "5d1c0e7a-4b2f-4f51-9a77-0c3e2b1d9f80"
CHECK = b"""\
import pathlib, sys
sys.exit(1 if "BUG" in pathlib.Path("app.py").read_text() else 0)
"""

Payload = dict[str, Any]


@dataclass(frozen=True)
class Platform:
    """How one platform says things: its events and payload shapes, and how it sends back."""

    name: str
    prompt: Callable[[Path], tuple[str, Payload]]
    stop: Callable[[Path, bool], tuple[str, Payload]]
    end: Callable[[Path], tuple[str, Payload]]  # a turn ending without its end event
    tool: Callable[[Path, str, Payload, int, bool], tuple[str, Payload]]
    edit_tool: str
    sent_back: Callable[[Payload], str]  # the instruction it gives the model, '' if none
    knows_a_retry: bool = True
    follows_up_as_a_prompt: bool = False  # its follow-up comes as the next user message


def claude_like(name: str, edit_tool: str) -> Platform:
    def base(event: str, cwd: Path) -> Payload:
        return {
            "session_id": SESSION,
            "transcript_path": f"/home/dev/.{name}/sessions/{SESSION}.jsonl",
            "cwd": str(cwd),
            "hook_event_name": event,
            **({"model": "gpt-5-codex", "turn_id": "turn-7"} if name == "codex" else {}),
            **({"permission_mode": "default"} if name != "codex" else {}),
        }

    def tool(cwd: Path, tool: str, args: Payload, n: int, post: bool) -> tuple[str, Payload]:
        event = "PostToolUse" if post else "PreToolUse"
        payload = {**base(event, cwd), "tool_name": tool, "tool_input": args}
        payload["tool_use_id"] = f"call_{n:04d}"
        if post:
            payload["tool_response"] = {"success": True}
        return event, payload

    return Platform(
        name,
        prompt=lambda cwd: ("UserPromptSubmit", {**base("UserPromptSubmit", cwd), "prompt": "go"}),
        stop=lambda cwd, again: ("Stop", {**base("Stop", cwd), "stop_hook_active": again}),
        end=lambda cwd: ("UserPromptSubmit", {**base("UserPromptSubmit", cwd), "prompt": "next"}),
        tool=tool,
        edit_tool=edit_tool,
        sent_back=lambda out: str(out.get("reason", "")) if out.get("decision") == "block" else "",
    )


def gemini() -> Platform:
    def base(event: str, cwd: Path) -> Payload:
        return {
            "session_id": SESSION,
            "transcript_path": f"/home/dev/.gemini/tmp/{SESSION}.json",
            "cwd": str(cwd),
            "hook_event_name": event,
            "timestamp": "2026-12-02T16:00:00.000Z",
        }

    def tool(cwd: Path, tool: str, args: Payload, n: int, post: bool) -> tuple[str, Payload]:
        event = "AfterTool" if post else "BeforeTool"
        payload = {**base(event, cwd), "tool_name": tool, "tool_input": args}
        if post:
            payload["tool_response"] = {"llmContent": "ok", "returnDisplay": "ok"}
        return event, payload

    return Platform(
        "gemini",
        prompt=lambda cwd: ("BeforeAgent", {**base("BeforeAgent", cwd), "prompt": "go"}),
        stop=lambda cwd, again: (
            "AfterAgent",
            {**base("AfterAgent", cwd), "prompt": "go", "prompt_response": "done"}
            | {"stop_hook_active": again},
        ),
        end=lambda cwd: ("SessionEnd", {**base("SessionEnd", cwd), "reason": "exit"}),
        tool=tool,
        edit_tool="write_file",
        sent_back=lambda out: str(out.get("reason", "")) if out.get("decision") == "deny" else "",
    )


def cursor_base(event: str, cwd: Path) -> Payload:
    """The fields every Cursor hook receives (cursor.com/docs/agent/hooks, "Common schema")."""
    return {
        "conversation_id": SESSION,
        "generation_id": "26b45fb6-bdea-439c-b2dc-5e97ee00ecea",
        "model": "claude-opus-4-7-thinking-max",
        "hook_event_name": event,
        "cursor_version": "2.0.77",
        "workspace_roots": [str(cwd)],
        "user_email": None,
        "transcript_path": None,
    }


def cursor_tool(cwd: Path, tool: str, args: Payload, n: int, post: bool) -> tuple[str, Payload]:
    """`preToolUse` / `postToolUse`, as the page shows them: one `tool_use_id` for both."""
    event = "postToolUse" if post else "preToolUse"
    payload = {**cursor_base(event, cwd), "tool_name": tool, "tool_input": args}
    payload |= {"tool_use_id": f"tool_{n:04d}", "cwd": str(cwd)}
    if post:
        payload |= {"tool_output": json.dumps({"exitCode": 0}), "duration": 12}
    else:
        payload["agent_message"] = "Editing..."
    return event, payload


def cursor() -> Platform:
    base = cursor_base

    return Platform(
        "cursor",
        prompt=lambda cwd: (
            "beforeSubmitPrompt",
            {**base("beforeSubmitPrompt", cwd), "prompt": "go", "attachments": []},
        ),
        stop=lambda cwd, again: (
            "stop",
            {**base("stop", cwd), "status": "completed", "loop_count": 1 if again else 0},
        ),
        end=lambda cwd: ("stop", {**base("stop", cwd), "status": "aborted", "loop_count": 0}),
        tool=cursor_tool,
        edit_tool="Write",
        sent_back=lambda out: str(out.get("followup_message", "")),
        follows_up_as_a_prompt=True,
    )


def copilot() -> Platform:
    def base(cwd: Path) -> Payload:
        return {"sessionId": SESSION, "timestamp": 1704614400000, "cwd": str(cwd)}

    def tool(cwd: Path, tool: str, args: Payload, n: int, post: bool) -> tuple[str, Payload]:
        payload = {**base(cwd), "toolName": tool, "toolArgs": json.dumps(args)}
        if post:
            payload["toolResult"] = {"resultType": "success", "textResultForLlm": "ok"}
        return ("postToolUse" if post else "preToolUse"), payload

    return Platform(
        "copilot",
        prompt=lambda cwd: ("userPromptSubmitted", {**base(cwd), "prompt": "go"}),
        stop=lambda cwd, again: (
            "agentStop",
            {**base(cwd), "transcriptPath": "/t.jsonl"}
            | {"stopReason": "end_turn", "stop_hook_active": again},
        ),
        end=lambda cwd: ("sessionEnd", {**base(cwd), "reason": "complete"}),
        tool=tool,
        edit_tool="edit",
        sent_back=lambda out: str(out.get("reason", "")) if out.get("decision") == "block" else "",
    )


def openhands() -> Platform:
    """OpenHands' `HookEvent`, as its SDK sends it (every field, `null` where unset), and what
    its executor reads of an answer: only `decision: "deny"` (or exit 2) blocks, and a blocked
    `Stop` gives the model its `additionalContext`, else its `reason` (OpenHands/
    software-agent-sdk `openhands-sdk/openhands/sdk/hooks/types.py`, `executor.py`,
    `conversation_hooks.py`). It sends no `stop_hook_active`."""

    def base(event: str, cwd: Path, **fields: Any) -> Payload:
        return {
            "event_type": event,
            "tool_name": None,
            "tool_input": None,
            "tool_response": None,
            "message": None,
            "session_id": SESSION,
            "working_dir": str(cwd),
            "metadata": {},
        } | fields

    def tool(cwd: Path, tool: str, args: Payload, n: int, post: bool) -> tuple[str, Payload]:
        event = "PostToolUse" if post else "PreToolUse"
        response = {"content": [{"type": "text", "text": "ok"}], "is_error": False}
        fields = {"tool_name": tool, "tool_input": args} | (
            {"tool_response": response} if post else {}
        )
        return event, base(event, cwd, **fields)

    def sent_back(out: Payload) -> str:
        if str(out.get("decision", "")).lower() != "deny":
            return ""
        return str(out.get("additionalContext") or out.get("reason") or "")

    return Platform(
        "openhands",
        prompt=lambda cwd: ("UserPromptSubmit", base("UserPromptSubmit", cwd, message="go")),
        stop=lambda cwd, again: ("Stop", base("Stop", cwd, metadata={"reason": "agent_finished"})),
        end=lambda cwd: ("SessionEnd", base("SessionEnd", cwd)),
        tool=tool,
        edit_tool="file_editor",
        sent_back=sent_back,
        knows_a_retry=False,
    )


PLATFORMS = {
    "codex": claude_like("codex", "apply_patch"),
    "openhands": openhands(),
    "gemini": gemini(),
    "cursor": cursor(),
    "copilot": copilot(),
}


class Agent:
    """Plays the platform's part: runs the installed commands whose matcher fits."""

    def __init__(
        self, repo: GitRepo, platform: Platform, encoded: Callable[[str], bytes] = str.encode
    ) -> None:
        self.repo = repo
        self.platform = platform
        self.encoded = encoded  # how the payload's JSON text is sent: UTF-8 unless told
        self.layout: Layout = _adapter(platform.name).LAYOUT
        self.hooks = json.loads((repo.path / self.layout.path).read_text())["hooks"]
        self.n = 0

    def send(self, event: str, payload: Payload) -> list[Payload]:
        outputs = []
        for entry in self.hooks.get(event, []):
            handlers = entry.get("hooks", []) if self.layout.grouped else [entry]
            matcher = entry.get("matcher") if self.layout.grouped else None
            tool = payload.get("tool_name", "")
            # Gemini CLI tests its matcher as JavaScript's `new RegExp(m).test(name)` does, not
            # anchored (google-gemini/gemini-cli packages/core/src/hooks/hookPlanner.ts).
            matches = re.search if self.platform.name == "gemini" else re.fullmatch
            if matcher not in (None, "", "*") and not matches(matcher, tool):
                continue
            for handler in handlers:
                argv = shlex.split(handler[self.layout.command_key])
                argv = argv[: argv.index("||")] if "||" in argv else argv  # Copilot's guard
                assert argv[:3] == ["git-atomic", "hook", self.platform.name], argv
                data = self.encoded(json.dumps(payload, ensure_ascii=False))
                proc = command_line(argv[1:], self.repo.path, self.repo.env, data, 300)
                assert proc.returncode == 0, proc.stderr
                outputs.append(json.loads(proc.stdout) if proc.stdout.strip() else {})
        return outputs

    def prompt(self) -> list[Payload]:
        return self.send(*self.platform.prompt(self.repo.path))

    def follow_up(self) -> None:
        if self.platform.follows_up_as_a_prompt:
            self.prompt()

    def stop(self, *, again: bool = False) -> str:
        """The instruction that sends the model back ('' when the turn may end)."""
        outputs = self.send(*self.platform.stop(self.repo.path, again))
        return "".join(self.platform.sent_back(out) for out in outputs)

    def calls(self, *writes: tuple[str, bytes]) -> None:
        """Tool calls made at once (parallel): all `before`s, the writes, all `after`s."""
        tool = self.platform.tool
        pairs = []
        for path, _ in writes:
            self.n += 1
            args = {"file_path": str(self.repo.path / path), "content": "..."}
            name = self.platform.edit_tool
            pairs.append(
                (
                    tool(self.repo.path, name, args, self.n, False),
                    tool(self.repo.path, name, args, self.n, True),
                )
            )
        with ThreadPoolExecutor(len(pairs)) as pool:
            list(pool.map(lambda p: self.send(*p[0]), pairs))
            for path, data in writes:
                self.repo.write(path, data)
            list(pool.map(lambda p: self.send(*p[1]), pairs))

    def shell(self, command: str) -> None:
        self.n += 1
        names = {
            "gemini": "run_shell_command",
            "copilot": "bash",
            "cursor": "Shell",
            "openhands": "terminal",
        }
        name = names.get(self.platform.name, "Bash")
        for post in (False, True):
            self.send(*self.platform.tool(self.repo.path, name, {"command": command}, self.n, post))


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[GitRepo]:
    repo = GitRepo.create(tmp_path / "app", tmp_path / "home")
    repo.write("app.py", b"ANSWER = 41\n")
    repo.write("check.py", CHECK)
    repo.write(
        ".git-atomic.toml",
        f'[[gates]]\nname = "check"\nrun = "{sys.executable} check.py"\n'.encode(),
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "app and its check")
    yield repo


_MARKED = {
    "utf-8 with its mark": lambda text: codecs.BOM_UTF8 + text.encode(),
    "utf-16-le with its mark": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "utf-16-be with its mark": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
}


@pytest.mark.parametrize(
    ("name", "encoding"),
    # The mark is read past where every platform's payload is read: each platform's with
    # Cursor's mark, one platform's with each wider one.
    [
        *((name, "utf-8 with its mark") for name in ["claude-code", *PLATFORMS]),
        ("cursor", "utf-16-le with its mark"),
        ("gemini", "utf-16-be with its mark"),
    ],
)
def test_a_payload_that_begins_with_a_byte_order_mark_is_read(
    repo: GitRepo, name: str, encoding: str
) -> None:
    """Cursor on Windows pipes each payload with a UTF-8 byte order mark, as does a wrapper
    writing through .NET; one saved by PowerShell's `Out-File` is UTF-16 with its mark. Each
    was read as no JSON, an empty payload: no call checkpointed, no turn judged, the failing
    turn's file kept. Each is read past its mark, on every platform."""
    platform = PLATFORMS.get(name) or claude_like(name, "Write")
    repo.atomic("hooks", "install", name, check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", f"{name} hooks")
    agent = Agent(repo, platform, _MARKED[encoding])
    agent.prompt()
    agent.calls(("app.py", b"ANSWER = BUG\n"), ("né.txt", b"x\n"))
    reason = agent.stop()
    assert "gate 'check' failed" in reason and "rolled back" in reason, reason
    assert repo.read("app.py") == b"ANSWER = 41\n" and not repo.exists("né.txt")
    # The session the payloads name (an empty payload's turn is the session "unknown"'s).
    [op] = repo.atomic_json("log")["operations"]
    assert op["name"] == f"{name}-turn-{SESSION[:8]}" and op["status"] == "rolled_back", op


# Codex and OpenHands answer through Claude Code's handler (test_agents_hooks.py covers it
# event by event): their whole sessions run with --slow; their installs always run.
SESSIONS = [
    pytest.param(name, marks=[pytest.mark.slow] if name in ("codex", "openhands") else [])
    for name in PLATFORMS
]


@pytest.mark.parametrize("name", SESSIONS)
def test_a_session_on_each_platform(repo: GitRepo, name: str) -> None:
    platform = PLATFORMS[name]
    out = repo.atomic("hooks", "install", name, check=0)
    assert "wrote" in out.stdout
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", f"{name} hooks")
    agent = Agent(repo, platform)

    # A read-only turn is not judged, whatever the state of the tree.
    repo.write("app.py", b"ANSWER = 41  # BUG the user is still working on\n")
    agent.prompt()
    agent.shell("git status && ls")
    assert agent.stop() == ""
    assert repo.atomic_json("log")["operations"] == []
    repo.write("app.py", b"ANSWER = 41\n")

    # A failing turn, with two calls at once: sent back, only its own changes taken back.
    agent.prompt()
    agent.calls(("app.py", b"ANSWER = BUG\n"), ("notes.txt", b"notes\n"))
    reason = agent.stop()
    assert "gate 'check' failed" in reason and "rolled back" in reason
    assert repo.read("app.py") == b"ANSWER = 41\n" and not repo.exists("notes.txt")

    # The retry fails again: the model is told again, and told to stop trying. (Cursor submits
    # its follow-up as the next user message: a prompt event starts the retry there.)
    agent.follow_up()
    agent.calls(("app.py", b"ANSWER = BUG2\n"))
    reason = agent.stop(again=True)
    assert "rolled back" in reason
    if platform.knows_a_retry:
        assert "Do not change files again" in reason
    assert repo.read("app.py") == b"ANSWER = 41\n"

    # A passing turn is kept.
    agent.follow_up()
    agent.calls(("app.py", b"ANSWER = 42\n"))
    assert agent.stop() == ""
    assert repo.read("app.py") == b"ANSWER = 42\n"
    assert repo.atomic_json("log")["operations"][0]["status"] == "committed"

    # A turn that ends without its end event is closed; a later failing turn keeps its work.
    agent.prompt()
    agent.calls(("lib.py", b"VALUE = 1\n"))
    agent.send(*platform.end(repo.path))
    agent.prompt()
    agent.calls(("app.py", b"ANSWER = BUG\n"))
    assert "rolled back" in agent.stop()
    assert repo.read("lib.py") == b"VALUE = 1\n" and repo.read("app.py") == b"ANSWER = 42\n"
    assert repo.atomic_json("status")["open"] is None


@pytest.mark.parametrize("name", AGENTS)
def test_install_twice_then_uninstall_leaves_the_project_as_it_was(
    tmp_path: Path, name: str
) -> None:
    repo = GitRepo.create(tmp_path / "p", tmp_path / "home")
    before = repo.fingerprint()
    repo.atomic("hooks", "install", name, check=0)
    again = repo.atomic("hooks", "install", name, check=0)
    assert "already installed" in again.stdout
    status = repo.atomic("hooks", "status", check=0).stdout
    assert re.search(rf"^{re.escape(name)}\s+\S+\s+installed$", status, re.M), status
    repo.atomic("hooks", "uninstall", name, check=0)
    assert repo.fingerprint().diff(before) == []  # no `{}` file
    assert sorted(p.name for p in repo.path.iterdir()) == [".git", "README"]  # no empty folder


def test_every_agent_has_an_adapter() -> None:
    assert tuple(ADAPTERS) == AGENTS


def _gemini_turn(repo: GitRepo) -> tuple[Platform, Agent]:
    """Gemini's hooks installed and committed, and a turn opened."""
    platform = PLATFORMS["gemini"]
    repo.atomic("hooks", "install", "gemini", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "gemini hooks")
    agent = Agent(repo, platform)
    agent.prompt()
    return platform, agent


def test_gemini_closes_a_denied_calls_window_before_the_model_is_asked_again(
    repo: GitRepo,
) -> None:
    """A BeforeTool a policy or another hook denied sends no AfterTool (Gemini names no call:
    its window stayed open to the turn's end, and what the user wrote meanwhile was taken back
    with the turn). BeforeModel comes once every call of the step is over: it closes it."""
    platform, agent = _gemini_turn(repo)
    agent.send(*platform.tool(repo.path, "run_shell_command", {"command": "rm -rf /"}, 1, False))
    agent.send("BeforeModel", {**platform.prompt(repo.path)[1], "hook_event_name": "BeforeModel"})
    _users_note_then_a_failing_call(repo, agent, b"the user's, between the agent's calls\n")


def test_gemini_a_subagents_model_request_leaves_a_running_call_of_its_parent_open(
    repo: GitRepo,
) -> None:
    """Gemini runs a step's calls at once (all but its edit tools), a subagent (`invoke_agent`)
    beside a shell command; the subagent's own model requests send BeforeModel too, with the
    same session (google-gemini/gemini-cli: scheduler.ts `_isParallelizable`, the subagent's
    GeminiChat fires the config's hooks). That BeforeModel closed every window of the session:
    the shell command still running, what it wrote afterwards was no turn's, and a failing
    turn kept it. The subagent's run is a window of the turn (its changes are the turn's);
    while it runs, BeforeModel closes nothing."""
    platform, agent = _gemini_turn(repo)
    shell = {"command": "sleep 5; sed -i s/41/BUG/ app.py"}
    one = {"agent_name": "generalist", "prompt": "look around"}
    two = {"agent_name": "codebase_investigator", "prompt": "find the constant"}
    agent.send(*platform.tool(repo.path, "run_shell_command", shell, 1, False))
    agent.send(*platform.tool(repo.path, "invoke_agent", one, 2, False))
    agent.send(*platform.tool(repo.path, "invoke_agent", two, 3, False))
    asked = {**platform.prompt(repo.path)[1], "hook_event_name": "BeforeModel"}
    agent.send("BeforeModel", asked)  # a subagent asks its model
    agent.send(*platform.tool(repo.path, "invoke_agent", one, 2, True))
    agent.send("BeforeModel", asked)  # the other one, still running, asks its model
    repo.write("app.py", b"ANSWER = BUG\n")  # the shell command, still running
    agent.send(*platform.tool(repo.path, "invoke_agent", two, 3, True))
    agent.send(*platform.tool(repo.path, "run_shell_command", shell, 1, True))
    agent.send("BeforeModel", asked)  # the parent's next step
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"


def _gemini_model_request(platform: Platform, repo: GitRepo, *messages: str) -> Payload:
    """A BeforeModel whose request holds these messages (docs/hooks/reference.md, "Stable
    Model API": text only)."""
    base = {k: v for k, v in platform.prompt(repo.path)[1].items() if k != "prompt"}
    listed = [
        {"role": "user" if i % 2 == 0 else "model", "content": m} for i, m in enumerate(messages)
    ]
    request = {"model": "gemini-2.5-pro", "messages": listed, "config": {"temperature": 1}}
    return {**base, "hook_event_name": "BeforeModel", "llm_request": request}


def test_gemini_a_denied_subagent_call_does_not_keep_windows_open_for_the_rest_of_the_turn(
    repo: GitRepo,
) -> None:
    """An `invoke_agent` a policy denied sends no AfterTool: while it looked running, no
    BeforeModel closed anything (a subagent's own model requests send it too), so every later
    window stayed open to the turn's end and the user's edits between the agent's calls were
    taken back with it. The parent's own request (its chat's first message, the environment
    context) says the subagent call is over; a subagent's (its task first) still closes nothing."""
    platform, agent = _gemini_turn(repo)
    context = "This is the Gemini CLI. We are setting up the context for our chat."
    parent = _gemini_model_request(platform, repo, context, "fix the answer")
    agent.send("BeforeModel", parent)
    shell = {"command": "sleep 5; sed -i s/41/BUG/ app.py"}
    agent.send(*platform.tool(repo.path, "run_shell_command", shell, 1, False))
    task = {"agent_name": "generalist", "prompt": "look around"}
    agent.send(*platform.tool(repo.path, "invoke_agent", task, 2, False))
    agent.send("BeforeModel", _gemini_model_request(platform, repo, "look around"))  # its own
    repo.write("app.py", b"ANSWER = BUG\n")  # the shell command, still running
    agent.send(*platform.tool(repo.path, "run_shell_command", shell, 1, True))
    agent.send(*platform.tool(repo.path, "invoke_agent", task, 2, True))
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    # A subagent call denied before it ran: the parent's next request closes its window.
    agent.prompt()
    agent.send("BeforeModel", parent)
    agent.send(*platform.tool(repo.path, "invoke_agent", task, 3, False))  # denied: no AfterTool
    agent.send("BeforeModel", _gemini_model_request(platform, repo, context, "fix", "denied"))
    _users_note_then_a_failing_call(repo, agent, b"the user's, between the agent's calls\n")


def test_gemini_a_denied_subagent_call_then_a_compressed_history_keeps_no_window_open(
    repo: GitRepo,
) -> None:
    """The session's history compressed after a subagent call a policy denied (no AfterTool):
    Gemini CLI starts a new chat, its environment context made again (today's folder listing)
    before the summary, so the parent's next request no longer began with the first message
    noted, it closed nothing, and the user's edits until the turn's end were taken back with
    it. Its opening says it is the session's own (gemini-cli utils/environmentContext.ts)."""
    platform, agent = _gemini_turn(repo)
    context = "<session_context>\nThis is the Gemini CLI. We are setting up the context for our "
    context += "chat."
    listing = "\n- **Directory Structure:**\n\n/work/\n└───app.py\n</session_context>"
    agent.send("BeforeModel", _gemini_model_request(platform, repo, context + listing, "fix"))
    task = {"agent_name": "generalist", "prompt": "look around"}
    agent.send(*platform.tool(repo.path, "invoke_agent", task, 3, False))  # denied: no AfterTool
    compressed = context + listing.replace("app.py", "app.py\n└───check.py")
    summary = "<state_snapshot>fixing the answer</state_snapshot>"
    agent.send("BeforeModel", _gemini_model_request(platform, repo, compressed, summary, "ok"))
    _users_note_then_a_failing_call(repo, agent, b"the user's, between the agent's calls\n")


def _gemini_asks(platform: Platform, agent: Agent, repo: GitRepo, command: str) -> None:
    """A shell call that needs the person's confirmation: BeforeTool, then the prompt's
    `Notification` (google-gemini/gemini-cli packages/core/src/scheduler: scheduler.ts fires
    BeforeTool before the policy check; confirmation.ts `notifyHooks` before it waits)."""
    agent.send(*platform.tool(repo.path, "run_shell_command", {"command": command}, 9, False))
    base = {k: v for k, v in platform.prompt(repo.path)[1].items() if k != "prompt"}
    details = {"type": "exec", "title": "Confirm Shell Command", "command": command}
    notice = {"notification_type": "ToolPermission", "message": "Tool requires permission"}
    agent.send(
        "Notification", {**base, "hook_event_name": "Notification", **notice} | {"details": details}
    )


def test_gemini_a_call_refused_at_its_prompt_leaves_no_window_over_the_users_edits(
    repo: GitRepo,
) -> None:
    """A call the person refuses at Gemini's confirmation prompt sends no AfterTool, and when
    every call of its step was refused the model is not asked again (no BeforeModel, no
    AfterAgent: useGeminiStream.ts): its window stayed open to the next prompt, which closed
    the turn with the person's edits in it, and `rollback --op` of that turn took them away.
    The window ends where the call began to wait for the person."""
    platform, agent = _gemini_turn(repo)
    agent.calls(("lib.py", b"VALUE = 1\n"))
    agent.send("BeforeModel", {**platform.prompt(repo.path)[1], "hook_event_name": "BeforeModel"})
    _gemini_asks(platform, agent, repo, "rm -rf build")
    repo.write("notes.txt", b"the person's, after refusing the call\n")  # no event comes
    agent.prompt()  # the next prompt closes the turn
    [op] = repo.atomic_json("log")["operations"]
    repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert not repo.exists("lib.py")
    assert repo.read("notes.txt") == b"the person's, after refusing the call\n"


def test_gemini_a_refused_call_beside_one_that_ran_keeps_the_users_edits_out_of_the_turn(
    repo: GitRepo,
) -> None:
    """A step whose other call ran: the model is asked again (BeforeModel), and the window
    the refused call kept open ends at its prompt, not there; a failing turn takes back its
    own change only. A call the person approves runs, and is the turn's as before."""
    platform, agent = _gemini_turn(repo)
    _gemini_asks(platform, agent, repo, "sed -i s/41/40/ app.py")
    repo.write("app.py", b"ANSWER = 40\n")  # approved: it runs
    shell = {"command": "sed -i s/41/40/ app.py"}
    agent.send(*platform.tool(repo.path, "run_shell_command", shell, 9, True))
    agent.calls(("app.py", b"ANSWER = BUG\n"))
    _gemini_asks(platform, agent, repo, "rm -rf build")
    repo.write("notes.txt", b"the person's, after refusing the call\n")
    agent.send("BeforeModel", {**platform.prompt(repo.path)[1], "hook_event_name": "BeforeModel"})
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.read("notes.txt") == b"the person's, after refusing the call\n"


def _users_note_then_a_failing_call(repo: GitRepo, agent: Agent, note: bytes) -> None:
    """The user writes `notes.txt`, then the agent breaks `app.py`: the failing turn takes back
    the agent's change only."""
    repo.write("notes.txt", note)
    agent.calls(("app.py", b"ANSWER = BUG\n"))
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.read("notes.txt") == note


@pytest.mark.parametrize("tool", ["mcp_files_put", "discovered_tool_put"])
def test_gemini_checkpoints_a_tool_that_runs_a_program_of_yours(repo: GitRepo, tool: str) -> None:
    """Gemini CLI names a tool of an MCP server `mcp_<server>_<tool>`, one underscore
    (docs/hooks/reference.md, "Matchers and tool names"), and a tool your project's
    `tools.discoveryCommand` declares `discovered_tool_<name>`, run by your `tools.callCommand`
    (packages/core/src/tools/tool-names.ts, `DISCOVERED_TOOL_PREFIX`; tool-registry.ts): either
    runs a program that may change any file. A change such a tool makes is the turn's, judged
    and taken back with it; a discovered tool's was no one's: never judged, never taken back."""
    platform, agent = _gemini_turn(repo)
    args = {"path": "app.py", "text": "ANSWER = BUG"}
    agent.send(*platform.tool(repo.path, tool, args, 1, False))
    repo.write("app.py", b"ANSWER = BUG\n")
    agent.send(*platform.tool(repo.path, tool, args, 1, True))
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"


# --- Cursor: one window per tool call (cursor.com/docs/agent/hooks: `preToolUse` "fires for
# all tool types" before the call, `postToolUse` after it, `postToolUseFailure` when it
# "fails, times out, or is denied"; the same `tool_use_id` in each) ---------------------------

OLD_CURSOR_HOOKS = {  # what `hooks install cursor` wrote before it knew the tool events
    "version": 1,
    "hooks": {
        "beforeSubmitPrompt": [
            {
                "type": "command",
                "command": "git-atomic hook cursor beforeSubmitPrompt",
                "timeout": 60,
            }
        ],
        "stop": [{"type": "command", "command": "git-atomic hook cursor stop", "timeout": 1800}],
    },
}


def _cursor(repo: GitRepo, *, install: bool = True) -> Agent:
    if install:
        repo.atomic("hooks", "install", "cursor", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "cursor hooks")
    return Agent(repo, PLATFORMS["cursor"])


def _call(agent: Agent, tool: str, args: Payload, *, ended: str = "postToolUse") -> Payload:
    """A call's `preToolUse` sent; its end, as `ended` (`postToolUseFailure` or
    `postToolUse`), is the payload returned."""
    agent.n += 1
    agent.send(*cursor_tool(agent.repo.path, tool, args, agent.n, False))
    return cursor_tool(agent.repo.path, tool, args, agent.n, True)[1] | {"hook_event_name": ended}


def test_cursor_keeps_the_users_edits_made_between_the_agents_tool_calls(repo: GitRepo) -> None:
    """Before the first call, between two calls: the user's edits are not the turn's, and a
    failing turn takes back the agent's changes only."""
    agent = _cursor(repo)
    assert agent.prompt() == [{"continue": True}]  # Cursor's answer that lets it go on
    repo.write("notes.txt", b"the user's, before the agent's first call\n")
    agent.calls(("app.py", b"ANSWER = BUG\n"))
    repo.write("lib.py", b"VALUE = 'the user, between two calls'\n")
    agent.calls(("extra.txt", b"the agent's\n"))
    reason = agent.stop()
    assert "gate 'check' failed" in reason and "rolled back" in reason
    assert repo.read("app.py") == b"ANSWER = 41\n" and not repo.exists("extra.txt")
    assert repo.read("notes.txt") == b"the user's, before the agent's first call\n"
    assert repo.read("lib.py") == b"VALUE = 'the user, between two calls'\n"


def test_cursor_with_an_old_hooks_file_judges_the_turn_from_prompt_to_stop(repo: GitRepo) -> None:
    """A `.cursor/hooks.json` of the last version (prompt and stop only) still protects the
    turn as a whole; installing again adds the tool events, and the user's edits between the
    calls stay."""
    (repo.path / ".cursor").mkdir()
    (repo.path / ".cursor" / "hooks.json").write_text(json.dumps(OLD_CURSOR_HOOKS))
    agent = _cursor(repo, install=False)
    agent.prompt()
    agent.calls(("app.py", b"ANSWER = BUG\n"))  # its tool events have no hook: not sent
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"

    out = repo.atomic("hooks", "install", "cursor", check=0).stdout
    assert "added preToolUse hook" in out and "added postToolUseFailure hook" in out, out
    agent = _cursor(repo, install=False)
    agent.prompt()
    agent.calls(("app.py", b"ANSWER = BUG\n"))
    repo.write("notes.txt", b"the user's\n")
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n" and repo.read("notes.txt") == b"the user's\n"


def test_cursor_an_end_without_its_start_and_a_denied_call(repo: GitRepo) -> None:
    """A `postToolUse` whose `preToolUse` never came changes nothing (none opens a turn); a
    call denied or failed (`postToolUseFailure`) closes its window: what the user writes next is
    not the turn's."""
    agent = _cursor(repo)
    stray = cursor_tool(repo.path, "Write", {"file_path": "app.py"}, 900, True)
    assert agent.send(*stray) == [{}]
    assert repo.atomic_json("status")["open"] is None
    agent.prompt()
    assert agent.send(*stray) == [{}]
    denied = _call(agent, "Shell", {"command": "rm -rf build"}, ended="postToolUseFailure")
    denied |= {"error_message": "denied", "failure_type": "permission_denied", "duration": 3}
    denied |= {"is_interrupt": False}
    denied.pop("tool_output")
    assert agent.send("postToolUseFailure", denied) == [{}]
    _users_note_then_a_failing_call(repo, agent, b"the user's, after the denial\n")


def test_cursor_a_shell_call_is_the_turns_a_read_is_not(repo: GitRepo) -> None:
    """A `Shell` call may change any file: its window claims what changed while it ran. A
    `Read` call changes nothing: it opens no window, and what the user writes meanwhile stays."""
    agent = _cursor(repo)
    agent.prompt()
    shell = {"command": "sed -i s/41/BUG/ app.py", "working_directory": str(repo.path)}
    post = _call(agent, "Shell", shell)
    repo.write("app.py", b"ANSWER = BUG\n")  # what the command did
    agent.send("postToolUse", post)
    post = _call(agent, "Read", {"target_file": "lib.py"})
    repo.write("notes.txt", b"the user's, while the agent reads\n")
    agent.send("postToolUse", post)
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.read("notes.txt") == b"the user's, while the agent reads\n"


def test_cursor_a_turn_without_tool_events(repo: GitRepo) -> None:
    """Until Cursor has sent a tool event in the conversation, a turn is one window from the
    prompt to `stop` (a Cursor that sends none of them is still protected); once it has, a
    turn that calls no tool changes nothing of its own: what the user changes meanwhile is not
    judged."""
    agent = _cursor(repo)
    agent.prompt()
    repo.write("app.py", b"ANSWER = BUG\n")  # a Cursor that announces no tool call
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"

    agent.prompt()
    agent.shell("ls")
    assert agent.stop() == ""
    agent.prompt()
    repo.write("app.py", b"ANSWER = 41  # BUG the user is working on\n")
    assert agent.stop() == ""
    assert repo.read("app.py") == b"ANSWER = 41  # BUG the user is working on\n"
    assert repo.atomic_json("log")["operations"][0]["status"] != "rolled-back"


# --- Codex: a turn you interrupt, one that ends in an API error, a session that ends
# (developers.openai.com/codex/hooks: `Interrupt` "when you interrupt an active turn",
# `SessionEnd` when the main thread ends, both clamped to 3 s; openai/codex
# codex-rs/hooks/src/events/interrupt.rs, session_end.rs; `StopFailure` with `error`,
# `error_details`, `last_assistant_message`, `turn_id`: stop_failure.rs and
# codex-rs/hooks/schema/generated/stop-failure.command.input.schema.json) ----

_CODEX_ENDINGS: dict[str, Payload] = {
    "Interrupt": {},
    "SessionEnd": {"reason": "other"},
    "StopFailure": {
        "turn_id": "turn-7",
        "error": "rate_limit",
        "error_details": "429 Too Many Requests",
        "last_assistant_message": None,
    },
}


@pytest.mark.parametrize("event", sorted(_CODEX_ENDINGS))
def test_codex_closes_a_turn_when_it_is_interrupted_and_the_users_later_edits_stay(
    repo: GitRepo, event: str
) -> None:
    """An interrupted call sends no `PostToolUse`: its window stayed open until the next prompt
    closed the turn, so what the user wrote in between was the turn's, and `rollback --op` of
    it took the user's file away. `Interrupt` and `SessionEnd` close it when they come, and so
    does `StopFailure` (a turn cut short by a rate limit sends no `Stop`), which was not
    installed."""
    repo.atomic("hooks", "install", "codex", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "codex hooks")
    platform, agent = PLATFORMS["codex"], Agent(repo, PLATFORMS["codex"])
    agent.prompt()
    agent.send(*platform.tool(repo.path, "Bash", {"command": "sed -i s/41/BUG/ app.py"}, 1, False))
    repo.write("app.py", b"ANSWER = BUG\n")  # the command ran; the person pressed Esc
    base = {k: v for k, v in platform.prompt(repo.path)[1].items() if k != "prompt"}
    ending = {"hook_event_name": event, "permission_mode": "default", **_CODEX_ENDINGS[event]}
    outputs = agent.send(event, {**base, **ending})
    repo.write("notes.txt", b"the user's, after the interrupt\n")
    agent.prompt()  # the next prompt: nothing is left open
    [op] = repo.atomic_json("log")["operations"]
    repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.read("notes.txt") == b"the user's, after the interrupt\n"
    assert [set(out) <= {"systemMessage"} for out in outputs] == [True]  # all Codex reads
    [hook] = json.loads(repo.read(".codex/hooks.json"))["hooks"][event][0]["hooks"]
    if event != "StopFailure":
        assert hook["timeout"] <= 3  # Codex clamps a longer one, and warns at every start


@pytest.mark.parametrize(
    "tool", ["Bash", "apply_patch", "mcp__files__put", "dynamic__editor__write_file"]
)
def test_codex_checkpoints_each_tool_that_may_change_files(repo: GitRepo, tool: str) -> None:
    """Codex names its shell tools `Bash` and its edits `apply_patch` (matcher aliases `Write`,
    `Edit`); an MCP server's tool `mcp__<server>__<tool>`, and a namespaced tool its client
    (an IDE, through the app server) runs `dynamic__<namespace>__<tool>` (openai/codex
    codex-rs/core/src/tools/hook_names.rs, `for_function_tool`). The client's tool may change
    any file: its change was no one's, never judged nor taken back. Each is the turn's now."""
    repo.atomic("hooks", "install", "codex", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "codex hooks")
    platform, agent = PLATFORMS["codex"], Agent(repo, PLATFORMS["codex"])
    agent.prompt()
    args = {"path": "app.py", "content": "ANSWER = BUG"}
    agent.send(*platform.tool(repo.path, tool, args, 1, False))
    repo.write("app.py", b"ANSWER = BUG\n")
    agent.send(*platform.tool(repo.path, tool, args, 1, True))
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"


_SUBAGENT_THREAD = "019f9006-aa79-74a2-9b21-25d760dfd452"


@pytest.mark.parametrize(
    ("shell", "ours"),
    [
        ({"CODEX_THREAD_ID": SESSION}, True),
        ({"CODEX_THREAD_ID": _SUBAGENT_THREAD, "CODEX_SESSION_ID": SESSION}, True),
        ({"CODEX_THREAD_ID": _SUBAGENT_THREAD}, False),
        ({"CODEX_THREAD_ID": _SUBAGENT_THREAD, "CODEX_SESSION_ID": _SUBAGENT_THREAD}, False),
    ],
)
def test_codex_a_begin_in_the_turns_shell_is_the_turns_own(
    repo: GitRepo, shell: dict[str, str], ours: bool
) -> None:
    """Codex sets CODEX_THREAD_ID for every command its shell runs (openai/codex
    codex-rs/core/src/exec_env.rs), the hooks' `session_id` in a session's root thread. A turn
    whose Bash call ran `git atomic begin` was taken for one of yours: its end said the turn was
    not judged, and never sent the model back to commit or abort what it had opened. A
    subagent's thread has an id of its own, while the hooks' `session_id` is "the identity
    shared by the root thread and all descendant threads" (`Session::session_id`), which
    its shell has in CODEX_SESSION_ID: a begin there was taken for yours too. Another
    session's begin is still not the turn's."""
    repo.atomic("hooks", "install", "codex", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "codex hooks")
    platform, agent = PLATFORMS["codex"], Agent(repo, PLATFORMS["codex"])
    agent.prompt()
    args = {"command": "git atomic begin fix && sed -i s/41/BUG/ app.py"}
    agent.send(*platform.tool(repo.path, "Bash", args, 1, False))
    repo.atomic("begin", "fix", check=0, env=shell)
    repo.write("app.py", b"ANSWER = BUG\n")
    agent.send(*platform.tool(repo.path, "Bash", args, 1, True))
    [out] = agent.send(*platform.stop(repo.path, False))

    assert repo.read("app.py") == b"ANSWER = BUG\n"  # nothing taken back while it is open
    assert repo.atomic_json("status")["open"]["name"] == "fix"
    if ours:
        assert out["decision"] == "block" and "opened operation fix" in out["reason"], out
        assert "git atomic commit" in out["reason"]
    else:
        assert "decision" not in out and "not judged" in out["systemMessage"], out
        assert "(fix) is open" in out["systemMessage"]


# --- Copilot CLI (docs.github.com, "GitHub Copilot CLI hooks reference": `postToolUse` comes
# "after each tool completes successfully", `postToolUseFailure` "after a tool completes with a
# failure", with `error` instead of `toolResult`) --------------------------------------------


def test_copilot_closes_the_window_of_a_call_that_failed_and_the_users_edits_stay(
    repo: GitRepo,
) -> None:
    """A call that failed sends `postToolUseFailure`, no `postToolUse`: its window stayed open
    to `agentStop`, and what the user wrote meanwhile was taken back with the failing turn."""
    repo.atomic("hooks", "install", "copilot", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "copilot hooks")
    platform, agent = PLATFORMS["copilot"], Agent(repo, PLATFORMS["copilot"])
    agent.prompt()
    command = {"command": "sed -i s/41/BUG/ app.py && false"}
    agent.send(*platform.tool(repo.path, "bash", command, 1, False))
    repo.write("app.py", b"ANSWER = BUG\n")  # it changed the file, then failed
    _, post = platform.tool(repo.path, "bash", command, 1, True)
    del post["toolResult"]
    post["error"] = "Command failed with exit code 1"
    assert agent.send("postToolUseFailure", post) in ([{}], [])
    repo.write("notes.txt", b"the user's, after the failed call\n")
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.read("notes.txt") == b"the user's, after the failed call\n"


def test_copilot_sessions_in_one_worktree_have_turns_of_their_own_and_a_subagents_is_its_parents(
    repo: GitRepo,
) -> None:
    """Every Copilot event carries its session's `sessionId` now: two sessions in one worktree
    shared one turn, so one's `agentStop` judged, and took back, the other's calls. A subagent
    (its own `sessionId`, no prompt, no `agentStop`) is judged with its parent's turn, once:
    in commits mode, judged again on its own, it was committed after its parent's turn took it
    back."""
    repo.atomic("hooks", "install", "copilot", "--history", "commits", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "copilot hooks")
    platform, agent = PLATFORMS["copilot"], Agent(repo, PLATFORMS["copilot"])

    def as_session(sent: tuple[str, Payload], session: str) -> tuple[str, Payload]:
        return sent[0], {**sent[1], "sessionId": session}

    def call(session: str, n: int, command: str, write: tuple[str, bytes] | None) -> None:
        args = {"command": command}
        agent.send(*as_session(platform.tool(repo.path, "bash", args, n, False), session))
        if write:
            repo.write(*write)
        agent.send(*as_session(platform.tool(repo.path, "bash", args, n, True), session))

    other = "0b7e4a51-other-session"
    agent.prompt()
    agent.send(*as_session(platform.prompt(repo.path), other))
    call(SESSION, 1, "sed -i s/41/BUG/ app.py", ("app.py", b"ANSWER = BUG\n"))
    call(other, 2, "echo notes > notes.txt", ("notes.txt", b"notes\n"))
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.read("notes.txt") == b"notes\n"  # the other session's, not this turn's
    stop = as_session(platform.stop(repo.path, False), other)
    assert agent.send(*stop) in ([{}], [])  # its turn passes: kept
    assert repo.read("notes.txt") == b"notes\n"

    # A subagent: the parent's `task` call around the child session's own calls.
    agent.prompt()
    task = {"description": "fix it", "prompt": "change app.py"}
    agent.send(*platform.tool(repo.path, "task", task, 3, False))
    call("child-of-" + SESSION, 4, "sed -i s/41/BUG/ app.py", ("app.py", b"ANSWER = BUG\n"))
    agent.send(*platform.tool(repo.path, "task", task, 3, True))
    head = repo.git("rev-parse", "HEAD")
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.git("rev-parse", "HEAD") == head  # nothing of it committed
    assert repo.git("status", "--porcelain") == ""


def test_copilot_without_git_atomic_on_its_path_still_runs_every_tool(repo: GitRepo) -> None:
    """Copilot CLI's command `preToolUse` hooks are fail-closed (its hooks reference: a crash
    or any non-zero exit denies the tool call). A Copilot started where `git-atomic` is not on
    the PATH (another terminal, a removed venv) had every tool call denied by our hook (the
    shell's 127): a safety net that stopped the agent. The hooks answer 0 then, and the call
    goes through Copilot's own permission flow."""
    repo.atomic("hooks", "install", "copilot", check=0)
    hooks = json.loads((repo.path / ".github/hooks/git-atomic.json").read_text())["hooks"]
    payload = {"sessionId": SESSION, "timestamp": 1, "cwd": str(repo.path), "toolName": "bash"}
    payload["toolArgs"] = json.dumps({"command": "ls"})
    bare = {**repo.env, "PATH": "/usr/bin:/bin"}
    for event, entries in hooks.items():
        [entry] = entries
        ran = subprocess.run(
            ["bash", "-c", entry["bash"]],
            cwd=repo.path,
            env=bare,
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, (event, ran.returncode, ran.stderr)
        assert ran.stdout == "", (event, ran.stdout)


def test_copilot_a_question_to_the_user_is_no_window_and_what_they_write_meanwhile_stays(
    repo: GitRepo,
) -> None:
    """Copilot CLI's hooks reference names the tools it sends (`ask_user`, `update_todo`, `rg`,
    `web_search`, ...). `ask_user` waits for the person's answer: checkpointed as a tool that
    may change files, its window held what the user wrote while answering, and a failing turn
    took it back. The tools that only look, ask or plan open no window."""
    repo.atomic("hooks", "install", "copilot", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "copilot hooks")
    platform, agent = PLATFORMS["copilot"], Agent(repo, PLATFORMS["copilot"])
    agent.prompt()
    for n, (tool, args) in enumerate(
        [
            ("update_todo", {"todos": "- [ ] fix it"}),
            ("rg", {"pattern": "ANSWER"}),
            ("web_search", {"query": "python constants"}),
        ]
    ):
        agent.send(*platform.tool(repo.path, tool, args, n, False))
        agent.send(*platform.tool(repo.path, tool, args, n, True))
    question = {"question": "Which value should ANSWER have?"}
    agent.send(*platform.tool(repo.path, "ask_user", question, 5, False))
    repo.write("notes.txt", b"the user's, written while answering\n")
    agent.send(*platform.tool(repo.path, "ask_user", question, 5, True))
    agent.calls(("app.py", b"ANSWER = BUG\n"))
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert repo.read("notes.txt") == b"the user's, written while answering\n"


def test_copilots_hooks_file_run_by_vs_code_changes_nothing_and_the_users_edits_stay(
    repo: GitRepo,
) -> None:
    """VS Code's agent runs `.github/hooks/*.json` too: it renames each event (`preToolUse` to
    `PreToolUse`, `agentStop` to `AgentStop`, which it never sends) and sends its own payload
    (code.visualstudio.com/docs/agent-customization/hooks: `hookEventName`, `sessionId`,
    `tool_name`, `tool_input`, `tool_use_id`; `PostToolUse` only after a success). Every call
    was checkpointed into a turn nothing judged: a failed call's window stayed open to the next
    prompt, which recorded the turn with the user's edits of meanwhile as its own."""
    repo.atomic("hooks", "install", "copilot", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "copilot hooks")
    agent = Agent(repo, PLATFORMS["copilot"])

    def vs_code(event: str, **fields: Any) -> Payload:
        return {
            "timestamp": "2026-02-09T10:30:00.000Z",
            "cwd": str(repo.path),
            "sessionId": SESSION,
            "hookEventName": event,
            "transcript_path": "/home/dev/.vscode/transcripts/t.json",
            **fields,
        }

    prompt = vs_code("UserPromptSubmit", prompt="fix it")
    argv = shlex.split(agent.hooks["userPromptSubmitted"][0]["bash"])
    argv = argv[: argv.index("||")]  # (the guard: ` || true`)
    said = command_line(argv[1:], repo.path, repo.env, json.dumps(prompt).encode(), 300)
    assert said.returncode == 0, said.stderr
    assert "VS Code" in said.stderr and "not checkpointed" in said.stderr
    command = {"command": "sed -i s/41/BUG/ app.py && false"}
    call = vs_code("PreToolUse", tool_name="run_in_terminal", tool_input=command)
    assert agent.send("preToolUse", {**call, "tool_use_id": "call-1"}) in ([{}], [])
    repo.write("app.py", b"ANSWER = BUG\n")  # it failed: VS Code sends no PostToolUse
    repo.write("notes.txt", b"the user's, after the failed call\n")
    agent.send("userPromptSubmitted", vs_code("UserPromptSubmit", prompt="go on"))
    log = json.loads(repo.atomic("log", "--json").stdout)
    assert log["operations"] == []  # no turn was recorded, so none can be rolled back
    assert not (repo.path / ".git/atomic/turns").exists() or not any(
        (repo.path / ".git/atomic/turns").iterdir()
    )
    assert repo.read("notes.txt") == b"the user's, after the failed call\n"


def test_codex_a_shell_command_still_running_when_its_call_returns_is_caught_by_the_turns_end(
    repo: GitRepo,
) -> None:
    """Codex sends no `PostToolUse` for a command its unified exec yields while it runs: its
    window stays open through the turn's other calls, and `Stop` holds what it did meanwhile
    as the turn's (taken back with it). What it does after `Stop` is no turn's (docs)."""
    repo.atomic("hooks", "install", "codex", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "codex hooks")
    platform, agent = PLATFORMS["codex"], Agent(repo, PLATFORMS["codex"])
    agent.prompt()
    agent.send(*platform.tool(repo.path, "Bash", {"command": "make watch"}, 1, False))
    repo.write("early.txt", b"made while it runs\n")
    patch = {"command": "*** Begin Patch"}
    agent.send(*platform.tool(repo.path, "apply_patch", patch, 2, False))
    repo.write("notes.txt", b"the patch's\n")
    agent.send(*platform.tool(repo.path, "apply_patch", patch, 2, True))
    repo.write("app.py", b"ANSWER = BUG\n")  # the long command again, before the turn ends
    assert "rolled back" in agent.stop()
    assert repo.read("app.py") == b"ANSWER = 41\n"
    assert not repo.exists("early.txt") and not repo.exists("notes.txt")
    repo.write("late.txt", b"after Stop\n")  # it goes on: no turn's, never taken back
    agent.prompt()
    agent.calls(("app.py", b"ANSWER = BUG\n"))
    assert "rolled back" in agent.stop()
    assert repo.read("late.txt") == b"after Stop\n"


def test_cursor_a_conversation_that_ends_without_stop_closes_its_turn(repo: GitRepo) -> None:
    """Cursor's `sessionEnd` (its page: `session_id`, `reason`, `duration_ms`, `final_status`
    besides the common fields; fire and forget): a conversation closed before its `stop` left
    its turn open for ever, and the window a turn opens at its prompt (a Cursor that sends no
    tool events) took in everything changed afterwards. It is installed, and closes the turn:
    recorded, not judged."""
    agent = _cursor(repo)
    assert "sessionEnd" in agent.hooks
    agent.prompt()
    repo.write("app.py", b"ANSWER = BUG\n")  # no tool events: the prompt's window
    end = cursor_base("sessionEnd", repo.path) | {"session_id": SESSION, "reason": "user_close"}
    end |= {"duration_ms": 45000, "is_background_agent": False, "final_status": "aborted"}
    assert agent.send("sessionEnd", end) == [{}]
    [op] = repo.atomic_json("log")["operations"]
    assert op["name"].startswith("cursor-turn") and op["status"] != "rolled_back", op
    repo.write("notes.txt", b"the user's, after the conversation closed\n")
    assert agent.stop() == ""  # a late `stop` finds no turn to judge
    assert repo.read("app.py") == b"ANSWER = BUG\n"  # closed, not judged: never taken back
    assert repo.read("notes.txt") == b"the user's, after the conversation closed\n"
