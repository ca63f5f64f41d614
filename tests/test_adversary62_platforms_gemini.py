"""Gemini CLI's subagents called as tools of their own name, against its current source.

google-gemini/gemini-cli `packages/core/src/agents/subagent-tool-wrapper.ts`: a subagent is
exposed as "a standard, strongly-typed DeclarativeTool" named after the agent
(`super(definition.name, ...)`, `Kind.Agent`), and `packages/core/src/tools/tool-names.ts`
lists such names among the tools (`PLAN_MODE_TOOLS`: `codebase_investigator`, `cli_help`);
the built-in `generalist` and `browser_agent` (`BROWSER_AGENT_NAME`) are called the same way,
and releases between named the one delegating tool `delegate_to_agent`
(`delegate-to-agent-tool.ts`). The hooks reference (https://geminicli.com/docs/hooks/
reference) matches `BeforeTool`/`AfterTool` against that name. Our matcher knew only
`invoke_agent`: a subagent called by its own name opened no window, and its model requests
(BeforeModel, same session) closed every window of the turn while it ran: a shell command of
the parent running beside it, what it wrote afterwards was no turn's, and a failing turn kept
it. Now each of those names is a subagent's call, as `invoke_agent` is. The oracle: the disk."""

from __future__ import annotations

import json
import re
from typing import Any

from testing.agents import hook_answer
from testing.gitrepo import GitRepo

SESSION = "8d1f0c52-4a7e-4a55-9b0e-6c1d2e3f4a5b"


def _gemini(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    payload = {
        "session_id": SESSION,
        "transcript_path": f"/home/dev/.gemini/tmp/x/chats/session-{SESSION}.json",
        "cwd": str(repo.path),
        "hook_event_name": event,
        "timestamp": "2026-12-08T01:30:00.000Z",
        **fields,
    }
    return hook_answer(repo, "gemini", event, payload)


def _tool(repo: GitRepo, event: str, name: str, args: dict[str, Any]) -> None:
    extra = {"tool_response": {"llmContent": "done", "returnDisplay": "done"}}
    _gemini(repo, event, tool_name=name, tool_input=args, **(extra if event == "AfterTool" else {}))


def test_a_subagent_called_by_its_name_leaves_its_parents_shell_window_open(
    repo: GitRepo,
) -> None:
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "! grep -q BUG app.py"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("app.py", b"ANSWER = 41\n")
    repo.git("add", "app.py")
    repo.git("commit", "-qm", "app")
    _gemini(repo, "BeforeAgent", prompt="fix the answer, look around first")
    shell = {"command": "sleep 5; sed -i s/41/BUG/ app.py"}
    asked = {"query": "find where ANSWER is used"}
    _tool(repo, "BeforeTool", "run_shell_command", shell)
    _tool(repo, "BeforeTool", "codebase_investigator", asked)
    # the subagent asks its own model: its chat begins with its task
    request = {"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": str(asked)}]}
    _gemini(repo, "BeforeModel", llm_request=request)
    repo.write("app.py", b"ANSWER = BUG\n")  # the parent's shell command, still running
    _tool(repo, "AfterTool", "codebase_investigator", asked)
    _tool(repo, "AfterTool", "run_shell_command", shell)
    answer = _gemini(repo, "AfterAgent", prompt="fix it", prompt_response="done")
    assert answer.get("decision") == "deny", answer
    assert repo.read("app.py") == b"ANSWER = 41\n", answer


def test_the_installed_matcher_names_the_subagent_tools(repo: GitRepo) -> None:
    repo.atomic("hooks", "install", "gemini")
    settings = json.loads(repo.read(".gemini/settings.json"))
    for event in ("BeforeTool", "AfterTool"):
        [group] = settings["hooks"][event]
        for name in ("codebase_investigator", "cli_help", "generalist", "delegate_to_agent"):
            assert re.fullmatch(group["matcher"], name), (event, name)
        assert not re.fullmatch(group["matcher"], "read_file"), event
