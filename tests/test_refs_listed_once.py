"""Refs read once where what is needed is known (issue 17): an agent turn's end lists the
refs once (its capture's listing, with the turn's refs, and our updates since), `undo` once
(its probe's), and the refs of a turn or of an operation are looked for in git's files first,
never through a link, never waiting on a FIFO (engine/refsfiles.py). Processes counted with
GIT_TRACE2; files watched with inotify (testing/opened.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing import opened
from testing.agents import write_hook_payload
from testing.gitrepo import GitRepo

ENV = {"GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_VERIFY_SCAN": "0"}

ASK = """
import sys
from pathlib import Path
from git_atomic.engine import git
from git_atomic.agents import turnstate
root = Path(sys.argv[1])  # (discovery refuses such a packed-refs: the hook's call after it)
print(turnstate.any_turn_refs(git.Repo(root, root / ".git", root / ".git")))
"""


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "init")
    return repo


def starts(trace: Path) -> list[list[str]]:
    if not trace.exists():
        return []
    events = map(json.loads, trace.read_text().splitlines())
    return [e["argv"][1:] for e in events if e["event"] == "start"]


def listings(trace: Path) -> list[list[str]]:
    return [a[a.index("for-each-ref") + 1 :] for a in starts(trace) if "for-each-ref" in a]


def hook(repo: GitRepo, event: str, n: int, name: str, trace: Path | None = None) -> str:
    payload = write_hook_payload(repo, "refs-once", event, n, name)
    env = {**ENV, "GIT_TRACE2_EVENT": str(trace)} if trace else ENV
    res = repo.atomic("hook", "claude-code", event, input=json.dumps(payload).encode(), env=env)
    return res.stdout


def turn(repo: GitRepo, names: tuple[str, ...], trace: Path) -> str:
    """A turn writing `names` with a file tool, its Stop traced."""
    for n, name in enumerate(names, start=1):
        hook(repo, "PreToolUse", n, name)
        repo.write(name, f"{name}\n".encode())
        hook(repo, "PostToolUse", n, name)
    stop = {"session_id": "refs-once", "cwd": str(repo.path), "hook_event_name": "Stop"}
    env = {**ENV, "GIT_TRACE2_EVENT": str(trace)}
    res = repo.atomic("hook", "claude-code", "Stop", input=json.dumps(stop).encode(), env=env)
    return res.stdout


@pytest.mark.parametrize("calls", [1, 2])
def test_a_first_turns_end_lists_the_refs_once(repo: GitRepo, tmp_path: Path, calls: int) -> None:
    """The repository's first turn (no journal yet): no listing of refs/atomic/ops/ for an
    operation whose journal is gone (none can be: git's files hold none), and the branches and
    the turn's refs after its end's capture are its capture's (two calls: the second's step is
    pending, captured at the end), not listed again: one listing, was three."""
    trace = tmp_path / "stop.json"
    out = turn(repo, ("one.txt", "two.txt")[:calls], trace)
    assert "is kept" in out, out
    found = listings(trace)
    assert len(found) == 1, found
    assert "refs/heads/" in found[0]
    assert not any("refs/atomic/ops/" in a for a in found[-1]), found
    # The turn's refs are its operation's now, none left under refs/atomic/turns/.
    assert repo.git("for-each-ref", "refs/atomic/turns/") == ""
    ops = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/ops/").split()
    assert ops and all("/turns/" not in r for r in ops), ops
    repo.atomic("rollback", check=0, env=ENV)
    assert not repo.exists("one.txt") and not repo.exists("two.txt")


def test_undo_lists_the_refs_once(repo: GitRepo, tmp_path: Path) -> None:
    """The probe's listing, with its own update since, is the one the rescue's target reads:
    one listing, was two. What undo brings back is what the rollback took."""
    repo.atomic("begin", "one", check=0)
    repo.write("a.txt", b"changed\n")
    repo.atomic("abort", check=0)
    assert repo.read("a.txt") == b"a\n"
    trace = tmp_path / "undo.json"
    repo.atomic("undo", check=0, env={**ENV, "GIT_TRACE2_EVENT": str(trace)})
    assert repo.read("a.txt") == b"changed\n"
    assert len(listings(trace)) == 1, listings(trace)


def test_a_journal_gone_is_still_seen_with_the_refs_packed(repo: GitRepo) -> None:
    """The operations' refs read from git's files: packed (`git pack-refs --all`), a journal
    removed is still told from none ever kept."""
    repo.atomic("run", "--", "sh", "-c", "echo x > made", check=0)
    repo.git("pack-refs", "--all")
    assert not list((repo.path / ".git" / "refs" / "atomic").rglob("001-pre-op"))
    shutil.rmtree(repo.path / ".git" / "atomic")
    res = repo.atomic("run", "--", "true", check=3)
    assert "is gone" in res.stderr and "git atomic recover" in res.stderr


def ask(repo: GitRepo) -> str:
    res = subprocess.run(
        [sys.executable, "-c", ASK, str(repo.path)],
        env=repo.env,
        capture_output=True,
        text=True,
        timeout=20,  # a FIFO waited on never answers
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


@pytest.mark.skipif(not opened.available(), reason="inotify")
@pytest.mark.parametrize("where", ["packed-refs", "refs/atomic/turns", "refs/atomic"])
def test_turn_refs_are_never_looked_for_through_a_link(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """A link at `packed-refs`, or at the turns' folder or one above it, to a file or folder
    outside: never opened (git, asked then, decides)."""
    assert ask(repo) == "False"
    outside = tmp_path / "outside"
    if where == "packed-refs":
        outside.write_bytes(b"0" * 40 + b" refs/atomic/turns/x/001-start\n")
    else:
        (outside / "turns" / "x").mkdir(parents=True)
        (outside / "x").mkdir()
    link = repo.path / ".git" / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    watched = outside if where != "refs/atomic" else outside / "turns"
    with opened.watching(watched) as watch:
        answer = ask(repo)
    assert not watch.opened(), f"{watched} was opened through {link}"
    assert answer == "True"  # there may be: git decides


def test_a_fifo_at_packed_refs_is_never_waited_on(repo: GitRepo) -> None:
    os.mkfifo(repo.path / ".git" / "packed-refs")
    assert ask(repo) == "True"


KNOWN = """
import json, sys
from pathlib import Path
from git_atomic.engine import git
root = Path(sys.argv[1])
repo = git.Repo(root, root / ".git", root / ".git")
prefixes = ("refs/heads/", "refs/atomic/turns/t/", "refs/stash")
repo.refs_listing(*prefixes)
for step in json.loads(sys.argv[2]):
    if step == "run":
        repo.run("symbolic-ref", "refs/heads/alias", "refs/heads/main")
    elif step == "read":
        repo.run("-c", "core.autocrlf=false", "cat-file", "-t", "HEAD")
    else:
        repo.update_refs(step, message="test")
