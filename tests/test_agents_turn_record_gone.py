"""An agent turn whose own calls remove git-atomic's record of it, and repositories whose
refs/atomic/ came from elsewhere (a mirror clone, a fetch of refs/*).

Checked on the disk: which files are there and their bytes, after each hook answered."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo, small_disk

SESSION = "5e1d0c2b-41aa-4c55-9e0a-1b2c3d4e5f60"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "app", tmp_path / "home")
    repo.write("app.py", b"VALUE = 1\n")
    gate = f"{sys.executable} -c \"import os, sys; sys.exit(os.path.exists('BAD'))\""
    repo.write(
        ".git-atomic.toml", f"[[gates]]\nname = 'no-bad'\nrun = {json.dumps(gate)}\n".encode()
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "app and its gate")
    return repo


def call(
    repo: GitRepo,
    n: int,
    tool: str,
    tool_input: dict[str, Any],
    act: Callable[[], None],
    session: str = SESSION,
) -> None:
    fields = {"tool_name": tool, "tool_input": tool_input, "tool_use_id": f"toolu_{n:04d}"}
    claude_hook(repo, session, "PreToolUse", **fields)
    act()
    claude_hook(repo, session, "PostToolUse", **fields, tool_response={})


def stop(repo: GitRepo) -> dict[str, Any]:
    answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
    out: dict[str, Any] = json.loads(answer.stdout)
    return out


def a_turn_that_removes(repo: GitRepo, what: str) -> None:
    """An Edit of app.py; you write notes.txt; a Bash call makes BAD and removes `what`."""
    app = repo.path / "app.py"
    call(repo, 1, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    repo.write("notes.txt", b"the user's own\n")  # between the turn's calls: not the turn's

    def removes() -> None:
        repo.write("BAD", b"made by the turn\n")
        shutil.rmtree(repo.path / ".git" / what)

    call(repo, 2, "Bash", {"command": f"touch BAD; rm -rf .git/{what}"}, removes)


@pytest.mark.parametrize("what", ["atomic", "atomic/turns"])
def test_a_turn_whose_call_removed_its_record_is_judged_and_taken_back(
    repo: GitRepo, what: str
) -> None:
    a_turn_that_removes(repo, what)
    out = stop(repo)

    assert out["decision"] == "block"
    assert "rolled back" in out["systemMessage"] and "rebuilt" in out["systemMessage"]
    assert not os.path.lexists(repo.path / "BAD")
    assert repo.read("app.py") == b"VALUE = 1\n"  # its first call's step, from its refs
    assert repo.read("notes.txt") == b"the user's own\n"
    [op] = repo.atomic_json("log")["operations"]
    assert (op["status"], op["failed_phase"]) == ("rolled_back", "validate")
    assert repo.git("for-each-ref", "refs/atomic/turns/") == ""


def _asked_for_turn_refs(repo: GitRepo, trace: Path, hook: Callable[[], object]) -> bool:
    """Whether `hook` ran a git that lists refs/atomic/turns/ (the search for a turn whose
    record is gone)."""
    trace.unlink(missing_ok=True)
    repo.env["GIT_TRACE2_EVENT"] = str(trace)
    try:
        hook()
    finally:
        del repo.env["GIT_TRACE2_EVENT"]
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    argvs = [e["argv"] for e in events if e["event"] == "start"]
    return any("for-each-ref" in a and "refs/atomic/turns/" in a for a in argvs)


def test_turn_refs_are_looked_for_only_where_there_may_be_some_packed_too(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A turn with no file-changing call, and a turn's first call, in a repository with no
    turn's refs, run no git for them (every Stop and first call did: one git more); a turn
    whose refs `git pack-refs` packed is still rebuilt when its record is removed."""
    trace = tmp_path / "trace.json"
    claude_hook(repo, SESSION, "UserPromptSubmit", prompt="just answer")
    nothing = lambda: claude_hook(repo, SESSION, "Stop", stop_hook_active=False)  # noqa: E731
    assert not _asked_for_turn_refs(repo, trace, nothing)
    app = repo.path / "app.py"
    fields = {"tool_name": "Edit", "tool_input": {"file_path": str(app)}, "tool_use_id": "t1"}
    assert not _asked_for_turn_refs(
        repo, trace, lambda: claude_hook(repo, SESSION, "PreToolUse", **fields)
    )
    repo.write("app.py", b"VALUE = 2\n")
    claude_hook(repo, SESSION, "PostToolUse", **fields, tool_response={})
    repo.git("pack-refs", "--all")
    assert not (repo.path / ".git" / "refs" / "atomic" / "turns").exists()

    def removes() -> None:
        repo.write("BAD", b"made by the turn\n")
        shutil.rmtree(repo.path / ".git" / "atomic" / "turns")

    call(repo, 2, "Bash", {"command": "touch BAD; rm -rf .git/atomic/turns"}, removes)
    out = stop(repo)

    assert "rolled back" in out["systemMessage"] and "rebuilt" in out["systemMessage"]
    assert not os.path.lexists(repo.path / "BAD")
    assert repo.read("app.py") == b"VALUE = 1\n"


def test_a_turn_that_removed_the_journal_says_recover_then_is_judged(repo: GitRepo) -> None:
    repo.atomic("run", "-n", "before", "--", "true", check=0)  # the journal has a history
    a_turn_that_removes(repo, "atomic")
    out = stop(repo)

    message = out["systemMessage"]
    assert "not judged" in message and "journal.sqlite3 is gone" in message
    assert "`git atomic recover`" in message and "decision" not in out
    assert repo.read("BAD") == b"made by the turn\n"  # nothing touched while not judged
    repo.atomic("recover", check=0)
    out = stop(repo)  # the turn waited in its record, its steps as they were
    assert out["decision"] == "block"
    assert not os.path.lexists(repo.path / "BAD")
    assert repo.read("app.py") == b"VALUE = 1\n"
    assert repo.read("notes.txt") == b"the user's own\n"


