"""Claude Code's `.claude/settings.json`: merge our hooks in, take exactly ours out.

Never clobbers: every other key, event, matcher group and handler stays as it was; installing
twice changes nothing; ours are recognised by their command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from git_atomic.errors import ConfigError

# Tools that can change the tree: the file tools, the shells (a command can change anything) and
# every MCP tool (a server's tool may write; a call that changed nothing costs two checkpoints).
FILE_TOOL_PATTERN: Final = "Edit|Write|MultiEdit|NotebookEdit|Bash|PowerShell|mcp__.*"

COMMAND: Final = "git-atomic hook claude-code"
# Ours, however it was spelled: the console script, `git atomic`, or `python -m git_atomic`.
_OURS: Final = re.compile(r"(?:git-atomic|git atomic|-m git_atomic) hook claude-code\b")
# Long enough for the gates (the README's example gate allows 900 s), short for the tool calls.
_TOOL_TIMEOUT: Final = 60
_STOP_TIMEOUT: Final = 1800
# Events with a matcher (tool events) and without; older releases ignore the ones they lack.
_TOOL_EVENTS: Final = ("PreToolUse", "PostToolUse", "PostToolUseFailure")
_TURN_EVENTS: Final = ("UserPromptSubmit", "PostToolBatch", "Stop", "StopFailure", "SessionEnd")


def desired_hooks() -> dict[str, dict[str, Any]]:
    """The matcher group we install for each event."""

    def handler(event: str, timeout: int) -> dict[str, Any]:
        return {"type": "command", "command": f"{COMMAND} {event}", "timeout": timeout}

    groups: dict[str, dict[str, Any]] = {
        event: {"matcher": FILE_TOOL_PATTERN, "hooks": [handler(event, _TOOL_TIMEOUT)]}
        for event in _TOOL_EVENTS
    }
    for event in _TURN_EVENTS:
        timeout = _STOP_TIMEOUT if event == "Stop" else _TOOL_TIMEOUT
        groups[event] = {"hooks": [handler(event, timeout)]}
    return groups


def settings_path(root: Path) -> Path:
    return root / ".claude" / "settings.json"


def install(root: Path) -> list[str]:
    """Merge our hooks into `<root>/.claude/settings.json`, keeping everything else."""
    path = settings_path(root)
    settings = _load_settings(path)
    hooks = settings.setdefault("hooks", {})
    lines: list[str] = []
    for event, group in desired_hooks().items():
        groups: list[Any] = hooks.setdefault(event, [])
        mine = [g for g in groups if isinstance(g, dict) and any(map(_is_ours, g.get("hooks", [])))]
        if mine == [group]:
            continue
        verb = "updated" if mine else "added"
        if mine:
            _remove_ours(groups)
        groups.append(group)
        lines.append(f"{verb} {event} hook: {group['hooks'][0]['command']}")
    if not lines:
        return [f"{_shown(path, root)}: the git-atomic hooks are already installed"]
    _write_settings(path, settings)
    return [*lines, f"wrote {_shown(path, root)} (restart Claude Code to load it)"]


def uninstall(root: Path) -> list[str]:
    """Remove exactly the hooks `install` added; everything else stays as it is."""
    path = settings_path(root)
    if not path.exists():
        return [f"{_shown(path, root)} does not exist: nothing to remove"]
    settings = _load_settings(path)
    hooks = settings.get("hooks", {})
    lines: list[str] = []
    for event in list(hooks):
        removed = _remove_ours(hooks[event])
        lines += [f"removed {event} hook: {command}" for command in removed]
        if removed and not hooks[event]:
            del hooks[event]
    if not lines:
        return [f"{_shown(path, root)} has no git-atomic hooks: nothing to remove"]
    if not hooks:
        del settings["hooks"]
    if not settings:  # nothing but ours was in it: leave no `{}` behind
        path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty
        return [*lines, f"removed {_shown(path, root)}"]
    _write_settings(path, settings)
    return [*lines, f"wrote {_shown(path, root)}"]


def _is_ours(handler: object) -> bool:
    return isinstance(handler, dict) and bool(_OURS.search(_text(handler.get("command"))))


def _remove_ours(groups: list[Any]) -> list[str]:
    """Drop our handlers from an event's groups, and the groups we leave empty."""
    removed: list[str] = []
    for group in list(groups):
        if not isinstance(group, dict):
            continue
        handlers = group.get("hooks", [])
        ours = [h for h in handlers if _is_ours(h)]
        if ours:
            removed += [h["command"] for h in ours]
            group["hooks"] = [h for h in handlers if not _is_ours(h)]
            if not group["hooks"]:
                groups.remove(group)
    return removed


def _load_settings(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        raise ConfigError(f"{path}: 'hooks' must be an object of event names")
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            raise ConfigError(f"{path}: 'hooks.{event}' must be a list of matcher groups")
        for i, group in enumerate(groups):
            if not isinstance(group, dict) or not isinstance(group.get("hooks", []), list):
                raise ConfigError(
                    f"{path}: 'hooks.{event}[{i}]' must be an object whose 'hooks' is a list"
                )
    return settings


def _write_settings(path: Path, settings: Mapping[str, Any]) -> None:
    """Replace the file in one step: Claude Code never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(settings, out, indent=2, ensure_ascii=False)
            out.write("\n")
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
