"""Claude Code hooks, end to end: the installed hook commands fed Claude Code's payloads.

The payloads are shaped as Claude Code documents them (docs/agents.md); a small dispatcher
plays Claude Code's part: for each event it runs every installed command whose matcher fits the
tool, as a real process, several at once for parallel tool calls. Each agent turn is judged on
its own effect: what others do between its calls is never taken back.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from git_atomic.agents import turnsteps
from git_atomic.agents.claude_code import handle
from git_atomic.agents.claude_settings import FILE_TOOL_PATTERN, desired_hooks
from git_atomic.agents.turnstate import Record
from git_atomic.commands.agents import hook_event
from testing.gitrepo import GitRepo, command_line
from testing.signing import fake_signing, signed

SESSION = "3f6c2a1e-8b7d-4c55-9e0a-1b2c3d4e5f60"
OTHER = "9b1d7c40-0000-4c55-9e0a-aaaaaaaaaaaa"
OP_NAME = "claude-code-turn-3f6c2a1e"

CHECK_APP = b"""\
import pathlib, sys
text = pathlib.Path("app.py").read_text()
if "BUG" in text:
    lines = [line.strip() for line in text.splitlines()]
    print("check_app: app.py still contains BUG on line", lines.index("BUG") + 1)
    sys.exit(1)
print("check_app: ok")
"""
CHECK_LIB = b"""\
import pathlib, sys
sys.exit(1 if "BUG" in pathlib.Path("lib.py").read_text() else 0)
"""


def common(event: str, session: str = SESSION) -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": f"/home/dev/.claude/projects/-work-app/{session}.jsonl",
        "cwd": "{cwd}",
        "permission_mode": "default",
        "hook_event_name": event,
    }


def tool_call(
    name: str, tool_input: dict[str, Any], n: int, session: str = SESSION
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The PreToolUse and PostToolUse payloads of one tool call."""
    pre = {
        **common("PreToolUse", session),
        "tool_name": name,
        "tool_input": tool_input,
        "tool_use_id": f"toolu_01A{n:04d}{session[:4]}",
    }
    post = {**pre, "hook_event_name": "PostToolUse", "tool_response": {"success": True}}
    return pre, post


def stop(*, active: bool = False, session: str = SESSION) -> dict[str, Any]:
    return {**common("Stop", session), "stop_hook_active": active}


def prompt(text: str, session: str = SESSION) -> dict[str, Any]:
    return {**common("UserPromptSubmit", session), "prompt": text}


@dataclass(frozen=True)
class Answer:
    event: str
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data


Step = tuple[tuple[dict[str, Any], dict[str, Any]], Callable[[], None]]


class ClaudeCode:
    """Plays Claude Code's part: runs the installed hook commands for each payload."""

    def __init__(self, repo: GitRepo, *, project: Path | None = None) -> None:
        settings = json.loads((repo.path / ".claude" / "settings.json").read_text())
        self.hooks: dict[str, list[dict[str, Any]]] = settings["hooks"]
        self.project = project or repo.path
        self.env = {**repo.env, "CLAUDE_PROJECT_DIR": str(self.project)}

    def send(self, payload: dict[str, Any], *, cwd: Path | None = None) -> list[Answer]:
        where = json.dumps(str(cwd or self.project))
        payload = json.loads(json.dumps(payload).replace('"{cwd}"', where))
        event = payload["hook_event_name"]
        answers = []
        for group in self.hooks.get(event, []):
            matcher = group.get("matcher", "")
            if matcher not in ("", "*") and not re.fullmatch(matcher, payload["tool_name"]):
                continue
            for handler in group["hooks"]:
                answers.append(self._run(event, handler["command"], payload))
        return answers

    def _run(self, event: str, command: str, payload: dict[str, Any]) -> Answer:
        argv = shlex.split(command)
        argv = argv[: argv.index("||")] if "||" in argv else argv  # (the guard: no git-atomic)
        assert argv[:3] == ["git-atomic", "hook", "claude-code"], command
        # The console script of this checkout: the same code, whatever is on PATH.
        data = json.dumps(payload).encode()
        proc = command_line(argv[1:], self.project, self.env, data, 300)
        return Answer(event, proc.returncode, proc.stdout, proc.stderr)

    def turn(self, steps: list[Step], *, cwd: Path | None = None) -> list[Answer]:
        """Each step: the tool call's payloads, and what the tool does to the tree."""
        answers = []
        for (pre, post), act in steps:
            answers += self.send(pre, cwd=cwd)
            act()
            answers += self.send(post, cwd=cwd)
        return answers

    def parallel(self, payloads: list[dict[str, Any]]) -> list[Answer]:
        """Several hook calls at once, as Claude Code sends them for parallel tool calls."""
        with ThreadPoolExecutor(len(payloads)) as pool:
            return [a for answers in pool.map(self.send, payloads) for a in answers]


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[GitRepo]:
    repo = GitRepo.create(tmp_path / "app", tmp_path / "home")
    repo.write("app.py", b"def answer():\n    return 41\n")
    repo.write("lib.py", b"VALUE = 1\n")
    repo.write("check_app.py", CHECK_APP)
    repo.write("check_lib.py", CHECK_LIB)
    repo.write(
        ".git-atomic.toml",
        f'[[gates]]\nname = "check"\nrun = "{sys.executable} -S check_app.py"\n'
        f'[[gates]]\nname = "lib"\nrun = "{sys.executable} -S check_lib.py"\n'.encode(),
    )
    repo.atomic("hooks", "install", "claude-code", check=0)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "app, its checks, git-atomic hooks")
    yield repo


def edit(repo: GitRepo, n: int, new: str, *, file: str = "app.py", session: str = SESSION) -> Step:
    path = repo.path / file
    payloads = tool_call(
        "Edit", {"file_path": str(path), "old_string": "x", "new_string": new}, n, session
    )
    if file == "app.py":
        return payloads, lambda: repo.write(file, f"def answer():\n    {new}\n".encode())
    return payloads, lambda: repo.write(file, f"{new}\n".encode())


def bash(repo: GitRepo, n: int, command: str, act: Callable[[], None], **extra: Any) -> Step:
    return tool_call("Bash", {"command": command, **extra}, n), act


def post_op(repo: GitRepo) -> str:
    """The POST-OP checkpoint of the one operation recorded."""
    [op] = ops(repo)
    sha: str = repo.atomic_json("show", op["op_id"])["checkpoints"]["post_op"]
    return sha


def ops(repo: GitRepo) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = repo.atomic_json("log")["operations"]
    return operations


# --- one session ------------------------------------------------------------------------------


def test_a_passing_turn_is_one_committed_operation_and_leaves_history_alone(
    repo: GitRepo,
) -> None:
    claude = ClaudeCode(repo)
    head = repo.head()
    assert claude.send(prompt("make it 42")) == [Answer("UserPromptSubmit", 0, "", "")]
    read = tool_call("Read", {"file_path": str(repo.path / "app.py")}, 1)
    notes = bash(repo, 3, "printf 'notes\\n' > NOTES.md", lambda: repo.write("NOTES.md", b"n\n"))
    answers = claude.turn([(read, lambda: None), edit(repo, 2, "return 42"), notes])
    answers += claude.send(stop())

    assert [(a.event, a.exit_code, a.stdout) for a in answers[:-1]] == [
        ("PreToolUse", 0, ""),
        ("PostToolUse", 0, ""),
        ("PreToolUse", 0, ""),
        ("PostToolUse", 0, ""),
    ]  # the Read call ran no hook; tool calls are silent
    final = answers[-1].json()
    assert "decision" not in final and "kept as operation" in final["systemMessage"]
    [op] = ops(repo)
    assert (op["name"], op["status"], op["history"]) == (OP_NAME, "committed", "shadow")
    assert [g["name"] for g in op["gates"]] == ["check", "lib"]
    assert repo.head() == head  # shadow: the turn's result stays in the working tree
    assert repo.read("app.py").endswith(b"return 42\n") and repo.exists("NOTES.md")
    assert repo.atomic_json("status")["open"] is None
    # Its steps, written into the journal at once: numbered in order, each ref naming its sha.
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    with db:
        rows = db.execute(
            "SELECT seq, kind, sha, ref FROM checkpoints WHERE op_id=? ORDER BY seq",
            (op["op_id"],),
        ).fetchall()
    db.close()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 5
    kinds = [r[1] for r in rows]
    assert kinds[0] == "pre_op" and kinds[-1] == "post_op"
    assert set(kinds[1:-1]) == {"op_exec"}
    for _, _, sha, ref in rows:
        assert repo.git("rev-parse", ref).strip() == sha


def test_a_failing_turn_is_rolled_back_and_the_agent_told_with_the_gates_output(
    repo: GitRepo,
) -> None:
    claude = ClaudeCode(repo)
    before = repo.fingerprint()
    claude.turn([edit(repo, 1, "BUG")])
    [answer] = claude.send(stop())

    out = answer.json()
    assert out["decision"] == "block"  # Claude keeps working, with the reason as instruction
    assert "gate 'check' failed" in out["reason"] and "rolled back" in out["reason"]
    assert "check_app: app.py still contains BUG on line 2" in out["reason"]
    assert "rolled back" in out["systemMessage"]
    assert repo.fingerprint().diff(before) == []
    [op] = ops(repo)
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "validate")

    # Claude goes on (stop_hook_active), fixes it, and this time the gates pass.
    claude.turn([edit(repo, 2, "return 42")])
    [answer] = claude.send(stop(active=True))
    assert "decision" not in answer.json() and "kept as operation" in answer.json()["systemMessage"]


def test_a_retry_that_fails_again_still_tells_the_model_in_a_field_it_reads(
    repo: GitRepo,
) -> None:
    claude = ClaudeCode(repo)
    before = repo.fingerprint()
    claude.turn([edit(repo, 1, "BUG")])
    [answer] = claude.send(stop(active=True))

    out = answer.json()
    assert out["decision"] == "block"  # `reason` is what the model reads
    assert "rolled back" in out["reason"] and "Do not change files again" in out["reason"]
    assert repo.fingerprint().diff(before) == []
    # It obeys: the next stop finds a turn that changed nothing, and says nothing.
    assert claude.send(stop(active=True)) == [Answer("Stop", 0, "", "")]


def test_a_read_only_turn_on_failing_work_in_progress_is_not_judged(repo: GitRepo) -> None:
    repo.write("app.py", b"def answer():\n    BUG\n")  # the user's own WIP fails the check
    claude = ClaudeCode(repo)
    status = bash(repo, 1, "git status", lambda: None)
    listing = bash(repo, 2, "ls", lambda: None)
    answers = claude.turn([status, listing]) + claude.send(stop())

    assert all(a.stdout == "" for a in answers), answers  # Stop prints nothing
    assert repo.read("app.py") == b"def answer():\n    BUG\n"
    assert ops(repo) == []


def test_a_gate_that_already_failed_where_the_turn_started_does_not_fail_it(
    repo: GitRepo,
) -> None:
    repo.write("app.py", b"def answer():\n    BUG\n")  # the user's WIP: `check` fails
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 2", file="lib.py")])
    [answer] = claude.send(stop())
    out = answer.json()
    assert "decision" not in out and "kept" in out["systemMessage"]
    assert repo.read("lib.py") == b"VALUE = 2\n"
    # What the record says of it: a gate failed, and why the turn was kept all the same.
    said = "gate check failed, as where the turn started"
    assert said in repo.atomic("log", "-n", "1", check=0).stdout
    [op] = ops(repo)
    shown = repo.atomic("show", op["op_id"], check=0).stdout
    assert f"status    kept: {said}; the result is final" in shown, shown  # shadow: kept

    # Breaking a gate that passed there is the turn's doing: only its own change goes.
    claude.turn([edit(repo, 2, "BUG", file="lib.py")])
    [answer] = claude.send(stop())
    out = answer.json()
    assert out["decision"] == "block" and "gate 'lib' failed" in out["reason"]
    assert "'check' fails without this turn's changes too" in out["reason"]
    assert repo.read("lib.py") == b"VALUE = 2\n"
    assert repo.read("app.py") == b"def answer():\n    BUG\n"  # the user's WIP stays


