"""`git atomic hooks install|uninstall claude-code`: merge into settings.json, never clobber."""

from __future__ import annotations

import codecs
import copy
import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from git_atomic.agents import claude_code, hookfiles
from git_atomic.agents.claude_settings import (
    COMMAND,
    FILE_TOOL_PATTERN,
    LAYOUT,
    desired_hooks,
    settings_path,
)
from git_atomic.commands.agents import ADAPTERS, _adapter, hooks_install, hooks_uninstall
from git_atomic.core.errors import ConfigError, Exit, UsageError
from testing.gitrepo import GitRepo

MATCHER = FILE_TOOL_PATTERN
GUARD = LAYOUT.guard

# A project that already has settings and hooks of its own (shapes from Claude Code's docs).
THEIRS: dict[str, Any] = {
    "permissions": {"allow": ["Bash(npm run lint)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bär"},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "./audit.sh"}]},
        ],
        "PostToolUse": [
            {
                "matcher": "Write|Edit",
                "hooks": [{"type": "command", "command": "prettier --write", "timeout": 30}],
            },
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
        "Notification": [{"matcher": "", "hooks": [{"type": "command", "command": "say hi"}]}],
    },
    "model": "opus",
}


def write(root: Path, settings: Any) -> Path:
    path = settings_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings if isinstance(settings, str) else json.dumps(settings, indent=4))
    return path


def read(root: Path) -> Any:
    return json.loads(settings_path(root).read_text(encoding="utf-8"))


def ours(settings: dict[str, Any], event: str) -> list[dict[str, Any]]:
    return [
        h
        for g in settings.get("hooks", {}).get(event, [])
        for h in g.get("hooks", [])
        if "hook claude-code" in h.get("command", "")
    ]


def test_install_into_a_project_without_settings(tmp_path: Path) -> None:
    lines = claude_code.install(tmp_path)

    def tool(event: str) -> list[dict[str, Any]]:
        handler = {"type": "command", "command": f"{COMMAND} {event}{GUARD}", "timeout": 60}
        return [{"matcher": MATCHER, "hooks": [handler]}]

    def turn(event: str, timeout: int = 60) -> list[dict[str, Any]]:
        command = f"{COMMAND} {event}{GUARD}"
        return [{"hooks": [{"type": "command", "command": command, "timeout": timeout}]}]

    assert read(tmp_path) == {
        "hooks": {
            "PreToolUse": tool("PreToolUse"),
            "PostToolUse": tool("PostToolUse"),
            "PostToolUseFailure": tool("PostToolUseFailure"),
            "PermissionDenied": tool("PermissionDenied"),
            "UserPromptSubmit": turn("UserPromptSubmit"),
            "PostToolBatch": turn("PostToolBatch"),
            "Elicitation": turn("Elicitation"),
            "ElicitationResult": turn("ElicitationResult"),
            "Stop": turn("Stop", 1800),
            "StopFailure": turn("StopFailure"),
            "SessionEnd": turn("SessionEnd"),
        }
    }
    assert COMMAND == "git-atomic hook claude-code"
    assert [line.split(":")[0] for line in lines[:3]] == [
        "added PreToolUse hook",
        "added PostToolUse hook",
        "added PostToolUseFailure hook",
    ]
    assert lines[-1].startswith("wrote .claude/settings.json")