def test_emergency_works_where_the_journal_is_gone_and_undo_brings_all_back(
    repo: GitRepo,
) -> None:
    repo.atomic("run", "-n", "before", "--", "true", check=0)
    repo.write("app.py", b"VALUE = 3\n")
    repo.write("new.txt", b"mine\n")
    shutil.rmtree(repo.path / ".git" / "atomic")

    res = repo.atomic("emergency", check=0)
    assert "the journal was gone: a new one is started" in res.stderr
    assert repo.read("app.py") == b"VALUE = 1\n" and not os.path.lexists(repo.path / "new.txt")
    repo.atomic("undo", check=0)
    assert repo.read("app.py") == b"VALUE = 3\n" and repo.read("new.txt") == b"mine\n"


def test_emergency_dry_run_where_the_journal_is_gone_names_recover(repo: GitRepo) -> None:
    repo.atomic("run", "-n", "before", "--", "true", check=0)
    shutil.rmtree(repo.path / ".git" / "atomic")
    res = repo.atomic("emergency", "--dry-run", check=3)
    assert "git atomic recover" in res.stderr and "Traceback" not in res.stderr


def copied(repo: GitRepo, tmp_path: Path, how: str) -> GitRepo:
    """A repository whose refs/atomic/ were copied from `repo`, with a working tree."""
    copy = GitRepo(tmp_path / "copy", repo.env)
    if how == "mirror":
        repo.git("clone", "-q", "--mirror", str(repo.path), str(copy.path / ".git"))
        copy.git("config", "core.bare", "false")
        copy.git("checkout", "-q", "main")
    else:
        repo.git("clone", "-q", str(repo.path), str(copy.path))
        copy.git("fetch", "-q", "--update-head-ok", "origin", "+refs/*:refs/*")
    return copy


