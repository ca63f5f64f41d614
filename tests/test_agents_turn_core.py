"""An agent turn's calls change where git finds the worktree (`core.bare`, `core.worktree`)
or lock a linked worktree (`git worktree lock`): an operation's rollback puts each back
(engine/coreplace.py, worktreelocks.py; tests/test_git_state.py). A turn's did not: a call's
`git config core.bare true` left every later hook of the turn silent (git found no worktree
for it), its Stop took nothing back and the repository stayed bare; a lock a call made stayed
after its take-back and after a `rollback --op`. Only what changed within its calls is the
turn's: what you set between them stays. Real hook calls, read from the disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testing.agents import claude_hook, shell_turn
from testing.gitrepo import GitRepo


def _op(repo: GitRepo) -> dict[str, str]:
    [op] = repo.atomic_json("log")["operations"]
    return op


def _core(repo: GitRepo, key: str) -> str:
    """The setting as `.git/config` has it on disk ('' unset)."""
    return subprocess.run(
        ["git", "config", "--file", str(repo.path / ".git" / "config"), key],
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


@pytest.mark.parametrize("failing", [True, False])
@pytest.mark.parametrize(
    ("setting", "value"), [("core.bare", "true"), ("core.worktree", "/tmp/elsewhere")]
)
def test_a_turns_call_that_moved_the_worktree_away_is_taken_back_with_it(
    repo: GitRepo, setting: str, value: str, failing: bool
) -> None:
    """git's t1510-repo-setup: a call's `git config core.bare true` (or a `core.worktree`
    naming another folder). Its later calls are still the turn's, and its Stop takes the turn
    back, the setting with it, also where every gate passes: as a `run` whose command did so
    (no state anyone could judge or keep)."""
    answer = shell_turn(
        repo,
        "echo m > made.txt",
        f"git config {setting} {value}",
        "echo n > later.txt" + ("; echo x > bad" if failing else ""),
    )
    assert answer.get("decision") == "block", answer
    said = answer["systemMessage"]
    assert f"{setting} in .git/config (where git finds this worktree)" in said, said
    assert _core(repo, setting) == ("false" if setting == "core.bare" else "")
    for name in ("made.txt", "later.txt", "bad"):
        assert not (repo.path / name).exists(), name
    assert repo.git("status", "--porcelain") == ""
    assert _op(repo)["status"] == "rolled_back"


def test_a_turn_closed_unjudged_names_the_core_bare_its_call_set(repo: GitRepo) -> None:
    """A turn closed without its Stop (the session ended) is recorded, not judged, nothing
    taken back: the repository stays bare, and the answer said nothing of it."""
    for n, command in enumerate(("echo m > made.txt", "git config core.bare true"), start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    said = json.loads(claude_hook(repo, "s1", "SessionEnd", reason="other").stdout)
    text = said["systemMessage"]
    assert "this turn set core.bare true in .git/config" in text and "left as it is" in text, said
    assert _core(repo, "core.bare") == "true" and (repo.path / "made.txt").exists()


def test_core_bare_you_set_between_a_turns_calls_stays(repo: GitRepo) -> None:
    """Yours: the turn's take-back leaves it as you set it (and the turn's later calls and
    its Stop still find their worktree)."""
    answer = shell_turn(
        repo, "echo m > made.txt", "echo x > bad", between="git config core.bare true"
    )
    assert answer.get("decision") == "block", answer
    assert "core.bare" not in answer["systemMessage"], answer
    assert _core(repo, "core.bare") == "true"
    assert not (repo.path / "made.txt").exists() and not (repo.path / "bad").exists()


@pytest.mark.parametrize("how", ["stop", "rollback-op", "yours-between"])
def test_the_lock_a_turns_call_put_on_a_linked_worktree_goes_with_its_take_back(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """git's t2400-worktree-add: a call's `git worktree lock` stayed after the turn's take-back
    (and after a `rollback --op` of the kept turn): `git worktree remove` then refused the
    folder. One you locked between its calls stays locked."""
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(wt), "-b", "wtb")
    locked = repo.path / ".git" / "worktrees" / "wt" / "locked"
    line = f"git worktree lock --reason mine {wt}"
    if how == "yours-between":
        answer = shell_turn(repo, "echo m > made.txt", "echo x > bad", between=line)
        assert "worktree" not in answer["systemMessage"], answer
        assert locked.read_bytes() == b"mine\n"
        return
    answer = shell_turn(repo, "echo m > made.txt", line + ("; echo x > bad" * (how == "stop")))
    said = answer.get("systemMessage", "")
    if how == "rollback-op":
        assert answer.get("decision") is None and locked.exists(), answer
        said = repo.atomic("rollback", f"--op={_op(repo)['op_id']}", check=0).stderr
    assert not locked.exists(), said
    assert f"the linked worktree {wt}, which the operation locked, is unlocked again" in said
    repo.git("worktree", "remove", str(wt))


def test_a_lock_a_turns_call_took_off_is_put_back(repo: GitRepo, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(wt), "-b", "wtb")
    repo.git("worktree", "lock", "--reason", "keep it", str(wt))
    answer = shell_turn(repo, "echo m > made.txt", f"git worktree unlock {wt}; echo x > bad")
    locked = repo.path / ".git" / "worktrees" / "wt" / "locked"
    assert locked.read_bytes() == b"keep it\n", answer
    assert "which the operation unlocked, is locked again" in answer["systemMessage"], answer


def test_a_hook_call_outside_any_repository_starts_no_git_process_more(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Finding a turn's worktree by its record (a call set `core.bare true`) costs a `git
    rev-parse` only where git says the folder is in a bare repository: a session in a folder
    of no repository paid it at every hook call (GIT_TRACE: the processes git started)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    trace = tmp_path / "trace"
    payload = {
        "session_id": "s1",
        "cwd": str(outside),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "true"},
        "tool_use_id": "t1",
    }
    env = {
        **repo.env,
        "GIT_TRACE": str(trace),
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
        "CLAUDE_PROJECT_DIR": str(outside),
    }
    ran = subprocess.run(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", "PreToolUse"],
        input=json.dumps(payload),
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert ran.stdout == "", ran
    started = [line for line in trace.read_text().splitlines() if "trace: built-in: git" in line]
    assert len(started) == 2, started  # where the repository is, and its configuration
