"""`git atomic status` of an open operation says WHICH paths it changed since its PRE-OP: on
disk and in the index, each added, modified, deleted, mode, type or renamed (an exact rename),
the first ten a side in text then "and N more", every one in `--json` and in the MCP `status`
tool. Effect, not state: what was changed before `begin` is not the operation's. The tree is
hostile: a link to a folder outside is one path, never a way in; a name that is not UTF-8 is
shown quoted (text) and kept exact (`not_utf8`). `status` writes nothing in the repository.

And an agent turn whose Stop could not wait for the worktree's lock (turnstopkilled.STOP_BUSY)
is said to wait to be judged at the session's next prompt (text and `--json`).

Real git, real processes; the oracle is the disk (the paths made, the git dir's files)."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import stdio_client

from testing import mcpfork
from testing.gitrepo import GitRepo
from tests.test_adversary63_stop_busy_then_prompt import _busy_stop
from tests.test_agents_hooks import ClaudeCode, edit, repo

__all__ = ["repo"]

ODD = b"caf\xe9.txt"  # Latin-1, not UTF-8


def _made(tmp_path: Path) -> GitRepo:
    made = GitRepo.create(tmp_path / "r", tmp_path / "home")
    for name in ("kept.txt", "edit.txt", "gone.txt", "move.txt", "run.sh", "link.txt"):
        made.write(name, f"{name} at the start\n".encode())
    made.git("add", "-A")
    made.git("commit", "-qm", "start")
    return made


def _change(made: GitRepo, outside: Path) -> None:
    """One change of each kind, made after `begin`."""
    made.write("edit.txt", b"edited\n")
    os.remove(made.path / "gone.txt")
    made.git("mv", "move.txt", "moved.txt")  # on disk and in the index
    os.chmod(made.path / "run.sh", 0o755)
    os.remove(made.path / "link.txt")
    os.symlink("kept.txt", made.path / "link.txt")
    made.write(ODD, b"not utf-8 name\n")
    made.git("add", "new-staged.txt", check=False)
    made.write("new-staged.txt", b"staged\n")
    made.git("add", "new-staged.txt")
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside\n")
    os.symlink(outside, made.path / "out")


def _git_dir_files(made: GitRepo) -> dict[str, tuple[int, int]]:
    """The git dir's files, but the warm helper's own (its pid and lock: the machinery that
    runs a command, which may start with any of them)."""
    found = {}
    for folder, _, names in os.walk(made.path / ".git"):
        if os.path.join(".git", "atomic", "helper") in folder:
            continue
        for name in names:
            st = os.lstat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = (st.st_size, st.st_mtime_ns)
    return found


def test_status_lists_what_the_open_operation_changed_and_only_that(tmp_path: Path) -> None:
    """Before: `status` said `open: fmt` and its phase, not one path. After: each change of the
    operation, said as git would, the user's edit made before `begin` not among them."""
    made = _made(tmp_path)
    made.write("kept.txt", b"your edit before begin\n")  # not the operation's
    made.atomic("begin", "fmt", check=0)
    _change(made, tmp_path / "outside")
    git_dir = _git_dir_files(made)
    out = made.atomic("status", check=0)
    assert _git_dir_files(made) == git_dir  # nothing written in the repository
    text = out.stdout
    assert "Traceback" not in text + out.stderr
    assert "  changed  8 paths on disk since PRE-OP" in text, text
    for line in (
        "modified edit.txt",
        "deleted  gone.txt",
        "renamed  move.txt -> moved.txt",
        "mode     run.sh",
        "type     link.txt",
        'added    "caf\\351.txt"',
        "added    new-staged.txt",
        "added    out",
    ):
        assert line in text, (line, text)
    assert "kept.txt" not in text.replace("kept.txt at", ""), text  # (its edit is yours)
    assert "secret" not in text  # a link is a path, never a way in
    staged = text.split("  staged   ", 1)[1]
    assert staged.startswith("2 paths in the index since PRE-OP"), staged
    assert "renamed  move.txt -> moved.txt" in staged and "added    new-staged.txt" in staged
    assert (tmp_path / "outside" / "secret.txt").read_bytes() == b"outside\n"


