"""The agents' side, for tests: Claude Code's hook calls (its payload handed to the installed
command, `git-atomic hook claude-code EVENT`, as a real process) and an MCP client's server
(`git-atomic mcp` on pipes).

A hook call is a fork of the suite's server (`gitrepo.command_line`, as `GitRepo.atomic`), not a
new interpreter: a new one paid its start-up at every call and started a warm helper (another
interpreter and its imports) at the first call of every test, half of an agent test's processor
time. The interpreter's start and the helper's routing are tested apart (test_hot_path.py,
test_helper.py, and the tests that start `python -m git_atomic hook` themselves)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from testing.gitrepo import GitRepo, command_line


def run_claude_hook(
    repo: GitRepo,
    payload: dict[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """The hook command for `payload`'s event, run in the repository (exit 0 checked unless
    not `check`); `env`: more variables (a failpoint)."""
    ran = command_line(
        ["hook", "claude-code", payload["hook_event_name"]],
        repo.path,
        {**repo.env, "CLAUDE_PROJECT_DIR": str(repo.path), **(env or {})},
        json.dumps(payload).encode(),
        timeout,
        errors="strict",
    )
    if check:
        ran.check_returncode()
    return ran


def platform_hook(
    repo: GitRepo, platform: str, event: str, payload: object
) -> subprocess.CompletedProcess[str]:
    """`git-atomic hook PLATFORM EVENT` with `payload` on its stdin (JSON, or a string as it
    is), with no CLAUDE_PROJECT_DIR (VS Code and the other platforms set none); checked: exit 0,
    no traceback."""
    ran = command_line(
        ["hook", platform, event],
        repo.path,
        {k: v for k, v in repo.env.items() if k != "CLAUDE_PROJECT_DIR"},
        (payload if isinstance(payload, str) else json.dumps(payload)).encode(),
        300,
        errors="strict",
    )
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    return ran


def hook_answer(repo: GitRepo, platform: str, event: str, payload: object) -> dict[str, Any]:
    """platform_hook's answer: one JSON object, or {} where it printed nothing."""
    answer: dict[str, Any] = json.loads(
        platform_hook(repo, platform, event, payload).stdout or "{}"
    )
    return answer


def claude_hook(
    repo: GitRepo,
    session: str,
    event: str,
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 300,
    **fields: object,
) -> subprocess.CompletedProcess[str]:
    """One call of `session`'s, its payload's common fields as Claude Code sends them."""
    payload = {
        "session_id": session,
        "transcript_path": f"/home/dev/.claude/projects/x/{session}.jsonl",
        "cwd": str(repo.path),
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }
    return run_claude_hook(repo, payload, env=env, check=check, timeout=timeout)


def shell_turn(repo: GitRepo, *lines: str, between: str = "", pause: float = 0.0) -> dict[str, Any]:
    """A Claude Code turn whose `Bash` calls run `lines`, one each, under a gate that fails
    where `bad` exists; `between`, a command of yours after its first call (`pause` seconds
    after it). Its Stop's answer."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    for n, command in enumerate(lines, start=1):
        call: dict[str, Any] = {
            "tool_name": "Bash",
            "tool_input": {"command": command},
            "tool_use_id": f"t{n}",
        }
        assert claude_hook(repo, "s1", "PreToolUse", **call).stdout == ""
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        after = claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        assert after.stdout == ""
        if n == 1 and between:
            time.sleep(pause)
            subprocess.run(["sh", "-c", between], cwd=repo.path, env=repo.env, check=True)
    answer: dict[str, Any] = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    return answer


def failed_shell_turn(repo: GitRepo, command: str) -> dict[str, Any]:
    """`shell_turn` of one call running `command`, then making `bad`: it blocks, the turn
    taken back."""
    answer = shell_turn(repo, command + "; echo x > bad")
    assert answer["decision"] == "block", answer
    assert not repo.exists("bad"), answer
    return answer


def write_call(repo: GitRepo, n: int, rel: str, content: str = "") -> dict[str, Any]:
    """The fields of a `Write` of `content` at `rel`, the turn's `n`th tool call."""
    return {
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / rel), "content": content},
        "tool_use_id": f"w{n}",
    }


def write_hook_payload(
    repo: GitRepo, session: str, event: str, n: int, name: str
) -> dict[str, object]:
    """Claude Code's payload for `event` of the `n`th tool call, a `Write` of `name`."""
    payload: dict[str, object] = {
        "session_id": session,
        "transcript_path": "/dev/null",
        "cwd": str(repo.path),
        "hook_event_name": event,
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / name), "content": "x"},
        "tool_use_id": f"toolu_{n}",
    }
    if event == "PostToolUse":
        payload["tool_response"] = {"type": "create", "filePath": str(repo.path / name)}
    return payload


