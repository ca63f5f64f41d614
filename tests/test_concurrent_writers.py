"""Other writers at the same time (issues 14 and 15): a user's editor, a second agent session.

A rollback saves the state it replaces (its rescue) and then writes. Whatever another writer
does in between is in no checkpoint: the restore must leave such a path as it finds it, finish
the rest, name the path and exit 3. Each test pauses the command at a step
(GIT_ATOMIC_FAILPOINT_PAUSE, failpoints.py), plays the other writer, and lets it go on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from testing import agents
from testing.gitrepo import GitRepo

MODES = ("commits", "shadow")


def paused(
    repo: GitRepo,
    args: list[str],
    step: str,
    meanwhile: Callable[[], None],
    *,
    stdin: IO[str] | int = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `git-atomic ARGS`, stop it at `step`, run `meanwhile` (the other writer), go on."""
    flag = repo.path.parent / f"paused-{os.getpid()}-{time.monotonic_ns()}"
    full_env = {
        **repo.env,
        **(env or {}),
        "GIT_ATOMIC_FAILPOINT_PAUSE": step,
        "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(flag),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *args],
        cwd=repo.path,
        env=full_env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not flag.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            out, err = proc.communicate()
            pytest.fail(f"{args} never reached {step}: exit {proc.returncode}\n{out}\n{err}")
        time.sleep(0.01)
    try:
        meanwhile()
    finally:
        flag.unlink()
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def setup_files(repo: GitRepo) -> None:
    repo.write("a.txt", b"a1\n")
    repo.write("b.txt", b"b1\n")
    repo.write("gone.txt", b"gone1\n")
    repo.write("tool.sh", b"#!/bin/sh\n", mode=0o644)
    os.symlink("a.txt", repo.path / "link")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")


OP_SCRIPT = (
    "printf op > a.txt; printf op > b.txt; printf op > new.txt; rm gone.txt; "
    "chmod +x tool.sh; rm link; ln -s b.txt link"
)


def assert_named(res: subprocess.CompletedProcess[str], paths: list[str]) -> None:
    for p in paths:
        assert p in res.stderr, f"{p} not named:\n{res.stderr}"


@pytest.mark.parametrize("mode", MODES)
def test_rollback_leaves_what_another_writer_wrote_after_the_rescue(
    repo: GitRepo, mode: str
) -> None:
    """Between the rescue and the restore's writes the user writes to every kind of path the
    rollback is about to change: a file it would overwrite (a.txt), one it would delete
    (new.txt), one it would create (gone.txt), one whose mode it would change (tool.sh) and a
    link it would replace. Before, the rollback wrote over all of them and the user's bytes
    were in no checkpoint. Now each is left as the user made it, the rest is rolled back
    (b.txt), the paths are named and the exit is 3."""
    setup_files(repo)
    op = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", OP_SCRIPT)

    def user() -> None:
        repo.write("a.txt", b"user a\n")
        repo.write("new.txt", b"user new\n")
        repo.write("gone.txt", b"user gone\n")
        repo.write("tool.sh", b"#!/bin/sh\necho user\n", mode=0o755)
        os.unlink(repo.path / "link")
        os.symlink("user-target", repo.path / "link")

    res = paused(repo, ["rollback", "--op", op["op_id"], "--json"], "rollback:after-rescue", user)
    assert res.returncode == 3, res.stderr
    assert repo.read("a.txt") == b"user a\n"
    assert repo.read("new.txt") == b"user new\n"
    assert repo.read("gone.txt") == b"user gone\n"
    assert repo.read("tool.sh") == b"#!/bin/sh\necho user\n"
    assert os.lstat(repo.path / "tool.sh").st_mode & 0o777 == 0o755
    assert os.readlink(repo.path / "link") == "user-target"
    assert repo.read("b.txt") == b"b1\n"  # the rest is rolled back
    obj = json.loads(res.stdout)
    assert sorted(obj["changed_since_rescue"]) == [
        "a.txt",
        "gone.txt",
        "link",
        "new.txt",
        "tool.sh",
    ]
    assert_named(res, ["a.txt", "new.txt", "gone.txt", "tool.sh", "link"])
    assert {c["path"] for c in obj["changes"]} == {"b.txt"}


def test_rollback_leaves_a_file_written_between_the_probe_and_the_rescue(repo: GitRepo) -> None:
    """An effect's rollback computes its target from a probe taken before the rescue ref is
    made: a write in that window is not in the rescue either."""
    setup_files(repo)
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", OP_SCRIPT, check=0)
    res = paused(
        repo, ["rollback"], "rollback:before-rescue", lambda: repo.write("a.txt", b"user a\n")
    )
    assert res.returncode == 3, res.stderr
    assert repo.read("a.txt") == b"user a\n"
    assert repo.read("b.txt") == b"b1\n" and not repo.exists("new.txt")
    assert_named(res, ["a.txt"])


def test_undo_leaves_what_another_writer_wrote_after_the_rescue(repo: GitRepo) -> None:
    setup_files(repo)
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", OP_SCRIPT, check=0)
    repo.atomic("rollback", check=0)
    assert repo.read("a.txt") == b"a1\n"

    def user() -> None:
        repo.write("a.txt", b"user a\n")  # undo would write op's bytes over it
        repo.write("new.txt", b"user new\n")  # undo would create new.txt

    res = paused(repo, ["undo"], "undo:after-rescue", user)
    assert res.returncode == 3, res.stderr
    assert repo.read("a.txt") == b"user a\n" and repo.read("new.txt") == b"user new\n"
    assert repo.read("b.txt") == b"op" and not repo.exists("gone.txt")
    assert_named(res, ["a.txt", "new.txt"])


def test_selective_rollback_leaves_what_another_writer_wrote(repo: GitRepo) -> None:
    setup_files(repo)
    begun = repo.atomic_json("begin", "work")
    repo.write("a.txt", b"op\n")
    repo.write("b.txt", b"op\n")
    repo.atomic("checkpoint", check=0)
    pre = begun["checkpoints"]["pre_op"]
    res = paused(
        repo,
        ["rollback", "--to", pre, "--", "a.txt", "b.txt"],
        "rollback:after-rescue",
        lambda: repo.write("a.txt", b"user a\n"),
    )
    assert res.returncode == 3, res.stderr
    assert repo.read("a.txt") == b"user a\n" and repo.read("b.txt") == b"b1\n"
    assert_named(res, ["a.txt"])


def test_emergency_leaves_what_another_writer_wrote(repo: GitRepo) -> None:
    setup_files(repo)
    repo.atomic("begin", "work", check=0)
    repo.write("a.txt", b"op\n")
    repo.write("b.txt", b"op\n")
    res = paused(
        repo, ["emergency"], "emergency:after-rescue", lambda: repo.write("a.txt", b"user a\n")
    )
    assert res.returncode == 3, res.stderr
    assert repo.read("a.txt") == b"user a\n" and repo.read("b.txt") == b"b1\n"
    assert_named(res, ["a.txt"])


def test_abort_leaves_what_another_writer_wrote(repo: GitRepo) -> None:
    setup_files(repo)
    repo.atomic("begin", "work", check=0)
    repo.write("a.txt", b"op\n")
    repo.write("b.txt", b"op\n")
    res = paused(repo, ["abort"], "abort:after-rescue", lambda: repo.write("a.txt", b"user\n"))
    assert res.returncode == 3, res.stderr
    assert repo.read("a.txt") == b"user\n" and repo.read("b.txt") == b"b1\n"
    assert_named(res, ["a.txt"])


def test_a_quiet_rollback_still_restores_everything(repo: GitRepo) -> None:
    """The check costs nothing in correctness when nobody else writes: the same pause with no
    writer rolls every path back and exits 0 (a check that always refused would fail here)."""
    setup_files(repo)
    op = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", OP_SCRIPT)
    res = paused(repo, ["rollback", "--op", op["op_id"]], "rollback:after-rescue", lambda: None)
    assert res.returncode == 0, res.stderr
    assert repo.read("a.txt") == b"a1\n" and repo.read("gone.txt") == b"gone1\n"
    assert not repo.exists("new.txt") and os.readlink(repo.path / "link") == "a.txt"
    assert os.lstat(repo.path / "tool.sh").st_mode & 0o111 == 0


def test_a_detached_head_moved_by_someone_else_is_left_where_they_put_it(repo: GitRepo) -> None:
    """HEAD detached: the operation moves it, the rollback would move it back. Meanwhile another
    writer moves it to a commit of their own. Before, the rollback wrote HEAD over theirs
    without looking (branches move by compare-and-swap, a detached HEAD did not)."""
    repo.git("checkout", "-q", "--detach")
    start = repo.head()
    op = repo.atomic_json(
        "run", "--history", "shadow", "--", "git", "commit", "-q", "--allow-empty", "-m", "op"
    )
    assert repo.head() != start
    theirs = repo.git("commit-tree", f"{start}^{{tree}}", "-p", start, "-m", "theirs").strip()

    res = paused(
        repo,
        ["rollback", "--op", op["op_id"]],
        "rollback:after-rescue",
        lambda: repo.git("update-ref", "--no-deref", "HEAD", theirs),
    )
    assert res.returncode == 3, res.stderr
    assert (repo.path / ".git" / "HEAD").read_text().strip() == theirs
    assert "HEAD was moved by someone else" in res.stderr


def test_a_detached_head_nobody_else_moved_goes_back(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "--detach")
    start = repo.head()
    op = repo.atomic_json(
        "run", "--history", "shadow", "--", "git", "commit", "-q", "--allow-empty", "-m", "op"
    )
    res = paused(repo, ["rollback", "--op", op["op_id"]], "rollback:after-rescue", lambda: None)
    assert res.returncode == 0, res.stderr
    assert (repo.path / ".git" / "HEAD").read_text().strip() == start


# --- configuration keys keep their subsection's case ------------------------------------------


def filtered_repo(repo: GitRepo, clean: str, *, required: bool) -> None:
    """A filter driver named with capitals, as `git lfs install` writes `filter.lfs`, but
    spelled `MyFilter`: git's subsection names are case-sensitive."""
    repo.write(".gitattributes", b"*.txt filter=MyFilter\n")
    repo.write("a.txt", b"hello\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "attributes")
    repo.git("config", "filter.MyFilter.clean", clean)
    repo.git("config", "filter.MyFilter.smudge", "cat")
    repo.git("config", "filter.MyFilter.required", "true" if required else "false")


def test_a_failing_required_filter_with_capitals_in_its_name_never_fails_a_capture(
    repo: GitRepo,
) -> None:
    """git-lfs configured but not installed, under another name: before, our `-c` turned off
    `filter.myfilter`, git ran `MyFilter` and every command failed with exit 3."""
    filtered_repo(repo, "false", required=True)
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo more >> a.txt; exit 1")
    assert res.returncode == 1, res.stderr
    assert repo.read("a.txt") == b"hello\n"


def test_a_commit_holds_what_a_capitalised_filter_makes_of_a_file(repo: GitRepo) -> None:
    """Commits mode commits a file as your git would: through its filter. Before, the filter
    was not recognised under its own name and the commit held the bytes on disk."""
    filtered_repo(repo, "tr a-z A-Z", required=False)
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo more >> a.txt", check=0)
    assert repo.git("show", "HEAD:a.txt") == "HELLO\nMORE\n"
    assert repo.read("a.txt") == b"hello\nmore\n"


def test_a_file_someone_deleted_after_the_rescue_stays_deleted(repo: GitRepo) -> None:
    """A file the rollback would write (its bytes or only its mode) that someone removes
    meanwhile is not made again behind their back: named, exit 3."""
    setup_files(repo)
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", OP_SCRIPT, check=0)

    def user() -> None:
        os.unlink(repo.path / "a.txt")
        os.unlink(repo.path / "tool.sh")

    res = paused(repo, ["rollback"], "rollback:after-rescue", user)
    assert res.returncode == 3, res.stderr
    assert not repo.exists("a.txt") and not repo.exists("tool.sh")
    assert repo.read("b.txt") == b"b1\n" and repo.read("gone.txt") == b"gone1\n"
    assert_named(res, ["a.txt", "tool.sh"])


# --- agent turns ---------------------------------------------------------------------------------

SESSION = "5e5510a0-1111-4c55-9e0a-1b2c3d4e5f60"


def hook(repo: GitRepo, event: str, **fields: object) -> subprocess.CompletedProcess[str]:
    """One Claude Code hook call, as its installed command gets it (tests/test_agents_hooks.py
    plays the whole of Claude Code; one session's calls are enough here)."""
    return agents.claude_hook(repo, SESSION, event, **fields)


def gated(repo: GitRepo) -> None:
    repo.write("app.py", b"ok\n")
    repo.write("lib.py", b"lib\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "app"\nrun = "! grep -q BUG app.py"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "app and its gate")


def edit_call(repo: GitRepo, n: int, meanwhile: Callable[[], None]) -> None:
    """Claude's Edit of app.py, with `meanwhile` happening while the tool runs."""
    call = {
        "tool_name": "Edit",
        "tool_input": {
            "file_path": str(repo.path / "app.py"),
            "old_string": "ok",
            "new_string": "BUG",
        },
        "tool_use_id": f"toolu_{n:04d}",
    }
    hook(repo, "PreToolUse", **call)
    repo.write("app.py", b"BUG\n")
    meanwhile()
    hook(repo, "PostToolUse", **call, tool_response={"success": True})


def test_a_turns_rollback_leaves_what_another_writer_wrote_after_its_rescue(
    repo: GitRepo,
) -> None:
    """The turn's gate fails at Stop and its rollback runs; the user writes the file it would
    restore in between. Before, the rollback wrote over it."""
    gated(repo)
    edit_call(repo, 1, lambda: None)
    payload = repo.path.parent / "stop.json"
    payload.write_text(
        json.dumps(
            {
                "session_id": SESSION,
                "transcript_path": f"/home/dev/.claude/projects/x/{SESSION}.jsonl",
                "cwd": str(repo.path),
                "permission_mode": "default",
                "hook_event_name": "Stop",
                "stop_hook_active": False,
            }
        )
    )
    with payload.open() as stdin:
        res = paused(
            repo,
            ["hook", "claude-code", "Stop"],
            "rollback:after-rescue",
            lambda: repo.write("app.py", b"user fixed it\n"),
            stdin=stdin,
            env={"CLAUDE_PROJECT_DIR": str(repo.path)},
        )
    out = res.stdout
    assert repo.read("app.py") == b"user fixed it\n"
    answer = json.loads(out)
    assert "app.py was changed by another writer" in answer["systemMessage"]


def test_a_file_tools_call_claims_only_its_file(repo: GitRepo) -> None:
    """While the agent's Edit of app.py runs, the user writes notes.txt and edits lib.py (or a
    second session does). Before, the call's window took them in and the turn's rollback
    deleted notes.txt and put lib.py back; now an Edit's step holds app.py alone."""
    gated(repo)

    def user() -> None:
        repo.write("notes.txt", b"mine\n")
        repo.write("lib.py", b"lib, edited\n")

    edit_call(repo, 1, user)
    answer = json.loads(hook(repo, "Stop", stop_hook_active=False).stdout)
    assert answer["decision"] == "block"  # the gate failed: the turn is taken back
    assert repo.read("app.py") == b"ok\n"
    assert repo.read("notes.txt") == b"mine\n" and repo.read("lib.py") == b"lib, edited\n"


def test_a_file_tool_writing_through_a_link_claims_the_file_it_reached(repo: GitRepo) -> None:
    """An Edit of `alias.py`, a link to app.py: the tool writes app.py, and that is what the
    turn takes back."""
    gated(repo)
    os.symlink("app.py", repo.path / "alias.py")
    repo.git("add", "alias.py")
    repo.git("commit", "-qm", "alias")
    call = {
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / "alias.py"), "content": "BUG\n"},
        "tool_use_id": "toolu_0001",
    }
    hook(repo, "PreToolUse", **call)
    (repo.path / "alias.py").write_bytes(b"BUG\n")
    hook(repo, "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(hook(repo, "Stop", stop_hook_active=False).stdout)
    assert answer["decision"] == "block"
    assert repo.read("app.py") == b"ok\n" and os.readlink(repo.path / "alias.py") == "app.py"


def test_a_shell_call_still_claims_everything_made_while_it_ran(repo: GitRepo) -> None:
    """The limit (README, "What it does not do"): a shell command may change any file, so what
    others write while one runs is taken for the turn's."""
    gated(repo)
    call = {
        "tool_name": "Bash",
        "tool_input": {"command": "sed -i s/ok/BUG/ app.py"},
        "tool_use_id": "toolu_0001",
    }
    hook(repo, "PreToolUse", **call)
    repo.write("app.py", b"BUG\n")
    repo.write("notes.txt", b"mine\n")  # the user, at the same time
    hook(repo, "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(hook(repo, "Stop", stop_hook_active=False).stdout)
    assert answer["decision"] == "block"
    assert repo.read("app.py") == b"ok\n" and not repo.exists("notes.txt")


# --- a save by rename at the instant of the removal (peers: undo clobbering newer content) ----
@pytest.mark.parametrize("what", ["new file", "written over", "link", "in place"])
def test_a_save_at_the_instant_of_the_removal_is_never_removed(repo: GitRepo, what: str) -> None:
    """Between the restore's last look at a file and its removal, your editor saves that file
    (by rename: a new file at the name; or in place). The removal is a compare-and-swap: what
    is removed is moved aside first and looked at again, so yours is put back, named, exit 3;
    the rest of the rollback is done."""
    setup_files(repo)
    repo.atomic("begin", "op", check=0)
    subprocess.run(["sh", "-c", OP_SCRIPT], cwd=repo.path, check=True)
    path = {"new file": "new.txt", "written over": "b.txt", "link": "link", "in place": "a.txt"}[
        what
    ]

    def save() -> None:
        if what == "in place":  # the same file, rewritten through its open descriptor
            with open(repo.path / path, "r+b") as fh:
                fh.write(b"yours, in place")
            return
        tmp = repo.path / ".editor-swap"
        tmp.write_bytes(b"yours, saved by rename\n")
        os.replace(tmp, repo.path / path)

    # The removals first (new.txt), then the files written over, in name order.
    nth = {"new.txt": 1, "a.txt": 2, "b.txt": 3, "link": 4}[path]
    res = paused(repo, ["abort"], f"restore:before-removal@{nth}", save)
    assert res.returncode == 3, res.stderr
    assert f"{path} was changed by another writer" in res.stderr, res.stderr
    expected = b"yours, in place" if what == "in place" else b"yours, saved by rename\n"
    assert (repo.path / path).read_bytes().startswith(expected)
    assert not (repo.path / path).is_symlink()
    others = {"a.txt": b"a1\n", "b.txt": b"b1\n", "gone.txt": b"gone1\n"}
    for name, data in others.items():
        if name != path:
            assert repo.read(name) == data, name
    if path != "new.txt":
        assert not repo.exists("new.txt")
    assert not list((repo.path / ".git" / "atomic" / "tmp").glob("removed-*"))


def test_the_compare_and_swap_holds_where_the_git_dir_is_elsewhere(tmp_path: Path) -> None:
    """A git dir on another file system (`--separate-git-dir` on a tmpfs): what a removal moves
    aside goes beside it, under a hidden name, and a save at that instant is put back too."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no other file system at /dev/shm here")
    git_dir = shm / f"git-atomic-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        repo = GitRepo.create(tmp_path / "repo", tmp_path / "home", git_dir=git_dir)
        setup_files(repo)
        repo.atomic("begin", "op", check=0)
        subprocess.run(["sh", "-c", OP_SCRIPT], cwd=repo.path, check=True)

        def save() -> None:
            tmp = repo.path / ".editor-swap"
            tmp.write_bytes(b"yours, saved by rename\n")
            os.replace(tmp, repo.path / "new.txt")

        res = paused(repo, ["abort"], "restore:before-removal@1", save)
        assert res.returncode == 3, res.stderr
        assert repo.read("new.txt") == b"yours, saved by rename\n"
        assert repo.read("a.txt") == b"a1\n" and repo.read("gone.txt") == b"gone1\n"
        assert not [p for p in os.listdir(repo.path) if p.startswith(".git-atomic-")]
    finally:
        shutil.rmtree(git_dir, ignore_errors=True)


# A write that keeps a file's size, inode and mtime (`cp -p`, `tar x`, `rsync -t`, `touch -r`)
# made in the same second as the stat data a scan took of it changes nothing git compares here
# but the ctime's nanoseconds (git-facts: whole seconds). Each case plays its steps from the top
# of a second, and again in a new repository when they did not all fit in it.
KEEP_MTIME = (
    "import os, sys, time\n"
    "path, data, when = sys.argv[1:]\n"
    "st = os.stat(path)\n"
    "with open(path, 'r+b') as fh:\n"
    "    fh.write(data.encode()); fh.truncate()\n"
    "os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))\n"
    "open(when, 'w').write(str(int(time.time())))\n"
)


def keep_mtime_write(path: Path, data: bytes) -> int:
    """Write `data` over `path` in place, its mtime given back; the second it was done in."""
    when = path.parent.parent / f"when-{time.monotonic_ns()}"
    argv = [sys.executable, "-c", KEEP_MTIME, str(path), data.decode(), str(when)]
    subprocess.run(argv, check=True)
    return int(when.read_text())


def top_of_a_second() -> int:
    time.sleep(1.02 - time.time() % 1)
    return int(time.time())


def within_one_second(tmp_path: Path, case: Callable[[GitRepo], int | None]) -> GitRepo:
    """Run `case` in a new repository until its steps fit in one second (it returns the second
    its last write was made in, or None when it went past it); that repository."""
    for attempt in range(6):
        repo = GitRepo.create(tmp_path / f"repo{attempt}", tmp_path / "home")
        if case(repo) is not None:
            return repo
    pytest.skip("the steps never fitted in one second here")


def test_a_rewrite_keeping_size_and_mtime_in_the_captures_second_is_taken_back(
    tmp_path: Path,
) -> None:
    """Your edit, then `begin`, then the operation's rewrite of the same file, all in one second,
    each keeping the mtime: the capture's stat data of your edit matched the operation's file
    in every field git compares. Before, abort said "back at PRE-OP" and left the operation's
    bytes; the capture's entry is now smudged, so the next scan compares the bytes."""

    def case(repo: GitRepo) -> int | None:
        repo.write("t.txt", b"AAAA\n")
        repo.git("add", "t.txt")
        repo.git("commit", "-qm", "t")
        second = top_of_a_second()
        keep_mtime_write(repo.path / "t.txt", b"UUUU\n")  # yours, uncommitted
        repo.atomic("begin", "op", check=0)
        if keep_mtime_write(repo.path / "t.txt", b"PPPP\n") != second:
            return None
        res = repo.atomic("abort", check=0)
        assert "back at PRE-OP" in res.stderr, res.stderr
        return second

    repo = within_one_second(tmp_path, case)
    assert repo.read("t.txt") == b"UUUU\n"


def test_a_failed_run_takes_back_such_a_rewrite_of_an_untracked_file(tmp_path: Path) -> None:
    """The same in a failed `run`, on an untracked file your last touch of was a chmod (its
    ctime in that second, its mtime old). Before, the run said "it had changed nothing" and the
    operation's bytes stayed; yours were only in the checkpoint."""

    def case(repo: GitRepo) -> int | None:
        repo.write("u.txt", b"UNTR\n")
        os.utime(repo.path / "u.txt", (1_577_836_800, 1_577_836_800))
        second = top_of_a_second()
        os.chmod(repo.path / "u.txt", 0o600)
        os.chmod(repo.path / "u.txt", 0o644)
        when = tmp_path / f"when-{time.monotonic_ns()}"
        op = f"{sys.executable} -c \"$1\" u.txt 'OPOP\n' {when}; exit 1"
        res = repo.atomic("run", "-n", "r", "--no-gates", "--", "sh", "-c", op, "sh", KEEP_MTIME)
        assert res.returncode == 1, res.stderr
        if int(when.read_text()) != second:
            return None
        assert "changed nothing" not in res.stderr, res.stderr
        return second

    repo = within_one_second(tmp_path, case)
    assert repo.read("u.txt") == b"UNTR\n"


@pytest.mark.parametrize("scan", ["kept", "seeded", "seeded and split"])
def test_stat_data_a_scan_took_again_in_its_second_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan: str
) -> None:
    """A file whose inode changed but not its bytes (a chmod and back) in the second of a
    capture: the scan's `git status` takes its stat data again and says nothing. The
    operation's rewrite in that second, mtime kept, is still taken back. `kept`: the scan index
    already holds the file; `seeded`: the first capture, seeded from your index, where git takes
    the stat data again in the scan index's first write, which (`split`: past the size a scan
    index is split at) is also the one that makes its shared index."""
    if scan == "seeded and split":
        monkeypatch.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "1")

    def case(repo: GitRepo) -> int | None:
        repo.write("t.txt", b"AAAA\n")
        repo.git("add", "t.txt")
        repo.git("commit", "-qm", "t")
        if scan == "kept":
            repo.atomic("begin", "first", check=0)  # a scan index, with t.txt in it
            repo.atomic("abort", check=0)
        second = top_of_a_second()
        os.chmod(repo.path / "t.txt", 0o600)
        os.chmod(repo.path / "t.txt", 0o644)
        repo.atomic("begin", "op", check=0)
        if keep_mtime_write(repo.path / "t.txt", b"PPPP\n") != second:
            return None
        repo.atomic("abort", check=0)
        return second

    repo = within_one_second(tmp_path, case)
    assert repo.read("t.txt") == b"AAAA\n"
