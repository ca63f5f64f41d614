"""Peers' reports on taking an agent's turn back, round 4, played against git-atomic's turns
through real hook calls (Claude Code's and Gemini CLI's), the oracle the disk:

- zed-industries/zed#37623: re-sending a message restored the checkpoint and threw away the
  edit the user had saved in the same file after the agent's edit. Here the turn's effect is
  taken back and the user's later line stays; where the two touch the same lines, nothing
  changes and the command says why.
- zed-industries/zed#28676: a checkpoint restore could not be undone. Here `undo` brings the
  turn's result back, the user's later edit still there.
- anthropics/claude-code#34368: rewinding to a turn's step between the call that created a
  file and the one that deleted it did not bring the file back. Here the checkpoint of that
  step gives it back, bytes and all (`rollback --to CHECKPOINT -- PATH`).
- anthropics/claude-code#93045: a tracked `go.mod` (and an untracked file) deleted by a shell
  command was not restored by the rewind.
- anthropics/claude-code#94657, #87575 and #53548: edits made through the shell (a heredoc, a
  script, a chained `sed -i` that emptied a file) were not tracked, so a rewind left them.
- openai/codex#9203: the agent deleted files git did not track, which no undo could bring
  back. Here a failed turn and a kept turn taken back by `rollback --op` both bring them back.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from testing.agents import claude_hook, hook_answer, shell_turn
from testing.gitrepo import GitRepo

PASSING = b'[[gates]]\nname = "g"\nrun = "true"\n'


def _gate(repo: GitRepo, config: bytes = PASSING) -> None:
    repo.write(".git-atomic.toml", config)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")


def _commit(repo: GitRepo, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        repo.write(rel, data)
        repo.git("add", rel)
    repo.git("commit", "-qm", "files")


def _claude_call(repo: GitRepo, n: int, tool: str, args: dict[str, Any], act: Any) -> None:
    """The turn's `n`th call of `tool`: PreToolUse, `act()` (the tool's own work), PostToolUse."""
    call = {"tool_name": tool, "tool_input": args, "tool_use_id": f"t{n}"}
    assert claude_hook(repo, "s1", "PreToolUse", **call).stdout == ""
    act()
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})


def _write(repo: GitRepo, n: int, rel: str, data: bytes) -> None:
    args = {"file_path": str(repo.path / rel), "content": data.decode()}
    _claude_call(repo, n, "Write", args, lambda: repo.write(rel, data))


def _bash(repo: GitRepo, n: int, command: str) -> None:
    def act() -> None:
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)

    _claude_call(repo, n, "Bash", {"command": command}, act)


def _stop(repo: GitRepo) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    return answer


def _last_op(repo: GitRepo) -> str:
    op_id: str = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    return op_id


LINES = b"".join(b"line %d\n" % n for n in range(1, 9))


@pytest.mark.parametrize("where", ["far", "same line"])
def test_a_kept_turn_taken_back_keeps_the_edit_you_saved_after_it(
    repo: GitRepo, where: str
) -> None:
    """zed-industries/zed#37623 and #28676: the agent appends `robot` to example.txt through
    its `Edit` tool and the turn is kept; you then change the first line (far) or the last
    (the line beside the agent's). `rollback --op` takes `robot` back and keeps your line;
    where the lines touch, nothing changes (exit 3) and it says so. `undo` gives the turn's
    line back, yours still there."""
    _gate(repo)
    _commit(repo, {"example.txt": LINES})
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="append robot")
    edit = {"file_path": str(repo.path / "example.txt"), "old_string": "line 8\n"}
    _claude_call(
        repo,
        1,
        "Edit",
        {**edit, "new_string": "line 8\nrobot\n"},
        lambda: repo.write("example.txt", LINES + b"robot\n"),
    )
    assert _stop(repo).get("decision") != "block"
    assert repo.read("example.txt") == LINES + b"robot\n"
    op = _last_op(repo)
    old, new = (b"line 1\n", b"changed\n") if where == "far" else (b"line 8\n", b"changed 8\n")
    mine = (LINES + b"robot\n").replace(old, new)
    repo.write("example.txt", mine)
    ran = repo.atomic("rollback", "--op", op, check=None)
    if where == "same line":
        assert ran.returncode == 3, ran.stderr
        assert "overlap" in ran.stderr and "example.txt" in ran.stderr, ran.stderr
        assert repo.read("example.txt") == mine
        return
    assert ran.returncode == 0, ran.stderr
    assert repo.read("example.txt") == mine.replace(b"robot\n", b"")
    undone = repo.atomic("undo", check=None)
    assert undone.returncode == 0, undone.stderr
    assert repo.read("example.txt") == mine


def test_a_file_a_turn_made_then_deleted_comes_back_from_its_step(repo: GitRepo) -> None:
    """anthropics/claude-code#34368: the turn's first call writes `notes.md`, its second
    deletes it with `rm`. The turn's effect is nothing (`rollback` says so, changes nothing,
    and points at its steps' checkpoints: before, it said no more), and its first call's
    checkpoint holds the file: `rollback --to` it with the
    path brings `notes.md` back with the bytes its `Write` gave it, and `undo` deletes it
    again."""
    _gate(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="draft, then clean up")
    _write(repo, 1, "notes.md", b"draft\n")
    _bash(repo, 2, "rm notes.md")
    assert _stop(repo).get("decision") != "block"
    assert not repo.exists("notes.md")
    ran = repo.atomic("rollback", check=None)
    assert ran.returncode == 0 and "is not in the tree" in ran.stderr, ran.stderr
    assert "`git atomic rollback --to CHECKPOINT -- PATH`" in ran.stderr, ran.stderr
    assert not repo.exists("notes.md")
    [op] = repo.atomic_json("log")["operations"]
    first = op["checkpoints"]["op_exec"][0]
    ran = repo.atomic("rollback", "--to", first, "--", "notes.md", check=None)
    assert ran.returncode == 0, ran.stderr
    assert repo.read("notes.md") == b"draft\n"
    assert repo.atomic("undo", check=None).returncode == 0
    assert not repo.exists("notes.md")


def test_a_turns_shell_deletions_of_tracked_and_untracked_files_come_back(
    repo: GitRepo,
) -> None:
    """anthropics/claude-code#93045 and openai/codex#9203: a `Bash` call deletes the tracked
    `go.mod` and your untracked `data/` (never added to git); the gate fails, the turn is taken
    back: each file is back, bytes and modes. Kept, then `rollback --op`: the same."""
    _commit(repo, {"go.mod": b"module example.com/yul\n\ngo 1.22\n"})
    repo.write("data/run1.jsonl", b'{"a": 1}\n')
    repo.write("data/tool.sh", b"#!/bin/sh\necho hi\n", mode=0o755)
    answer = shell_turn(repo, "rm go.mod && rm -rf data && echo x > bad")
    assert answer.get("decision") == "block", answer
    assert repo.read("go.mod") == b"module example.com/yul\n\ngo 1.22\n"
    assert repo.read("data/run1.jsonl") == b'{"a": 1}\n'
    assert (repo.path / "data" / "tool.sh").stat().st_mode & 0o777 == 0o755
    _gate(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="clean the repository")
    _bash(repo, 1, "rm go.mod && rm -rf data")
    assert _stop(repo).get("decision") != "block"
    assert not repo.exists("data") and not repo.exists("go.mod")
    ran = repo.atomic("rollback", "--op", _last_op(repo), check=None)
    assert ran.returncode == 0, ran.stderr
    assert repo.read("go.mod") == b"module example.com/yul\n\ngo 1.22\n"
    assert repo.read("data/run1.jsonl") == b'{"a": 1}\n'
    assert (repo.path / "data" / "tool.sh").stat().st_mode & 0o777 == 0o755


SHELL_EDITS = [
    "cat > app.js <<'EOF'\nconst newName = 2;\nEOF",
    "python3 -c \"import pathlib; p = pathlib.Path('app.js'); "
    "p.write_text(p.read_text().replace('oldName', 'newName'))\"",
    "sed -i 's/oldName/newName/g' app.js && : > app.js && grep -c newName app.js || true",
]


@pytest.mark.parametrize("command", SHELL_EDITS, ids=["heredoc", "script", "sed then empty"])
def test_edits_made_through_the_shell_are_the_turns(repo: GitRepo, command: str) -> None:
    """anthropics/claude-code#94657, #87575 (auto mode edits through `Bash`) and #53548 (a
    chained `sed -i` that left the file empty): the turn's shell edits are taken back as its
    file tools' are, byte for byte, the tracked file and your untracked one alike."""
    before = b"const oldName = 1;\n// 1700 lines of work\n"
    _commit(repo, {"app.js": before})
    answer = shell_turn(repo, command + "\necho x > bad")
    assert answer.get("decision") == "block", answer
    assert repo.read("app.js") == before
    repo.git("rm", "-q", "--cached", "app.js")
    answer = shell_turn(repo, command + "\necho x > bad")
    assert answer.get("decision") == "block", answer
    assert repo.read("app.js") == before