def test_a_later_file_tool_call_notes_its_file_and_takes_no_checkpoint(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Once the turn has a step, a file tool's PreToolUse and PostToolUse take no checkpoint:
    they note the file it names, before and after (issue 17); the step is written at the
    turn's end, from one capture. The step is the same: the tool's change alone is taken back;
    what the user wrote while the tool ran stays; undo brings the turn's changes back."""
    claude = ClaudeCode(repo)
    before = repo.read("app.py")
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), act = edit(repo, 2, "BUG")
    traces = {event: tmp_path / f"{event}.trace" for event in ("pre", "post")}
    claude.env["GIT_TRACE"] = str(traces["pre"])
    claude.send(pre)
    act()
    repo.write("notes.txt", b"mine\n")  # the user, while the tool runs
    claude.env["GIT_TRACE"] = str(traces["post"])
    claude.send(post)
    del claude.env["GIT_TRACE"]
    # (a call that runs no git at all writes no trace: discovery's answers were kept)
    ran = {e: traces[e].read_text() if traces[e].exists() else "" for e in traces}
    scans = {e: ran[e].count("status --porcelain=v2") for e in traces}
    assert scans == {"pre": 0, "post": 0}, scans

    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == before and repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.read("notes.txt") == b"mine\n"
    repo.atomic("undo", check=0)
    assert repo.read("app.py") == b"def answer():\n    BUG\n"
    assert repo.read("lib.py") == b"VALUE = 3\n" and repo.read("notes.txt") == b"mine\n"


def write_call(repo: GitRepo, n: int, file: str, data: bytes) -> Step:
    payloads = tool_call("Write", {"file_path": str(repo.path / file), "content": "x"}, n)
    return payloads, lambda: repo.write(file, data)


TEXT = b"".join(b"line %d\n" % i for i in range(1, 21))


def _turn_on_a_doc(repo: GitRepo) -> ClaudeCode:
    """`doc.txt` (TEXT) committed, and a turn whose first call (captured) puts BUG in app.py."""
    repo.write("doc.txt", TEXT)
    repo.git("add", "doc.txt")
    repo.git("commit", "-q", "-m", "doc")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    return claude


def test_file_tool_steps_noted_without_captures_take_back_only_the_turns_changes(
    repo: GitRepo,
) -> None:
    """Later file tool calls' steps are written at the turn's end (no capture at their hooks):
    new files in new folders, the same file written twice with the user's edit between (in
    another part of it), a file the user changed while a tool wrote another. The turn fails:
    exactly the tool's changes go, byte for byte; undo brings them back."""
    repo.write("doc.txt", TEXT)
    repo.git("add", "doc.txt")
    repo.git("commit", "-q", "-m", "doc")
    claude = ClaudeCode(repo)
    ours = TEXT.replace(b"line 2\n", b"line 2 by the agent\n")
    again = ours.replace(b"line 3\n", b"line 3 by the agent\n")
    users = ours.replace(b"line 18\n", b"line 18 by the user\n")
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])  # the first step: captured
    claude.turn([write_call(repo, 2, "pkg/deep/new.py", b"NEW = 1\n")])
    claude.turn([write_call(repo, 3, "doc.txt", ours)])
    repo.write("doc.txt", users)  # the user, between the calls, in another hunk
    repo.write("mine.txt", b"the user's\n")
    (pre, post), _ = write_call(repo, 4, "doc.txt", b"")
    claude.send(pre)
    repo.write("doc.txt", users.replace(b"line 3\n", b"line 3 by the agent\n"))
    repo.write("notes.md", b"the user's, while the tool ran\n")  # not the tool's file
    claude.send(post)
    claude.turn([edit(repo, 5, "BUG")])
    [answer] = claude.send(stop())

    assert answer.json()["decision"] == "block"
    assert not os.path.lexists(repo.path / "pkg")  # the new folders go with the new file
    assert repo.read("doc.txt") == TEXT.replace(b"line 18\n", b"line 18 by the user\n")
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.read("mine.txt") == b"the user's\n"
    assert repo.read("notes.md") == b"the user's, while the tool ran\n"
    repo.atomic("undo", check=0)
    assert repo.read("pkg/deep/new.py") == b"NEW = 1\n"
    assert repo.read("doc.txt") == again.replace(b"line 18\n", b"line 18 by the user\n")
    assert repo.read("app.py") == b"def answer():\n    BUG\n"
    assert repo.read("lib.py") == b"VALUE = 3\n"
    assert repo.read("notes.md") == b"the user's, while the tool ran\n"


def test_a_noted_steps_last_checkpoint_is_what_was_on_disk_at_the_turns_end(
    repo: GitRepo,
) -> None:
    """The turn's POST-OP is a capture of the worktree at its end, the user's edits between
    its calls included: restoring it by name gives the whole state back."""
    claude = ClaudeCode(repo)
    claude.turn([write_call(repo, 1, "one.py", b"ONE = 1\n")])
    claude.turn([write_call(repo, 2, "two.py", b"TWO = 2\n")])
    repo.write("mine.txt", b"the user's\n")
    claude.turn([write_call(repo, 3, "three.py", b"THREE = 3\n")])
    [answer] = claude.send(stop())
    assert "decision" not in answer.json()
    post = post_op(repo)
    files = repo.git("ls-tree", "-r", "--name-only", f"{post}:files").split()
    assert {"one.py", "two.py", "three.py", "mine.txt"} <= set(files)
    for name in ("one.py", "two.py", "three.py", "mine.txt"):
        assert repo.git("cat-file", "blob", f"{post}:files/{name}").encode() == repo.read(name)


def test_a_new_file_git_ignores_is_the_turns_only_when_protected(repo: GitRepo) -> None:
    """A file tool writing a file git ignores: as with a capture, not the turn's (it stays
    when the turn is taken back), unless the configuration protects it: then the window takes
    its capture, which holds it, and it goes with the turn."""
    repo.write(".gitignore", b"build/\n.env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-q", "-m", "ignore")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    claude.turn([write_call(repo, 2, "build/out.txt", b"built\n")])
    claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("build/out.txt") == b"built\n"  # ignored: not the turn's
    assert repo.read("lib.py") == b"VALUE = 1\n"

    config = repo.read(".git-atomic.toml") + b'protect = [".env"]\n'
    repo.write(".git-atomic.toml", b'protect = [".env"]\n' + repo.read(".git-atomic.toml"))
    assert config  # the key goes first: a top-level key after a table would be the table's
    repo.git("commit", "-q", "-am", "protect .env")
    claude.turn([edit(repo, 4, "VALUE = 3", file="lib.py")])
    claude.turn([write_call(repo, 5, ".env", b"SECRET=1\n")])
    claude.turn([edit(repo, 6, "BUG")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert not repo.exists(".env")  # protected: held, and the turn's
    assert repo.read("lib.py") == b"VALUE = 1\n"


def test_a_file_tools_folder_made_a_link_while_it_ran_takes_the_capture(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A folder on the way to the tool's file became a link to outside the worktree while the
    tool ran: the file cannot be noted again, so the window takes its capture (which holds the
    link as a link). The link is not the file the tool named, so not the turn's: it stays, and
    nothing outside is written or removed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "new.py").write_bytes(b"outside\n")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), _ = write_call(repo, 2, "pkg/new.py", b"")
    claude.send(pre)
    os.symlink(outside, repo.path / "pkg")
    claude.send(post)
    claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert os.readlink(repo.path / "pkg") == str(outside)
    assert (outside / "new.py").read_bytes() == b"outside\n"
    assert sorted(os.listdir(outside)) == ["new.py"]
    assert repo.read("lib.py") == b"VALUE = 1\n"


@pytest.mark.parametrize("first", [True, False], ids=["first-call", "later-call"])
def test_a_file_tool_writing_a_hard_link_changes_its_other_names_too(
    repo: GitRepo, first: bool
) -> None:
    """Peers (rsnapshot#344, backintime#994): a file of two names is one file. A file tool
    writes into `a.txt`, which `b.txt` is a hard link to: `b.txt` changes too. The call's
    step claimed `a.txt` alone (and, as a later call, noted only it), so the turn's rollback
    left `b.txt` with the agent's bytes; the call is now one that may change anything."""
    repo.write("a.txt", b"shared\n")
    os.link(repo.path / "a.txt", repo.path / "b.txt")
    repo.git("add", "a.txt", "b.txt")
    repo.git("commit", "-q", "-m", "two names")
    claude = ClaudeCode(repo)
    if not first:
        claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), _ = write_call(repo, 2, "a.txt", b"")
    claude.send(pre)
    with open(repo.path / "a.txt", "wb") as fh:  # in place, as Claude Code's tools write
        fh.write(b"the agent's\n")
    repo.write("mine.txt", b"the user's\n")  # the user, while the tool runs
    claude.send(post)
    claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("a.txt") == b"shared\n" and repo.read("b.txt") == b"shared\n"
    assert repo.read("lib.py") == b"VALUE = 1\n"
    repo.atomic("undo", check=0)
    assert repo.read("a.txt") == b"the agent's\n" and repo.read("b.txt") == b"the agent's\n"


def _leave_a_ref_uncounted(repo: GitRepo) -> None:
    """What a hook killed (a platform's timeout) between a checkpoint's ref and the write of
    the turn's record leaves: the turn's next ref, which the record does not count."""
    [slot] = (repo.path / ".git" / "atomic" / "turns").glob("*/*.json")
    record = json.loads(slot.read_text())
    ref = f"refs/atomic/turns/{record['op_id']}/{record['refs'] + 1:03d}-before"
    repo.git("update-ref", ref, "HEAD")


@pytest.mark.parametrize("where", ["shell-call", "file-tool-calls"])
def test_a_ref_a_killed_hook_left_does_not_unprotect_the_rest_of_the_turn(
    repo: GitRepo, where: str
) -> None:
    """The turn's next checkpoint took the name of that ref again and failed: every later call
    of the turn was "not protected", and its failing Stop could not take the turn's changes
    back ("they overlap with later changes"). The turn's refs are now counted past it."""
    repo.write("doc.txt", TEXT)
    repo.git("add", "doc.txt")
    repo.git("commit", "-q", "-m", "doc")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    _leave_a_ref_uncounted(repo)
    ours = TEXT.replace(b"line 2\n", b"line 2 by the agent\n")
    if where == "shell-call":
        steps = [bash(repo, 2, "sed", lambda: repo.write("doc.txt", ours))]
    else:  # noted without captures; their steps are written at the turn's end
        steps = [write_call(repo, 2, "doc.txt", ours), edit(repo, 3, "BUG")]
    answers = claude.turn(steps)
    assert not any("not protected" in a.stdout + a.stderr for a in answers), answers
    if where == "shell-call":
        claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    out = answer.json()
    assert out["decision"] == "block" and "rolled back" in out["reason"], out
    assert repo.read("doc.txt") == TEXT and repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"


# Holds the worktree's lock (as another session's Stop running its gates) until argv[2] appears.
HOLD_LOCK = (
    "import os, sys, time; from pathlib import Path; "
    "from git_atomic.core.lock import WorktreeLock; "
    "lock = WorktreeLock(Path(sys.argv[1])); lock.acquire('hook: the end of a turn'); "
    "Path(sys.argv[2] + '.held').touch(); "
    "[time.sleep(0.01) for _ in iter(lambda: os.path.exists(sys.argv[2]), True)]; lock.release()"
)


