"""A hooks file an older git-atomic wrote (before some of today's events were installed): what
it lacks, and the exact command that adds it in the mode it was installed in, are said by
`hooks status` and, once per session, at the session's first prompt. Real files, real hook
calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testing.agents import platform_hook
from testing.gitrepo import GitRepo

# platform: its hooks file, an event an older git-atomic did not install, its prompt event and
# that prompt's payload.
CASES = {
    "claude-code": (".claude/settings.json", "PostToolBatch", "UserPromptSubmit"),
    "codex": (".codex/hooks.json", "Interrupt", "UserPromptSubmit"),
    "openhands": (".openhands/hooks.json", "SessionEnd", "UserPromptSubmit"),
    "gemini": (".gemini/settings.json", "Notification", "BeforeAgent"),
    "cursor": (".cursor/hooks.json", "sessionEnd", "beforeSubmitPrompt"),
    "copilot": (".github/hooks/git-atomic.json", "postToolUseFailure", "userPromptSubmitted"),
}


def _prompt(repo: GitRepo, platform: str, event: str, session: str) -> str:
    """The prompt's hook call; all it said, stdout and stderr."""
    payload: dict[str, Any] = {"cwd": str(repo.path), "hook_event_name": event, "prompt": "hi"}
    if platform == "cursor":
        payload |= {"conversation_id": session, "workspace_roots": [str(repo.path)]}
    elif platform == "copilot":
        payload = {"sessionId": session, "timestamp": 1764964800000, "cwd": str(repo.path)}
    else:
        payload["session_id"] = session
    ran = platform_hook(repo, platform, event, payload)
    return ran.stdout + ran.stderr


@pytest.mark.parametrize("platform", sorted(CASES))
def test_a_hooks_file_an_older_release_wrote_says_what_it_lacks_and_how_to_add_it(
    repo: GitRepo, platform: str
) -> None:
    """`hooks status` said "partly installed" naming the events the file holds, and its
    command (`hooks install PLATFORM`) left out `--history commits`: run as said, the file
    mixed both modes. Nothing was said to the person where it mattered, in the session. The
    status names what is missing and the command in the file's mode; the first prompt of a
    session says the same (to the person), once."""
    path, dropped, prompt = CASES[platform]
    repo.atomic("hooks", "install", platform, "--history", "commits", check=0)
    settings = json.loads(repo.read(path))
    del settings["hooks"][dropped]  # (as written before that event was installed)
    repo.write(path, json.dumps(settings, indent=2).encode())
    command = f"git atomic hooks install {platform} --history commits"

    status = repo.atomic("hooks", "status", check=0).stdout
    [line] = [line for line in status.splitlines() if line.startswith(platform + " ")]
    lacks = f"partly installed (lacks {dropped} as this release installs them; run `{command}`)"
    assert lacks in line, line

    said = _prompt(repo, platform, prompt, "s1")
    assert f"lacks the hooks {dropped} as this git-atomic" in said and command in said, said
    assert "lacks the hooks" not in _prompt(repo, platform, prompt, "s1")  # once a session

    repo.atomic(*command.split()[2:], check=0)
    status = repo.atomic("hooks", "status", check=0).stdout
    [line] = [line for line in status.splitlines() if line.startswith(platform + " ")]
    assert line.endswith("installed (commits mode)"), line
    assert "lacks" not in _prompt(repo, platform, prompt, "s2")


def test_a_hooks_file_whose_matcher_an_older_release_wrote_is_said_too(repo: GitRepo) -> None:
    """A matcher an older git-atomic wrote (Gemini CLI's `BeforeTool` before `invoke_agent`
    was in it, stop 44: a subagent's run no window of the turn's) was "installed" for `hooks
    status`, and nothing said it. An entry of ours that is not as `install` writes it now is
    said as lacking, and installing again writes it."""
    repo.atomic("hooks", "install", "gemini", check=0)
    settings = json.loads(repo.read(".gemini/settings.json"))
    for event in ("BeforeTool", "AfterTool"):
        [group] = settings["hooks"][event]
        group["matcher"] = "write_file|replace|edit|run_shell_command|mcp_.*"
    repo.write(".gemini/settings.json", json.dumps(settings, indent=2).encode())
    status = repo.atomic("hooks", "status", check=0).stdout
    assert "lacks BeforeTool, AfterTool as this release installs them" in status, status
    assert "lacks the hooks BeforeTool, AfterTool" in _prompt(repo, "gemini", "BeforeAgent", "s")
    repo.atomic("hooks", "install", "gemini", check=0)
    settings = json.loads(repo.read(".gemini/settings.json"))
    assert "invoke_agent" in settings["hooks"]["BeforeTool"][0]["matcher"]
    assert "gemini       .gemini/settings.json" in repo.atomic("hooks", "status", check=0).stdout
    assert "partly" not in repo.atomic("hooks", "status", check=0).stdout
