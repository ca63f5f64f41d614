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


# The tools that work on the operation `begin` opened, with no `history` of their own: the
# mode their refusal names (`use --history shadow`, no identity for commits mode) is begin's.
_OF_BEGUN: Final = frozenset({"checkpoint", "commit"})
_HISTORY: Final = re.compile(r"(?<![\w'\"`-])--history (shadow|commits)\b")


def in_tool_words(line: str, tool: str | None = None) -> str:
    """`line` with each `git atomic ...` a tool does said as that tool's call, and, where it
    answers a call of `tool`, each of the command line's options that tool takes as its
    parameter (`ask for it with --whole` is `with whole: true`), and `--history MODE` in
    answer to `checkpoint` or `commit` as the `begin` tool's parameter."""
    if "`git atomic " in line:
        line = _COMMAND.sub(_said, line)
    if tool in _OF_BEGUN and "--history " in line:
        line = _HISTORY.sub(lambda found: f'the `begin` tool\'s history: "{found[1]}"', line)
    if tool in TOOLS and " --" in line:
        line = _options_as_parameters(line, TOOLS[tool].input_schema["properties"])
    return line


# An option and the word after it; `-- PATH...`, the paths a command line ends with.
_OPTION: Final = re.compile(r"(?<![\w'\"-])--([a-z][a-z-]*)?(?: ([^\s,;:()-][^\s,;:()]*))?")


def _options_as_parameters(line: str, params: dict[str, Any]) -> str:
    """The options of the command the line answers, outside backquotes and outside the
    parentheses that give git's own command (`(git merge --abort)`), as parameters."""

    def said(found: re.Match[str]) -> str:
        option, word = found.group(1), found.group(2)
        if option is None:  # `-- PATH...`
            known = "paths" in params and word and _placeholder(word)
            return "with paths" if known else found[0]
        name = option.replace("-", "_")
        if name not in params:
            return found[0]
        after = f" {word}" if word else ""
        if params[name].get("type") == "boolean":
            return f"{name}: true{after}"
        if word is None or _placeholder(word):
            return name
        return f"{name}: {json.dumps(word, ensure_ascii=False)}"

    parts = line.split("`")
    for at in range(0, len(parts), 2):  # outside backquotes
        pieces = re.split(r"(\(git [^)]*\))", parts[at])
        parts[at] = "".join(p if p.startswith("(git ") else _OPTION.sub(said, p) for p in pieces)
    return "`".join(parts)


# The fields of a result that carry advice (status's `blocked`, a rollback's `notes`), not
# data: a command's argv, its output or a path stays as it came, whatever it holds.
ADVICE: Final = frozenset({"blocked", "notes", "hint", "why", "next", "error"})


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
        if word == "--":  # the command, or paths: a placeholder (COMMAND, PATH) says nothing
            after = [w for w in words[at + 1 :] if not _placeholder(w)]
            key = next((k for k in ("command", "paths") if k in params), None)
            if key is None:
                return None
            if after:
                arguments[key] = after
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
    """NAME, ID, COMMAND, PATH..., red|green|refactor: what the reader fills in, not a value."""
    return word.rstrip(".").isupper() or "|" in word