def test_status_json_lists_every_path_and_the_exact_bytes_of_a_name(tmp_path: Path) -> None:
    made = _made(tmp_path)
    made.atomic("begin", "fmt", check=0)
    _change(made, tmp_path / "outside")
    data = made.atomic_json("status")
    changes = data["open"]["changes"]
    assert changes["since"] == data["open"]["checkpoints"]["pre_op"]
    assert changes["unknown"] is None
    disk = {p["path"]: p for p in changes["worktree"]["paths"]}
    assert changes["worktree"]["total"] == 8 and not changes["worktree"]["truncated"]
    assert disk["moved.txt"] == {"path": "moved.txt", "action": "renamed", "from": "move.txt"}
    assert {k: v["action"] for k, v in disk.items() if k != "moved.txt"} == {
        "edit.txt": "modified",
        "gone.txt": "deleted",
        "run.sh": "mode",
        "link.txt": "type",
        "caf\ufffd.txt": "added",
        "new-staged.txt": "added",
        "out": "added",
    }
    at = [p["path"] for p in changes["worktree"]["paths"]].index("caf\ufffd.txt")
    assert base64.b64decode(data["not_utf8"][f"/open/changes/worktree/paths/{at}/path"]) == ODD
    staged = changes["staged"]["paths"]
    assert [(p["path"], p["action"]) for p in staged] == [
        ("moved.txt", "renamed"),
        ("new-staged.txt", "added"),
    ]


def test_a_long_list_is_cut_in_text_and_whole_in_json(tmp_path: Path) -> None:
    made = _made(tmp_path)
    made.atomic("begin", "many", check=0)
    for n in range(25):
        made.write(f"f{n:02d}.txt", f"file {n}\n".encode())
    text = made.atomic("status", check=0).stdout
    assert "25 paths on disk" in text and "added    f09.txt" in text, text
    assert "f10.txt" not in text and "and 15 more (`git atomic status --json`" in text, text
    side = made.atomic_json("status")["open"]["changes"]["worktree"]
    assert side["total"] == 25 and len(side["paths"]) == 25 and not side["truncated"]


def test_nothing_changed_yet_and_no_operation_open(tmp_path: Path) -> None:
    made = _made(tmp_path)
    quiet = made.atomic("status", check=0).stdout
    assert "changed" not in quiet and "no operation is open" in quiet
    assert "changes" not in str(made.atomic_json("status"))
    made.atomic("begin", "idle", check=0)
    assert "  changed  nothing since PRE-OP" in made.atomic("status", check=0).stdout
    changes = made.atomic_json("status")["open"]["changes"]
    assert changes["worktree"]["total"] == 0 and changes["staged"]["paths"] == []


def test_the_mcp_status_tool_says_the_changes_of_the_open_operation(tmp_path: Path) -> None:
    """Through a real server; the SDK's client checks the result against the outputSchema."""
    made = _made(tmp_path)
    said: dict[str, Any] = {}
    params = mcpfork.server_params(made.env, made.path)

    async def main() -> None:
        with anyio.fail_after(120):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                said["begin"] = await s.call_tool("begin", {"name": "agent"})
                made.write("edit.txt", b"by the agent\n")
                made.write(ODD, b"x\n")
                said["status"] = await s.call_tool("status", {})
                # The probe's objects were in a quarantine now gone: a checkpoint after it in
                # the same server writes its own, and the abort puts every byte back.
                said["checkpoint"] = await s.call_tool("checkpoint", {})
                made.write("edit.txt", b"again\n")
                said["abort"] = await s.call_tool("abort", {})

    anyio.run(main)
    assert not said["begin"].is_error
    status = said["status"]
    assert not status.is_error
    paths = status.structured_content["open"]["changes"]["worktree"]["paths"]
    assert [(p["path"], p["action"]) for p in paths] == [
        ("caf\ufffd.txt", "added"),
        ("edit.txt", "modified"),
    ]
    assert status.structured_content["turns"] == []
    assert not said["checkpoint"].is_error and not said["abort"].is_error
    assert made.read("edit.txt") == b"edit.txt at the start\n" and not made.exists(ODD)
    made.git("fsck", "--no-dangling")