def held_lock(repo: GitRepo, go: Path) -> subprocess.Popen[bytes]:
    """A process holding `repo`'s worktree lock (HOLD_LOCK) until the file `go` appears."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(repo.path / ".git" / "atomic.lock"), str(go)],
        env=repo.env,
    )
    while not Path(str(go) + ".held").exists():
        assert holder.poll() is None
        time.sleep(0.01)
    return holder


@pytest.mark.parametrize("first", [True, False], ids=["first-call", "later-call"])
def test_a_call_whose_hook_was_killed_before_its_checkpoint_is_named_unprotected(
    repo: GitRepo, tmp_path: Path, first: bool
) -> None:
    """A PreToolUse hook killed (a platform's timeout) while it waited for the worktree's lock
    wrote nothing of the call: the call ran outside the turn, its change was not taken back,
    and nothing said so (the Stop said "this turn's changes were rolled back"). The call is
    now named as not protected, as one whose checkpoint failed is."""
    repo.write("doc.txt", TEXT)
    repo.git("add", "doc.txt")
    repo.git("commit", "-q", "-m", "doc")
    claude = ClaudeCode(repo)
    if not first:
        claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    (pre, post), act = bash(repo, 2, "sed", lambda: repo.write("doc.txt", b"the agent's\n"))
    go = tmp_path / "go"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(repo.path / ".git" / "atomic.lock"), str(go)],
        env=repo.env,
    )
    try:
        while not (tmp_path / "go.held").exists():
            assert holder.poll() is None
            time.sleep(0.01)
        payload = json.dumps(pre).replace('"{cwd}"', json.dumps(str(repo.path)))
        said = tmp_path / "hook.err"
        with said.open("wb") as err:
            hook = subprocess.Popen(
                [sys.executable, "-m", "git_atomic", "hook", "claude-code", "PreToolUse"],
                cwd=repo.path,
                env={**claude.env, "GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_HOOK_LOCK_WAIT": "60"},
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        assert hook.stdin is not None
        hook.stdin.write(payload.encode())
        hook.stdin.close()
        # Killed once it waits for the lock (it says so), not after a fixed time: a loaded
        # machine may not have reached the wait in 1.5 s.
        deadline = time.monotonic() + 60
        while b"waiting for pid" not in said.read_bytes():
            assert hook.poll() is None, said.read_bytes()
            assert time.monotonic() < deadline, "the hook never waited for the lock"
            time.sleep(0.01)
        hook.kill()  # the platform's timeout
        hook.wait()
    finally:
        go.touch()
        holder.wait(timeout=60)
    act()
    claude.send(post)
    claude.turn([edit(repo, 3, "BUG")])
    [answer] = claude.send(stop())
    out = answer.json()
    assert out["decision"] == "block", out
    assert "not protected: Bash: sed" in out["systemMessage"], out
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert repo.read("doc.txt") == b"the agent's\n"  # outside the turn: not taken back


def test_a_noted_step_and_a_shell_call_after_it_keep_their_order(repo: GitRepo) -> None:
    """A file tool's noted step, then a shell call that changes the same file: the noted step
    is written before the shell's (its end is where the shell's window starts); both are taken
    back, in order, to the file as it was."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    claude.turn([write_call(repo, 2, "app.py", b"def answer():\n    return 42\n")])
    claude.turn([bash(repo, 3, "sed", lambda: repo.write("app.py", b"def answer():\n    BUG\n"))])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert repo.read("lib.py") == b"VALUE = 1\n"
    [op] = ops(repo)
    found = repo.atomic_json("show", op["op_id"])["checkpoints"]
    ends = [found["pre_op"], *found["op_exec"]]  # before, after, for each step in turn
    assert len(ends) == 6, ends
    # The noted step ends where the shell's window starts: the same files.
    assert repo.git("rev-parse", f"{ends[3]}:files") == repo.git("rev-parse", f"{ends[4]}:files")
    assert repo.git("show", f"{ends[3]}:files/app.py") == "def answer():\n    return 42\n"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_turns_with_a_user_writing_alongside_take_back_exactly_the_turns_changes(
    repo: GitRepo, seed: int
) -> None:
    """Drawn at random: a setting that changes how git reads files, and a turn of file tool
    calls (edits of tracked files near their top, new files in new folders, a file written
    again, an ignored file) and shell calls, while the user edits the same files near their
    bottom, makes and changes files of their own, between the calls and while one runs. The
    turn fails: on disk, every file is the user's version without the turn's changes; an
    ignored file the turn wrote stays. `undo` brings the turn's changes back over the user's."""
    rng = random.Random(seed)
    docs = [f"doc{i}.txt" for i in range(3)]
    repo.write(".gitignore", b"build/\n")
    setting = rng.choice(["none", "autocrlf", "eol", "filemode", "untracked-cache"])
    if setting == "autocrlf":
        repo.git("config", "core.autocrlf", "input")
    elif setting == "eol":
        repo.write(".gitattributes", b"*.txt text eol=crlf\n")
    elif setting == "filemode":
        repo.git("config", "core.fileMode", "false")
    elif setting == "untracked-cache":
        repo.git("config", "core.untrackedCache", "true")
    for doc in docs:
        repo.write(doc, TEXT)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "docs")
    claude = ClaudeCode(repo)
    theirs: dict[str, bytes] = {doc: TEXT for doc in docs}  # as they must be after the rollback
    ours: dict[str, bytes | None] = {}  # what the turn last wrote (None: nothing)
    ignored: dict[str, bytes] = {}

    def user(avoid: str = "") -> None:
        """What the user does; never to the file a running tool writes (the tool's window
        claims every change to it)."""
        kind = rng.choice(["doc", "own", "none"])
        if kind == "doc":
            doc, line = rng.choice([d for d in docs if d != avoid]), rng.randint(15, 20)
            new = b"line %d by the user %d\n" % (line, rng.randint(0, 99))
            for files in (theirs, ours):
                now = files.get(doc) or repo.read(doc)
                files[doc] = re.sub(rb"line %d( by the user \d+)?\n" % line, new, now)
            repo.write(doc, ours[doc] or theirs[doc])
        elif kind == "own":
            name = f"mine{rng.randint(0, 2)}.txt"
            theirs[name] = b"the user's %d\n" % rng.randint(0, 99)
            repo.write(name, theirs[name])

    def doc_write(doc: str) -> bytes:
        line = rng.randint(1, 5)
        now = repo.read(doc)
        return re.sub(rb"line %d\n" % line, b"line %d by the agent\n" % line, now)

    claude.turn([edit(repo, 0, "BUG")])  # the first step: captured at both ends
    for n in range(1, 9):
        kind = rng.choice(["doc", "doc", "new", "again", "ignored", "shell"])
        if kind == "doc":
            doc = rng.choice(docs)
            (pre, post), _ = write_call(repo, n, doc, b"")
            claude.send(pre)
            data = doc_write(doc)
            repo.write(doc, data)
            ours[doc] = data
            if rng.random() < 0.5:
                user(avoid=doc)  # while the tool runs
            claude.send(post)
        elif kind in ("new", "again"):
            made = [p for p, d in ours.items() if p.startswith("new/") and d]
            name = rng.choice(made) if kind == "again" and made else f"new/d{n}/f{n}.txt"
            data = b"made by the agent, call %d\n" % n
            claude.turn([write_call(repo, n, name, data)])
            ours[name] = data
        elif kind == "ignored":
            data = b"built %d\n" % n
            claude.turn([write_call(repo, n, f"build/out{n}.txt", data)])
            ignored[f"build/out{n}.txt"] = data
        else:
            name, data = f"sh{n}.txt", b"from the shell %d\n" % n
            claude.turn([bash(repo, n, "echo", functools.partial(repo.write, name, data))])
            ours[name] = data
        user()  # between the calls
    [answer] = claude.send(stop())

    assert answer.json()["decision"] == "block", answer
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    for name, data in theirs.items():
        assert repo.read(name) == data, name
    for name in ours:
        if name not in theirs:
            assert not os.path.lexists(repo.path / name), name
    for name, data in ignored.items():
        assert repo.read(name) == data, name
    repo.atomic("undo", check=0)
    for name, wrote in ours.items():
        assert wrote is None or repo.read(name) == wrote, name
    for name, data in theirs.items():
        if name not in ours:
            assert repo.read(name) == data, name


def test_gc_in_the_middle_of_a_turn_keeps_the_bytes_its_calls_noted(repo: GitRepo) -> None:
    """The bytes a turn's file tool calls noted are held by no ref until the turn's next
    capture writes its steps: `git atomic gc` keeps them, even with `gc.pruneExpire=now`, so
    the turn is still judged and taken back, and undo brings it back."""
    repo.write("doc.txt", TEXT)
    repo.git("add", "doc.txt")
    repo.git("commit", "-q", "-m", "doc")
    repo.git("config", "gc.pruneExpire", "now")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    ours = TEXT.replace(b"line 2\n", b"agent 2\n")
    claude.turn([write_call(repo, 2, "doc.txt", ours)])
    (pre, post), _ = write_call(repo, 3, "doc.txt", b"")
    claude.send(pre)
    repo.write("doc.txt", ours.replace(b"line 5\n", b"agent 5\n"))
    repo.atomic("gc", check=0)  # while the tool runs: its file's bytes before it, noted
    claude.send(post)
    users = ours.replace(b"line 5\n", b"agent 5\n").replace(b"line 18\n", b"user 18\n")
    repo.write("doc.txt", users)
    repo.atomic("gc", check=0)  # between the calls: two steps pending
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("doc.txt") == TEXT.replace(b"line 18\n", b"user 18\n")
    assert "missing" not in repo.git("fsck", "--connectivity-only")
    repo.atomic("undo", check=0)
    assert repo.read("doc.txt") == users


def test_git_gc_prune_now_between_calls_loses_nothing_of_the_turn(repo: GitRepo) -> None:
    """`git gc --prune=now` between a turn's calls: the bytes its noted steps hold are kept by
    a ref of the turn, as every checkpoint is; the turn is taken back, exactly."""
    claude = _turn_on_a_doc(repo)
    ours = TEXT.replace(b"line 2\n", b"agent 2\n")
    claude.turn([write_call(repo, 2, "doc.txt", ours)])
    claude.turn([write_call(repo, 3, "new/made.txt", b"made\n")])
    repo.git("gc", "-q", "--prune=now")
    claude.turn([write_call(repo, 4, "doc.txt", ours.replace(b"line 5\n", b"agent 5\n"))])
    repo.git("gc", "-q", "--prune=now")
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("doc.txt") == TEXT and not repo.exists("new/made.txt")
    assert "missing" not in repo.git("fsck", "--connectivity-only")
    assert not [r for r in repo.git("for-each-ref").split("\n") if "/notes" in r]


def test_a_damaged_turn_record_names_only_object_ids_to_keep() -> None:
    """A record whose notes were damaged (by hand, a disk error) names no bytes but object
    ids: what `gc` and the ref that keeps the notes are given is never a word git refuses."""
    oid = "a" * 40
    record = Record(
        "op",
        SESSION,
        "claude-code",
        "/work",
        0.0,
        extra={
            turnsteps.NOTED: {"a": ["100644", "zz"], "b": ["100644", oid], "c": "junk"},
            turnsteps.PENDING: [{"before": {"d": ["100644", "--all"]}, "after": 3}, "junk"],
        },
    )
    assert turnsteps.noted_blobs([record]) == [oid]


def test_a_turn_that_cannot_be_judged_says_so_in_one_line(repo: GitRepo) -> None:
    """The bytes a file tool's `PreToolUse` noted, pruned by git itself while the tool runs
    (`git prune --expire=now`, which knows nothing of the turn; no ref holds them until its
    `PostToolUse`): the turn cannot be taken back. Stop answers exit 0 and says why in one
    line, never nothing; the operation is left for `recover`, and nothing of the worktree was
    changed."""
    claude = _turn_on_a_doc(repo)
    users = TEXT.replace(b"line 18\n", b"user 18\n")
    repo.write("doc.txt", users)  # the user's: bytes no checkpoint holds yet
    (pre, post), _ = write_call(repo, 2, "doc.txt", b"")
    claude.send(pre)
    repo.write("doc.txt", users.replace(b"line 2\n", b"agent 2\n"))
    repo.git("prune", "--expire=now")
    claude.send(post)
    now = repo.read("doc.txt")
    [answer] = claude.send(stop())
    assert answer.exit_code == 0
    said = answer.json()["systemMessage"]
    assert "not judged" in said and "Traceback" not in answer.stdout + answer.stderr, said
    assert len(said.splitlines()) == 1, said
    assert repo.read("doc.txt") == now
    assert repo.read("app.py") == b"def answer():\n    BUG\n"


def test_noted_steps_where_the_user_made_a_file_a_folder_meanwhile(repo: GitRepo) -> None:
    """A noted step writes the file `notes`; the user makes it a folder; a later step writes a
    file in it. The steps are written at the turn's end all the same (a file and a folder at
    one path are never asked of one tree): the turn is judged, its changes taken back, the
    user's file stays; the turn's last checkpoint is what was on disk."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    claude.turn([write_call(repo, 2, "notes", b"a file\n")])
    os.unlink(repo.path / "notes")
    repo.write("notes/a", b"the user's\n")
    claude.turn([write_call(repo, 3, "notes/b", b"B\n")])
    [answer] = claude.send(stop())
    assert answer.exit_code == 0 and answer.json()["decision"] == "block"
    assert repo.read("notes/a") == b"the user's\n" and not repo.exists("notes/b")
    assert repo.read("app.py") == b"def answer():\n    return 41\n"


def test_the_last_checkpoint_holds_a_users_file_where_a_step_made_a_folder(
    repo: GitRepo,
) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    claude.turn([write_call(repo, 2, "pkg/new.py", b"NEW = 1\n")])
    shutil.rmtree(repo.path / "pkg")
    repo.write("pkg", b"the user's file\n")
    claude.turn([write_call(repo, 3, "other.txt", b"other\n")])
    [answer] = claude.send(stop())
    assert "decision" not in answer.json()
    post = post_op(repo)
    assert repo.git("cat-file", "blob", f"{post}:files/pkg").encode() == b"the user's file\n"


def test_a_file_a_noted_step_made_is_held_when_it_grows_over_the_budget(repo: GitRepo) -> None:
    """`max_new_file_size` is for new files: one the turn made earlier (in a step written
    without a capture) is held when a later call makes it larger, as a capture that had seen
    it would hold it; the turn's rollback removes it, undo brings it back."""
    repo.write(".git-atomic.toml", b"max_new_file_size = 100\n" + repo.read(".git-atomic.toml"))
    repo.git("commit", "-qam", "budget")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    claude.turn([write_call(repo, 2, "small.txt", b"x" * 50)])
    claude.turn([write_call(repo, 3, "small.txt", b"x" * 500)])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert not repo.exists("small.txt")
    repo.atomic("undo", check=0)
    assert repo.read("small.txt") == b"x" * 500


