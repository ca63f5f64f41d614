"""Real MCP clients' quirks, driven as raw JSON-RPC lines: arguments in another JSON type than
the tool's inputSchema asks for, where they can mean only one thing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _answer(lines: Lines, ident: int) -> dict[str, Any]:
    while True:
        answer = lines.receive(60)
        assert answer is not None, f"no answer to {ident}"
        if answer.get("id") == ident:
            result: dict[str, Any] = answer["result"]
            return result


def _ok(lines: Lines, ident: int) -> dict[str, Any]:
    result = _answer(lines, ident)
    assert not result.get("isError"), result["content"][0]["text"]
    data: dict[str, Any] = result["structuredContent"]
    return data


def test_numbers_booleans_and_lists_written_as_strings_are_taken(repo: GitRepo) -> None:
    """Claude Code, OpenHands and local models' bridges send `"n": "1"` for a number, some a
    boolean as `"true"` and a list as its JSON text, one that fills every field `null` for
    those left out, another a digits-only id as a number: each was refused as a type error
    (`'1' is not of type 'integer'`) and the agent's call never ran."""
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(
            1,
            "run",
            command=json.dumps(["sh", "-c", "echo one > one.txt"]),
            timeout="30",
            isolate="false",
            name=None,
            history=None,
        )
        assert _ok(lines, 1)["status"] == "committed"
        lines.call(2, "begin", name="two", wait="False", history=None)
        assert _ok(lines, 2)["status"] == "open"
        repo.write("two.txt", b"two\n")
        lines.call(3, "commit", no_gates=" true ", gates=None)
        assert _ok(lines, 3)["status"] == "committed"
        lines.call(4, "log", n="1", status=None)
        assert [op["name"] for op in _ok(lines, 4)["operations"]] == ["two"]
        lines.call(5, "rollback", dry_run="true")
        assert _ok(lines, 5)["dry_run"] is True
        # An all-digits op id prefix, sent as a number: an unknown id, not a type error.
        lines.call(6, "show", id=1234)
        text = _answer(lines, 6)["content"][0]["text"]
        assert "1234" in text and "type" not in text, text
        # What cannot mean one thing is still refused, with the schema's reason.
        lines.call(7, "run", command="echo hi", timeout="soon", isolate="yes")
        result = _answer(lines, 7)
        text = result["content"][0]["text"]
        assert result["isError"] is True
        assert "'echo hi' is not of type 'array': give the argv as a list" in text, text
        assert "'soon' is not of type 'number'" in text and "'yes'" in text, text
        lines.call(8, "begin", name=None)  # a required parameter's null is no name
        assert "None is not of type 'string'" in _answer(lines, 8)["content"][0]["text"]
        # A parameter the tool has not, or a list sent as one string: what to send instead.
        lines.call(9, "commit", gate="make test", gates="make test")
        text = _answer(lines, 9)["content"][0]["text"]
        assert "'gate' was unexpected) (its parameters: gates, no_gates, all_gates, repo)" in text
        assert """gates: 'make test' is not of type 'array': give a list, ["..."] for one""" in text
    finally:
        stderr = lines.close()
    assert "Traceback" not in stderr, stderr
    assert repo.read("one.txt") == b"one\n" and repo.read("two.txt") == b"two\n"
    assert repo.atomic_json("status")["open"] is None


@pytest.mark.parametrize(
    ("given", "taken"),
    [
        ({"n": " 7 "}, {"n": 7}),
        ({"n": "2.0"}, {"n": 2.0}),  # JSON Schema's integer takes 2.0; the CLI gets `2`
        ({"n": True}, {"n": True}),  # a boolean is no number: refused
        ({"n": "NaN"}, {"n": "NaN"}),
        ({"n": "1e400"}, {"n": "1e400"}),  # no finite number
        ({"n": "0x10"}, {"n": "0x10"}),
        ({"name": 12}, {"name": "12"}),
        ({"name": 1.5}, {"name": 1.5}),  # `1.5` may have been `1.50`: refused
        ({"name": False}, {"name": False}),
        ({"status": None, "since": None}, {}),
        ({"n": "[" * 100_000}, {"n": "[" * 100_000}),  # too deep for any parser: as it came
    ],
)
def test_only_what_means_one_thing_is_converted(
    given: dict[str, Any], taken: dict[str, Any]
) -> None:
    from git_atomic.agents.mcp_coerce import lenient
    from git_atomic.agents.mcp_tools import TOOLS

    assert lenient(TOOLS["log"].input_schema, given) == taken


def test_a_list_as_its_json_text_is_a_list_of_strings() -> None:
    from git_atomic.agents.mcp_coerce import lenient
    from git_atomic.agents.mcp_tools import TOOLS

    schema = TOOLS["run"].input_schema
    assert lenient(schema, {"command": '["sleep", 5]'}) == {"command": ["sleep", "5"]}
    assert lenient(schema, {"command": "[1"}) == {"command": "[1"}  # no JSON: refused
    assert lenient(schema, {"command": '{"a": 1}'}) == {"command": '{"a": 1}'}
    assert lenient(schema, {"gates": '"x"'}) == {"gates": '"x"'}


def test_log_without_n_answers_the_newest_page_not_the_whole_trail(repo: GitRepo) -> None:
    """`log` with no `n` returned every operation the repository ever had: a long-lived
    repository's trail is megabytes, past what a client passes on (Claude Code refuses a tool
    result over 25,000 tokens), so the agent got nothing. It answers the newest LOG_PAGE, as
    the best servers page their lists, and `n` asks for more."""
    from git_atomic.agents.mcp_tools import LOG_PAGE

    for i in range(LOG_PAGE + 2):
        repo.atomic("run", "--no-gates", "--name", f"op{i}", "--", "true")
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "log")
        names = [op["name"] for op in _ok(lines, 1)["operations"]]
        assert names == [f"op{i}" for i in reversed(range(2, LOG_PAGE + 2))], names
        lines.call(2, "log", n=LOG_PAGE + 2)
        assert len(_ok(lines, 2)["operations"]) == LOG_PAGE + 2
    finally:
        stderr = lines.close()
    assert "Traceback" not in stderr, stderr


def test_a_huge_diff_is_cut_and_says_so(repo: GitRepo) -> None:
    """`show` with `diff` answered an operation's whole diff: a formatter's over a big tree is
    megabytes, past what a client passes on (Claude Code refuses a result over 25,000
    tokens), so the agent saw nothing. It is cut at a line, and `diff_truncated` says what
    was left out and where the whole is."""
    from git_atomic.agents.mcp_results import DIFF_LIMIT

    body = b"".join(b"line %06d of a big generated file\n" % i for i in range(20_000))
    ran = repo.atomic_json("begin", "big")
    repo.write("big.txt", body)
    repo.atomic("commit", "--no-gates")
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "show", id=ran["op_id"], diff=True)
        shown = _ok(lines, 1)
        lines.call(2, "show", id=ran["op_id"], stat=True)
        stat = _ok(lines, 2)
    finally:
        stderr = lines.close()
    assert "Traceback" not in stderr, stderr
    assert len(shown["diff"]) <= DIFF_LIMIT, len(shown["diff"])
    assert shown["diff"].endswith("\n")
    assert "+line 000000 of a big generated file\n" in shown["diff"]
    cut = shown["diff_truncated"]
    assert cut["shown_chars"] == len(shown["diff"]) and cut["total_chars"] > len(body)
    assert "big.txt" in stat["diff"] and "diff_truncated" not in stat