@pytest.mark.parametrize("how", ["mirror", "fetch"])
def test_refs_copied_from_another_repository_are_not_its_operations(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    repo.atomic("run", "-n", "theirs", "--", "true", check=0)
    copy = copied(repo, tmp_path, how)
    copied_refs = copy.git("for-each-ref", "refs/atomic/ops/")
    assert copied_refs

    res = copy.atomic("status", check=0)
    assert "never recorded" in res.stderr and "Traceback" not in res.stderr
    assert copy.atomic_json("status")["open"] is None
    assert copy.atomic_json("log")["operations"] == []
    copy.atomic("run", "-n", "mine", "--", "sh", "-c", "echo x > made", check=0)
    assert copy.read("made") == b"x\n"
    after = copy.git("for-each-ref", "refs/atomic/ops/").splitlines()
    assert set(copied_refs.splitlines()) < set(after)  # not touched, its own beside
    # Its own journal gone now is a journal gone: refused, `recover` named.
    shutil.rmtree(copy.path / ".git" / "atomic")
    res = copy.atomic("run", "--", "true", check=3)
    assert "is gone" in res.stderr and "git atomic recover" in res.stderr


def test_a_turn_that_left_a_branch_on_our_refs_is_taken_back(repo: GitRepo) -> None:
    app = repo.path / "app.py"
    call(repo, 1, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    main = repo.head()
    ours = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/turns/").split()[0]

    def symref() -> None:
        repo.git("symbolic-ref", "refs/heads/x", ours)
        repo.git("symbolic-ref", "refs/heads/main", ours)  # a branch of yours made one too

    call(repo, 2, "Bash", {"command": "git symbolic-ref refs/heads/x refs/atomic/..."}, symref)
    out = stop(repo)

    assert out["decision"] == "block" and "symbolic ref" in out["systemMessage"]
    heads = repo.path / ".git" / "refs" / "heads"
    assert not os.path.lexists(heads / "x")  # made by the turn: gone
    assert (heads / "main").read_text().strip() == main  # a branch of its own again
    assert repo.read("app.py") == b"VALUE = 1\n"


def test_a_turn_whose_only_call_made_a_branch_on_our_refs_is_taken_back(repo: GitRepo) -> None:
    def symref() -> None:
        [ours] = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/turns/").split()
        repo.git("symbolic-ref", "refs/heads/x", ours)

    call(repo, 1, "Bash", {"command": "git symbolic-ref refs/heads/x refs/atomic/..."}, symref)
    out = stop(repo)

    assert out["decision"] == "block" and "refs/heads/x" in out["systemMessage"]
    assert not os.path.lexists(repo.path / ".git" / "refs" / "heads" / "x")


def test_a_turn_that_left_head_on_our_refs_is_taken_back(repo: GitRepo) -> None:
    app = repo.path / "app.py"
    call(repo, 1, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    ours = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/turns/").split()[0]
    onto_ours = lambda: repo.git("symbolic-ref", "HEAD", ours)  # noqa: E731
    call(repo, 2, "Bash", {"command": "git symbolic-ref HEAD refs/atomic/..."}, onto_ours)
    out = stop(repo)

    assert out["decision"] == "block" and "HEAD" in out["systemMessage"]
    assert (repo.path / ".git" / "HEAD").read_bytes() == b"ref: refs/heads/main\n"
    assert repo.read("app.py") == b"VALUE = 1\n"


def test_a_turn_that_deleted_our_refs_and_pruned_names_recover_and_log_still_reads(
    repo: GitRepo,
) -> None:
    def prune() -> None:
        repo.write("BAD", b"made by the turn\n")
        refs = repo.git("for-each-ref", "--format=delete %(refname)", "refs/atomic/")
        repo.git("update-ref", "--stdin", input=refs.encode())
        repo.git("gc", "-q", "--prune=now")

    call(repo, 1, "Bash", {"command": "git update-ref -d ...; git gc --prune=now"}, prune)
    out = stop(repo)

    assert "not judged" in out["systemMessage"] and "`git atomic recover`" in out["systemMessage"]
    assert repo.read("BAD") == b"made by the turn\n"
    repo.atomic("recover", "--accept", check=0)
    for query in ("status", "log"):
        res = repo.atomic(query, check=0)
        assert "failed" not in res.stderr, res.stderr
    assert repo.read("BAD") == b"made by the turn\n"  # kept, as --accept asked


def test_another_session_removing_the_records_between_calls_loses_no_step(
    repo: GitRepo,
) -> None:
    bad = lambda: repo.write("BAD", b"made by the turn\n")  # noqa: E731
    call(repo, 1, "Bash", {"command": "touch BAD"}, bad)
    records = repo.path / ".git" / "atomic" / "turns"
    rm = lambda: shutil.rmtree(records)  # noqa: E731
    call(repo, 2, "Bash", {"command": "rm -rf .git/atomic/turns"}, rm, session="other-session")
    app = repo.path / "app.py"
    call(repo, 3, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    out = stop(repo)

    assert out["decision"] == "block" and "rolled back" in out["systemMessage"]
    assert not os.path.lexists(repo.path / "BAD")  # its first call's, before the records went
    assert repo.read("app.py") == b"VALUE = 1\n"
    [op] = repo.atomic_json("log")["operations"]
    assert op["status"] == "rolled_back"


def test_a_turn_whose_call_moved_the_repository_is_judged_where_it_is_now(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("notes.txt", b"the user's own\n")
    moved = GitRepo(tmp_path / "moved", repo.env)
    fields = {"tool_name": "Bash", "tool_input": {"command": "mv"}, "tool_use_id": "toolu_1"}
    claude_hook(repo, SESSION, "PreToolUse", **fields)
    repo.write("BAD", b"made by the turn\n")
    os.rename(repo.path, moved.path)
    claude_hook(moved, SESSION, "PostToolUse", **fields, tool_response={})
    out = stop(moved)

    assert out["decision"] == "block" and "internal error" not in out["systemMessage"]
    assert str(repo.path) not in out["systemMessage"]  # not the folder it was in
    assert not os.path.lexists(moved.path / "BAD")
    assert moved.read("notes.txt") == b"the user's own\n"
    assert not os.path.lexists(repo.path)  # nothing written where it was


def _records(repo: GitRepo) -> Path:
    return repo.path / ".git" / "atomic" / "turns"


def _turns_a_link(repo: GitRepo, outside: Path) -> None:
    shutil.rmtree(_records(repo))
    os.symlink(outside, _records(repo))


def _turns_a_file(repo: GitRepo, outside: Path) -> None:
    shutil.rmtree(_records(repo))
    _records(repo).write_bytes(b"not a folder\n")


def _session_a_link(repo: GitRepo, outside: Path) -> None:
    [folder] = [p for p in _records(repo).iterdir() if len(p.name) == 24 and not p.is_symlink()]
    shutil.rmtree(folder)
    os.symlink(outside, folder)


@pytest.mark.parametrize("damage", [_turns_a_link, _turns_a_file, _session_a_link])
def test_records_folder_made_a_link_or_a_file_is_never_written_through_nor_a_crash(
    repo: GitRepo, tmp_path: Path, damage: Callable[[GitRepo, Path], None]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    bad = lambda: repo.write("BAD", b"made by the turn\n")  # noqa: E731
    call(repo, 1, "Bash", {"command": "touch BAD"}, bad)
    app = repo.path / "app.py"

    def damaged() -> None:
        repo.write("app.py", b"VALUE = 2\n")
        damage(repo, outside)

    call(repo, 2, "Bash", {"command": "ln -s /elsewhere .git/atomic/turns"}, damaged)
    # A later call finds it so too: its PreToolUse writes before any capture.
    damage_again = lambda: damage(repo, outside) if _records(repo).is_dir() else None  # noqa: E731
    call(repo, 3, "Write", {"file_path": str(app)}, damage_again)
    out = stop(repo)

    assert "internal error" not in json.dumps(out)
    assert out["decision"] == "block"
    assert os.listdir(outside) == []  # nothing written outside the repository
    assert not os.path.lexists(repo.path / "BAD")
    assert repo.read("app.py") == b"VALUE = 1\n"


def _fill(folder: Path) -> None:
    """Write into `folder` until its disk is full."""
    with open(folder / "fill", "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_call_that_fills_the_disk_of_our_folder_is_said_in_one_line(repo: GitRepo) -> None:
    repo.atomic("run", "-n", "before", "--", "true", check=0)
    ours = repo.path / ".git" / "atomic"
    kept = repo.path.parent / "atomic-kept"
    shutil.copytree(ours, kept, symlinks=True)
    shutil.rmtree(ours)
    ours.mkdir()
    with small_disk(ours, "2m"):
        shutil.copytree(kept, ours, symlinks=True, dirs_exist_ok=True)

        def fills() -> None:
            repo.write("BAD", b"made by the turn\n")
            _fill(ours)

        call(repo, 1, "Bash", {"command": "touch BAD; dd if=/dev/zero of=.git/atomic/x"}, fills)
        answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
        assert "internal error" not in answer.stdout and "disk" in answer.stdout, answer.stdout
        res = repo.atomic("status", check=3)
        assert "internal error" not in res.stderr and len(res.stderr.splitlines()) == 1

        os.unlink(ours / "fill")
        out = stop(repo)  # room again: judged as it would have been
        assert out["decision"] == "block"
        assert not os.path.lexists(repo.path / "BAD")


def test_a_call_that_makes_the_records_unwritable_is_said_in_one_line(repo: GitRepo) -> None:
    """`chattr +i` stands for a `chmod` that root would not feel: the folder cannot be written."""
    folder: list[Path] = []

    def locks() -> None:
        repo.write("BAD", b"made by the turn\n")
        folder.extend(p for p in (repo.path / ".git" / "atomic" / "turns").iterdir() if p.is_dir())
        done = subprocess.run(["chattr", "+i", str(folder[0])], capture_output=True)
        if done.returncode != 0:
            folder.clear()

    try:
        call(repo, 1, "Bash", {"command": "touch BAD; chattr +i .git/atomic/turns/*"}, locks)
        if not folder:
            pytest.skip("chattr +i is not allowed here (not root, or a file system without it)")
        answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
        assert "internal error" not in answer.stdout, answer.stdout
        assert "Operation not permitted" in answer.stdout and "chattr -i" in answer.stdout
        assert repo.read("BAD") == b"made by the turn\n"  # nothing judged yet
    finally:
        if folder:
            subprocess.run(["chattr", "-i", str(folder[0])], check=True)
    out = stop(repo)  # writable again: judged as it would have been
    assert out["decision"] == "block"
    assert not os.path.lexists(repo.path / "BAD")


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_journal_made_a_folder_or_a_fifo_is_said_in_one_line(repo: GitRepo, kind: str) -> None:
    repo.atomic("run", "-n", "before", "--", "true", check=0)
    journal = repo.path / ".git" / "atomic" / "journal.sqlite3"

    def replaces() -> None:
        repo.write("BAD", b"made by the turn\n")
        for path in journal.parent.glob("journal.sqlite3*"):
            path.unlink()
        os.mkdir(journal) if kind == "folder" else os.mkfifo(journal)

    call(repo, 1, "Bash", {"command": f"rm .git/atomic/journal.sqlite3; mk{kind} it"}, replaces)
    answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
    assert "is not a file" in answer.stdout and "internal error" not in answer.stdout
    res = repo.atomic("status", check=3, timeout=30)  # (a FIFO read by sqlite never ended)
    assert res.stderr.count("\n") == 1 and "is not a file" in res.stderr
    os.rmdir(journal) if kind == "folder" else os.unlink(journal)
    repo.atomic("recover", check=0)
    out = stop(repo)
    assert out["decision"] == "block" and not os.path.lexists(repo.path / "BAD")


def _remove_record_and_refs(repo: GitRepo) -> None:
    """What a call may do: `rm -rf .git/atomic` and delete every ref under refs/atomic/."""
    shutil.rmtree(repo.path / ".git" / "atomic")
    refs = repo.git("for-each-ref", "--format=delete %(refname)", "refs/atomic/")
    repo.git("update-ref", "--stdin", input=refs.encode())


@pytest.mark.parametrize("how", ["removed", "garbled"])
def test_a_turn_whose_call_removed_its_record_and_its_refs_is_said_at_its_end(
    repo: GitRepo, how: str
) -> None:
    """Nothing is left to take back from, but the end says so (it used to pass as a turn that
    changed nothing: no word, no gate); the marks are outside what a clone copies. A record
    made unreadable (`echo > .git/atomic/turns/.../main.json`) is one gone."""
    app = repo.path / "app.py"
    call(repo, 1, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    marks = repo.path / ".git" / "atomic-open-turns"
    assert len(os.listdir(marks)) == 1

    def removes() -> None:
        repo.write("BAD", b"made by the turn\n")
        if how == "removed":
            _remove_record_and_refs(repo)
            return
        [record] = (repo.path / ".git" / "atomic" / "turns").glob("*/main.json")
        record.write_bytes(b"garbage\n")
        refs = repo.git("for-each-ref", "--format=delete %(refname)", "refs/atomic/")
        repo.git("update-ref", "--stdin", input=refs.encode())

    call(repo, 2, "Bash", {"command": "touch BAD; rm -rf .git/atomic; git update-ref..."}, removes)
    out = stop(repo)

    message = out["systemMessage"]
    assert "not judged" in message and "were removed, or made unreadable" in message
    assert "git atomic gates --run" in message and "decision" not in out
    assert repo.read("BAD") == b"made by the turn\n"  # nothing taken back: nothing to go on
    assert repo.read("app.py") == b"VALUE = 2\n"
    assert os.listdir(marks) == []
    answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
    assert answer.stdout.strip() in ("", "{}")  # said once


@pytest.mark.parametrize("after", ["after", "no-after", "goes-on", "lock-too"])
def test_a_call_that_removed_only_the_record_file_its_mark_and_refs_is_said(
    repo: GitRepo, after: str
) -> None:
    """A call that removes the turn's record file alone (not its session's folder), its mark
    and its refs (`rm .git/atomic/turns/*/main.json .git/atomic-open-turns/*`, `git
    update-ref -d`): Stop passed the turn over in silence, whether the call's `after` came or
    not (a call cut short). The record's lock file, beside it, says a turn was open: Stop says
    it is not judged and nothing was taken back, once; a turn that goes on says what it
    lost, and is judged on its later calls."""
    app = repo.path / "app.py"
    call(repo, 1, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    fields = {"tool_name": "Bash", "tool_input": {"command": "rm ..."}, "tool_use_id": "t2"}
    claude_hook(repo, SESSION, "PreToolUse", **fields)
    repo.write("BAD", b"made by the turn\n")
    [record] = (repo.path / ".git" / "atomic" / "turns").glob("*/main.json")
    record.unlink()
    if after == "lock-too":  # `rm .git/atomic/turns/*/*`: its after finds the lock gone
        record.with_suffix(".lock").unlink()
    for mark in (repo.path / ".git" / "atomic-open-turns").iterdir():
        mark.unlink()
    refs = repo.git("for-each-ref", "--format=delete %(refname)", "refs/atomic/")
    repo.git("update-ref", "--stdin", input=refs.encode())
    if after != "no-after":
        claude_hook(repo, SESSION, "PostToolUse", **fields, tool_response={})
    if after == "goes-on":
        call(repo, 3, "Bash", {"command": "touch LATER"}, lambda: repo.write("LATER", b"l\n"))
        message = stop(repo)["systemMessage"]
        assert "were removed while it ran" in message and "not part of it" in message, message
        assert repo.read("BAD") == b"made by the turn\n"  # not the turn's: it lost it
        return
    out = stop(repo)

    message = out["systemMessage"]
    assert "not judged" in message and "nothing was taken back" in message, message
    assert "its record" in message and "decision" not in out
    assert repo.read("BAD") == b"made by the turn\n" and repo.read("app.py") == b"VALUE = 2\n"
    answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
    assert answer.stdout.strip() in ("", "{}")  # said once
    call(repo, 4, "Bash", {"command": "touch NEXT"}, lambda: repo.write("NEXT", b"n\n"))
    assert "not judged" not in str(stop(repo))  # the next turn: a turn as any


def test_a_call_whose_after_comes_after_its_turn_ended_is_no_lost_turn(repo: GitRepo) -> None:
    """A call still running when its turn ended (its `after` late: a Codex command) finds no
    record, as one whose record was removed does: nothing is said of it, at it or at the
    next Stop."""
    fields = {"tool_name": "Bash", "tool_input": {"command": "sleep"}, "tool_use_id": "t1"}
    claude_hook(repo, SESSION, "PreToolUse", **fields)
    repo.write("BAD", b"made by the turn\n")
    assert stop(repo)["decision"] == "block"
    answer = claude_hook(repo, SESSION, "PostToolUse", **fields, tool_response={})
    assert answer.stdout.strip() in ("", "{}"), answer.stdout
    answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
    assert answer.stdout.strip() in ("", "{}"), answer.stdout


def test_a_turn_that_goes_on_after_its_record_and_refs_went_says_what_it_lost(
    repo: GitRepo,
) -> None:
    call(
        repo,
        1,
        "Bash",
        {"command": "touch BAD; rm -rf ..."},
        lambda: (repo.write("BAD", b"made by the turn\n"), _remove_record_and_refs(repo)),
    )
    app = repo.path / "app.py"
    call(repo, 2, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    out = stop(repo)

    message = out["systemMessage"]
    assert "were removed while it ran" in message and "not part of it" in message
    assert repo.read("BAD") == b"made by the turn\n"  # before the records went: no one's
    assert repo.read("app.py") == b"VALUE = 2\n"  # kept: the gate fails without it too


@pytest.mark.parametrize("how", ["mirror", "fetch"])
def test_refs_copied_from_another_repository_age_before_gc_retires_them(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """They used to go at the first `git atomic gc`, whatever their age."""
    repo.atomic("run", "-n", "theirs", "--", "true", check=0)
    copy = copied(repo, tmp_path, how)
    theirs = copy.git("for-each-ref", "refs/atomic/ops/")
    assert theirs

    copy.atomic("gc", check=0)  # 30 days by default: they were taken just now
    assert copy.git("for-each-ref", "refs/atomic/ops/") == theirs
    copy.atomic("gc", "--older-than", "0", check=0)
    assert copy.git("for-each-ref", "refs/atomic/ops/") == ""


def test_a_journal_removed_before_this_version_kept_its_mark_is_not_taken_for_a_copy(
    repo: GitRepo,
) -> None:
    """A journal removed where no command of this version had marked it kept (an upgrade):
    its operations' checkpoints were made in this worktree (their meta says so), so every
    command refuses until `recover`, and gc keeps them (it used to retire them as a copy's)."""
    repo.atomic("run", "-n", "mine", "--", "sh", "-c", "echo x > made", check=0)
    ours = repo.git("for-each-ref", "refs/atomic/ops/")
    shutil.rmtree(repo.path / ".git" / "atomic")
    (repo.path / ".git" / "atomic-journal-kept").unlink()

    for command in (["status"], ["gc"], ["run", "--", "true"]):
        res = repo.atomic(*command, check=3)
        assert "is gone" in res.stderr and "git atomic recover" in res.stderr, res.stderr
        assert "never recorded" not in res.stderr
    assert repo.git("for-each-ref", "refs/atomic/ops/") == ours
    res = repo.atomic("recover", check=0)
    assert "the journal was gone" in res.stderr
    repo.atomic("gc", check=0)  # the journal does not know them: they age first
    assert repo.git("for-each-ref", "refs/atomic/ops/") == ours


def test_a_turn_that_left_its_own_begin_open_is_sent_back_to_finish_it(repo: GitRepo) -> None:
    """A Bash call of the turn ran `git atomic begin` (Claude Code sets CLAUDECODE in its
    shell): the operation names the turn, whose end sends the model back to finish it and
    keeps the turn open; once it is finished the turn is judged. It used to be recorded as
    not judged, as for an operation of yours."""
    agent = {"CLAUDECODE": "1"}

    def opens() -> None:
        repo.atomic("begin", "fix", check=0, env=agent)
        repo.write("BAD", b"made in the operation\n")

    call(repo, 1, "Bash", {"command": "git atomic begin fix; touch BAD"}, opens)
    out = stop(repo)

    assert out["decision"] == "block" and "opened operation fix" in out["reason"]
    assert "git atomic commit" in out["reason"]
    assert repo.read("BAD") == b"made in the operation\n"
    assert repo.atomic_json("status")["open"]["name"] == "fix"
    finish = lambda: repo.atomic("commit", check=1, env=agent)  # noqa: E731
    call(repo, 2, "Bash", {"command": "git atomic commit"}, finish)
    out = stop(repo)

    assert "decision" not in out and "is kept as operation" in out["systemMessage"]
    assert not os.path.lexists(repo.path / "BAD")  # its gate took the operation back
    assert repo.atomic_json("status")["open"] is None


def test_a_begin_of_yours_while_a_turns_call_runs_is_not_the_turns(repo: GitRepo) -> None:
    """Without the agent's shell variable, the open operation is yours: the turn is not
    judged and says so, never sent to commit or abort it."""

    def yours() -> None:
        repo.atomic("begin", "mine", check=0, env={"CLAUDECODE": ""})
        repo.write("BAD", b"made by the turn\n")

    call(repo, 1, "Bash", {"command": "touch BAD"}, yours)
    out = stop(repo)

    assert "decision" not in out and "not judged" in out["systemMessage"]
    assert "operation" in out["systemMessage"] and "(mine) is open" in out["systemMessage"]
    assert repo.atomic_json("status")["open"]["name"] == "mine"
    # `log` and `show` say it was not judged, and why (they said "kept", as if it had been).
    repo.atomic("abort", check=0)
    turn = next(o for o in repo.atomic_json("log")["operations"] if "turn" in o["name"])
    for query in (["log"], ["show", turn["op_id"]]):
        said = repo.atomic(*query, check=0).stdout
        assert "not judged (operation" in said and "(mine) is open)" in said, said


def test_a_turn_closed_without_its_end_says_in_log_it_was_not_judged(repo: GitRepo) -> None:
    call(repo, 1, "Bash", {"command": "touch BAD"}, lambda: repo.write("BAD", b"x\n"))
    claude_hook(repo, SESSION, "UserPromptSubmit", prompt="next")  # no Stop came

    said = repo.atomic("log", check=0).stdout
    assert "not judged (it ended without Stop)" in said, said


def test_a_calls_before_hook_run_twice_still_ends_its_window_with_its_after(
    repo: GitRepo,
) -> None:
    """A hook whose warm helper's child was killed is run again in the client (core/helper.py):
    the call's PreToolUse came twice. The call was then in flight twice, its one PostToolUse
    left the window open to the turn's end, and the file you wrote after the call was taken
    back with the turn."""
    fields = {"tool_name": "Bash", "tool_input": {"command": "touch BAD"}, "tool_use_id": "t1"}
    claude_hook(repo, SESSION, "PreToolUse", **fields)
    claude_hook(repo, SESSION, "PreToolUse", **fields)
    repo.write("BAD", b"made by the turn\n")
    claude_hook(repo, SESSION, "PostToolUse", **fields, tool_response={})
    repo.write("notes.txt", b"the user's own\n")  # after the call: not the turn's
    out = stop(repo)

    assert out["decision"] == "block"
    assert not os.path.lexists(repo.path / "BAD")
    assert repo.read("notes.txt") == b"the user's own\n"


def test_turn_refs_copied_from_another_repository_age_and_go_and_an_open_turns_stay(
    repo: GitRepo, tmp_path: Path
) -> None:
    """refs/atomic/turns/ of a turn open in the repository copied from were never retired."""
    call(repo, 1, "Bash", {"command": "touch BAD"}, lambda: repo.write("BAD", b"x\n"))
    open_turn = repo.git("for-each-ref", "refs/atomic/turns/")
    assert open_turn
    copy = copied(repo, tmp_path, "mirror")
    assert copy.git("for-each-ref", "refs/atomic/turns/") == open_turn

    copy.atomic("gc", check=0)
    assert copy.git("for-each-ref", "refs/atomic/turns/") == open_turn  # young: kept
    copy.atomic("gc", "--older-than", "0", check=0)
    assert copy.git("for-each-ref", "refs/atomic/turns/") == ""
    repo.atomic("gc", "--older-than", "0", check=0)
    assert repo.git("for-each-ref", "refs/atomic/turns/") == open_turn  # open there: kept
    shutil.rmtree(repo.path / ".git" / "atomic" / "turns")  # its record removed: its mark
    repo.atomic("gc", "--older-than", "0", check=0)
    assert repo.git("for-each-ref", "refs/atomic/turns/") == open_turn


def test_a_turn_rebuilt_twice_keeps_its_refs_through_gc(repo: GitRepo) -> None:
    """Its mark named the fresh turn its first call after the records went began, not the
    turn rebuilt: once its record went again, `gc` took its refs for no one's."""
    call(repo, 1, "Bash", {"command": "touch BAD"}, lambda: repo.write("BAD", b"x\n"))
    records = repo.path / ".git" / "atomic" / "turns"
    rm = lambda: shutil.rmtree(records)  # noqa: E731
    call(repo, 2, "Bash", {"command": "rm -rf .git/atomic/turns"}, rm, session="other-session")
    app = repo.path / "app.py"
    call(repo, 3, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))

    def rm_then_gc() -> None:  # your `git atomic gc` while the call runs
        rm()
        repo.atomic("gc", "--older-than", "0", check=0)

    call(repo, 4, "Bash", {"command": "rm -rf .git/atomic/turns"}, rm_then_gc)
    out = stop(repo)

    assert out["decision"] == "block" and "rolled back" in out["systemMessage"]
    assert not os.path.lexists(repo.path / "BAD")
    assert repo.read("app.py") == b"VALUE = 1\n"


def test_a_turn_whose_call_deleted_its_refs_keeps_its_checkpoints_through_git_gc(
    repo: GitRepo,
) -> None:
    """A call deleted the turn's refs (not its record): the turn is judged on its record, but
    its steps' checkpoints went into the journal with no ref, so your next `git gc
    --prune=now` took them and `undo` and `show --diff` of the turn failed."""
    call(repo, 1, "Bash", {"command": "touch BAD"}, lambda: repo.write("BAD", b"x\n"))

    def deletes() -> None:
        refs = repo.git("for-each-ref", "--format=delete %(refname)", "refs/atomic/turns/")
        repo.git("update-ref", "--stdin", input=refs.encode())
        repo.write("app.py", b"VALUE = 2\n")

    call(repo, 2, "Bash", {"command": "git update-ref -d refs/atomic/turns/..."}, deletes)
    out = stop(repo)
    assert out["decision"] == "block" and not os.path.lexists(repo.path / "BAD")
    [op] = repo.atomic_json("log")["operations"]
    repo.git("-c", "gc.reflogExpire=now", "-c", "gc.reflogExpireUnreachable=now", "gc", "-q")
    repo.git("prune", "--expire=now")

    assert "+VALUE = 2" in repo.atomic("show", op["op_id"], "--diff", check=0).stdout
    repo.atomic("undo", check=0)
    assert repo.read("BAD") == b"x\n" and repo.read("app.py") == b"VALUE = 2\n"


def _a_turn_killed_mid_call(repo: GitRepo, *, days: float) -> None:
    """An Edit of app.py; a Bash call that makes BAD and never returns (its agent killed);
    nothing of its session since `days` ago. You write notes.txt afterwards."""
    app = repo.path / "app.py"
    call(repo, 1, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    fields = {"tool_name": "Bash", "tool_input": {"command": "touch BAD"}, "tool_use_id": "t2"}
    claude_hook(repo, SESSION, "PreToolUse", **fields)
    repo.write("BAD", b"made by the turn\n")
    then = time.time() - days * 86400
    for folder in (
        repo.path / ".git" / "atomic" / "turns",
        repo.path / ".git" / "atomic-open-turns",
    ):
        for path in folder.rglob("*"):
            os.utime(path, (then, then))
    repo.write("notes.txt", b"the user's own\n")


def _only_its_first_call(repo: GitRepo, op: dict[str, Any]) -> None:
    """The turn is recorded, not judged, nothing taken back; its effect is its first call's."""
    assert op["status"] == "committed" and not op["gates"]
    assert repo.read("app.py") == b"VALUE = 2\n" and repo.read("BAD") == b"made by the turn\n"
    assert repo.read("notes.txt") == b"the user's own\n"
    dry = repo.atomic("rollback", "--op", op["op_id"], "--dry-run", check=0).stdout
    assert "app.py" in dry and "BAD" not in dry and "notes.txt" not in dry, dry


def test_a_turn_whose_session_never_came_back_is_closed_by_gc(repo: GitRepo) -> None:
    """Its record, its mark and its refs under refs/atomic/turns/ stayed forever, and `gc`
    kept them. Past the retention, `gc` closes it: recorded in `log` as not judged, nothing
    taken back, and what happened after its last call (the call that never returned, your
    edits) not counted; its refs are then the operation's, retired as any."""
    _a_turn_killed_mid_call(repo, days=40)
    assert "no hook call for 960 h: abandoned" in repo.atomic("hooks", "status", check=0).stdout
    assert "no hook call for 960 h: abandoned" in repo.atomic("status", check=0).stdout
    res = repo.atomic("gc", check=0)

    assert "closed 1 agent turn" in res.stderr, res.stderr
    assert repo.git("for-each-ref", "refs/atomic/turns/") == ""
    assert list((repo.path / ".git" / "atomic" / "turns").glob("*/*.json")) == []
    assert os.listdir(repo.path / ".git" / "atomic-open-turns") == []
    [op] = repo.atomic_json("log")["operations"]
    _only_its_first_call(repo, op)
    assert "made no hook call since" in repo.atomic("log", check=0).stdout


def _abandoned_in(repo: GitRepo, here: GitRepo, *, days: float) -> None:
    """`_a_turn_killed_mid_call` in the worktree `here` of `repo`."""
    app = here.path / "app.py"
    call(here, 1, "Edit", {"file_path": str(app)}, lambda: here.write("app.py", b"VALUE = 2\n"))
    fields = {"tool_name": "Bash", "tool_input": {"command": "touch BAD"}, "tool_use_id": "t2"}
    claude_hook(here, SESSION, "PreToolUse", **fields)
    here.write("BAD", b"made by the turn\n")
    then = time.time() - days * 86400
    for folder in (
        repo.path / ".git" / "atomic" / "turns",
        repo.path / ".git" / "atomic-open-turns",
    ):
        for path in folder.rglob("*"):
            os.utime(path, (then, then))
    here.write("notes.txt", b"the user's own\n")


@pytest.mark.parametrize("where", ["linked", "main"])
def test_gc_closes_the_abandoned_turns_of_every_worktree(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """`gc` closed abandoned turns only in the worktree it ran in: one of a linked worktree
    (or of the main one, gc run in a linked one) kept its record and its refs for ever,
    nobody running gc in every worktree. Closed there now, as its own gc closes it: recorded
    in that worktree's log, not judged, nothing taken back."""
    wt = GitRepo(tmp_path / "wt", repo.env)
    repo.git("worktree", "add", "-q", str(wt.path), "-b", "wb")
    turn_in, gc_in = (wt, repo) if where == "linked" else (repo, wt)
    _abandoned_in(repo, turn_in, days=40)

    res = gc_in.atomic("gc", check=0)

    assert "closed 1 agent turn" in res.stderr, res.stderr
    assert repo.git("for-each-ref", "refs/atomic/turns/") == ""
    assert list((repo.path / ".git" / "atomic" / "turns").glob("*/*.json")) == []
    assert gc_in.atomic_json("log")["operations"] == []
    [op] = turn_in.atomic_json("log")["operations"]
    _only_its_first_call(turn_in, op)


def test_gc_never_waits_for_another_worktree_busy_and_names_its_turn_left(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Another worktree's lock held (a command running there): gc goes on without waiting,
    leaves that worktree's abandoned turn open and says where to close it."""
    wt = GitRepo(tmp_path / "wt", repo.env)
    repo.git("worktree", "add", "-q", str(wt.path), "-b", "wb")
    _abandoned_in(repo, wt, days=40)
    started = tmp_path / "started"
    busy = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "run", "--no-gates", "--", "sh", "-c",
         f"touch {started}; sleep 60"],
        cwd=wt.path, env=wt.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.monotonic()
        res = repo.atomic("gc", check=0)
        assert time.monotonic() - began < 30
    finally:
        busy.terminate()  # (its command's group goes with it: core/children.py)
        try:
            busy.wait(30)
        except subprocess.TimeoutExpired:
            busy.kill()
            busy.wait()
    assert "the abandoned agent turns of worktree wt" in res.stderr, res.stderr
    assert "`git atomic gc` there closes them" in res.stderr, res.stderr
    assert repo.git("for-each-ref", "refs/atomic/turns/") != ""


def test_gc_leaves_and_names_the_abandoned_turn_of_a_worktree_whose_folder_is_gone(
    repo: GitRepo, tmp_path: Path
) -> None:
    wt = GitRepo(tmp_path / "wt", repo.env)
    repo.git("worktree", "add", "-q", str(wt.path), "-b", "wb")
    _abandoned_in(repo, wt, days=40)
    subprocess.run(["rm", "-rf", str(wt.path)], check=True)

    res = repo.atomic("gc", check=0)

    assert (
        f"the abandoned agent turns of worktree wt are left open: its folder {wt.path} is gone"
        in (res.stderr)
    ), res.stderr
    assert repo.git("for-each-ref", "refs/atomic/turns/") != ""
    assert repo.atomic_json("log")["operations"] == []


@pytest.mark.parametrize("who", ["the same session", "another session"])
def test_a_prompt_closes_an_abandoned_turn_without_what_came_after_its_last_call(
    repo: GitRepo, who: str
) -> None:
    """Its session resumed (the same id) or another one in the worktree prompts two days later:
    the turn is closed, not judged. Its window still open was closed there and then, so the
    turn's effect held the call that never returned and everything you did for two days: a
    `rollback --op` of it took your notes.txt back. Another session's prompt left it open."""
    _a_turn_killed_mid_call(repo, days=2)
    session = SESSION if who == "the same session" else "another-session"
    answer = claude_hook(repo, session, "UserPromptSubmit", prompt="go on")

    assert "made no hook call since" in answer.stdout, answer.stdout
    [op] = repo.atomic_json("log")["operations"]
    _only_its_first_call(repo, op)
    assert repo.git("for-each-ref", "refs/atomic/turns/") == ""


def test_gc_never_closes_a_turn_whose_session_may_come_back(repo: GitRepo) -> None:
    _a_turn_killed_mid_call(repo, days=0.5)
    repo.atomic("gc", "--older-than", "0", check=0)
    assert repo.git("for-each-ref", "refs/atomic/turns/") != ""
    assert repo.atomic_json("log")["operations"] == []


def test_a_turn_whose_call_removed_its_mark_too_is_said_at_its_end(repo: GitRepo) -> None:
    """A call that removes `.git/atomic-open-turns/` as well as the record and the refs
    (`rm -rf .git/atomic*`, `git update-ref -d` of refs/atomic/): Stop passed it as a turn that
    changed nothing, no word. The call's own `after` finds its session's folder gone and marks
    the turn again: Stop says it is not judged and nothing was taken back, once; the turn's
    next call goes on as a turn that lost its start."""

    def removes() -> None:
        repo.write("BAD", b"made by the turn\n")
        _remove_record_and_refs(repo)
        shutil.rmtree(repo.path / ".git" / "atomic-open-turns")

    call(repo, 1, "Bash", {"command": "touch BAD; rm -rf .git/atomic*; git update-ref..."}, removes)
    out = stop(repo)

    message = out["systemMessage"]
    assert "not judged" in message and "a call of it ended with nothing of the turn" in message
    assert "nothing was taken back" in message and "decision" not in out
    assert repo.read("BAD") == b"made by the turn\n"
    assert os.listdir(repo.path / ".git" / "atomic-open-turns") == []
    answer = claude_hook(repo, SESSION, "Stop", stop_hook_active=False)
    assert answer.stdout.strip() in ("", "{}")  # said once

    call(repo, 2, "Bash", {"command": "touch BAD; rm -rf ..."}, removes)
    app = repo.path / "app.py"
    call(repo, 3, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    message = stop(repo)["systemMessage"]
    assert "were removed while it ran" in message and "not part of it" in message, message
    assert repo.read("app.py") == b"VALUE = 2\n"  # kept: the gate fails without it too


def test_a_copy_made_mid_turn_never_takes_back_the_turn_and_the_original_still_does(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`cp -a` of the repository while a turn is open carries its record into the copy. The
    copy's Stop took it for the worktree moved and took the turn back in the copy (BAD and
    app.py's change, there since the copy, gone; your edit in the copy kept). The copy drops
    the record now, takes nothing back and says so; the original judges its turn as before."""
    app = repo.path / "app.py"
    call(repo, 1, "Edit", {"file_path": str(app)}, lambda: repo.write("app.py", b"VALUE = 2\n"))
    call(repo, 2, "Bash", {"command": "touch BAD"}, lambda: repo.write("BAD", b"x\n"))
    copy = GitRepo(tmp_path / "copy", repo.env)
    subprocess.run(["cp", "-a", str(repo.path), str(copy.path)], check=True)
    copy.write("c.txt", b"yours, in the copy\n")

    out = stop(copy)

    assert "copy of" in out["systemMessage"] and "decision" not in out, out
    assert copy.read("BAD") == b"x\n" and copy.read("app.py") == b"VALUE = 2\n"
    assert copy.read("c.txt") == b"yours, in the copy\n"
    assert list((copy.path / ".git" / "atomic" / "turns").glob("*/*.json")) == []
    assert copy.atomic_json("log")["operations"] == []
    out = stop(repo)
    assert out["decision"] == "block" and not os.path.lexists(repo.path / "BAD")
    assert repo.read("app.py") == b"VALUE = 1\n" and copy.read("BAD") == b"x\n"


def test_a_copy_of_a_linked_worktree_mid_turn_leaves_the_turn_to_the_worktree(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A copy of a linked worktree shares its git dir, and so the turn's record: a call in the
    copy went into the turn, and the copy's Stop judged it there (taking back in the copy),
    leaving the worktree's own Stop nothing. Now the copy's calls are not the turn's, said;
    the worktree's Stop judges it."""
    wt = GitRepo(tmp_path / "wt", repo.env)
    repo.git("worktree", "add", "-q", str(wt.path), "-b", "wb")
    call(wt, 1, "Bash", {"command": "touch BAD"}, lambda: wt.write("BAD", b"x\n"))
    copy = GitRepo(tmp_path / "wt-copy", repo.env)
    subprocess.run(["cp", "-a", str(wt.path), str(copy.path)], check=True)
    fields = {"tool_name": "Bash", "tool_input": {"command": "m"}, "tool_use_id": "toolu_9"}
    answer = claude_hook(copy, SESSION, "PreToolUse", **fields).stdout
    assert "copy of the worktree" in answer, answer
    copy.write("m.txt", b"made in the copy\n")
    claude_hook(copy, SESSION, "PostToolUse", **fields, tool_response={})

    out = stop(copy)
    assert "copy of the worktree" in out["systemMessage"] and "decision" not in out, out
    assert copy.read("BAD") == b"x\n" and copy.read("m.txt") == b"made in the copy\n"
    out = stop(wt)
    assert out["decision"] == "block" and not os.path.lexists(wt.path / "BAD")
    assert copy.read("BAD") == b"x\n"


def test_gc_in_a_copy_drops_the_copied_record_of_an_abandoned_turn(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A copy of the repository whose copied turn record is past the retention: its `gc`
    recorded the turn as an operation of the copy (its `rollback --op` then took the turn's
    changes back in the copy). It drops the record instead; the original still has its turn."""
    _a_turn_killed_mid_call(repo, days=40)
    copy = GitRepo(tmp_path / "copy", repo.env)
    subprocess.run(["cp", "-a", str(repo.path), str(copy.path)], check=True)

    copy.atomic("gc", check=0)

    assert copy.atomic_json("log")["operations"] == []
    assert list((copy.path / ".git" / "atomic" / "turns").glob("*/*.json")) == []
    assert list((repo.path / ".git" / "atomic" / "turns").glob("*/*.json")) != []


def test_another_sessions_end_event_leaves_an_abandoned_turn_to_a_prompt(repo: GitRepo) -> None:
    """Closing another session's abandoned turn records an operation: not at an end event a
    platform gives seconds (Codex's `Interrupt` and `SessionEnd`, 3 s), where a kill half way
    would leave the operation open; at a prompt."""
    _a_turn_killed_mid_call(repo, days=2)
    claude_hook(repo, "another-session", "SessionEnd", reason="exit")
    assert repo.atomic_json("log")["operations"] == []
    claude_hook(repo, "another-session", "UserPromptSubmit", prompt="go on")
    [op] = repo.atomic_json("log")["operations"]
    _only_its_first_call(repo, op)
