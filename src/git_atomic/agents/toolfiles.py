"""The files another platform's file tool names in its input, for one purpose: to tell a call
that writes outside the worktree that no checkpoint holds what it wrote there (turn.after).

Claude Code's file tools name their file and their windows claim it alone (turn.Call.paths).
The other platforms' windows claim every change made while they are open, whatever the tool
names, so what is read here changes no window: Gemini CLI's `write_file`, `replace` and `edit`
(`file_path`), Copilot CLI's `create` and `edit` (`path`), OpenHands's `file_editor` but for
`view` (`path`), and Codex's `apply_patch`, whose patch names its files (`*** Add File:`,
`*** Update File:`, `*** Delete File:`, `*** Move to:`). A relative name is the call's
folder's. And the folder a shell tool's call runs in, for the same purpose: one outside the
worktree changes what no checkpoint holds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

# platform -> tool -> the input's key that names the file
_KEYS: Final = {
    "gemini": {"write_file": "file_path", "replace": "file_path", "edit": "file_path"},
    "copilot": {"create": "path", "edit": "path"},
    "openhands": {"file_editor": "path", "str_replace_editor": "path"},
}
# platform -> its shell tools: a call of one runs in the payload's folder (`cwd`), and the
# platform names its project apart from it (CLAUDE_PROJECT_DIR, GEMINI_PROJECT_DIR). Not the
# others: the hook runs in the same folder the payload names (Codex's session folder,
# OpenHands's `working_dir`, Copilot CLI's `cwd`), which is the project it is judged in.
_SHELLS: Final = {
    "claude-code": {"Bash", "PowerShell", "Monitor"},
    "gemini": {"run_shell_command"},
}
_PATCH_LINES: Final = ("*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: ")


def named(platform: str, tool: str, tool_input: Mapping[str, Any], cwd: object) -> tuple[str, ...]:
    """The files `tool`'s input names, absolute (relative ones joined to `cwd` when that is an
    absolute folder, else left out); () for a tool that names none."""
    if platform == "codex" and tool == "apply_patch":
        names = [
            line[len(start) :].strip()
            for value in tool_input.values()
            if isinstance(value, str)
            for line in value.splitlines()
            for start in _PATCH_LINES
            if line.startswith(start)
        ]
    else:
        key = _KEYS.get(platform, {}).get(tool)
        value = tool_input.get(key) if key else None
        if platform == "openhands" and tool_input.get("command") == "view":
            value = None  # it only reads
        names = [value] if isinstance(value, str) else []
    folder = cwd if isinstance(cwd, str) and os.path.isabs(cwd) else None
    found = []
    for name in names:
        if os.path.isabs(name):
            found.append(name)
        elif name and folder is not None:
            found.append(os.path.normpath(os.path.join(folder, name)))
    return tuple(found)


def shell_folder(platform: str, tool: str, cwd: object) -> str:
    """The folder a shell tool's call runs in (the payload's absolute `cwd`); '' for any other
    tool, or a folder not given."""
    if tool in _SHELLS.get(platform, ()) and isinstance(cwd, str) and os.path.isabs(cwd):
        return cwd
    return ""