known = repo.listed_again(*prefixes)
print(json.dumps(None if known is None else known.decode()))
print(json.dumps(repo.refs_listing(*prefixes).decode()))
"""


FORGOTTEN = ("through a symbolic ref", "of the ref a symbolic ref names", "HEAD", "another command")


@pytest.mark.parametrize(
    "case",
    [
        "create",
        "update",
        "delete",
        "zero new is a delete",
        "outside the prefixes",
        "through a symbolic ref",
        "of the ref a symbolic ref names",
        "HEAD",
        "another command",
        "a command that reads",
    ],
)
def test_a_kept_listing_is_what_git_lists_or_none(repo: GitRepo, case: str) -> None:
    """The listing with our updates since (engine/reflisting.py) is, byte for byte, what
    `for-each-ref` lists after them; where an update cannot be followed exactly, none."""
    head = repo.head()
    zero = "0" * len(head)
    repo.git("update-ref", "refs/atomic/turns/t/001-start", head)
    repo.git("branch", "side")
    if case in ("through a symbolic ref", "of the ref a symbolic ref names"):
        repo.git("symbolic-ref", "refs/heads/alias", "refs/heads/side")
    steps: list[object] = {
        "create": [[f"create refs/atomic/turns/t/002-end {head}"]],
        "update": [[f"update refs/heads/side {head} {head}", "verify refs/heads/main " + head]],
        "delete": [[f"delete refs/atomic/turns/t/001-start {head}"]],
        "zero new is a delete": [[f"update refs/heads/side {zero} {head}"]],
        "outside the prefixes": [[f"create refs/atomic/ops/x/001-pre-op {head}"]],
        "through a symbolic ref": [[f"update refs/heads/alias {head}"]],
        "of the ref a symbolic ref names": [[f"delete refs/heads/side {head}"]],
        "HEAD": [[f"update HEAD {head}"]],
        "another command": ["run"],
        "a command that reads": ["read", [f"create refs/atomic/turns/t/002-end {head}"]],
    }[case]
    res = subprocess.run(
        [sys.executable, "-c", KNOWN, str(repo.path), json.dumps(steps)],
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    known, listed = map(json.loads, res.stdout.splitlines())
    if case in FORGOTTEN:
        assert known is None
    else:
        assert known == listed
