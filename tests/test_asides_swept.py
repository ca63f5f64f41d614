"""Files we write aside under a name of the writing process (`.NAME.PID.tmp` and the rest of
scratch._ASIDE) before a rename puts them in place: a process killed between the two left them
for good. `recover` and `gc` remove those of dead processes in our folder; an agent's settings
file is written through the same durable whole-file write, and its install removes the copies
a killed install left beside it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child.send_signal(signal.SIGKILL)
    child.wait()
    return child.pid


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


@pytest.mark.parametrize("sweeper", [["recover"], ["gc"]])
def test_asides_of_dead_processes_in_our_folder_are_removed_and_nothing_else(
    repo: GitRepo, tmp_path: Path, sweeper: list[str]
) -> None:
    repo.atomic("run", "-n", "one", "--no-gates", "--", "sh", "-c", "echo b > b", check=0)
    state = repo.path / ".git" / "atomic"
    dead, alive = _dead_pid(), os.getpid()
    (state / "turns" / "k").mkdir(parents=True, exist_ok=True)
    (state / "logs" / "w").mkdir(parents=True, exist_ok=True)
    gone = [
        f"bits-main.{dead}.tmp",  # scanbits, conversion, watcher: `<name>.<pid>.tmp`
        f".record.{dead}.tmp",  # wholefile.replace
        f"turns/k/.record.{dead}.tmp",  # a turn's record, a level down
        f"stash.{dead}.atomic-tmp",
        f"journal.sqlite3.back-{dead}",
        f"reconciled-main.json.{dead}",
        f"watch-main.json.{dead}",
    ]
    kept = [
        f"bits-main.{alive}.tmp",  # a live process's: still being written
        f"turns/k/.record.{alive}.tmp",
        f"logs/w/gate.{dead}.tmp",  # not looked into (many)
        f"notes.{dead}.txt",  # no name of ours
    ]
    for rel in gone + kept:
        (state / rel).write_bytes(b"aside\n")
    git_dir = repo.path / ".git"  # the lock's and the child record's, at its top only
    for name in (f"atomic.lock.{dead}", f"atomic-child.json.{dead}", f"config.{dead}"):
        (git_dir / name).write_bytes(b"aside\n")
    marks = repo.path / ".git" / "atomic-open-turns"  # an open turn's marks: ours too
    marks.mkdir(exist_ok=True)
    (marks / f".k.main.{dead}.tmp").write_bytes(b"aside\n")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"yours\n")
    os.symlink(outside, state / "turns" / "k" / f".linked.{dead}.tmp")  # never removed through
    os.symlink(tmp_path, state / "turns" / "linked")  # a folder made a link: not looked into
    (tmp_path / f".x.{dead}.tmp").write_bytes(b"outside\n")

    repo.atomic(*sweeper, check=0)

    assert [rel for rel in gone if (state / rel).exists()] == []
    assert not (marks / f".k.main.{dead}.tmp").exists()
    assert not (git_dir / f"atomic.lock.{dead}").exists()
    assert not (git_dir / f"atomic-child.json.{dead}").exists()
    assert (git_dir / f"config.{dead}").exists()  # git's, or yours: not a name of ours
    assert [rel for rel in kept if not (state / rel).exists()] == []
    assert outside.read_bytes() == b"yours\n"
    assert os.path.islink(state / "turns" / "k" / f".linked.{dead}.tmp")
    assert (tmp_path / f".x.{dead}.tmp").exists()


def test_a_hook_killed_between_its_aside_and_the_rename_leaves_it_for_recover(
    repo: GitRepo,
) -> None:
    """A real kill -9 at wholefile's step (the aside written, not renamed yet): the aside stays
    under the dead pid's name; `recover` removes it; the record it would have replaced is whole."""
    repo.atomic("hooks", "install", "claude-code", check=0)
    payload = {"session_id": "s1", "hook_event_name": "UserPromptSubmit", "prompt": "x"}
    repo.atomic("hook", "claude-code", "UserPromptSubmit", input=json.dumps(payload).encode())
    pre = {
        "session_id": "s1",
        "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / "b")},
    }
    env = {"GIT_ATOMIC_FAILPOINT": "wholefile:aside", "GIT_ATOMIC_HELPER": "0"}
    res = repo.atomic("hook", "claude-code", "PreToolUse", input=json.dumps(pre).encode(), env=env)
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)
    git_dir = repo.path / ".git"  # the open turn's mark, in .git/atomic-open-turns/
    left = [p for p in git_dir.rglob("*.tmp") if "tmp" not in p.relative_to(git_dir).parts]
    assert left, "the kill left no aside"
    repo.atomic("recover", check=0)
    assert [p for p in left if p.exists()] == []


def test_hooks_install_killed_before_its_rename_leaves_the_old_settings(repo: GitRepo) -> None:
    settings = repo.path / ".claude" / "settings.json"
    settings.parent.mkdir()
    old = b'{\n  "model": "mine"\n}\n'
    settings.write_bytes(old)
    env = {"GIT_ATOMIC_FAILPOINT": "wholefile:aside", "GIT_ATOMIC_HELPER": "0"}
    res = repo.atomic("hooks", "install", "claude-code", env=env)
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)
    assert settings.read_bytes() == old  # old, never torn
    [aside] = [p.name for p in settings.parent.iterdir() if p.name != "settings.json"]
    assert aside.startswith(".settings.json.") and aside.endswith(".tmp")
    repo.atomic("hooks", "install", "claude-code", check=0)
    assert json.loads(settings.read_bytes())["model"] == "mine"
    assert "hooks" in json.loads(settings.read_bytes())
    assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]


@pytest.mark.parametrize(
    "step",
    [f"{kind}:aside@{n}" for kind in ("scanbits", "reconcile") for n in (1, 2, 3)],
)
def test_a_run_killed_between_a_cache_aside_and_its_rename_is_recovered_clean(
    repo: GitRepo, step: str
) -> None:
    """kill -9 at each write of the scan's bits and of the reconciliation memo (a run writes
    each three times: PRE-OP, OP-EXEC, POST-OP): the aside stays under the dead pid's name;
    `recover` takes the run back to PRE-OP and removes it."""
    repo.write("b", b"yours\n")
    env = {"GIT_ATOMIC_FAILPOINT": step, "GIT_ATOMIC_HELPER": "0"}
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo c > c", env=env)
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)
    state = repo.path / ".git" / "atomic"
    aside = re.compile(r"^(bits-.*\.\d+\.tmp|reconciled-.*\.json\.\d+)$")
    left = [p.name for p in state.iterdir() if aside.match(p.name)]
    assert left, "the kill left no aside"
    repo.atomic("recover", check=0)
    assert [n for n in left if (state / n).exists()] == []
    assert repo.read("b") == b"yours\n" and not repo.exists("c")
