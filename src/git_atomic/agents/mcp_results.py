"""An MCP tool call's answer (mcp_server.py): the CLI's JSON as a tool result, a failure's
one line (what failed, where the tree is), an error; and whether the arguments fit the tool's
schema. The SDK's types are imported only when an answer is made."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final, cast

from git_atomic.agents import CliResult
from git_atomic.agents.mcp_tools import ToolSpec
from git_atomic.agents.mcp_words import advice_in_tool_words, in_tool_words
from git_atomic.core.vocab import FailedPhase, OpStatus

if TYPE_CHECKING:
    import mcp_types

FAILED_PHASE: Final[dict[str, str]] = {
    FailedPhase.EXEC: "the command failed",
    FailedPhase.VALIDATE: "a gate failed",
    FailedPhase.TIMEOUT: "the command timed out",
    FailedPhase.INTERRUPT: "interrupted",
}


# Characters of a diff a result carries: about 15,000 tokens, under what clients pass on to the
# model (Claude Code refuses a result over 25,000), with room for the rest of the result.
DIFF_LIMIT: Final = 50_000
# Characters of a command's output a result carries: its end, where a build's or a test run's
# error is; with a diff's room left for the rest (a failed run has no diff, a show no output).
OUTPUT_LIMIT: Final = 20_000


_DIED: Final = "call status: an operation it left interrupted is finished with the `recover` tool"


def invalid(spec: ToolSpec, arguments: dict[str, Any]) -> str | None:
    """What is wrong with the arguments, all of it in one line; None when they fit the schema."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    problems = [
        (".".join(str(part) for part in found.absolute_path), _said(spec, found))
        for found in Draft202012Validator(spec.input_schema).iter_errors(arguments)
    ]
    return (
        "; ".join(f"{where}: {what}" if where else what for where, what in sorted(problems)) or None
    )


def _said(spec: ToolSpec, found: Any) -> str:
    """The schema's reason, with what a model needs to send it right the next time: the
    parameters there are, the form of a list it sent as one string."""
    if found.validator == "additionalProperties":
        return f"{found.message} (its parameters: {', '.join(spec.input_schema['properties'])})"
    if found.validator == "type" and found.validator_value == "array":
        if isinstance(found.instance, str) and list(found.absolute_path) == ["command"]:
            argv = '["sh", "-c", "LINE"]'
            return f"{found.message}: give the argv as a list, {argv} for a shell line"
        if isinstance(found.instance, str):
            return f'{found.message}: give a list, ["..."] for one'
    return str(found.message)


def outcome(spec: ToolSpec, result: CliResult) -> mcp_types.CallToolResult:
    """The CLI's answer as a tool result: its JSON, or an error with one line."""
    import mcp_types as types

    from git_atomic.core import jsontext

    # The CLI's JSON is Unicode already (names that are not UTF-8 as U+FFFD, their bytes under
    # `not_utf8`); a lone surrogate left anywhere would stop the SDK's writer, and the server.
    data = cast("dict[str, Any] | None", jsontext.clean(result.data))
    if data is None:
        # Killed, or a bug: what it was doing is for status to say, and recover to finish.
        after = "" if spec.read_only else f"; {_DIED}"
        return error(
            f"git-atomic {spec.name} exited {result.exit_code} without a JSON result: "
            f"{result.error_line}{after}"
        )
    if "error" in data:  # exit 2 or 3: nothing changed
        hint = _as_parameters(spec, str(data.get("hint") or ""))
        line = f"{data['error']}" + (f" ({hint})" if hint else "")
        if set(data) <= {"error", "hint", "exit_code"}:
            return error(line)
        # A refusal with details (a rollback's overlapping paths): the JSON follows the line.
        return error(line, _as_text(advice_in_tool_words(data)))
    said = advice_in_tool_words(data)
    structured = {**_bounded(said), **_output(spec, result), "exit_code": result.exit_code}
    if result.exit_code == 0:
        text = _as_text(structured)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=structured
        )
    line = failure_line(spec.name, data)
    # The line in the structured result too: Claude Code and VS Code give the model only
    # `structuredContent` where a result has one, and what failed was then for it to work out.
    structured["failure"] = line
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text=line),
            types.TextContent(type="text", text=_as_text(structured)),
        ],
        structured_content=structured,
        is_error=True,
    )


def _as_parameters(spec: ToolSpec, hint: str) -> str:
    """A hint that named the command line's `--wait` (a busy worktree), which no MCP client can
    pass, in the tool's words: its `wait` parameter, or calling again for a tool without one."""
    if "pass --wait" not in hint:
        return hint
    if "wait" in spec.input_schema.get("properties", {}):
        return hint.replace("pass --wait", "call again with wait: true")
    return hint.replace("or pass --wait", "then call again").replace("pass --wait", "call again")


