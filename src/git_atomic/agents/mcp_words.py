"""The CLI's advice in an MCP tool's words: a line that says `git atomic recover` or
`git atomic rollback --op 3f2a --whole` tells a client with no shell (Claude Desktop, a
client that offers the model only its tools) a command it cannot run, where a tool does it.

Each `git atomic VERB ARGS` in backquotes whose verb is a tool, and whose arguments are all
that tool's parameters, becomes "the `VERB` tool" with them as JSON (`{"op": "3f2a", "whole":
true}`); "run" before it becomes "call". A verb no tool has (gc, init, emergency, hooks) or an
argument no parameter takes (`| head`) leaves the command as it is, for a terminal. Plain
data and small functions, no SDK.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from git_atomic.agents.mcp_tools import TOOLS

_COMMAND: Final = re.compile(r"(\brun )?`git atomic ([a-z]+)((?: [^`]*)?)`")
# The positional argument each tool's command line takes, as the tool's parameter.
_POSITIONAL: Final = {"begin": "name", "show": "id", "tdd": "phase"}


def in_tool_words(line: str) -> str:
    """`line` with each `git atomic ...` a tool does said as that tool's call."""
    if "`git atomic " not in line:
        return line
    return _COMMAND.sub(_said, line)


# The fields of a result that carry advice (status's `blocked`, a rollback's `notes`), not
# data: a command's argv, its output or a path stays as it came, whatever it holds.
ADVICE: Final = frozenset({"blocked", "notes", "hint", "why", "next"})


def advice_in_tool_words(value: Any, *, advice: bool = False) -> Any:
    """A result's JSON with its advice (the ADVICE fields, at any depth) in_tool_words."""
    if isinstance(value, str):
        return in_tool_words(value) if advice else value
    if isinstance(value, list):
        return [advice_in_tool_words(item, advice=advice) for item in value]
    if isinstance(value, dict):
        return {
            key: advice_in_tool_words(item, advice=advice or key in ADVICE)
            for key, item in value.items()
        }
    return value


def _said(found: re.Match[str]) -> str:
    run, verb, rest = found.group(1), found.group(2), found.group(3)
    arguments = _arguments(verb, rest.split())
    if arguments is None:
        return found.group(0)
    call = f"the `{verb}` tool"
    if arguments:
        call += f" with {json.dumps(arguments, ensure_ascii=False)}"
    return f"call {call}" if run else call


def _arguments(verb: str, words: list[str]) -> dict[str, Any] | None:
    """The tool's arguments for the command line's `words`; None where a word is not one of
    its parameters (or no tool is the verb)."""
    spec = TOOLS.get(verb)
    if spec is None:
        return None
    params = spec.input_schema["properties"]
    arguments: dict[str, Any] = {}
    at = 0
    while at < len(words):
        word = words[at]
        if word == "--":  # the command: a placeholder (COMMAND) says nothing to pass
            command = [w for w in words[at + 1 :] if not _placeholder(w)]
            if "command" not in params:
                return None
            if command:
                arguments["command"] = command
            break
        if word == "--json":  # a tool's result is the JSON
            pass
        elif word.startswith("--"):
            name = word[2:].replace("-", "_")
            if name not in params:
                return None
            if params[name].get("type") == "boolean":
                arguments[name] = True
            else:
                at += 1
                if at >= len(words):
                    return None
                if not _placeholder(words[at]):
                    arguments[name] = words[at]
        elif word.startswith("-") or _POSITIONAL.get(verb) is None:
            return None  # a short option, a pipe, a word no parameter takes
        elif not _placeholder(word):
            arguments[_POSITIONAL[verb]] = word
        at += 1
    return arguments


def _placeholder(word: str) -> bool:
    """NAME, ID, COMMAND, red|green|refactor: what the reader fills in, not a value."""
    return word.isupper() or "|" in word