def test_a_shell_call_joining_a_noted_window_takes_the_checkpoint(repo: GitRepo) -> None:
    """A file tool's window that noted its file is joined by a shell call (parallel calls):
    the shell may change anything, so the window takes its checkpoint then, with the noted
    file put back as it was. Both calls' changes are the turn's and are taken back."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    before = repo.read("app.py")
    write = tool_call("Write", {"file_path": str(repo.path / "app.py")}, 2)
    shell = tool_call("Bash", {"command": "echo x > made.txt"}, 3)
    claude.send(write[0])
    repo.write("app.py", b"def answer():\n    BUG\n")  # the Write, before the shell starts
    claude.send(shell[0])
    repo.write("made.txt", b"x\n")
    claude.send(shell[1])
    claude.send(write[1])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == before and not repo.exists("made.txt")
    assert repo.read("lib.py") == b"VALUE = 1\n"


def test_what_the_user_and_another_session_do_between_calls_is_not_taken_back(
    repo: GitRepo,
) -> None:
    claude = ClaudeCode(repo)
    (pre, post), act = edit(repo, 1, "BUG")
    claude.send(pre)
    act()
    claude.send(post)
    repo.write("lib.py", b"VALUE = 7\n")  # the user, between the turn's calls
    # Session B writes docs.md in its own turn meanwhile.
    b_pre, b_post = tool_call("Write", {"file_path": str(repo.path / "docs.md")}, 9, OTHER)
    claude.send(b_pre)
    repo.write("docs.md", b"# docs\n")
    claude.send(b_post)
    claude.turn([bash(repo, 2, "touch more.txt", lambda: repo.write("more.txt", b""))])
    [answer] = claude.send(stop())

    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"  # the turn's edit: gone
    assert not repo.exists("more.txt")
    assert repo.read("lib.py") == b"VALUE = 7\n"  # the user's edit: kept
    assert repo.read("docs.md") == b"# docs\n"  # session B's file: kept
    # B's turn is its own: it passes.
    [answer] = claude.send(stop(session=OTHER))
    assert "kept as operation" in answer.json()["systemMessage"]
    assert repo.read("docs.md") == b"# docs\n"


def test_a_virtualenv_a_failing_turn_made_goes_with_its_own_ignore_rule(repo: GitRepo) -> None:
    """`python -m venv .venv` writes a `.gitignore` of `*` inside it: no checkpoint sees the
    virtualenv, yet it is the turn's. Rolled back with the turn; the user's edit between the
    calls stays."""
    claude = ClaudeCode(repo)

    def venv() -> None:
        repo.write(".venv/.gitignore", b"*\n")
        repo.write(".venv/bin/python", b"#!/bin/sh\n")

    claude.turn([bash(repo, 1, "python -m venv .venv", venv)])
    time.sleep(0.05)  # between the calls, by more than the clock's grain
    repo.write(".venv/notes.txt", b"the user's\n")  # the user, between the turn's calls
    time.sleep(0.05)
    claude.turn([edit(repo, 2, "BUG")])
    repo.write("lib.py", b"VALUE = 7\n")  # the user, before the turn ends
    [answer] = claude.send(stop())

    assert answer.json()["decision"] == "block"
    assert not os.path.lexists(repo.path / ".venv/bin/python")
    assert not os.path.lexists(repo.path / ".venv/.gitignore")
    assert repo.read(".venv/notes.txt") == b"the user's\n"  # not the turn's: it stays
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert repo.read("lib.py") == b"VALUE = 7\n"
    repo.atomic("undo", check=0)  # the rescue held it
    assert repo.read(".venv/bin/python") == b"#!/bin/sh\n"


def test_a_turn_left_open_is_closed_by_the_next_prompt_and_never_taken_back_later(
    repo: GitRepo,
) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "return 42")])  # the user pressed Esc: no Stop
    [answer] = claude.send(prompt("now the docs"))
    context = answer.json()["hookSpecificOutput"]["additionalContext"]
    assert "ended without Stop" in context
    repo.git("commit", "-q", "-am", "the user's commit")  # the user commits meanwhile
    head = repo.head()
    repo.write("lib.py", b"VALUE = 3\n")

    claude.turn([edit(repo, 2, "BUG")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.head() == head  # the user's commit stays
    assert repo.read("app.py") == b"def answer():\n    return 42\n"
    assert repo.read("lib.py") == b"VALUE = 3\n"
    assert [o["status"] for o in ops(repo)] == ["rolled_back", "committed"]


@pytest.mark.parametrize(
    "kill_at",
    [
        "capture:walk@1",  # its first look at the tree, before anything changes
        "restore:after-files@1",  # the baseline's private worktree, where a failing gate runs
        "rollback:after-rescue@1",  # the take-back's rescue saved, nothing put back yet
        "restore:after-files@2",  # the turn's files taken back, not yet the index
        "rollback:after-restore@1",  # all taken back, the turn not yet closed
    ],
)
def test_a_stop_hook_killed_while_it_judges_leaves_recover_to_take_back_only_the_turn(
    repo: GitRepo, kill_at: str
) -> None:
    """The platform kills a Stop hook that runs too long (its hook timeout) at any step of
    judging a failing turn; `recover` then takes back the turn's own changes, as the hook
    would have, never what the user did between its calls (an edit, a commit, a branch)."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    repo.write("lib.py", b"VALUE = 7\n")  # the user, between the turn's calls
    repo.write("mine.txt", b"mine\n")
    repo.git("add", "mine.txt")
    repo.git("commit", "-q", "-m", "the user's commit")
    repo.git("branch", "users-branch")
    head = repo.head()
    claude.env["GIT_ATOMIC_FAILPOINT"] = kill_at
    claude.send(stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    res = repo.atomic("recover", check=0)
    assert "Traceback" not in res.stderr, res.stderr
    assert repo.read("app.py") == b"def answer():\n    return 41\n"  # the turn's: taken back
    assert repo.read("lib.py") == b"VALUE = 7\n"
    assert repo.head() == head and repo.read("mine.txt") == b"mine\n"
    assert repo.git("branch", "--list", "users-branch").strip()
    assert repo.atomic_json("status")["interrupted"] is None


def test_a_failing_turn_that_overlaps_later_work_is_kept_and_says_so(repo: GitRepo) -> None:
    """Its take-back overlaps the user's later line: nothing is changed, and `log` and `show`
    say the turn was not taken back and why (they said "kept (...)" after "kept")."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    repo.write("app.py", b"def answer():\n    BUG  # the user's line now\n")
    [answer] = claude.send(stop())
    assert "overlap" in answer.stdout + answer.stderr, answer
    assert repo.read("app.py") == b"def answer():\n    BUG  # the user's line now\n"
    said = "gate check failed; not taken back, as its effect overlaps later changes"
    assert said in repo.atomic("log", "-n", "1", check=0).stdout
    [op] = ops(repo)
    shown = repo.atomic("show", op["op_id"], check=0).stdout
    assert f": {said}; the result is final" in shown and "kept (" not in shown, shown


def test_recover_of_a_killed_stop_changes_nothing_where_the_turn_overlaps_later_work(
    repo: GitRepo,
) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    repo.write("app.py", b"def answer():\n    BUG  # the user's line now\n")
    claude.env["GIT_ATOMIC_FAILPOINT"] = "capture:walk@1"
    claude.send(stop())
    del claude.env["GIT_ATOMIC_FAILPOINT"]
    res = repo.atomic("recover", check=3)
    assert "overlap" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert repo.read("app.py") == b"def answer():\n    BUG  # the user's line now\n"
    assert repo.atomic_json("status")["interrupted"] is None
    [op] = ops(repo)
    assert op["status"] == "recovered"


def test_a_turn_that_leaves_a_merge_half_way_ends_at_its_stop_and_owns_nothing_after(
    repo: GitRepo,
) -> None:
    """A turn's merge conflicts, and Stop cannot judge it (git is half way): the turn ends
    there all the same, recorded as it is, git's state included; the user resolving the
    merge, committing and editing afterwards is never the turn's."""
    repo.git("checkout", "-q", "-b", "other")
    repo.write("app.py", b"def answer():\n    return 43\n")
    repo.git("commit", "-q", "-am", "other")
    repo.git("checkout", "-q", "-")
    repo.write("app.py", b"def answer():\n    return 44\n")
    repo.git("commit", "-q", "-am", "main")
    claude = ClaudeCode(repo)
    merge = functools.partial(repo.git, "merge", "-q", "other", check=False)
    claude.turn([bash(repo, 1, "git merge other", merge)])
    [answer] = claude.send(stop())
    said = answer.json()["systemMessage"]
    assert "not judged" in said and "merge is in progress" in said, said
    [op] = ops(repo)
    assert op["status"] == "committed" and op["op_id"] in said
    # The turn is over: the user resolves the merge, commits, edits.
    repo.write("app.py", b"def answer():\n    return 45\n")
    repo.git("commit", "-q", "-am", "the user resolves it")
    head = repo.head()
    repo.write("lib.py", b"VALUE = 9\n")
    claude.send(prompt("next"))
    assert len(ops(repo)) == 1  # no turn left open to take the user's work in
    repo.atomic("rollback", "--op", op["op_id"], check=3)  # git's half-way state: refused
    assert repo.head() == head
    assert repo.read("app.py") == b"def answer():\n    return 45\n"
    assert repo.read("lib.py") == b"VALUE = 9\n"


def test_log_and_show_count_only_the_turns_own_change(repo: GitRepo) -> None:
    """What the user wrote between the turn's calls is not the turn's in `log` (and the
    `last` line of `status`) any more than in `show`."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    for n in range(3):
        repo.write(f"user{n}.txt", b"mine\n")  # the user, between the turn's calls
    claude.turn([write_call(repo, 2, "agent.txt", b"agent\n")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    [op] = ops(repo)
    line = repo.atomic("log", "-n", "1").stdout
    assert "2 files" in line, line
    shown = repo.atomic("show", op["op_id"]).stdout
    assert "2 files" in shown and "its own changes were taken back" in shown, shown
    assert "went back to PRE-OP" not in shown, shown


@pytest.mark.parametrize("event", ["StopFailure", "SessionEnd"])
def test_a_turn_that_ends_without_stop_is_closed(repo: GitRepo, event: str) -> None:
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    [answer] = claude.send({**common(event), "reason": "other", "error": "rate_limit"})
    assert "recorded" in answer.json()["systemMessage"]
    assert repo.read("app.py").endswith(b"BUG\n")  # not judged: the user sees it as it is
    assert claude.send(stop()) == [Answer("Stop", 0, "", "")]


def test_a_turn_in_a_linked_worktree_is_judged_and_rolled_back_there(repo: GitRepo) -> None:
    linked = repo.path.parent / "feature"
    repo.git("worktree", "add", "-q", "-b", "feature", str(linked))
    claude = ClaudeCode(repo)
    (pre, post), _ = edit(repo, 1, "BUG")
    pre["tool_input"]["file_path"] = str(linked / "app.py")
    answers = claude.send(pre, cwd=linked)
    (linked / "app.py").write_bytes(b"def answer():\n    BUG\n")
    answers += claude.send(post, cwd=linked)
    [answer] = claude.send(stop(), cwd=linked)

    out = answer.json()
    assert out["decision"] == "block" and str(linked) in out["reason"]
    assert (linked / "app.py").read_bytes() == b"def answer():\n    return 41\n"


def test_file_changing_tools_outside_the_old_matcher_are_protected(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    shell = tool_call("PowerShell", {"command": "Set-Content app.py BUG"}, 1)
    mcp = tool_call("mcp__fs__write_file", {"path": "lib.py", "content": "BUG"}, 2)
    claude.turn(
        [
            (shell, lambda: repo.write("app.py", b"BUG\n")),
            (mcp, lambda: repo.write("lib.py", b"BUG\n")),
        ]
    )
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert repo.read("lib.py") == b"VALUE = 1\n"


def test_a_background_task_still_running_at_stop_is_named(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    claude.turn(
        [bash(repo, 1, "make watch", lambda: repo.write("w.txt", b"1\n"), run_in_background=True)]
    )
    task = {"id": "b1", "type": "shell", "status": "running", "description": "watch"}
    [answer] = claude.send({**stop(), "background_tasks": [{**task, "command": "make watch"}]})
    message = answer.json()["systemMessage"]
    assert "background task" in message and "still running" in message


def test_a_batch_of_calls_closes_a_window_its_post_calls_missed(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    pre, _ = tool_call("Write", {"file_path": str(repo.path / "app.py")}, 1)
    claude.send(pre)
    repo.write("app.py", b"BUG\n")
    batch = {
        **common("PostToolBatch"),
        "tool_calls": [{k: pre[k] for k in ("tool_name", "tool_input", "tool_use_id")}],
    }
    assert claude.send(batch) == [Answer("PostToolBatch", 0, "", "")]
    repo.write("lib.py", b"VALUE = 9\n")  # the user, after the call: not the turn's
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert repo.read("lib.py") == b"VALUE = 9\n"


@pytest.mark.parametrize("closing", ["PermissionDenied", "PostToolBatch"])
def test_a_denied_call_leaves_no_window_open_over_the_users_edits(
    repo: GitRepo, closing: str
) -> None:
    """PreToolUse fires before the permission check: a call a rule, a hook or the user
    refused never sends PostToolUse. Its denial (or its batch's end, which a refusal at the
    prompt still sends) closes its window, so what the user writes after it is not the turn's."""
    claude = ClaudeCode(repo)
    denied, _ = tool_call("Bash", {"command": "rm -rf build"}, 1)
    claude.send(denied)
    if closing == "PermissionDenied":
        claude.send({**denied, "hook_event_name": "PermissionDenied", "reason": "denied by rule"})
    else:
        claude.send({**common("PostToolBatch"), "tool_calls": []})  # the refused call unnamed
    repo.write("lib.py", b"VALUE = 7\n")  # the user, between the agent's calls
    claude.turn([edit(repo, 2, "BUG")])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"  # the turn's: taken back
    assert repo.read("lib.py") == b"VALUE = 7\n"  # the user's: kept


def test_what_the_user_writes_while_an_mcp_tool_asks_them_is_not_the_turns(repo: GitRepo) -> None:
    """An MCP server's tool asks the person mid-call (MCP elicitation; Claude Code sends
    `Elicitation`, then `ElicitationResult` with the answer): the call's window was open the
    whole time, and what the person wrote while asked was taken back with a failing turn. The
    window ends at the question and opens again at the answer; the dialog shows as without us
    (no answer to `Elicitation`)."""
    claude = ClaudeCode(repo)
    pre, post = tool_call("mcp__deploy__release", {"target": "staging"}, 1)
    claude.send(pre)
    repo.write("app.py", b"def answer():\n    return BUG\n")  # the tool, before it asks
    asked = {
        **common("Elicitation"),
        "mcp_server_name": "deploy",
        "message": "Which version?",
        "mode": "form",
        "requested_schema": {"type": "object", "properties": {"version": {"type": "string"}}},
    }
    assert all(a.stdout == "" for a in claude.send(asked))  # the dialog shows
    repo.write("notes.txt", b"the user's, written while asked\n")
    answered = {
        **common("ElicitationResult"),
        "mcp_server_name": "deploy",
        "action": "accept",
        "content": {"version": "1.2"},
    }
    claude.send(answered)
    repo.write("VERSION", b"1.2\n")  # the tool, after the answer
    claude.send(post)
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert not repo.exists("VERSION")
    assert repo.read("notes.txt") == b"the user's, written while asked\n"


def test_a_turn_taken_back_over_a_commit_it_pushed_tells_the_agent_the_remote_keeps_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A failing turn whose shell committed and pushed: its take-back moves the branch back
    over a commit origin has, and `rollback` says so; the agent and the person were not told
    (the note reached the hook's stderr only, which Claude Code does not show)."""
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "up.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "up.git"))
    repo.git("push", "-q", "-u", "origin", "main")

    def commit_and_push() -> None:
        repo.write("app.py", b"def answer():\n    return BUG\n")
        repo.git("commit", "-qam", "wip")
        repo.git("push", "-q", "origin", "main")

    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, "git commit -am wip && git push", commit_and_push)])
    pushed = repo.git("rev-parse", "origin/main").strip()
    [answer] = claude.send(stop())
    said = f"commit {pushed[:12]} (taken off main) is on origin/main already"
    assert said in answer.json()["reason"] and said in answer.json()["systemMessage"]
    assert repo.read("app.py") == b"def answer():\n    return 41\n"


