"""Claude Code's `.claude/settings.json`: which hooks we install (the merging is `hookfiles`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from git_atomic.agents import hookfiles
from git_atomic.agents.hookfiles import Event, Layout

# Tools that can change the tree: the file tools, the shells (a command can change anything) and
# every MCP tool (a server's tool may write; a call that changed nothing costs two checkpoints).
# Copilot CLI runs this file too, testing a matcher that is a regular expression against a
# tool's Claude name (`bash` is `Bash`, `edit` and `apply_patch` `Edit`, `create` `Write`) or,
# for a tool with none, its own: `write_bash`/`write_powershell` type into a running shell, and
# its MCP tools are `<server>-<tool>` (no tool of Claude Code's has a `-` in its name).
# `Monitor` (Claude Code 2.1.98) runs a shell command in the background, under Bash's rules.
FILE_TOOL_PATTERN: Final = (
    "Edit|Write|MultiEdit|NotebookEdit|Bash|PowerShell|Monitor|mcp__.*|write_bash"
    "|write_powershell|.+-.+"
)
# Long enough for the gates (the SPEC's example gate allows 900 s), short for the tool calls.
TOOL_TIMEOUT: Final = 60
STOP_TIMEOUT: Final = 1800

# Only where git-atomic did not answer (our hooks answer 0, every failure inside said): the
# shell's exit status told apart, each line plain text (valid in the JSON as it is).
_NOTHING: Final = "nothing is checkpointed or judged"
_CALL: Final = "this hook call checkpointed or judged nothing"
_UNRUN: Final = f"git-atomic is on the PATH but could not be run (exit status $s): {_NOTHING}"
_SAID: Final = (
    ("127", f"git-atomic is not on the PATH this agent runs its hooks with: {_NOTHING}"),
    ("126", _UNRUN),
    (
        "2",
        "git-atomic refused this hook call as a usage error (exit status 2: an older "
        f"git-atomic than the one that installed the hooks?): {_CALL}",
    ),
    ("*", f"git-atomic failed (exit status $s, its error on the hook's stderr): {_CALL}"),
)
# dash (the `sh` of Debian and Ubuntu) says 127 for a `git-atomic` on the PATH that it cannot
# run (not executable), as for none: told apart by looking along the PATH, only then.
_ON_PATH: Final = (
    """(IFS=:; for d in $PATH; do [ -f "${d:-.}/git-atomic" ] && exit 0; done; exit 1)"""
    f""" && m="{_UNRUN}";"""
)
_GUARD: Final = (
    " || { s=$?; case $s in "
    + " ".join(f"""{code}) m="{line}";;""" for code, line in _SAID)
    + """ esac; [ $s = 127 ] && """
    + _ON_PATH
    + """ printf '{"systemMessage": "%s"}\\n' "$m"; }"""
)

LAYOUT: Final = Layout(
    platform="claude-code",
    path=".claude/settings.json",
    events=(
        Event("PreToolUse", TOOL_TIMEOUT, FILE_TOOL_PATTERN),
        Event("PostToolUse", TOOL_TIMEOUT, FILE_TOOL_PATTERN),
        Event("PostToolUseFailure", TOOL_TIMEOUT, FILE_TOOL_PATTERN),
        # A call a rule, the auto mode or a hook denied: it never runs, no PostToolUse comes.
        Event("PermissionDenied", TOOL_TIMEOUT, FILE_TOOL_PATTERN),
        # Events without a matcher; older releases ignore the ones they do not know.
        Event("UserPromptSubmit", TOOL_TIMEOUT),
        Event("PostToolBatch", TOOL_TIMEOUT),
        # An MCP server asks the person mid-call, and their answer comes back: what they change
        # while asked is not the turn's (the call's window ends at the question, and opens
        # again at the answer). Our answer to `Elicitation` is empty: the dialog shows.
        Event("Elicitation", TOOL_TIMEOUT),
        Event("ElicitationResult", TOOL_TIMEOUT),
        Event("Stop", STOP_TIMEOUT),
        Event("StopFailure", TOOL_TIMEOUT),
        Event("SessionEnd", TOOL_TIMEOUT),
    ),
    restart="restart Claude Code to load it",
    # Copilot CLI runs this file too, its `PreToolUse` fail-closed (a non-zero exit denies the
    # call): where the shell finds no `git-atomic` (127), every call would be refused; and
    # Claude Code takes an exit 2 as a refusal of the call. So the hook answers 0 whatever
    # git-atomic's exit, with one line Claude Code shows the person, true for its status.
    guard=_GUARD,
)
COMMAND: Final = LAYOUT.command


def desired_hooks() -> dict[str, dict[str, Any]]:
    """The matcher group we install for each event."""
    return {event.name: LAYOUT.entry(event) for event in LAYOUT.events}


def settings_path(root: Path) -> Path:
    return root / LAYOUT.path


def install(root: Path, *, extra_args: str = "") -> list[str]:
    """Merge our hooks into `<root>/.claude/settings.json`, keeping everything else."""
    return hookfiles.install(LAYOUT, root, extra_args=extra_args)


def uninstall(root: Path) -> list[str]:
    """Remove exactly the hooks `install` added; everything else stays as it is."""
    return hookfiles.uninstall(LAYOUT, root)