def test_claudes_hooks_run_where_git_atomic_is_not_on_the_path_answer_0_and_say_so(
    tmp_path: Path,
) -> None:
    """Copilot CLI reads a repository's `.claude/settings.json` too (its hooks reference), and
    its command `preToolUse` hooks are fail-closed: a non-zero exit denies the call. Started
    where `git-atomic` is not on the PATH, every Edit, Write and Bash call of Copilot's was
    refused by our hook's shell (127). Each hook answers 0 then, with one JSON line saying
    nothing is protected (Claude Code shows a `systemMessage` to the person)."""
    claude_code.install(tmp_path)
    bare = {**os.environ, "PATH": "/usr/bin:/bin"}
    for (event, groups), shell in itertools.product(
        read(tmp_path)["hooks"].items(), ("bash", "dash")
    ):
        [group] = groups
        [handler] = group["hooks"]
        ran = subprocess.run(
            [shell, "-c", handler["command"]],
            cwd=tmp_path,
            env=bare,
            input="{}",
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, (event, ran.returncode, ran.stderr)
        said = json.loads(ran.stdout)
        assert "git-atomic is not on the PATH" in said["systemMessage"], (event, said)


@pytest.mark.parametrize(
    ("exit_status", "expected"),
    [
        (70, "git-atomic failed (exit status 70, its error on the hook's stderr)"),
        (3, "git-atomic failed (exit status 3, its error on the hook's stderr)"),
        (2, "git-atomic refused this hook call as a usage error (exit status 2"),
        (None, "git-atomic is on the PATH but could not be run (exit status 12"),
    ],
)
def test_claudes_hooks_say_why_git_atomic_did_not_answer(
    tmp_path: Path, exit_status: int | None, expected: str
) -> None:
    """The guard said "git-atomic is not on the PATH" whatever made the command fail: an
    internal error (70), a usage error (2: an older git-atomic than the hooks), a file that
    cannot be run. Each says what happened, the answer still exit 0 and one JSON object (an
    exit 2 would refuse the tool call in Claude Code, any non-zero one in Copilot CLI)."""
    claude_code.install(tmp_path / "project")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "git-atomic"
    program.write_text(f"#!/bin/sh\necho 'git-atomic: it went wrong' >&2\nexit {exit_status}\n")
    program.chmod(0o644 if exit_status is None else 0o755)  # None: not executable
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    for event, groups in read(tmp_path / "project")["hooks"].items():
        [handler] = groups[0]["hooks"]
        # (dash says 127 for a file it cannot run, as for none; bash 126)
        for shell in ("bash", "dash"):
            ran = subprocess.run(
                [shell, "-c", handler["command"]],
                cwd=tmp_path / "project",
                env=env,
                input="{}",
                capture_output=True,
                text=True,
                check=False,
            )
            assert ran.returncode == 0, (event, ran.returncode, ran.stderr)
            said = json.loads(ran.stdout)
            assert list(said) == ["systemMessage"], said
            assert expected in said["systemMessage"], (event, said)
            assert "not on the PATH" not in said["systemMessage"], said


def test_install_keeps_every_existing_key_and_hook(tmp_path: Path) -> None:
    write(tmp_path, THEIRS)

    claude_code.install(tmp_path)

    after = read(tmp_path)
    # Everything that was there is there, in the same place and order.
    assert {k: v for k, v in after.items() if k != "hooks"} == {
        k: v for k, v in THEIRS.items() if k != "hooks"
    }
    assert list(after) == list(THEIRS)
    for event, groups in THEIRS["hooks"].items():
        assert after["hooks"][event][: len(groups)] == groups
    # Ours come after theirs, one group each.
    for event, group in desired_hooks().items():
        assert after["hooks"][event][-1] == group
        assert len(ours(after, event)) == 1
    assert after["hooks"]["Notification"] == THEIRS["hooks"]["Notification"]
    assert after["env"]["FOO"] == "bär"


def test_install_twice_adds_nothing(tmp_path: Path) -> None:
    write(tmp_path, THEIRS)
    claude_code.install(tmp_path)
    first = settings_path(tmp_path).read_bytes()

    lines = claude_code.install(tmp_path)

    assert settings_path(tmp_path).read_bytes() == first
    assert lines == [".claude/settings.json: the git-atomic hooks are already installed"]


def test_install_replaces_an_older_or_differently_spelled_hook_of_ours(tmp_path: Path) -> None:
    old = copy.deepcopy(THEIRS)
    old["hooks"]["PreToolUse"][0]["hooks"].append(  # ours, squeezed into their group
        {"type": "command", "command": "python3 -m git_atomic hook claude-code PreToolUse"}
    )
    old["hooks"]["Stop"].append(
        {
            "hooks": [
                {"type": "command", "command": "git atomic hook claude-code Stop", "timeout": 60}
            ]
        }
    )
    write(tmp_path, old)

    lines = claude_code.install(tmp_path)

    after = read(tmp_path)
    assert "updated PreToolUse hook: git-atomic hook claude-code PreToolUse" in lines
    assert "updated Stop hook: git-atomic hook claude-code Stop" in lines
    assert after["hooks"]["PreToolUse"][0] == THEIRS["hooks"]["PreToolUse"][0]
    for event, group in desired_hooks().items():
        assert ours(after, event) == group["hooks"]


def test_uninstall_removes_exactly_ours(tmp_path: Path) -> None:
    write(tmp_path, THEIRS)
    claude_code.install(tmp_path)

    lines = claude_code.uninstall(tmp_path)

    assert read(tmp_path) == THEIRS
    events = ("PreToolUse", "PostToolUse", "Stop")
    assert sorted(lines[:3]) == sorted(f"removed {e} hook: {COMMAND} {e}" for e in events)


def test_uninstall_keeps_their_handlers_in_a_shared_group(tmp_path: Path) -> None:
    mixed = copy.deepcopy(THEIRS)
    mixed["hooks"]["Stop"][0]["hooks"].append(
        {"type": "command", "command": "git-atomic hook claude-code Stop"}
    )
    write(tmp_path, mixed)

    claude_code.uninstall(tmp_path)

    assert read(tmp_path) == THEIRS


def test_uninstall_after_install_into_nothing_leaves_nothing(tmp_path: Path) -> None:
    claude_code.install(tmp_path)
    lines = claude_code.uninstall(tmp_path)
    assert lines[-1] == "removed .claude/settings.json"
    assert list(tmp_path.iterdir()) == []  # no `{}` file, no empty .claude folder (issue 19)


def test_uninstall_without_settings_or_without_our_hooks_changes_nothing(tmp_path: Path) -> None:
    assert "nothing to remove" in claude_code.uninstall(tmp_path)[0]
    assert not settings_path(tmp_path).exists()

    path = write(tmp_path, THEIRS)
    before = path.read_bytes()
    assert "nothing to remove" in claude_code.uninstall(tmp_path)[0]
    assert path.read_bytes() == before


def test_an_empty_settings_file_counts_as_no_settings(tmp_path: Path) -> None:
    write(tmp_path, "  \n")
    claude_code.install(tmp_path)
    assert set(read(tmp_path)["hooks"]) == set(desired_hooks())


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"hooks": {', "not valid JSON"),
        ("[1, 2]", "top level must be a JSON object"),
        ('{"hooks": []}', "'hooks' must be an object"),
        ('{"hooks": null}', "'hooks' must be an object"),
        ('{"hooks": {"Stop": {"hooks": []}}}', "'hooks.Stop' must be a list"),
        ('{"hooks": {"PreToolUse": ["./audit.sh"]}}', "'hooks.PreToolUse[0]' must be an object"),
        ('{"hooks": {"Stop": [{"hooks": "x"}]}}', "'hooks.Stop[0]' must be an object"),
    ],
)
@pytest.mark.parametrize("action", [claude_code.install, claude_code.uninstall])
def test_malformed_settings_are_refused_and_left_alone(
    tmp_path: Path, text: str, says: str, action: Any
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        action(tmp_path)

    message = str(caught.value)
    assert says in message and str(path) in message
    assert "\n" not in message
    assert caught.value.exit_code == Exit.USAGE
    assert path.read_text() == text
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]  # no temp files


