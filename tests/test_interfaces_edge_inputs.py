"""The interfaces as their callers drive them: the MCP server's lines, what an error
echoes of its input, and the agent platforms' hook commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testing.agents import Lines
from testing.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def test_a_blank_line_is_skipped_unanswered_as_the_official_sdks_do(repo: GitRepo) -> None:
    """A blank line (`\\n`, `\\r\\n`, spaces) was answered with a parse error (-32700, id
    null) that no client asked for; the SDKs' own transports skip it."""
    lines = Lines(repo)
    try:
        lines.hello()
        for blank in ("", "\r", "  \t "):
            lines.send(blank)
        lines.send({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert lines.receive(10) == {"jsonrpc": "2.0", "id": 1, "result": {}}
        assert lines.receive(2) is None  # nothing else was answered
    finally:
        stderr = lines.close()
    assert "Traceback" not in stderr, stderr


HUGE = 100_000  # under the system's limit on one argument of a command line (128 KiB)


@pytest.mark.parametrize(
    "args",
    [
        ("show", "x" * HUGE),
        ("rollback", "--to", "x" * HUGE),
        ("log", "--status", "x" * HUGE),
        ("log", f"--status={'x' * HUGE}"),
        ("run", "--timeout", "x" * HUGE, "--", "true"),
        ("x" * HUGE,),
        ("status", "--" + "x" * HUGE),
    ],
)
def test_a_huge_argument_is_echoed_as_its_start_and_its_length(
    repo: GitRepo, args: tuple[str, ...]
) -> None:
    """A 100 KB argument came back whole in the error line (and in `--json`'s `error`)."""
    res = repo.atomic(*args, check=2)
    assert len(res.stderr) < 400, res.stderr[:400]
    assert res.stderr.startswith("git-atomic: ") and "xxxx… (1000" in res.stderr, res.stderr
    data = repo.atomic_json(*args, check=2)
    assert len(data["error"]) < 400 and " characters)" in data["error"], data["error"][:400]


def test_a_huge_mcp_argument_is_echoed_as_its_start_and_its_length(repo: GitRepo) -> None:
    """A 1 MB `repo`, `status` or tool name came back whole in the error; one too long for a
    command line was "cannot run git-atomic in REPO: Argument list too long"."""
    huge = "x" * 1_000_000
    lines = Lines(repo)
    try:
        lines.hello()
        lines.call(1, "status", repo="/tmp/" + huge)
        lines.call(2, "log", status=huge)
        lines.call(3, "show", id=huge)
        lines.call(4, "nosuch" + huge)
        answers = {}
        for _ in range(4):  # 4 MB of JSON read and answered: slow on a loaded 2-core machine
            answer = lines.receive(240)
            assert answer is not None
            answers[answer["id"]] = answer
    finally:
        stderr = lines.close()
    assert "Traceback" not in stderr, stderr[-2000:]
    texts = [answers[i]["result"]["content"][0]["text"] for i in (1, 2, 3)]
    texts.append(answers[4]["error"]["message"])
    for text in texts:
        assert len(text) < 400, text[:400]
    assert all(answers[i]["result"]["isError"] for i in (1, 2, 3))
    assert "xxxx… (1000005 characters): File name too long" in texts[0], texts[0]
    assert "xxxx… (1000000 characters)' is not one of" in texts[1], texts[1]
    assert "an argument is too long for a command line (the longest: 1000000" in texts[2]
    assert texts[3].startswith("unknown tool 'nosuchxxx") and "(1000006 characters)'" in texts[3]


def test_a_hook_answer_bounds_a_huge_payload_value_and_stays_valid_json() -> None:
    """What a hook answers its platform: each string of its JSON answer that echoes a long value
    of the payload's is bounded, and the answer is still JSON."""
    from git_atomic.commands.agents import _bounded_answer

    path = 'dir/"quoted"\\' + "p" * 5000
    answer = json.dumps({"systemMessage": f"this Write: {path} call is not protected: busy"})
    bounded = json.loads(_bounded_answer(answer + "\n", [path]))
    said = bounded["systemMessage"]
    assert said.startswith('this Write: dir/"quoted"\\ppp') and "… (5013 characters) call" in said
    assert len(said) < 200, said
    assert _bounded_answer("plain " + path, [path]).endswith("… (5013 characters)")


# Each platform's hook command and a tool event of it, as its reference gives them.
TOOL_EVENTS = {
    "claude-code": ("PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "make"}}),
    "codex": ("PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "make"}}),
    "openhands": ("PreToolUse", {"tool_name": "terminal", "tool_input": {"command": "make"}}),
    "gemini": ("BeforeTool", {"tool_name": "run_shell_command", "tool_input": {"command": "x"}}),
    "cursor": ("preToolUse", {"tool_name": "Shell", "tool_input": {"command": "make"}}),
    "copilot": ("preToolUse", {"toolName": "bash", "toolArgs": '{"command": "make"}'}),
}
# What a quiet answer on stdout is for each (Cursor's permission events answer with theirs).
QUIET_STDOUT: dict[str, object] = {"cursor": {}}


def hook(
    repo: GitRepo, target: str, event: str, payload: dict[str, object], **env: str
) -> subprocess.CompletedProcess[str]:
    """`git-atomic hook TARGET EVENT` as the platform runs it: the payload on stdin, in the
    project's folder."""
    return subprocess.run(
        [sys.executable, "-m", "git_atomic", "hook", target, event],
        input=json.dumps(payload),
        cwd=repo.path,
        env={**repo.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("target", sorted(TOOL_EVENTS))
def test_a_cwd_too_long_for_a_path_is_no_folder_not_an_internal_error(
    repo: GitRepo, target: str
) -> None:
    """A payload's `cwd` longer than a path may be (ENAMETOOLONG from stat) was an internal
    error with a traceback's log, where a cwd that is no folder is quietly the project's."""
    event, fields = TOOL_EVENTS[target]
    payload = {"session_id": "s", "hook_event_name": event, "cwd": "/tmp/" + "d" * 5000}
    res = hook(repo, target, event, {**payload, **fields})
    assert res.returncode == 0, res
    assert "internal error" not in res.stdout + res.stderr, (res.stdout[:300], res.stderr[:300])
    assert json.loads(res.stdout or "{}") in ({}, QUIET_STDOUT.get(target, {})), res.stdout


def test_an_index_that_stages_missing_objects_is_named_with_its_paths_and_the_way_out(
    repo: GitRepo,
) -> None:
    """`git update-index --cacheinfo` of objects the repository does not have: git reads that
    index, but cannot write a tree of it. It was refused as "git cannot read the index", naming
    one path at most and no way out."""
    for oid, path in (("12" * 20, "f"), ("34" * 20, "dir/g")):
        repo.git("update-index", "--add", "--cacheinfo", f"100644,{oid},{path}")
    index = repo.path / ".git" / "index"
    before = index.read_bytes()
    res = repo.atomic("run", "--", "true", check=3)
    assert "git cannot read the index" not in res.stderr, res.stderr
    assert "the index stages 2 object(s) the repository does not have (dir/g, f)" in res.stderr
    assert "`git rm --cached -- dir/g f`" in res.stderr, res.stderr
    assert index.read_bytes() == before  # nothing changed
    repo.git("rm", "-q", "--cached", "--", "dir/g", "f")  # the way out it gave
    repo.atomic("run", "--", "true", check=0)


def test_a_command_that_exits_0_but_leaves_an_index_no_checkpoint_holds_is_not_said_to_fail(
    repo: GitRepo,
) -> None:
    """Rolled back "(the command exited with status 0)": as if 0 were a failure. The summary
    says it exited 0 and left what no checkpoint can hold; the line before says what."""
    stage = f"git update-index --add --cacheinfo 100644,{'56' * 20},ghost.txt"
    res = repo.atomic("run", "--", "sh", "-c", stage, check=1)
    assert "exited with status 0" not in res.stderr, res.stderr
    assert "left an index git cannot write a tree of" in res.stderr, res.stderr
    assert "the command exited 0, but left a state no checkpoint can hold" in res.stderr
    assert repo.git("ls-files", "--", "ghost.txt") == ""  # rolled back
