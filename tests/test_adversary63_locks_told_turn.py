"""The stale git locks an agent turn's calls left, removed first at its Stop, are said even
where its take-back is then refused (tests/test_adversary63_locks_told.py for a command's):
the Stop's verdict, not judged, names the lock it removed beside the refusal."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_adversary63_locks_told import _wait_for
from tests.test_agents_hooks import ClaudeCode, bash, edit, repo, stop

__all__ = ["repo"]


def test_locks_a_turns_call_left_are_said_where_its_take_back_is_refused(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A turn's Stop removes the locks its calls' git left first; its gate failed and its
    take-back met your live `git commit -a`'s index.lock: the Stop says the turn is not judged
    and names the lock it removed too, where that line was lost with the verdict."""
    claude = ClaudeCode(repo)
    lock = repo.path / ".git" / "config.lock"

    def act() -> None:  # a git the call ran left config.lock; it staged a new file
        repo.write("new", b"new\n")
        repo.git("add", "new")
        lock.write_bytes(b"")

    claude.turn([bash(repo, 1, "echo new > new; git add new", act), edit(repo, 2, "BUG")])
    pause = tmp_path / "pause"
    claude.env.update(
        GIT_ATOMIC_FAILPOINT_PAUSE="rollback:before-rescue",
        GIT_ATOMIC_FAILPOINT_PAUSE_FILE=str(pause),
        GIT_ATOMIC_HELPER="0",
    )
    editor = tmp_path / "editor-open"
    commit = None
    with ThreadPoolExecutor(1) as pool:
        ending = pool.submit(claude.send, stop())
        try:
            _wait_for(pause)
            assert not lock.exists()
            commit = subprocess.Popen(
                ["git", "commit", "-a", "-q"],
                cwd=repo.path,
                env={**repo.env, "GIT_EDITOR": f"touch {editor}; sleep 60 #"},
            )
            _wait_for(editor)
            pause.unlink()
            [answer] = ending.result(timeout=120)
        finally:
            if commit is not None:
                commit.kill()
                commit.wait()
    said = answer.json().get("systemMessage", "") + answer.stderr
    assert "index.lock" in said, said
    assert "config.lock" in said and "removed" in said, said