def test_the_command_functions_print_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hooks_install(target="claude-code", root=tmp_path) == 0
    assert "added Stop hook: git-atomic hook claude-code Stop" in capsys.readouterr().out

    assert hooks_uninstall(target="claude-code", root=tmp_path) == 0
    assert "removed Stop hook: git-atomic hook claude-code Stop" in capsys.readouterr().out


def test_codex_install_says_its_hooks_wait_for_review_in_slash_hooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Codex skips a non-managed hook until the person reviews and trusts that exact
    definition in `/hooks`, and loads a project's `.codex/` only in a trusted project
    (https://developers.openai.com/codex/hooks): installing says so, or nothing ever runs."""
    assert hooks_install(target="codex", root=tmp_path) == 0
    out = capsys.readouterr().out
    assert "wrote .codex/hooks.json" in out
    assert "/hooks" in out and "trust" in out


def test_an_unknown_agent_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown agent 'windsurf'"):
        hooks_install(target="windsurf", root=tmp_path)
    assert not settings_path(tmp_path).exists()


def test_gemini_install_says_when_its_hooks_do_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Gemini CLI runs a project's hooks only in a folder the person trusts, and releases
    before hooks were on by default run none without `hooksConfig.enabled` (google-gemini/
    gemini-cli PR 17247): installing says both, or a turn goes unprotected and nothing says
    so."""
    assert hooks_install(target="gemini", root=tmp_path) == 0
    out = capsys.readouterr().out
    assert "wrote .gemini/settings.json" in out
    assert "trust" in out and '"hooksConfig": {"enabled": true}' in out


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini", "cursor", "copilot"])
@pytest.mark.parametrize("linked", ["folder", "file"])
def test_a_hooks_file_reached_through_a_link_is_neither_read_nor_written(
    repo: GitRepo, tmp_path: Path, agent: str, linked: str
) -> None:
    """A project whose `.claude` is a link to your home's `~/.claude` (dotfiles, a clone made
    so on purpose): `hooks install` wrote the project's hooks into that folder outside the
    worktree, so every project got them, and `uninstall` deleted the file there. Links that
    are written through instead of replaced are a known trap of hook installers
    (https://github.com/petergaultney/lemonaid/pull/49). Refused now, exit 3, one line, the
    file outside untouched."""
    from git_atomic.agents import codex, copilot, cursor, gemini

    layout = {
        "claude-code": claude_code.LAYOUT,
        "codex": codex.LAYOUT,
        "gemini": gemini.LAYOUT,
        "cursor": cursor.LAYOUT,
        "copilot": copilot.LAYOUT,
    }[agent]
    outside = tmp_path / "home-folder"
    outside.mkdir()
    name = Path(layout.path).name
    (outside / name).write_text("{}\n")
    top = Path(layout.path).parts[0]
    if linked == "folder":
        (repo.path / top).symlink_to(outside)
        if top != str(Path(layout.path).parent):  # .github/hooks: the link is .github
            (outside / "hooks").mkdir()
            (outside / "hooks" / name).write_text("{}\n")
    else:
        (repo.path / layout.path).parent.mkdir(parents=True)
        (repo.path / layout.path).symlink_to(outside / name)
    before = {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()}

    for verb in ("install", "uninstall"):
        res = repo.atomic("hooks", verb, agent, check=3)
        assert "is a symbolic link" in res.stderr and len(res.stderr.splitlines()) == 1
    assert {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()} == before
    assert os.path.islink(repo.path / (top if linked == "folder" else layout.path))


def test_a_gemini_settings_file_with_comments_is_left_alone_and_the_way_out_said(
    repo: GitRepo,
) -> None:
    """Gemini CLI reads its settings.json with comments and trailing commas: `hooks install
    gemini` refused it as "not valid JSON" and said no more. A rewrite could not keep the
    comments, so it is still never rewritten; the refusal now says why and what to do."""
    path = repo.path / ".gemini" / "settings.json"
    path.parent.mkdir()
    text = '{\n  // the theme we like\n  "theme": "Default",\n}\n'
    path.write_text(text)

    res = repo.atomic("hooks", "install", "gemini", check=2)

    assert "not valid JSON" in res.stderr and "comments or trailing commas" in res.stderr
    assert "Traceback" not in res.stderr
    assert path.read_text() == text
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


@pytest.mark.parametrize("target", ADAPTERS)
def test_a_hooks_file_that_begins_with_a_byte_order_mark_is_read_and_written_without_it(
    tmp_path: Path, target: str
) -> None:
    """Notepad and PowerShell's `Out-File` save a file with a UTF-8 byte order mark: read as no
    JSON, each platform's hooks file was refused ("not valid JSON") and `hooks status` said
    "not installed". It is read past the mark, everything in it kept, and written back as
    every platform reads it: UTF-8 without one. Uninstall leaves what was the user's."""
    layout = _adapter(target).LAYOUT
    path = tmp_path / layout.path
    path.parent.mkdir(parents=True)
    theirs = {"version": 1, "theme": "bär"}
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(theirs, ensure_ascii=False).encode())

    hooks_install(target=target, root=tmp_path)

    written = path.read_bytes()
    assert not written.startswith(codecs.BOM_UTF8)
    after = json.loads(written)
    assert {k: after[k] for k in theirs} == theirs
    assert hookfiles.installed(layout, tmp_path) == [e.name for e in layout.events]
    hooks_uninstall(target=target, root=tmp_path)
    assert json.loads(path.read_bytes()) == theirs