def claude_write(
    repo: GitRepo, n: int, rel: str, data: bytes, meanwhile: Callable[[], object] | None = None
) -> None:
    """Session s1's `n`th call, a `Write` of `data` at `rel`: PreToolUse, the write, what a
    person does `meanwhile` (inside the tool's window), PostToolUse."""
    call = write_call(repo, n, rel, data.decode())
    claude_hook(repo, "s1", "PreToolUse", **call)
    repo.write(rel, data)
    if meanwhile is not None:
        meanwhile()
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})


def mcp_on_pipes(repo: GitRepo, *, text: bool, forked: bool = False) -> subprocess.Popen[Any]:
    """The MCP server on pipes, for a test that writes JSON-RPC lines itself. `forked`: a fork
    of the suite's MCP server (testing/mcpfork.py) through a small client that passes on
    SIGTERM, SIGINT and SIGHUP and exits as the server did; else a new interpreter, whose pid is
    the server's (a test that kills it with SIGKILL, or compares its pid)."""
    from testing import mcpfork

    pipe = subprocess.PIPE
    command, args = sys.executable, ["-m", "git_atomic", "mcp"]
    if forked:
        command, args = mcpfork.server_command(repo.env)
    return subprocess.Popen(
        [command, *args],
        cwd=repo.path,
        env=repo.env,
        stdin=pipe,
        stdout=pipe,
        stderr=pipe,
        text=text,
    )


def fits_output_schema(tool: str | None, result: object) -> None:
    """Fails the test when a tool's `structuredContent` does not fit the `outputSchema` it
    declares (a client that validates, as the SDKs do, would refuse the answer)."""
    if tool is None or not isinstance(result, dict) or "structuredContent" not in result:
        return
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    from git_atomic.agents.mcp_tools import TOOLS

    spec = TOOLS.get(tool)
    assert spec is not None, f"structuredContent from {tool!r}, which is no tool"
    found = Draft202012Validator(spec.output_schema).iter_errors(result["structuredContent"])
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in found]
    assert not errors, (tool, errors[:3])


HELLO = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "lines", "version": "1"},
}


class Lines:
    """The server on pipes; the test writes and reads JSON-RPC lines itself."""

    def __init__(self, repo: GitRepo, *, forked: bool = True) -> None:
        """`forked`: the server is a fork of the suite's MCP server (mcp_on_pipes), spared the
        interpreter's start and the SDK's import (about 0.9 s of processor time); False where
        the test kills it with SIGKILL or compares its pid."""
        self.server: subprocess.Popen[bytes] = mcp_on_pipes(repo, text=False, forked=forked)
        self._tools: dict[object, str] = {}  # a tools/call's id -> its tool
        self._unread = b""  # read from the server's stdout, not yet a whole line

    def commit_with_a_slow_gate(self, repo: GitRepo, started: Path) -> None:
        """`begin`, a change, then `commit` with a gate that runs until killed: back once the
        gate has started (`started` made)."""
        self.hello()
        self.call(1, "begin", name="x")
        assert (self.receive() or {}).get("id") == 1
        repo.write("README", b"changed\n")
        self.call(2, "commit", gates=[f"touch {started}; sleep 120"])
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def send(self, line: str | dict[str, Any]) -> None:
        text = line if isinstance(line, str) else json.dumps(line)
        if isinstance(line, dict) and line.get("method") == "tools/call":
            params = line.get("params")
            if isinstance(params, dict) and isinstance(params.get("name"), str):
                self._tools[json.dumps(line.get("id"))] = params["name"]
        assert self.server.stdin is not None
        self.server.stdin.write(text.encode() + b"\n")
        self.server.stdin.flush()

    def receive(self, timeout: float = 30) -> dict[str, Any] | None:
        """The next line the server wrote, or None when none came in `timeout` seconds (or
        the server closed its stdout). Read from the pipe itself: select() on a buffered file
        said nothing was ready while a second answer that came with the first waited in the
        file's buffer, and that answer was taken for one the server never sent."""
        assert self.server.stdout is not None
        fd = self.server.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._unread:
            left = max(deadline - time.monotonic(), 0)
            if not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._unread += chunk
        line, _, self._unread = self._unread.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        fits_output_schema(self._tools.get(json.dumps(answer.get("id"))), answer.get("result"))
        return answer

    def hello(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": HELLO})
        assert (self.receive() or {}).get("id") == 0
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, ident: int, tool: str, **arguments: Any) -> None:
        params = {"name": tool, "arguments": arguments}
        self.send({"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})

    def close(self) -> str:
        """Stop the server (it must go on its own once stdin closes); its stderr."""
        try:
            if self.server.stdin and not self.server.stdin.closed:
                self.server.stdin.close()
            self.server.wait(60)
        finally:
            self.server.kill()
            self.server.wait()
        return self.server.stderr.read().decode() if self.server.stderr else ""
