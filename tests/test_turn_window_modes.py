"""What you change of a file while an agent's file tool writes it (between its `PreToolUse`
and `PostToolUse`) is the call's: the window claims the file it names, whoever changed it. A
mode change there (`chmod +x`, `chmod -x`, `chmod 600`, `chmod 755`, the file made a link) is
taken back by a failing turn's Stop exactly as a `run`'s rollback takes back the same change
made by its command: git's modes and the file's type come back; permission bits closed
(`chmod 600`) stay closed, as after any rollback (README: a take-back never opens bits).
Differential: the same change through a turn and through `git atomic run`, the disk compared
(lstat: type and bits; bytes or the link's target)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo

CHANGES = {
    "+x": "chmod +x g.txt",
    "-x": "chmod -x g.txt",
    "600": "chmod 600 g.txt",
    "755": "chmod 755 g.txt",
    "700": "chmod 700 g.txt",
    "made a link": "rm g.txt && ln -s w.txt g.txt",
}
GATE = b'[[gates]]\nname = "g"\nrun = "! grep -rqs --exclude-dir=.git agent ."\n'


def _repo(root: Path, start: int) -> GitRepo:
    repo = GitRepo.create(root / "repo", root / "home")
    repo.write(".git-atomic.toml", GATE)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    repo.write("g.txt", b"g\n")
    repo.write("w.txt", b"w\n")
    os.chmod(repo.path / "g.txt", start)
    repo.git("add", ".")
    repo.git("commit", "-qm", "g")
    return repo


def _disk(repo: GitRepo) -> dict[str, tuple[str, int, bytes]]:
    out = {}
    for name in sorted(os.listdir(repo.path)):
        if name in (".git", ".git-atomic.toml"):
            continue
        path = repo.path / name
        st = os.lstat(path)
        link = stat.S_ISLNK(st.st_mode)
        data = os.fsencode(os.readlink(path)) if link else path.read_bytes()
        out[name] = ("link" if link else "file", 0 if link else stat.S_IMODE(st.st_mode), data)
    return out


def _turn(repo: GitRepo, change: str) -> dict[str, Any]:
    call: dict[str, Any] = {
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / "g.txt"), "content": "agent\n"},
        "tool_use_id": "w1",
    }
    claude_hook(repo, "s1", "PreToolUse", **call)
    (repo.path / "g.txt").write_bytes(b"agent\n")
    subprocess.run(["sh", "-c", change], cwd=repo.path, env=repo.env, check=True)
    claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer: dict[str, Any] = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    return answer


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("start", [0o644, 0o755], ids=["644", "755"])
def test_a_mode_change_in_a_file_tools_window_is_taken_back_as_a_runs(
    tmp_path: Path, change: str, start: int
) -> None:
    by_turn = _repo(tmp_path / "turn", start)
    answer = _turn(by_turn, CHANGES[change])
    assert answer.get("decision") == "block" and "were rolled back" in answer["reason"], answer

    by_run = _repo(tmp_path / "run", start)
    ran = subprocess.run(
        ["git", "atomic", "run", "--", "sh", "-c", f"echo agent > g.txt; {CHANGES[change]}"],
        cwd=by_run.path,
        env=by_run.env,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 1 and "rolled back" in ran.stderr, ran.stderr

    assert _disk(by_turn) == _disk(by_run)
    kind, bits, data = _disk(by_turn)["g.txt"]
    assert (kind, data) == ("file", b"g\n")
    # git's executable bit as at the start; bits closed in the window stay closed.
    assert bits & 0o100 == start & 0o100
    assert bits & ~start & 0o677 == 0, oct(bits)


def test_a_rename_in_a_file_tools_window_is_its_removal_and_a_file_of_yours(
    tmp_path: Path,
) -> None:
    """`mv g.txt g2.txt` while the call writes g.txt: the call's window claims g.txt (its
    removal, taken back: g.txt comes back as it was), not g2.txt (a file it does not name)."""
    repo = _repo(tmp_path, 0o644)
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    for n, (rel, change) in enumerate([("g.txt", "mv g.txt g2.txt"), ("bad", "true")]):
        call: dict[str, Any] = {
            "tool_name": "Write",
            "tool_input": {"file_path": str(repo.path / rel), "content": "agent\n"},
            "tool_use_id": f"w{n}",
        }
        claude_hook(repo, "s1", "PreToolUse", **call)
        (repo.path / rel).write_bytes(b"agent\n")
        subprocess.run(["sh", "-c", change], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout)
    assert "were rolled back" in answer["reason"], answer
    assert _disk(repo) == {
        "README": ("file", 0o644, (repo.path / "README").read_bytes()),
        "g.txt": ("file", 0o644, b"g\n"),
        "g2.txt": ("file", 0o644, b"agent\n"),
        "w.txt": ("file", 0o644, b"w\n"),
    }