def test_status_says_a_turn_whose_stop_was_busy_waits_to_be_judged(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Before: `status` showed the turn as any open turn, and `--json` had no turn at all."""
    claude = ClaudeCode(repo)
    claude.env["GIT_ATOMIC_HOOK_LOCK_WAIT"] = "0.3"
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    _busy_stop(claude, repo, tmp_path / "go")
    text = repo.atomic("status", check=0).stdout
    assert "its Stop could not wait for the worktree's lock: not judged yet" in text, text
    assert "next prompt" in text, text
    [turn] = repo.atomic_json("status")["turns"]
    assert turn["judged_next"] is True and turn["platform"] == "claude-code", turn
    assert turn["steps"] >= 1
    assert [(p["path"], p["action"]) for p in turn["changes"]["paths"]] == [("lib.py", "modified")]


def test_status_says_what_an_open_turns_calls_changed_not_yours(repo: GitRepo) -> None:
    """An agent turn open here: the files its calls changed so far, never an edit of yours
    made between its calls. Before: its line gave a count of steps, not one path."""
    claude = ClaudeCode(repo)
    claude.turn([edit(repo, 1, "VALUE = 3", file="lib.py")])
    repo.write("yours.txt", b"made by you between its calls\n")
    claude.turn([edit(repo, 2, "def answer():\n    return 42", file="app.py")])
    text = repo.atomic("status", check=0).stdout
    assert "its calls changed 2 paths so far:" in text, text
    assert "modified app.py" in text and "modified lib.py" in text, text
    assert "yours.txt" not in text, text
    [turn] = repo.atomic_json("status")["turns"]
    assert [(p["path"], p["action"]) for p in turn["changes"]["paths"]] == [
        ("app.py", "modified"),
        ("lib.py", "modified"),
    ]
    assert turn["judged_next"] is False


def test_what_a_checkpoint_holds_beside_its_trees_is_listed_too(tmp_path: Path) -> None:
    """What a rollback puts back beside the files trees is a change too: an empty folder made
    or removed, a FIFO made, a new file over `max_new_file_size` (no tree holds its bytes).
    Before: none of them was listed; a folder that only got files is not said removed."""
    made = GitRepo.create(tmp_path / "r", tmp_path / "home")
    made.write(".git-atomic.toml", b'max_new_file_size = "1KiB"\n')
    made.write("a.txt", b"a\n")
    made.git("add", "-A")
    made.git("commit", "-qm", "start")
    os.mkdir(made.path / "was-empty")
    os.mkdir(made.path / "filled")
    made.atomic("begin", "beside", check=0)
    os.rmdir(made.path / "was-empty")
    made.write("filled/now.txt", b"a file in a folder that was empty\n")
    os.mkdir(made.path / "new-empty")
    os.mkfifo(made.path / "pipe")
    made.write("big.bin", b"x" * 4096)
    data = made.atomic_json("status")
    said = {p["path"]: p["action"] for p in data["open"]["changes"]["worktree"]["paths"]}
    assert said == {
        "was-empty/": "deleted",
        "filled/now.txt": "added",
        "new-empty/": "added",
        "pipe": "added",
        "big.bin": "added",
    }, said
    text = made.atomic("status", check=0).stdout
    assert "added    new-empty/" in text and "deleted  was-empty/" in text, text
    assert (made.path / "pipe").exists() and made.read("big.bin") == b"x" * 4096


def test_a_checkpoint_after_a_status_in_the_same_helper_holds_its_bytes(tmp_path: Path) -> None:
    """`status` probes the tree with its objects in a quarantine, removed as it ends; the warm
    helper that ran it runs the next checkpoint, whose objects must be its own, not ones it
    remembers from the probe: the undo of the abort brings back every byte."""
    made = _made(tmp_path)
    made.atomic("begin", "probe", check=0)
    made.write("edit.txt", b"seen by status first\n")
    made.write("fresh.txt", b"new, seen by status first\n")
    assert "modified edit.txt" in made.atomic("status", check=0).stdout
    made.atomic("checkpoint", check=0)
    made.atomic("abort", check=0)
    assert made.read("edit.txt") == b"edit.txt at the start\n" and not made.exists("fresh.txt")
    made.atomic("undo", check=0)
    assert made.read("edit.txt") == b"seen by status first\n"
    assert made.read("fresh.txt") == b"new, seen by status first\n"
    made.git("fsck", "--no-dangling")


def test_a_conflict_in_the_index_is_said_unmerged_not_deleted(tmp_path: Path) -> None:
    """A merge left with a conflict during the operation: its staged tree leaves the unmerged
    path out. Before: `staged ... deleted c`; after: `unmerged c`."""
    made = GitRepo.create(tmp_path / "r", tmp_path / "home")
    made.diverged()
    made.atomic("begin", "merging", check=0)
    made.git("merge", "-q", "side", check=False)
    assert (made.path / ".git" / "MERGE_HEAD").exists()
    text = made.atomic("status", check=0).stdout
    assert "unmerged c" in text and "deleted  c" not in text, text
    staged = made.atomic_json("status")["open"]["changes"]["staged"]["paths"]
    assert {"path": "c", "action": "unmerged"} in staged, staged
    assert (made.path / ".git" / "MERGE_HEAD").exists()