def copilot(event: str, session: str, **fields: Any) -> dict[str, Any]:
    """A payload Copilot CLI sends to a hook of `.claude/settings.json`: its "VS Code
    compatible" shape (GitHub, *Copilot hooks reference*: snake_case, an ISO `timestamp`, no
    `transcript_path` on tool events, no `tool_use_id`; a tool named as Claude names it)."""
    base = {"hook_event_name": event, "session_id": session, "cwd": "{cwd}"}
    return {**base, "timestamp": "2026-12-05T20:00:00.000Z", **fields}


def test_copilot_running_claudes_hooks_judges_a_subagents_calls_with_its_parents_stop(
    repo: GitRepo,
) -> None:
    """Copilot CLI reads `.claude/settings.json` too; its subagent runs as a child session,
    whose calls carry the child's `session_id` and which sends no prompt and no Stop: its turn
    was never judged, and a subagent that broke a gate kept its change. The parent's Stop
    judges it, on its own effect: what the person wrote meanwhile stays."""
    claude = ClaudeCode(repo)
    parent, child = "c0p1l0t-parent-0001", "c0p1l0t-child-0002"
    claude.send(copilot("UserPromptSubmit", parent, prompt="fix the answer"))
    args = {"path": str(repo.path / "app.py"), "file_text": "..."}
    claude.send(copilot("PreToolUse", child, tool_name="Write", tool_input=args))
    repo.write("app.py", b"def answer():\n    return BUG\n")
    result = {"result_type": "success", "text_result_for_llm": "ok"}
    claude.send(
        copilot("PostToolUse", child, tool_name="Write", tool_input=args) | {"tool_result": result}
    )
    repo.write("notes.txt", b"the person's, between the subagent's calls\n")
    answers = claude.send(
        copilot("Stop", parent, transcript_path="/home/dev/.copilot/t.jsonl")
        | {"stop_reason": "end_turn", "stop_hook_active": False}
    )
    [answer] = answers
    assert answer.json()["decision"] == "block", answer
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert repo.read("notes.txt") == b"the person's, between the subagent's calls\n"
    assert claude.send(copilot("Stop", parent, stop_hook_active=True))[0].stdout == ""


def test_copilot_with_both_hooks_files_judges_its_turn_once(repo: GitRepo) -> None:
    """Copilot CLI runs every hooks file it finds: with `hooks install copilot` as well, each
    of its calls came to both adapters, two turns over the same change, judged twice (the
    second found it taken back already, and was kept). Its own file's hooks judge it; the
    Claude Code file's hooks do nothing for Copilot's calls then."""
    repo.atomic("hooks", "install", "copilot", check=0)
    claude = ClaudeCode(repo)
    session = "c0p1l0t-both-0001"

    def native(event: str, **fields: Any) -> None:
        payload = {"sessionId": session, "timestamp": 1764964800000, "cwd": str(repo.path)}
        data = json.dumps(payload | fields).encode()
        res = command_line(["hook", "copilot", event], repo.path, repo.env, data, 300)
        assert res.returncode == 0, res

    def native_call(event: str, session: str, **fields: Any) -> None:
        native(event, **fields, sessionId=session)

    args = {"command": "sed -i s/41/BUG/ app.py"}
    native("userPromptSubmitted", prompt="fix")
    claude.send(copilot("UserPromptSubmit", session, prompt="fix"))
    child = "c0p1l0t-child-0002"  # a subagent's calls: the child session's
    native_call("preToolUse", child, toolName="bash", toolArgs=json.dumps(args))
    claude.send(copilot("PreToolUse", child, tool_name="Bash", tool_input=args))
    repo.write("app.py", b"def answer():\n    return BUG\n")
    native_call("postToolUse", child, toolName="bash", toolArgs=json.dumps(args))
    claude.send(copilot("PostToolUse", child, tool_name="Bash", tool_input=args))
    native("agentStop", transcriptPath="/t.jsonl", stopReason="end_turn")
    claude.send(copilot("Stop", session, transcript_path="/t.jsonl", stop_hook_active=False))
    assert repo.read("app.py") == b"def answer():\n    return 41\n"
    assert [op["status"] for op in ops(repo)] == ["rolled_back"]


# --- parallel calls and several sessions ---------------------------------------------------------


def test_four_parallel_calls_keep_the_turn_and_close_the_operation(repo: GitRepo) -> None:
    claude = ClaudeCode(repo)
    calls = [tool_call("Write", {"file_path": str(repo.path / f"f{n}.txt")}, n) for n in range(4)]
    answers = claude.parallel([pre for pre, _ in calls])
    for n in range(4):
        repo.write(f"f{n}.txt", b"BUG\n" if n == 0 else b"ok\n")
    repo.write("app.py", b"BUG\n")
    answers += claude.parallel([post for _, post in calls])
    assert all(a.exit_code == 0 and a.stdout == "" for a in answers), answers

    [answer] = claude.send(stop())
    # app.py is not the turn's (its file tools claim their own files only): the gate it
    # breaks fails without the turn's changes too, so the turn is kept.
    said = answer.json()
    assert "decision" not in said and "fails without its changes" in said["systemMessage"]
    assert all(repo.exists(f"f{n}.txt") for n in range(4))
    assert repo.atomic_json("status")["open"] is None
    assert [o["status"] for o in ops(repo)] == ["committed"]
    # The same calls with the turn's own file breaking a gate: taken back, closed.
    calls = [tool_call("Write", {"file_path": str(repo.path / f"g{n}.txt")}, n) for n in range(4)]
    claude.parallel([pre for pre, _ in calls])
    for n in range(4):
        repo.write(f"g{n}.txt", b"ok\n")
    repo.write("app.py", b"def answer():\n    return 42\n")  # yours: the check passes again
    claude.parallel([post for _, post in calls])
    edit_call = edit(repo, 9, "VALUE = BUG", file="lib.py")
    claude.turn([edit_call])
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert not any(repo.exists(f"g{n}.txt") for n in range(4))
    assert repo.read("lib.py") == b"VALUE = 1\n"
    assert repo.atomic_json("status")["open"] is None
    assert [o["status"] for o in ops(repo)] == ["rolled_back", "committed"]


def test_three_sessions_with_parallel_calls_each_get_their_own_verdict(repo: GitRepo) -> None:
    sessions = [SESSION, OTHER, "c0ffee00-1111-4c55-9e0a-bbbbbbbbbbbb"]
    claude = ClaudeCode(repo)
    calls = {
        s: [tool_call("Write", {"file_path": f"{s[:4]}-{n}.txt"}, n, s) for n in range(2)]
        for s in sessions
    }
    claude.parallel([pre for s in sessions for pre, _ in calls[s]])
    for s in sessions:
        for n in range(2):
            repo.write(f"{s[:4]}-{n}.txt", b"x\n")
    repo.write("lib.py", b"BUG\n")  # session OTHER's call breaks the lib gate
    claude.parallel([post for s in sessions for _, post in calls[s]])
    # Everything happened while every session's window was open, and no call names its files
    # (relative paths: any file): no one can tell whose lib.py is, so it is no turn's. None
    # takes it back, and each says so (before: the first to stop took everything back).
    verdicts = claude.parallel([stop(session=s) for s in sessions])
    assert all(v.exit_code == 0 for v in verdicts)
    assert any("neither turn's" in v.stdout for v in verdicts), [v.stdout for v in verdicts]
    assert repo.read("lib.py") == b"BUG\n"
    assert repo.atomic_json("status")["open"] is None


