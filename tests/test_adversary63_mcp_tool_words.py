"""The CLI's advice in a tool's words: a refusal that said "run `git atomic recover`" told a
client with no shell (one that gives the model only its tools) a command it could not run,
where the `recover` tool does it. Every `git atomic ...` the CLI's messages hold is said as a
tool call whose arguments fit that tool's schema, or left as it is where no tool does it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from git_atomic.agents.mcp_tools import TOOLS
from git_atomic.agents.mcp_words import in_tool_words
from testing.agents import Lines
from testing.gitrepo import GitRepo

SRC = Path(__file__).resolve().parents[1] / "src" / "git_atomic"


def _advice() -> set[str]:
    """Each `git atomic ...` in backquotes in the package's messages, its format fields filled
    as they are at run time (an operation id)."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if path.name.startswith("mcp_words"):
            continue
        for command in re.findall(r"`git atomic [a-z][^`\n]*`", path.read_text()):
            found.add(re.sub(r"\{[^}]*\}", "3f2a9c1e0b7d", command))
    assert len(found) > 20, found
    return found


@pytest.mark.parametrize("command", sorted(_advice()))
def test_each_command_the_cli_advises_is_a_tool_call_that_fits_its_schema(command: str) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    said = in_tool_words(f"x (run {command} to go on)")
    verb = command.split()[2].rstrip("`")
    if verb not in TOOLS or " | " in command:  # a terminal's command, a pipe
        assert said == f"x (run {command} to go on)", said
        return
    called = re.fullmatch(r"x \(call the `([a-z]+)` tool(?: with (\{.*\}))? to go on\)", said)
    assert called is not None and called.group(1) == verb, said
    import json

    arguments: dict[str, Any] = json.loads(called.group(2) or "{}")
    schema = {**TOOLS[verb].input_schema, "required": []}  # a placeholder: the reader's to give
    assert not list(Draft202012Validator(schema).iter_errors(arguments)), (command, arguments)
    assert "git atomic" not in said


def test_the_words_of_known_commands() -> None:
    cases = {
        "run `git atomic recover` to finish": "call the `recover` tool to finish",
        "(start one with `git atomic begin NAME`)": "(start one with the `begin` tool)",
        "or `git atomic rollback --to 3f2a -- a.txt b.txt`": (
            'or the `rollback` tool with {"to": "3f2a", "paths": ["a.txt", "b.txt"]}'
        ),
        "see `git atomic rollback --op 3f2a --whole --dry-run`": (
            'see the `rollback` tool with {"op": "3f2a", "whole": true, "dry_run": true}'
        ),
        "try `git atomic run -- make`": 'try the `run` tool with {"command": ["make"]}',
        "`git atomic show 3f2a --diff`": 'the `show` tool with {"id": "3f2a", "diff": true}',
        "`git atomic gc` then `git atomic status`": "`git atomic gc` then the `status` tool",
        "`git atomic log | head`": "`git atomic log | head`",
        "`git atomic rollback -g x`": "`git atomic rollback -g x`",
        "`git atomic rollback --nope`": "`git atomic rollback --nope`",
        "`git atomic status --json`": "the `status` tool",
    }
    for line, expected in cases.items():
        assert in_tool_words(line) == expected, line


def test_a_client_with_only_tools_is_told_the_tools_to_call(repo: GitRepo) -> None:
    """A `run` whose CLI process is killed (SIGKILL, the command killing its parent) leaves
    an interrupted operation: its result and the next call's refusal name the tools that
    finish it, not a command line; called as said, `recover` takes the tree back to PRE-OP
    and `begin` works again."""
    before = repo.path.joinpath("README").read_bytes() if repo.exists("README") else None
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "abort")
        text = _first_line(lines, 1)
        assert "the `begin` tool" in text and "git atomic" not in text, text
        lines.call(2, "run", command=["sh", "-c", "echo y > made.txt; kill -9 $PPID"])
        text = _first_line(lines, 2)
        assert "without a JSON result" in text and "the `recover` tool" in text, text
        lines.call(3, "begin", name="next")
        text = _first_line(lines, 3)
        assert "call the `recover` tool" in text and "git atomic" not in text, text
        lines.call(4, "recover")
        answer = lines.receive(60)
        assert answer is not None and answer["result"]["isError"] is False, answer
        lines.call(5, "begin", name="next")
        answer = lines.receive(60)
        assert answer is not None and answer["result"]["isError"] is False, answer
    finally:
        assert "Traceback" not in lines.close()
    assert not repo.exists("made.txt")
    if before is not None:
        assert repo.path.joinpath("README").read_bytes() == before


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _first_line(lines: Lines, ident: int) -> str:
    answer = lines.receive(60)
    assert answer is not None and answer["id"] == ident, answer
    assert answer["result"]["isError"] is True, answer
    text: str = answer["result"]["content"][0]["text"]
    return text