def test_a_gemini_turn_that_deleted_untracked_files_is_taken_back(repo: GitRepo) -> None:
    """openai/codex#9203's report, on Gemini CLI: its `run_shell_command` deletes your
    untracked `out/` (files no git commit holds); the gate fails at AfterAgent and the turn
    is taken back: every file is back."""
    _gate(repo, b'[[gates]]\nname = "g"\nrun = "test -e out/a.txt"\n')
    repo.write("out/a.txt", b"a\n")
    repo.write("out/deep/b.bin", bytes(range(256)))
    session = {"session_id": "g1", "transcript_path": "/dev/null", "cwd": str(repo.path)}
    hook_answer(repo, "gemini", "BeforeAgent", {**session, "prompt": "tidy up"})
    call = {"tool_name": "run_shell_command", "tool_input": {"command": "rm -rf out"}}
    hook_answer(repo, "gemini", "BeforeTool", {**session, "hook_event_name": "BeforeTool", **call})
    subprocess.run(["rm", "-rf", "out"], cwd=repo.path, check=True)
    done = {"tool_response": {"llmContent": "done", "returnDisplay": "done"}}
    hook_answer(
        repo, "gemini", "AfterTool", {**session, "hook_event_name": "AfterTool", **call, **done}
    )
    hook_answer(
        repo, "gemini", "AfterAgent", {**session, "hook_event_name": "AfterAgent", "prompt": "x"}
    )
    assert repo.read("out/a.txt") == b"a\n"
    assert repo.read("out/deep/b.bin") == bytes(range(256))