# --- in-process: payloads that are missing fields or have the wrong types ---------------------


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"session_id": 42, "tool_name": None, "tool_input": "rm -rf"},
        {"session_id": ["x"], "tool_name": ["Edit"], "tool_input": {"file_path": 7}},
    ],
)
def test_malformed_payloads_are_answered_with_exit_0(
    repo: GitRepo, payload: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in repo.env.items():
        monkeypatch.setenv(key, value)
    environ = {"CLAUDE_PROJECT_DIR": str(repo.path)}
    for event in ("PreToolUse", "PostToolUse", "Stop"):
        assert handle(event, payload, environ).exit_code == 0
    assert repo.atomic_json("status")["open"] is None


# Cursor's answer that lets the call, or the prompt, go on.
# (A call's decides nothing: an `allow` would spare the call the approval the user asks for.)
CURSOR_GOES_ON = {"preToolUse": {}, "beforeSubmitPrompt": {"continue": True}}


def _hostile_payloads(repo: GitRepo) -> dict[str, str]:
    """Payloads that are valid JSON and still reach places a payload should not: a session id
    that is a lone surrogate, nesting past Python's stack, paths no file can have."""
    call = {
        "hook_event_name": "PreToolUse",
        "cwd": str(repo.path),
        "tool_name": "Write",
        "tool_use_id": "toolu_hostile",
    }
    file_path = str(repo.path / "app.py")
    return {
        "lone surrogate": json.dumps(
            {**call, "tool_input": {"file_path": file_path}, "session_id": "S"}
        ).replace('"S"', '"\\ud800"'),
        "deep nesting": '{"session_id": "s", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        # A lone surrogate no file name decodes to, in the file's path: the call's claim
        # failed after its checkpoint was taken, and the turn's next checkpoints collided
        # with that one's name (the rest of the turn's calls were not protected).
        "lone surrogate in a path": json.dumps(
            {**call, "session_id": "s", "tool_input": {"file_path": file_path + "/P"}}
        ).replace('/P"', '/\\ud83d"'),
        "NUL in a path": json.dumps(
            {**call, "session_id": "s", "tool_input": {"file_path": file_path + "\0x"}}
        ),
        "not JSON": '{"session_id": "s", "hook_event_name": ',
        "empty": "",
        "no object": "[1, 2]",
        "name too long": json.dumps(
            {**call, "session_id": "s", "tool_input": {"file_path": str(repo.path / ("x" * 300))}}
        ),
    }


@pytest.mark.parametrize(
    ("platform", "events"),
    [
        ("claude-code", ("PreToolUse", "Stop")),
        ("gemini", ("BeforeTool", "AfterAgent")),
        ("cursor", ("beforeSubmitPrompt", "preToolUse", "postToolUse", "stop")),
    ],
)
def test_hostile_payloads_and_a_vanished_folder_never_break_the_agent(
    repo: GitRepo, platform: str, events: tuple[str, ...]
) -> None:
    """Exit 0, no traceback, no internal error: a hook answers whatever it is sent, also
    from a folder removed under it. Cursor always gets its answer: `{}`, but for its permission
    events their field (Cursor's hooks page: `preToolUse` answers `permission`,
    `beforeSubmitPrompt` `continue`), where `{}` was written to both."""
    for name, payload in _hostile_payloads(repo).items():
        for event in events:
            data = payload.replace('"PreToolUse"', json.dumps(event)).encode()
            res = command_line(["hook", platform, event], repo.path, repo.env, data, 120)
            said = res.stdout + res.stderr
            assert res.returncode == 0, (name, event, said)
            assert "Traceback" not in said and "internal error" not in said, (name, event, said)
            assert "not protected" not in said, (name, event, said)
            if platform == "cursor":
                assert json.loads(res.stdout) == CURSOR_GOES_ON.get(event, {}), (name, event)
    gone = repo.path.parent / "gone"
    gone.mkdir()
    payload = json.dumps({"session_id": "s", "cwd": str(repo.path), "hook_event_name": events[0]})
    script = f'rmdir "$PWD" && exec "{sys.executable}" -m git_atomic hook {platform} {events[0]}'
    res = subprocess.run(
        ["sh", "-c", script], cwd=gone, env=repo.env, input=payload, capture_output=True, text=True
    )
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    if platform == "cursor":
        assert json.loads(res.stdout) == CURSOR_GOES_ON.get(events[0], {}), res.stdout
    assert not gone.exists()


def test_cursor_finds_the_repository_among_several_workspace_folders(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A multi-root workspace whose first folder is no repository still protects the turn."""
    elsewhere = tmp_path / "notes-folder"
    elsewhere.mkdir()
    repo.atomic("hooks", "install", "cursor", check=0)
    base = {"conversation_id": "c1", "workspace_roots": [str(elsewhere), str(repo.path)]}
    prompt_event = "beforeSubmitPrompt"
    prompt = json.dumps({**base, "hook_event_name": prompt_event, "prompt": "fix"})
    res = command_line(["hook", "cursor", prompt_event], repo.path, repo.env, prompt.encode(), 120)
    assert res.returncode == 0 and json.loads(res.stdout) == CURSOR_GOES_ON[prompt_event], res
    repo.write("app.py", b"BUG\n")  # the agent's edit breaks the gate
    stop = json.dumps({**base, "hook_event_name": "stop", "status": "completed", "loop_count": 0})
    res = command_line(["hook", "cursor", "stop"], repo.path, repo.env, stop.encode(), 300)
    assert "followup_message" in json.loads(res.stdout), res
    assert repo.read("app.py") == b"def answer():\n    return 41\n"


def test_a_payload_that_is_not_json_is_answered_with_exit_0(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo.path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"{not json")))  # as stdin
    assert hook_event(target="claude-code", event="Stop") == 0
    assert capsys.readouterr().out == ""


def test_the_installed_commands_are_the_events_the_handler_answers() -> None:
    groups = desired_hooks()
    assert set(groups) == {
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PermissionDenied",
        "PostToolBatch",
        "Elicitation",
        "ElicitationResult",
        "Stop",
        "StopFailure",
        "SessionEnd",
    }
    assert groups["PreToolUse"]["matcher"] == FILE_TOOL_PATTERN
    assert re.fullmatch(FILE_TOOL_PATTERN, "mcp__github__create_file")
    assert not re.fullmatch(FILE_TOOL_PATTERN, "Read")


def test_commits_mode_makes_one_commit_per_turn_of_its_effect_only(repo: GitRepo) -> None:
    out = repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    assert "updated Stop hook: git-atomic hook claude-code Stop --history commits" in out.stdout
    repo.write("README", b"hello, staged\n")
    repo.git("add", "README")  # the user's staged work
    repo.write("lib.py", b"VALUE = 2\n")  # unstaged
    repo.write("notes.txt", b"mine\n")  # untracked
    status = repo.git("status", "--porcelain")
    head = repo.head()
    claude = ClaudeCode(repo)
    new_file = tool_call("Write", {"file_path": str(repo.path / "new.py")}, 2)
    claude.turn([edit(repo, 1, "return 42"), (new_file, lambda: repo.write("new.py", b"N\n"))])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"]
    assert repo.git("rev-list", f"{head}..HEAD").split() == [repo.head()]  # one commit
    subject = repo.git("log", "-1", "--format=%s")
    assert subject.startswith(f"POST-OP: {OP_NAME} - Edit: ")
    changed = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert changed == ["app.py", "new.py"]  # the turn's effect, nothing of the user's
    assert repo.git("show", "HEAD:app.py").endswith("return 42\n")
    # The user's work is exactly as it was: staged, unstaged, untracked.
    assert repo.git("status", "--porcelain") == status
    assert repo.read("lib.py") == b"VALUE = 2\n" and repo.read("notes.txt") == b"mine\n"


def test_commits_mode_turn_commit_is_signed_where_commit_gpgsign_is_set(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A turn's commit signed as `git commit` signs (commit-tree never reads commit.gpgSign);
    one git cannot sign is not made, and the Stop answer says why."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    gpg = fake_signing(repo, tmp_path)
    claude = ClaudeCode(repo)
    head = repo.head()
    claude.turn([edit(repo, 1, "return 42")])
    [answer] = claude.send(stop())
    assert "committed as" in answer.json()["systemMessage"]
    assert repo.head() != head and signed(repo, "HEAD")
    Path(f"{gpg}.fail").touch()
    head = repo.head()
    claude.turn([edit(repo, 1, "return 43")])
    [answer] = claude.send(stop())
    assert "signing the commit failed" in answer.json()["systemMessage"]
    assert repo.head() == head and repo.read("app.py").endswith(b"return 43\n")


def test_commits_mode_turn_that_unignores_files_there_before_it_leaves_them_out(
    repo: GitRepo,
) -> None:
    """A turn whose shell call rewrote `.gitignore` so that `.env` and `target/` showed
    (Cline's checkpoint restore and `.gitignore`: https://github.com/cline/cline/issues/14367;
    jj #5596) had them in its commit, your secret on the branch: its step's `before` did not
    hold them (ignored then), so they read as files the call made. They were there before the
    turn: they stay out of its commit, untracked, as a `run`'s commits leave them."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.write(".gitignore", b".env\ntarget/\n")
    repo.git("add", ".gitignore", ".claude")
    repo.git("commit", "-q", "-m", "ignore rules, hooks in commits mode")
    repo.write(".env", b"SECRET=1\n")
    repo.write("target/out.bin", b"\x00built\n")
    head = repo.head()

    def unignore() -> None:
        repo.write(".gitignore", b"other/\n")
        repo.write("made.txt", b"the turn's\n")

    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, "printf 'other/\\n' > .gitignore; echo > made.txt", unignore)])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"], answer
    assert repo.git("rev-list", f"{head}..HEAD").split() == [repo.head()]
    changed = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert changed == [".gitignore", "made.txt"]
    assert repo.git("ls-files", "--debug", "-s", ".env", "target").strip() == ""
    assert repo.read(".env") == b"SECRET=1\n" and repo.read("target/out.bin") == b"\x00built\n"
    status = repo.git("status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(status) == ["?? .env", "?? target/out.bin"]


def test_commits_mode_turn_that_moves_a_folder_commits_it_where_it_moved_it(repo: GitRepo) -> None:
    """A turn's `mv lib pkg`: its commit deleted `lib/` and left `pkg/` untracked (a moved file
    keeps its birth, so it read as one there before the turn, ignored then). The commit holds
    the move, as `git add -A` would; nothing is left out. The folder's own `.gitignore` moves
    with it (a rule changed): its files are those `lib/` held, so still the turn's."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.write("lib/a.py", b"A = 1\n")
    repo.write("lib/sub/b.py", b"B = 2\n")
    repo.write("lib/sub/.gitignore", b"*.pyc\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "lib, hooks in commits mode")
    head = repo.head()

    def move() -> None:
        (repo.path / "lib").rename(repo.path / "pkg")

    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, "mv lib pkg", move)])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"], answer
    assert repo.git("rev-list", f"{head}..HEAD").split() == [repo.head()]
    files = repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    assert "pkg/a.py" in files and "pkg/sub/b.py" in files and "lib/a.py" not in files
    assert "pkg/sub/.gitignore" in files
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""


def test_commits_mode_turn_commits_as_git_would_under_autocrlf_and_filemode_false(
    repo: GitRepo,
) -> None:
    """With `core.autocrlf=true` (a checkout on Windows: CRLF on disk, LF in the repository)
    every edit of a turn to a text file was 'not committed (its changes overlap with
    uncommitted ones)': the turn's commit merged the disk's CRLF bytes over HEAD's LF text,
    every line a change, though you had changed nothing (pre-commit's CRLF reports, e.g.
    https://github.com/pre-commit/pre-commit/issues/2839). Both sides of a step are now taken
    as your git would commit them, as a `run`'s are: LF committed, `core.fileMode=false`'s
    mode kept, and `git status` clean after."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.git("config", "core.autocrlf", "true")
    repo.git("config", "core.fileMode", "false")
    repo.write("doc.txt", b"one\ntwo\n")
    repo.git("add", ".claude", "doc.txt")
    repo.git("commit", "-q", "-m", "hooks in commits mode, a doc")
    (repo.path / "doc.txt").unlink()
    repo.git("checkout", "--", "doc.txt")
    assert repo.read("doc.txt") == b"one\r\ntwo\r\n"

    def edit_doc() -> None:
        repo.write("doc.txt", b"one\r\nTWO\r\n", mode=0o755)
        repo.write("new.txt", b"new\r\n")

    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, "edit doc.txt; write new.txt", edit_doc)])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"], answer
    assert repo.git("cat-file", "blob", "HEAD:doc.txt") == "one\nTWO\n"
    assert repo.git("cat-file", "blob", "HEAD:new.txt") == "new\n"
    assert repo.git("ls-tree", "HEAD", "doc.txt").split()[0] == "100644"
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    assert repo.read("doc.txt") == b"one\r\nTWO\r\n"