def test_status_says_the_way_out_in_tool_words(repo: GitRepo) -> None:
    """A merge left half way under an open operation: status's `blocked` and commit's refusal
    carry the way back, its `abort`, in the tools' words too, as the refusals do."""
    repo.diverged()
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "begin", name="work")
        assert (lines.receive(60) or {})["result"]["isError"] is False
        repo.git("merge", "side", check=False)  # conflicts: the merge stays in progress
        lines.call(2, "status")
        answer = lines.receive(60)
        assert answer is not None and answer["id"] == 2, answer
        blocked = answer["result"]["structuredContent"]["blocked"]
        assert "the `abort` tool" in blocked and "git atomic" not in blocked, blocked
        assert "git atomic abort" not in answer["result"]["content"][0]["text"], answer
        lines.call(3, "commit")
        text = _first_line(lines, 3)
        assert "the `abort` tool" in text and "git atomic" not in text, text
    finally:
        assert "Traceback" not in lines.close()


def test_advice_fields_are_said_as_tools_and_data_is_not() -> None:
    from git_atomic.agents.mcp_words import advice_in_tool_words

    data = {
        "blocked": "roll it back with `git atomic abort`",
        "notes": ["`git atomic undo` brings it back"],
        "command": {"argv": ["echo", "`git atomic abort`"]},
        "output": "`git atomic abort`\n",
        "recovery": {"notes": ["then `git atomic status`"]},
        "error": "refused",
        "hint": "see `git atomic show 3f2a --diff`",
    }
    assert advice_in_tool_words(data) == {
        "blocked": "roll it back with the `abort` tool",
        "notes": ["the `undo` tool brings it back"],
        "command": {"argv": ["echo", "`git atomic abort`"]},
        "output": "`git atomic abort`\n",
        "recovery": {"notes": ["then the `status` tool"]},
        "error": "refused",
        "hint": 'see the `show` tool with {"id": "3f2a", "diff": true}',
    }


def test_the_options_of_the_called_tool_are_its_parameters() -> None:
    said = in_tool_words(
        "rollback --to 3f2a: ask for it with --whole (--dry-run lists it), or with --op ID, "
        "or restore some paths: --to CHECKPOINT -- PATH...",
        "rollback",
    )
    assert said == (
        'rollback to: "3f2a": ask for it with whole: true (dry_run: true lists it), or with '
        "op, or restore some paths: to with paths"
    )
    begin = "set user.name to your name, or use --history shadow"
    assert in_tool_words(begin, "begin") == 'set user.name to your name, or use history: "shadow"'
    assert in_tool_words(begin, "rollback") == begin  # an option rollback does not take
    assert in_tool_words(begin) == begin
    kept = [
        "abort it (git merge --abort --whole), or stop",  # git's own command
        "`git atomic emergency --to COMMIT` saves it",  # no tool runs it
        "no operation named '--whole' or \"--op\"",  # a value the call gave, quoted
    ]
    for line in kept:
        assert in_tool_words(line, "rollback") == line, line


def test_a_rollback_to_a_whole_earlier_state_says_its_parameters(repo: GitRepo) -> None:
    """`rollback` `to` an earlier operation's checkpoint, neither `whole` nor `paths`: refused
    (nothing changed), its line naming the parameters that ask for each, not `--whole`."""
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "run", command=["sh", "-c", "echo x > x.txt"])
        answer = lines.receive(60)
        assert answer is not None and answer["result"]["isError"] is False, answer
        pre_op = answer["result"]["structuredContent"]["checkpoints"]["pre_op"]
        lines.call(2, "rollback", to=pre_op)
        text = _first_line(lines, 2)
        assert "whole: true" in text and "dry_run: true" in text, text
        assert "--" not in text, text
    finally:
        assert "Traceback" not in lines.close()
    assert repo.read("x.txt") == b"x\n"
