"""Two agent sessions in one worktree, one's tool call running while the other's shell call
runs. A shell call's window takes in everything that changed while it ran (README: "A shell
call's window takes in everything"), but a call of another session's turn that begins and
ends inside it has its own checkpoints: what it changed is that turn's, never this one's. A
turn taken back at its Stop took the other session's files with it (its new file removed, its
line of a shared file written back, its deleted file made again). Real hook calls, read from
the disk."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo

SHARED = b"a\nb\nc\nd\ne\nf\ng\n"


def _setup(repo: GitRepo) -> None:
    repo.write("f.txt", SHARED)
    repo.write("g.txt", b"x\n")
    repo.write("h.txt", b"h\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.git("add", "f.txt", "g.txt", "h.txt")
    repo.git("commit", "-qm", "files")


def _sh(repo: GitRepo, command: str) -> None:
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)


def _call(repo: GitRepo, session: str, n: int, **call: Any) -> dict[str, Any]:
    return {"tool_use_id": f"{session}-{n}", **call}


def _bash(command: str) -> dict[str, Any]:
    return {"tool_name": "Bash", "tool_input": {"command": command}}


# What the second session's call does, as a shell call or as Claude Code's Write.
OTHERS = {
    "new file": "echo two > two.txt",
    "another line of the shared file": "sed -i 's/^g$/G/' f.txt",
    "delete": "rm h.txt",
    "chmod": "chmod +x g.txt",
}


def _others_call(repo: GitRepo, what: str) -> None:
    if what == "write":
        call = _call(
            repo,
            "s2",
            1,
            tool_name="Write",
            tool_input={"file_path": str(repo.path / "two.txt"), "content": "two\n"},
        )
        claude_hook(repo, "s2", "PreToolUse", **call)
        repo.write("two.txt", b"two\n")
    else:
        call = _call(repo, "s2", 1, **_bash(OTHERS[what]))
        claude_hook(repo, "s2", "PreToolUse", **call)
        _sh(repo, OTHERS[what])
    claude_hook(repo, "s2", "PostToolUse", **call, tool_response={"success": True})


def _disk(repo: GitRepo) -> dict[str, tuple[bytes, bool]]:
    found = {}
    for name in sorted(os.listdir(repo.path)):
        path = repo.path / name
        if name != ".git" and path.is_file():
            found[name] = (path.read_bytes(), bool(os.lstat(path).st_mode & stat.S_IXUSR))
    return found


@pytest.mark.parametrize("what", [*OTHERS, "write"])
def test_another_sessions_call_inside_a_shell_call_is_not_taken_back_with_it(
    repo: GitRepo, what: str
) -> None:
    _setup(repo)
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    # s1's shell call: it writes one.txt, the other session's call runs and ends, then it
    # writes the first line of f.txt and the file that breaks the gate.
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    repo.write("one.txt", b"one\n")
    _others_call(repo, what)
    others_left = _disk(repo)
    _sh(repo, "sed -i 's/^a$/A/' f.txt; echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    kept = json.loads(claude_hook(repo, "s2", "Stop").stdout)
    if what == "write":  # a file tool's files are its own
        assert "kept" in kept["systemMessage"], kept
    else:  # a shell call wholly inside s1's: neither's (tests/test_turn_shell_overlap.py)
        assert "not judged" in kept["systemMessage"] and "neither turn's" in kept["systemMessage"]
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    expected = {k: v for k, v in others_left.items() if k != "one.txt"}
    assert _disk(repo) == expected  # s1's one.txt, its A and bad gone; all of s2's there
    # and undo of that take-back brings s1's changes back, the other session's still there
    repo.atomic("undo", check=0)
    assert repo.read("one.txt") == b"one\n" and repo.exists("bad")
    assert repo.read("f.txt").startswith(b"A\n")
    for name, (data, x) in expected.items():
        if name != "f.txt":
            assert _disk(repo)[name] == (data, x), name


def _run(repo: GitRepo, history: str, *, env: dict[str, str] | None = None) -> None:
    argv = ["run", "--history", history, "-n", "yours", "--", "sh", "-c", "echo u > u.txt"]
    repo.atomic(*argv, env=env)


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_your_operation_inside_a_shell_call_is_not_taken_back_with_it(
    repo: GitRepo, history: str
) -> None:
    """`git atomic run` of yours, kept, while an agent's shell call runs: in commits mode the
    turn's take-back moved the branch back over your commit, and removed your file."""
    _setup(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    repo.write("one.txt", b"one\n")
    _run(repo, history)
    head = repo.head()
    _sh(repo, "sed -i 's/^a$/A/' f.txt; echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert repo.head() == head
    assert repo.read("u.txt") == b"u\n" and repo.read("f.txt") == SHARED
    assert not repo.exists("one.txt") and not repo.exists("bad")


def test_your_rollback_inside_a_shell_call_is_not_undone_with_it(repo: GitRepo) -> None:
    """Your `git atomic rollback` of an operation of yours, while an agent's shell call runs:
    the turn's take-back made the operation's file again."""
    _setup(repo)
    _run(repo, "shadow")
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    repo.write("one.txt", b"one\n")
    repo.atomic("rollback")
    assert not repo.exists("u.txt")
    _sh(repo, "echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert not repo.exists("u.txt") and not repo.exists("one.txt") and not repo.exists("bad")


def test_another_turn_taken_back_inside_a_shell_call_stays_taken_back(repo: GitRepo) -> None:
    """Another session's turn fails and is taken back at its Stop while this one's shell call
    runs: this turn's take-back made that turn's files again."""
    _setup(repo)
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    theirs = _call(repo, "s2", 1, **_bash("echo two > two.txt; echo x > bad"))
    claude_hook(repo, "s2", "PreToolUse", **theirs)
    _sh(repo, "echo two > two.txt; echo x > bad")
    claude_hook(repo, "s2", "PostToolUse", **theirs, tool_response={"success": True})
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    repo.write("one.txt", b"one\n")
    stopped = json.loads(claude_hook(repo, "s2", "Stop").stdout)
    assert stopped.get("decision") == "block", stopped
    assert not repo.exists("two.txt") and not repo.exists("bad")
    _sh(repo, "echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert not repo.exists("two.txt") and not repo.exists("one.txt") and not repo.exists("bad")


def test_an_operation_the_agents_shell_call_ran_is_taken_back_with_it(repo: GitRepo) -> None:
    """`git atomic run` in the agent's own shell call (Claude Code's CLAUDECODE in its
    environment) is part of that call, as before: taken back with the turn."""
    _setup(repo)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    mine = _call(repo, "s1", 1, **_bash("git atomic run -- ..."))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    _run(repo, "shadow", env={"CLAUDECODE": "1"})
    _sh(repo, "echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert not repo.exists("u.txt") and not repo.exists("bad")


def test_the_log_of_windows_keeps_its_newest_entries_and_stays_small(repo: GitRepo) -> None:
    """Every window of every turn is noted: the log is cut to its newest entries as it grows
    (its oldest were read before, and never the newest)."""
    from git_atomic.engine import discovery
    from git_atomic.ops import windowlog

    (repo.path / ".git" / "atomic" / "turns").mkdir(parents=True)
    discovery.discover.cache_clear()
    git_repo = discovery.discover(str(repo.path))
    assert git_repo is not None
    for n in range(3000):
        windowlog.note(git_repo, f"s{n}", "b" * 40, "a" * 40, float(n))
    found = windowlog.read(git_repo)
    assert found[-1].who == "s2999"
    assert [int(w.who[1:]) for w in found] == list(range(3000 - len(found), 3000))
    size = os.path.getsize(next((repo.path / ".git" / "atomic" / "turns").glob("windows-*")))
    assert size <= 300 * 1024


@pytest.mark.parametrize(
    ("path", "content"), [("two.txt", b"two\n"), ("g.txt", b"changed\n"), ("f.txt", b"a\nb\n")]
)
def test_another_sessions_file_tool_call_with_no_capture_is_not_taken_back(
    repo: GitRepo, path: str, content: bytes
) -> None:
    """The other session's turn has a step already, so its Write takes no capture (its files
    noted before and after, its step pending): its change is still its own. f.txt: the turn
    wrote its first line `A` before; their file's first line is `a` again (the same change
    as taking the turn's back): no overlap, theirs stays."""
    _setup(repo)
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    first = _call(repo, "s2", 1, **_bash("echo z > z.txt"))
    claude_hook(repo, "s2", "PreToolUse", **first)
    _sh(repo, "echo z > z.txt")
    claude_hook(repo, "s2", "PostToolUse", **first, tool_response={"success": True})
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    _sh(repo, "echo one > one.txt; sed -i 's/^a$/A/' f.txt")
    write = _call(
        repo,
        "s2",
        2,
        tool_name="Write",
        tool_input={"file_path": str(repo.path / path), "content": content.decode()},
    )
    claude_hook(repo, "s2", "PreToolUse", **write)
    repo.write(path, content)
    claude_hook(repo, "s2", "PostToolUse", **write, tool_response={"success": True})
    _sh(repo, "echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert repo.read(path) == content and repo.read("z.txt") == b"z\n"
    assert not repo.exists("one.txt") and not repo.exists("bad")
    assert repo.read("f.txt") == (content if path == "f.txt" else SHARED)


def test_another_sessions_call_that_began_first_and_ends_inside_keeps_its_change(
    repo: GitRepo,
) -> None:
    """The other session's call began before this turn's shell call and ends while it runs:
    what changed while both ran is the other's (its window holds it too, and it was kept);
    this turn's take-back removed the other's file."""
    _setup(repo)
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    theirs = _call(repo, "s2", 1, **_bash("job"))
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s2", "PreToolUse", **theirs)
    claude_hook(repo, "s1", "PreToolUse", **mine)
    repo.write("two.txt", b"two\n")
    claude_hook(repo, "s2", "PostToolUse", **theirs, tool_response={"success": True})
    kept = json.loads(claude_hook(repo, "s2", "Stop").stdout)
    assert "kept" in kept["systemMessage"], kept
    _sh(repo, "echo one > one.txt; echo x > bad")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert repo.read("two.txt") == b"two\n"
    assert not repo.exists("one.txt") and not repo.exists("bad")


# Another session's file tool call that begins inside this turn's shell call and ends after
# it: open when this window closes, its change is still its own. It claims its files only
# (this turn's `bad`, made after it began, is this turn's).
OPEN_CALLS = ["write", "write with a step first", "edit of the shared file"]


def _open_call(repo: GitRepo, what: str) -> dict[str, Any]:
    if what == "write with a step first":
        first = _call(repo, "s2", 0, **_bash("echo z > z.txt"))
        claude_hook(repo, "s2", "PreToolUse", **first)
        _sh(repo, "echo z > z.txt")
        claude_hook(repo, "s2", "PostToolUse", **first, tool_response={"success": True})
    path, content = ("f.txt", "a\nb\nc\nd\ne\nf\nG\n") if "shared" in what else ("two.txt", "two\n")
    return _call(
        repo,
        "s2",
        1,
        tool_name="Write",
        tool_input={"file_path": str(repo.path / path), "content": content},
    )


@pytest.mark.parametrize("what", OPEN_CALLS)
def test_another_sessions_call_still_open_when_a_shell_call_ends_is_not_taken_back(
    repo: GitRepo, what: str
) -> None:
    _setup(repo)
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    theirs = _open_call(repo, what)
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    _sh(repo, "echo one > one.txt; sed -i 's/^a$/A/' f.txt")
    claude_hook(repo, "s2", "PreToolUse", **theirs)
    if "shared" in what:
        _sh(repo, "sed -i 's/^g$/G/' f.txt")
    else:
        repo.write("two.txt", b"two\n")
    _sh(repo, "touch bad")  # after their call began: this turn's all the same
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    claude_hook(repo, "s2", "PostToolUse", **theirs, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert answer.get("decision") == "block", answer
    assert not repo.exists("one.txt") and not repo.exists("bad")
    if "shared" in what:
        assert repo.read("f.txt") == SHARED.replace(b"g\n", b"G\n")
    else:
        assert repo.read("two.txt") == b"two\n" and repo.read("f.txt") == SHARED
    # the other session's call, ended now, is its own: its turn keeps it
    kept = json.loads(claude_hook(repo, "s2", "Stop").stdout)
    assert "kept" in kept["systemMessage"], kept
    assert repo.read("f.txt" if "shared" in what else "two.txt") != b""


def test_show_says_what_the_stretches_of_a_window_cut_around_another_writer_are(
    repo: GitRepo,
) -> None:
    """One shell call, inside which another session's call ran and ended: its window is cut
    in two steps around it. `show` said "its 2 calls' changes" of a turn of one call, and its
    timeline "before a call" where the other writer's change ended."""
    _setup(repo)
    for session in ("s1", "s2"):
        claude_hook(repo, session, "UserPromptSubmit", prompt="go")
    mine = _call(repo, "s1", 1, **_bash("long job"))
    claude_hook(repo, "s1", "PreToolUse", **mine)
    repo.write("one.txt", b"one\n")
    _others_call(repo, "new file")
    repo.write("three.txt", b"three\n")
    claude_hook(repo, "s1", "PostToolUse", **mine, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert "kept" in answer["systemMessage"], answer
    ops = repo.atomic_json("log")["operations"]
    op_id = next(o["op_id"] for o in ops if "s1" in o["name"])
    shown = repo.atomic("show", op_id, "--diff", check=0).stdout
    assert "2 calls" not in shown, shown
    assert "its calls' changes, in 2 steps" in shown, shown
    for edge in ("before", "after"):  # the timeline's checkpoints at the cut, said so
        assert f"{edge} another writer's change inside its window" in shown, shown
    assert "one.txt" in shown and "three.txt" in shown and "two.txt" not in shown, shown