# Files an attribute converts (the checkpoint keeps their bytes on disk): a line-ending rule of
# `.gitattributes` (git/git's `*.bat text eol=crlf`, prettier's `* text=auto eol=lf`). The turn
# (setup: attributes and files committed, then checked out again) and what HEAD holds after.
_CONVERTED = {
    "eol=crlf, edited": (
        "*.bat text eol=crlf\n",
        lambda r: r.write("w/a.bat", r.read("w/a.bat") + b"REM more\r\n"),
        {"w/a.bat": b"@echo off\nREM more\n"},
    ),
    "eol=crlf, its folder moved": (
        "*.bat text eol=crlf\n",
        lambda r: (r.path / "w").rename(r.path / "v"),
        {"v/a.bat": b"@echo off\n", "v/doc.txt": b"one\ntwo\n"},
    ),
    "text=auto eol=lf, CRLF written": (
        "* text=auto eol=lf\n",
        lambda r: (r.write("w/doc.txt", b"one\r\nTWO\r\n"), r.write("new.txt", b"n\r\n")),
        {"w/doc.txt": b"one\nTWO\n", "new.txt": b"n\n"},
    ),
    # git leaves the CRs alone where the index's copy has them ("safer autocrlf"): the line
    # changed alone, never the whole file made LF.
    "text=auto, CRLF held in the index": (
        "w/crlf.txt text=auto\n",
        lambda r: r.write("w/crlf.txt", b"a\r\nB\r\n"),
        {"w/crlf.txt": b"a\r\nB\r\n"},
    ),
    "working-tree-encoding=UTF-16, edited": (
        "*.u16 text working-tree-encoding=UTF-16\n",
        lambda r: r.write("w/a.u16", "hello\nWORLD\n".encode("utf-16")),
        {"w/a.u16": b"hello\nWORLD\n"},
    ),
}


@pytest.mark.parametrize("case", sorted(_CONVERTED))
def test_commits_mode_turn_commits_files_a_line_ending_attribute_converts(
    repo: GitRepo, case: str
) -> None:
    """A turn that touched a file of `*.bat text eol=crlf` (git/git's compat/vcbuild/), or of
    `working-tree-encoding=UTF-16`, was 'not committed (its changes overlap with uncommitted
    ones in compat/vcbuild/find_vs_env.bat)',
    though you had changed nothing: the turn's checkpoints keep the disk's CRLF bytes, and
    they were merged over HEAD's LF as they are. Each step's files are taken as `git add`
    stores them: committed as plain git would, `git status` clean after."""
    attributes, act, expected = _CONVERTED[case]
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.write("w/crlf.txt", b"a\r\nb\r\n")  # committed before any attribute: CRLF held
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "a CRLF file, hooks in commits mode")
    repo.write(".gitattributes", attributes.encode())
    repo.write("w/a.bat", b"@echo off\n")
    repo.write("w/doc.txt", b"one\ntwo\n")
    repo.write("w/a.u16", "hello\nworld\n".encode("utf-16"))
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "attributes and files")
    shutil.rmtree(repo.path / "w")
    repo.git("checkout", "--", "w")
    on_disk = {p: repo.read(p) for p in ("w/a.bat", "w/doc.txt")}

    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, case, lambda: act(repo))])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"], answer
    for path, data in expected.items():
        assert repo.git("cat-file", "blob", f"HEAD:{path}").encode() == data, path
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    if case.endswith("moved"):
        assert repo.read("v/a.bat") == on_disk["w/a.bat"] == b"@echo off\r\n"


def test_commits_mode_turn_whose_call_committed_then_changed_its_files_commits_the_rest(
    repo: GitRepo,
) -> None:
    """An agent that commits its work itself (Aider's auto-commits, a `git commit` in a Bash
    call), then edits or removes those files again: the turn was 'not committed (its changes
    overlap with uncommitted ones in ...)', though you had changed none of them (its step was
    measured from before its own commit). Now what it left uncommitted is committed, as a
    `run`'s commits measure a file it committed itself; your edit stays yours."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.write("made.txt", b"m0\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "hooks in commits mode")
    repo.write("README", b"the user's\n")

    def work() -> None:
        script = (
            "printf 'A = 1\\n' > app.py && git commit -qm one app.py && printf 'A = 2\\n' > app.py"
            " && printf 'm1\\n' > made.txt && git commit -qm two made.txt && git rm -q made.txt"
        )
        subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=True)

    head = repo.head()
    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, "commit, then edit again", work)])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"], answer
    subjects = repo.git("log", "--format=%s", f"{head}..HEAD").splitlines()
    assert subjects[1:] == ["two", "one"] and subjects[0].startswith("POST-OP: ")
    assert repo.git("cat-file", "blob", "HEAD:app.py") == "A = 2\n"
    assert "made.txt" not in repo.git("ls-tree", "--name-only", "HEAD").split()
    assert repo.git("status", "--porcelain") == " M README\n"


def test_commits_mode_turn_that_narrows_the_sparse_checkout_commits_no_deletion(
    repo: GitRepo,
) -> None:
    """A turn's `git sparse-checkout set src` took the files it left outside the cone off the
    disk, and its commit deleted every one of them from your branch: the commit took the disk,
    not the index's skip-worktree entries, as git would (as a `run`'s commits do)."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.write("src/a.py", b"A = 1\n")
    repo.write("docs/guide.md", b"# guide\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "hooks in commits mode, src and docs")

    def narrow() -> None:
        repo.git("sparse-checkout", "set", "src")
        repo.write("src/a.py", b"A = 2\n")

    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, "git sparse-checkout set src; edit src/a.py", narrow)])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"], answer
    changed = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert changed == ["src/a.py"]
    assert repo.git("cat-file", "blob", "HEAD:docs/guide.md") == "# guide\n"
    assert not repo.exists("docs/guide.md")  # outside the cone, as the turn left it


@pytest.mark.parametrize("was", ["untracked", "tracked"])
def test_commits_mode_turn_that_makes_a_repository_in_a_folder_of_files_commits_none_of_it(
    repo: GitRepo, was: str
) -> None:
    """An agent starting a repository in a folder of its project (`git init sub` and a commit
    in it, where `sub/` held files): git reads it as a folder while the index has paths under
    it, and the turn's commit held its files (`sub/b`) on your branch, as a `run`'s did before
    (test_settings_layouts). They stay out; the turn's own file goes in."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    repo.write("sub/a.txt", b"a\n")
    repo.git("add", ".claude", *(["sub"] if was == "tracked" else []))
    repo.git("commit", "-q", "-m", "hooks in commits mode")

    def init() -> None:
        for script in ("git init -q sub", "echo b > b && git add b && git commit -qm in"):
            cwd = repo.path / ("sub" if script.startswith("echo") else "")
            subprocess.run(["sh", "-c", script], cwd=cwd, env=repo.env, check=True)
        repo.write("made.txt", b"m\n")

    claude = ClaudeCode(repo)
    claude.turn([bash(repo, 1, "git init sub && ...", init)])
    [answer] = claude.send(stop())

    assert "committed as" in answer.json()["systemMessage"], answer
    changed = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert changed == ["made.txt"]
    assert repo.read("sub/b") == b"b\n" and repo.read("sub/a.txt") == b"a\n"


def test_an_operation_a_person_opened_is_never_touched(repo: GitRepo) -> None:
    repo.atomic("begin", "my-refactor", check=0)
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    [answer] = claude.send(stop())

    message = answer.json()["systemMessage"]
    assert "not judged" in message and "my-refactor" in message
    assert "decision" not in answer.json()
    assert repo.read("app.py").endswith(b"BUG\n")  # nothing taken back under their feet
    open_op = repo.atomic_json("status")["open"]
    assert open_op["name"] == "my-refactor" and open_op["checkpoints"]["op_exec"] == []


# --- a kept turn rolled back later: its calls' effect, not what happened between them ----------


def _turn_with_the_user_between_its_calls(repo: GitRepo) -> str:
    """Two Write calls; between them the user edits lib.py and creates mine.txt. Kept."""
    claude = ClaudeCode(repo)
    one = tool_call("Write", {"file_path": str(repo.path / "one.py"), "content": "1"}, 1)
    two = tool_call("Write", {"file_path": str(repo.path / "two.py"), "content": "2"}, 2)
    claude.turn([(one, lambda: repo.write("one.py", b"ONE = 1\n"))])
    repo.write("lib.py", b"VALUE = 7\n")  # the user, between the turn's calls
    repo.write("mine.txt", b"the user's notes\n")
    claude.turn([(two, lambda: repo.write("two.py", b"TWO = 2\n"))])
    [answer] = claude.send(stop())
    assert "decision" not in answer.json()  # kept
    [op] = ops(repo)
    assert op["status"] == "committed"
    return str(op["op_id"])


def _the_users_work_is_there(repo: GitRepo) -> None:
    assert repo.read("lib.py") == b"VALUE = 7\n"  # the user's edit, byte for byte
    assert repo.read("mine.txt") == b"the user's notes\n"  # the user's file


def test_rollback_op_of_a_kept_turn_takes_back_its_calls_only_and_undo_reapplies_them(
    repo: GitRepo,
) -> None:
    op_id = _turn_with_the_user_between_its_calls(repo)
    # show: the turn's own change, not the user's edits between its calls
    stat = repo.atomic("show", op_id, "--stat", check=0).stdout
    changed = {line.split("|")[0].strip() for line in stat.splitlines() if " | " in line}
    assert changed == {"one.py", "two.py"} and "2 files changed" in stat
    diff = repo.atomic("show", op_id, "--diff", check=0).stdout
    assert "+TWO = 2" in diff and "VALUE = 7" not in diff

    repo.atomic("rollback", "--op", op_id, check=0)
    assert not repo.exists("one.py") and not repo.exists("two.py")  # the turn's files: gone
    _the_users_work_is_there(repo)
    assert repo.atomic_json("show", op_id)["status"] == "rolled_back"

    repo.atomic("undo", check=0)
    assert repo.read("one.py") == b"ONE = 1\n" and repo.read("two.py") == b"TWO = 2\n"
    _the_users_work_is_there(repo)


def test_rollback_op_of_a_committed_turn_drops_its_commit_and_keeps_the_users_work(
    repo: GitRepo,
) -> None:
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    head = repo.head()
    op_id = _turn_with_the_user_between_its_calls(repo)
    assert repo.git("rev-parse", "HEAD^").strip() == head  # the turn's one commit

    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.head() == head  # its commit: off the branch
    assert not repo.exists("one.py") and not repo.exists("two.py")
    _the_users_work_is_there(repo)
    assert repo.git("status", "--porcelain", "--", "one.py", "two.py") == ""

    repo.atomic("undo", check=0)
    assert repo.read("one.py") == b"ONE = 1\n" and repo.read("two.py") == b"TWO = 2\n"
    _the_users_work_is_there(repo)


def test_rollback_op_of_a_turn_recorded_without_its_steps_takes_back_pre_op_to_its_end(
    repo: GitRepo,
) -> None:
    """A turn recorded before turns kept their steps: one step, PRE-OP to its end, as before."""
    op_id = _turn_with_the_user_between_its_calls(repo)
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    with db:
        [(detail,)] = db.execute("SELECT detail FROM operations WHERE id=?", (op_id,))
        data = json.loads(detail)
        del data["turn"]["steps"]
        db.execute("UPDATE operations SET detail=? WHERE id=?", (json.dumps(data), op_id))
    db.close()

    repo.atomic("rollback", "--op", op_id, check=0)
    assert not repo.exists("one.py") and not repo.exists("two.py")
    assert repo.read("lib.py") == b"VALUE = 1\n" and not repo.exists("mine.txt")
    repo.atomic("undo", check=0)
    _the_users_work_is_there(repo)
    assert repo.exists("one.py") and repo.exists("two.py")


# --- a window's start, kept with it (the hook reads no checkpoint back) -------------------------


@pytest.mark.parametrize(
    ("command", "changes"),
    [
        ("git add lib.py", ["index"]),  # the index alone: a step of the turn
        ("git branch side", ["branches"]),
        ("git checkout -q -b side", ["head"]),
        ("true", []),
    ],
)
def test_a_call_that_changes_only_the_index_or_a_ref_is_a_step(
    repo: GitRepo, command: str, changes: list[str]
) -> None:
    repo.write("lib.py", b"VALUE = 2\n")  # the user's edit, there before the turn
    claude = ClaudeCode(repo)
    act = lambda: repo.git(*shlex.split(command)[1:]) if command != "true" else None  # noqa: E731
    answers = claude.turn([bash(repo, 1, command, act)]) + claude.send(stop())

    assert all(a.exit_code == 0 for a in answers), answers
    # A window that changed something is a step: the turn is judged and recorded; one that
    # changed nothing is not.
    assert len(ops(repo)) == (1 if changes else 0), (command, ops(repo))


def test_a_window_opened_by_an_older_record_without_its_start_state_still_closes(
    repo: GitRepo,
) -> None:
    from git_atomic.agents.turnstate import Slot
    from git_atomic.engine import discovery

    claude = ClaudeCode(repo)
    (pre, post), act = edit(repo, 1, "return 42")
    claude.send(pre)
    found = discovery.discover(str(repo.path))
    slot = Slot(found.state_dir, SESSION, found.worktree_id)
    record = slot.read()
    assert record is not None and "window_state" in record.extra
    data = record.to_json()
    del data["extra"]["window_state"]  # as a hook of the version before wrote it
    slot.path.write_text(json.dumps(data))
    act()
    claude.send(post)
    [answer] = claude.send(stop())

    assert "kept as operation" in answer.json()["systemMessage"]
    assert len(ops(repo)) == 1
    assert repo.read("app.py") == b"def answer():\n    return 42\n"


def _numbered(n: int, **lines: str) -> bytes:
    """Lines 1..n, some replaced (`l2="two"`)."""
    return "".join(lines.get(f"l{i}", str(i)) + "\n" for i in range(1, n + 1)).encode()


def _commits_mode_with_your_index(repo: GitRepo) -> dict[str, str]:
    """Committed: long.txt (30 lines), sw.txt, au.txt. Then your work: line 2 of long.txt
    staged, and edited again unstaged; sw.txt skip-worktree, au.txt assume-unchanged, an
    intent-to-add file. Returns the index's flags (`ls-files -v`)."""
    repo.atomic("hooks", "install", "claude-code", "--history", "commits", check=0)
    for name in ("long.txt", "sw.txt", "au.txt"):
        repo.write(name, _numbered(30))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "three files")
    repo.write("long.txt", _numbered(30, l2="two-STAGED"))
    repo.git("add", "long.txt")
    repo.write("long.txt", _numbered(30, l2="two-worktree"))
    repo.git("update-index", "--skip-worktree", "sw.txt")
    repo.git("update-index", "--assume-unchanged", "au.txt")
    repo.write("ita.txt", b"intent\n")
    repo.git("add", "-N", "ita.txt")
    return dict(line.split(" ", 1)[::-1] for line in repo.git("ls-files", "-v").splitlines())