def _bounded(data: dict[str, Any]) -> dict[str, Any]:
    """`show`'s diff cut at a line within DIFF_LIMIT, with what was left out."""
    diff = data.get("diff")
    if not isinstance(diff, str) or len(diff) <= DIFF_LIMIT:
        return data
    kept = diff[: diff.rfind("\n", 0, DIFF_LIMIT) + 1] or diff[:DIFF_LIMIT]
    cut = {"shown_chars": len(kept), "total_chars": len(diff)}
    return {**data, "diff": kept, "diff_truncated": cut}


def _output(spec: ToolSpec, result: CliResult) -> dict[str, Any]:
    """What the call's command printed: the CLI passes it on to its stderr, its stdout being
    the JSON, and it was dropped, so an agent saw its build's or tests' exit code and never
    their error. A long one is its end, from a line's start, and says how much of how much."""
    printed = result.stderr
    if "command" not in spec.input_schema["properties"] or not printed:
        return {}
    total = result.stderr_dropped + len(printed)
    if total <= OUTPUT_LIMIT:
        return {"output": printed}
    start = max(len(printed) - OUTPUT_LIMIT, 0)
    line = printed.find("\n", max(start - 1, 0), len(printed) - 1)  # a line that starts within
    kept = printed[line + 1 :] if line >= 0 else printed[start:]
    cut = {"shown_chars": len(kept), "total_chars": total}
    return {"output": kept, "output_truncated": cut}


def one_line(
    result: mcp_types.CallToolResult, arguments: Any, tool: str | None = None
) -> mcp_types.CallToolResult:
    """`result`, where it is an error, with each long value of the call's that its line echoes
    bounded (a 50 MB `repo` came back whole) and each control character in it written `\\xNN`
    (a `repo` or a name with a newline made the line two), and the CLI's advice (`git atomic
    recover`; `--whole` in a call of `rollback`) in the tools' words (mcp_words.py); its
    `failure`, and the JSON text that follows, say that same line."""
    import mcp_types as types

    from git_atomic.core.printable import bounding, given_strings, printable

    first = result.content[0] if result.content else None
    if result.is_error and isinstance(first, types.TextContent):
        said = bounding(in_tool_words(first.text, tool), list(given_strings(arguments)))
        first.text = printable(said)
        structured = result.structured_content
        if isinstance(structured, dict) and structured.get("failure") != first.text:
            structured["failure"] = first.text
            text = types.TextContent(type="text", text=_as_text(structured))
            result.content[1:2] = [text]
    return result


def _as_text(data: dict[str, Any]) -> str:
    """The result as the JSON text the model reads: a name past ASCII as it is (`日本語.txt`),
    not as escapes (`\\u65e5...`, an emoji as two surrogate escapes), which it cannot read."""
    return json.dumps(data, indent=1, ensure_ascii=False)


def failure_line(verb: str, data: dict[str, Any]) -> str:
    """One line saying what failed and where the tree is, for an exit-1 result."""
    why = _why(data)
    op = f"{data.get('name')} [{data.get('op_id')}]" if data.get("op_id") else verb
    tdd = data.get("tdd")
    if isinstance(tdd, dict) and tdd.get("untouched"):  # a phase that judged the tree as it was
        return f"{op}: {why}; nothing was changed"
    if data.get("status") == OpStatus.ROLLED_BACK:
        return f"{op} rolled back ({why}); the tree is as before; undo brings the changes back"
    return f"{op}: {why}"


def _why(data: dict[str, Any]) -> str:
    tdd = data.get("tdd")
    if isinstance(tdd, dict) and tdd.get("why"):
        return str(tdd["why"])
    for gate in data.get("gates") or ():
        verdict = gate.get("result", gate) if isinstance(gate, dict) else {}
        if isinstance(verdict, dict) and verdict.get("passed") is False:
            return f"gate {gate.get('name')} failed: {verdict.get('message') or 'no message'}"
    isolated = data.get("isolated")
    if isinstance(isolated, dict) and isolated.get("why"):
        return str(isolated["why"])
    return FAILED_PHASE.get(str(data.get("failed_phase")), "failed")


def error(message: str, *more: str) -> mcp_types.CallToolResult:
    import mcp_types as types

    from git_atomic.core.jsontext import readable

    texts = [types.TextContent(type="text", text=readable(text)) for text in (message, *more)]
    return types.CallToolResult(content=list(texts), is_error=True)