def test_commits_mode_turn_keeps_what_you_staged_and_every_flag(repo: GitRepo) -> None:
    """The turn's commit takes its own hunks; your index keeps your staged line in the file
    it committed, and every flag (adversarial review: the index took the commit's blob, your
    staged text then in no file, and skip-worktree and assume-unchanged were cleared)."""
    flags = _commits_mode_with_your_index(repo)
    head = repo.head()
    calls = []
    for n, (name, text) in enumerate(
        [("long.txt", _numbered(30, l2="two-worktree", l25="agent")), ("sw.txt", None)], 1
    ):
        payload = tool_call("Write", {"file_path": str(repo.path / name)}, n)
        content = text if text is not None else _numbered(30, l3="agent")
        calls.append((payload, lambda name=name, content=content: repo.write(name, content)))
    calls.append(
        (
            tool_call("Write", {"file_path": str(repo.path / "au.txt")}, 3),
            lambda: repo.write("au.txt", _numbered(30, l3="agent")),
        )
    )
    claude = ClaudeCode(repo)
    claude.turn(calls)
    [answer] = claude.send(stop())
    assert "committed as" in answer.json()["systemMessage"]
    assert repo.git("rev-list", f"{head}..HEAD").split() == [repo.head()]
    assert repo.git("show", "HEAD:long.txt").encode() == _numbered(30, l25="agent")
    # Your staged line is still staged, on top of the commit: the index differs from HEAD by
    # it alone; the worktree is as the turn left it.
    assert repo.git("show", ":long.txt").encode() == _numbered(30, l2="two-STAGED", l25="agent")
    assert repo.read("long.txt") == _numbered(30, l2="two-worktree", l25="agent")
    assert (
        dict(line.split(" ", 1)[::-1] for line in repo.git("ls-files", "-v").splitlines()) == flags
    )
    assert repo.git("diff", "--name-only", "--diff-filter=A").split() == ["ita.txt"]


def test_commits_mode_turn_over_a_line_you_staged_is_not_committed(repo: GitRepo) -> None:
    """Line 2 staged, then put back as HEAD has it in the worktree: a turn that changes it
    merges cleanly onto HEAD, but not into your index; nothing is committed or restaged."""
    _commits_mode_with_your_index(repo)
    repo.write("long.txt", _numbered(30))
    head, index = repo.head(), repo.git("ls-files", "-s", "-v")
    call = tool_call("Write", {"file_path": str(repo.path / "long.txt")}, 1)
    claude = ClaudeCode(repo)
    claude.turn([(call, lambda: repo.write("long.txt", _numbered(30, l2="agent")))])
    [answer] = claude.send(stop())
    message = answer.json()["systemMessage"]
    assert "committed as" not in message and "what you staged in long.txt" in message
    assert repo.head() == head and repo.git("ls-files", "-s", "-v") == index
    assert repo.read("long.txt") == _numbered(30, l2="agent")  # the turn's result, kept


@pytest.mark.parametrize("cut", [False, True])
def test_a_turn_that_leaves_an_index_git_cannot_read_is_rolled_back(
    repo: GitRepo, cut: bool
) -> None:
    """A Bash call writes over `.git/index`, or cuts it short (git reads past its checksum),
    as a crashed tool may: the turn cannot be kept, and its Stop takes it back whole, the index
    PRE-OP's again, and says why (a cut index was kept: a later call's capture found it
    remembered)."""
    claude = ClaudeCode(repo)
    before = repo.fingerprint()
    index = repo.path / ".git" / "index"
    damaged = index.read_bytes()[:90] if cut else b"garbage\n"

    def damage() -> None:
        repo.write("app.py", b"def answer():\n    return 42\n")
        index.write_bytes(damaged)

    answers = claude.turn([bash(repo, 1, "tool", damage), bash(repo, 2, "more", lambda: None)])
    assert all("Traceback" not in a.stderr for a in answers), answers
    [answer] = claude.send(stop())
    said = answer.json()
    assert "rolled back" in json.dumps(said) and "index" in json.dumps(said), said
    assert repo.fingerprint().diff(before) == []
    assert "this turn left an index git cannot read" in said["reason"], said
    assert said["decision"] == "block"  # the model is told, and goes on
    [op] = ops(repo)
    assert op["status"] == "rolled_back"
    repo.atomic("undo", check=0)  # the turn's own state, its index as it left it
    assert repo.read("app.py") == b"def answer():\n    return 42\n"
    assert index.read_bytes() == damaged


def test_a_gate_you_broke_between_the_turns_calls_is_not_held_against_it(
    repo: GitRepo,
) -> None:
    """Effect, not state: the turn's gates fail on the tree as it is, but the same gate fails
    without the turn's changes (your edit made between its calls broke it), so the turn did
    not break it and is kept; before, it was judged against the state it started from, and
    its own good change was taken back for your breakage."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "return 42")])
    repo.write("lib.py", b"BUG\n")  # yours, after the turn's call, before its end
    [answer] = claude.send(stop())
    out = answer.json()
    assert "decision" not in out, out
    assert "kept" in out["systemMessage"] and "fails without its changes" in out["systemMessage"]
    assert repo.read("app.py") == b"def answer():\n    return 42\n"
    assert repo.read("lib.py") == b"BUG\n"
    # The same turn breaking the gate itself, your edit harmless: taken back, yours stays.
    repo.write("lib.py", b"VALUE = 1\n")
    claude.turn([edit(repo, 2, "BUG", file="lib.py")])
    repo.write("notes.txt", b"yours\n")
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("lib.py") == b"VALUE = 1\n" and repo.read("notes.txt") == b"yours\n"


def test_a_gate_a_private_worktree_cannot_run_does_not_excuse_the_turn(repo: GitRepo) -> None:
    """A gate that needs an ignored file (`node_modules`, a `.venv` named by path) fails in
    the private worktree whatever the files say. Its failure there must not pass for "it failed
    without the turn too": before, a turn that broke such a gate was kept. The gate is first
    run at HEAD's commit in a private worktree; one that cannot pass there is judged strictly."""
    repo.write(".gitignore", b".venv/\n")
    repo.write(".venv/ok", b"installed\n")
    config = (
        f'[[gates]]\nname = "check"\nrun = "test -f .venv/ok && {sys.executable} -S check_app.py"\n'
    )
    repo.write(".git-atomic.toml", config.encode())
    repo.git("add", ".gitignore", ".git-atomic.toml")
    repo.git("commit", "-qm", "a gate that needs the virtualenv")
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "BUG")])
    [answer] = claude.send(stop())
    out = answer.json()
    assert out.get("decision") == "block", out
    assert repo.read("app.py") == b"def answer():\n    return 41\n"


def test_a_subagents_batch_ends_its_own_calls_only(repo: GitRepo) -> None:
    """A subagent's PostToolBatch (`agent_id`) while the main agent's shell call still runs:
    that call's window stays open, and what it writes after the batch is the turn's."""
    claude = ClaudeCode(repo)
    shell, shell_post = tool_call("Bash", {"command": "make"}, 1)
    claude.send(shell)
    sub, sub_post = tool_call("Write", {"file_path": str(repo.path / "sub.txt")}, 2)
    claude.send({**sub, "agent_id": "agent-7"})
    repo.write("sub.txt", b"by the subagent\n")
    claude.send({**sub_post, "agent_id": "agent-7"})
    batch = {**common("PostToolBatch"), "agent_id": "agent-7", "tool_calls": [sub]}
    claude.send(batch)
    repo.write("app.py", b"BUG\n")  # the main agent's shell call, still running
    claude.send(shell_post)
    [answer] = claude.send(stop())
    assert answer.json()["decision"] == "block"
    assert repo.read("app.py") == b"def answer():\n    return 41\n"


def test_an_answer_naming_bytes_that_are_not_utf8_is_strict_utf8() -> None:
    """A hook's answer with a name from the payload that is not UTF-8 (a surrogate) fell back to
    JSON's `"\\udcff"`: a lone surrogate that Codex's parser (Rust's serde_json) refuses, so the
    answer was lost. Now U+FFFD, the rest of the answer as it was."""
    from git_atomic.agents import tell

    said = tell.reply({"reason": "caf" + os.fsdecode(b"\xe9") + ".txt: changed", "n": [1]})
    assert said.exit_code == 0
    text = said.stdout.encode("utf-8").decode("utf-8")
    assert "\\ud" not in text.lower()
    assert json.loads(text) == {"reason": "caf\ufffd.txt: changed", "n": [1]}


def test_a_turn_that_committed_and_is_taken_back_leaves_your_commit_message(
    repo: GitRepo,
) -> None:
    """`.git/COMMIT_EDITMSG` held your message, kept there when a hook refused your commit.
    A turn's Bash call committed (git wrote its message there) and its gate failed: the
    take-back put the files and the branch back and left the turn's message, yours lost.
    It comes back byte for byte, and `undo` of the take-back leaves it yours."""
    msg = repo.path / ".git" / "COMMIT_EDITMSG"
    msg.write_bytes("my message, refused by a hook — ü\n".encode())
    claude = ClaudeCode(repo)
    head = repo.head()

    def commit() -> None:
        repo.write("app.py", b"def answer():\n    BUG\n")
        repo.git("commit", "-qam", "the turn's")

    claude.turn([bash(repo, 1, 'git commit -am "the turn\'s"', commit)])
    assert msg.read_bytes() == b"the turn's\n"
    [answer] = claude.send(stop())
    assert "rolled back" in answer.json()["reason"]
    assert repo.head() == head
    assert msg.read_bytes() == "my message, refused by a hook — ü\n".encode()
    repo.atomic("undo", check=0)  # the turn's commit back, your message left yours
    assert repo.git("log", "-1", "--format=%s").strip() == "the turn's"
    assert msg.read_bytes() == "my message, refused by a hook — ü\n".encode()
