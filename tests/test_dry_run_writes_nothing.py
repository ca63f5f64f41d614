"""Every dry run writes nothing into the repository, whatever it finds: each `--dry-run` of the
command line, in a repository with nothing to take back, with something, where the move would
be refused for an overlap with your edits, and half way through a git merge. The oracle is every
entry of the worktree and the git dir (kind, mode, mtime to the nanosecond, bytes or a link's
target) before and after, `git count-objects -v`, and the temporary folder, which the dry
run's own object store (engine/quarantine.py) is made in and removed from. The objects are stored
loose and packed, with mtimes of long ago: git's freshening of one it found stored shows.

A dry run took the worktree's lock, wrote the objects its scan found into `.git/objects`
(and freshened those it found there), moved `refs/atomic/scan/` and kept its caches."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testing import mcpfork
from testing.gitrepo import GitRepo
from testing.oracle import walk_exact

OP, CP = "{op}", "{cp}"  # the newest operation's id, its PRE-OP checkpoint

# Every dry run of the command line (test_every_dry_run_of_the_parser_is_here).
DRY_RUNS: list[list[str]] = [
    ["rollback", "--dry-run"],
    ["rollback", "--dry-run", "--json"],
    ["rollback", "--op", OP, "--dry-run"],
    ["rollback", "--op", OP, "--whole", "--dry-run"],
    ["rollback", "--to", CP, "--whole", "--dry-run"],
    ["rollback", "--to", CP, "--dry-run", "a.txt", "new.txt"],
    ["undo", "--dry-run"],
    ["undo", "--dry-run", "--json"],
    ["emergency", "--dry-run"],
    ["emergency", "--to", "HEAD~1", "--dry-run", "--json"],
    ["init", "--dry-run"],
]
STATES = ["nothing", "something", "overlap", "half-way", "open"]


def test_every_dry_run_of_the_parser_is_here() -> None:
    import argparse

    from git_atomic.cli.parser import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    dry = {verb for verb, p in sub.choices.items() if "--dry-run" in p._option_string_actions}
    assert dry == {args[0] for args in DRY_RUNS}


def _state(repo: GitRepo) -> dict[bytes, tuple[object, ...]]:
    st = os.lstat(repo.path)
    return {b".": (st.st_mode, st.st_mtime_ns, None), **walk_exact(repo.path)}


def _changed(before: dict[bytes, Any], after: dict[bytes, Any]) -> list[bytes]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _long_ago(repo: GitRepo) -> None:
    """Every object file's mtime set to 2020: a freshening by git would show."""
    for folder, _, files in os.walk(repo.path / ".git" / "objects"):
        for name in files:
            os.utime(os.path.join(folder, name), ns=(1_577_836_800 * 10**9,) * 2)


def _made(repo: GitRepo, state: str) -> dict[str, str]:
    """The repository in `state`; the ids the commands name."""
    repo.write("a.txt", b"a\n")
    repo.write("b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    if state == "nothing":
        repo.atomic("run", "--no-gates", "--", "true", check=0)
        repo.atomic("rollback", check=None)
    else:
        repo.atomic("run", "-n", "first", "--no-gates", "--", "sh", "-c", "echo 1 > one", check=0)
        repo.atomic("rollback", check=0)  # undo has something to bring back
        script = "echo op >> a.txt; rm b.txt; echo new > new.txt; git add new.txt"
        repo.atomic("run", "-n", "second", "--no-gates", "--", "sh", "-c", script, check=0)
        repo.write("yours.txt", b"written since\n")
    if state == "overlap":
        repo.write("a.txt", b"yours over the operation's\n")
        repo.write("new.txt", b"yours over the operation's\n")
    elif state == "half-way":
        repo.git("checkout", "-q", "-b", "side", "HEAD~1")
        repo.write("a.txt", b"side\n")
        repo.git("commit", "-qam", "side")
        repo.git("checkout", "-q", "main")
        repo.git("commit", "-qam", "yours", check=False)
        repo.git("merge", "side", check=False)  # stopped by its conflict
        assert (repo.path / ".git" / "MERGE_HEAD").exists()
    elif state == "open":
        repo.atomic("begin", "session", check=0)
        repo.write("a.txt", b"in the session\n")
        repo.atomic("checkpoint", check=0)
        repo.write("b.txt", b"after the step\n")
    ops = repo.atomic_json("log")["operations"]
    newest = ops[0] if ops else None
    return {
        OP: newest["op_id"] if newest else "abcd1234",
        CP: newest["checkpoints"]["pre_op"][:12] if newest else "HEAD",
    }


@pytest.mark.parametrize("store", ["loose", "packed"])
@pytest.mark.parametrize("state", STATES)
def test_every_dry_run_leaves_the_repository_byte_identical(
    tmp_path: Path, state: str, store: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    ids = _made(repo, state)
    if store == "packed":
        repo.git("repack", "-adq")
        repo.git("prune-packed")
    _long_ago(repo)
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    counted = repo.git("count-objects", "-v")
    before = _state(repo)
    for args in DRY_RUNS:
        argv = [ids.get(a, a) for a in args]
        res = repo.atomic(*argv, env=env)
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
        if res.returncode not in (0,):  # refused, or nothing to do: one clear line
            lines = [line for line in res.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("git-atomic"), (argv, res.stderr)
            assert res.returncode in (2, 3), (argv, res.returncode, res.stderr)
        assert _changed(before, _state(repo)) == [], (argv, res.stdout, res.stderr)
        assert repo.git("count-objects", "-v") == counted, argv
        # (Watchman, where it runs, keeps its own `<user>-state` there.)
        assert [n for n in os.listdir(temp) if n.startswith("git-atomic")] == [], argv


def _layout(repo: GitRepo, tmp_path: Path, layout: str) -> dict[str, str]:
    """A repository with something to take back, in a layout whose capture keeps more caches."""
    env: dict[str, str] = {}
    if layout == "lfs":  # content kept by a hard link, a marker in the checkpoint (lfskeep.py)
        from testing.differential import lfs_filter

        lfs_filter(repo, tmp_path)
        repo.write("big.bin", os.urandom(40 << 10))
    elif layout == "filter":  # the raw record of files a rule converts (conversion.py)
        repo.write(".gitattributes", b"*.txt text eol=crlf\n")
    elif layout == "stash":  # the stash's record and its known parents (stashstate.py)
        repo.write("a.txt", b"stashed\n")
        repo.git("stash", "-q")
    elif layout == "split":  # your index and the scan's written split: git freshens their
        env["GIT_ATOMIC_SPLIT_SCAN_AT"] = "1"  # shared index as it reads them
        repo.git("config", "core.splitIndex", "true")
        repo.git("update-index", "--split-index")
    repo.env.update(env)
    return _made(repo, "something")


@pytest.mark.parametrize("layout", ["lfs", "filter", "stash", "split"])
def test_every_dry_run_leaves_a_repository_of_each_layout_byte_identical(
    tmp_path: Path, layout: str
) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    ids = _layout(repo, tmp_path, layout)
    _long_ago(repo)
    before = _state(repo)
    for args in DRY_RUNS:
        res = repo.atomic(*[ids.get(a, a) for a in args])
        assert "Traceback" not in res.stderr and res.returncode in (0, 2, 3), res.stderr
        assert _changed(before, _state(repo)) == [], (args, res.stdout, res.stderr)


def test_a_dry_run_waits_for_no_lock_and_makes_none(repo: GitRepo) -> None:
    """Another git-atomic working in the worktree: the dry run says so in one line (exit 3, as
    the command itself would without --wait); once it is gone, it makes no lock file of its own."""
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo 1 > one", check=0)
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock = repo.path / ".git" / "atomic.lock"
        lock.write_text(f'{{"pid": {holder.pid}, "since": "now", "command": "run"}}')
        res = repo.atomic("rollback", "--dry-run")
        assert res.returncode == 3 and "another git-atomic is working" in res.stderr
        lock.unlink()
        before = _state(repo)
        assert repo.atomic("rollback", "--dry-run", check=0).stdout
        assert _changed(before, _state(repo)) == []
    finally:
        holder.kill()
        holder.wait()


def test_a_temporary_folder_inside_the_worktree_is_not_where_the_store_goes(
    tmp_path: Path,
) -> None:
    """TMPDIR in the worktree (an ignored `tmp/`): the store is made in /tmp instead, never
    where the dry run's own scan would find it, and the dry run says what it says without it."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    ids = _made(repo, "something")
    repo.write(".git/info/exclude", b"tmp/\n")
    (repo.path / "tmp").mkdir()
    elsewhere = repo.atomic_json("rollback", "--dry-run")["changes"]
    before = _state(repo)
    # (Watchman, where it runs, would make its own `<user>-state` folder there.)
    inside = {"TMPDIR": str(repo.path / "tmp"), "GIT_ATOMIC_WATCHMAN": "0"}
    assert repo.atomic_json("rollback", "--dry-run", env=inside)["changes"] == elsewhere
    assert repo.atomic_json("rollback", "--op", ids[OP], "--dry-run", env=inside)["changes"]
    assert _changed(before, _state(repo)) == []


def test_a_store_a_killed_dry_run_left_goes_with_the_next(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    _made(repo, "something")
    temp = tmp_path / "temp"
    temp.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = temp / f"git-atomic-dry-{dead.pid}-x1"
    (left / "objects").mkdir(parents=True)
    live = temp / f"git-atomic-dry-{os.getpid()}-x2"  # a dry run of a live process: its own
    live.mkdir()
    repo.atomic("rollback", "--dry-run", env={"TMPDIR": str(temp)}, check=0)
    assert sorted(os.listdir(temp)) == [live.name]


def test_the_store_a_repository_borrows_from_keeps_its_mtimes(tmp_path: Path) -> None:
    """A `clone --shared`: git freshens the objects of the store it borrows from as well."""
    origin = GitRepo.create(tmp_path / "origin", tmp_path / "home")
    origin.write("a.txt", b"a\n")
    origin.write("b.txt", b"b\n")
    origin.git("add", "-A")
    origin.git("commit", "-qm", "files")
    subprocess.run(
        ["git", "clone", "-q", "--shared", str(origin.path), str(tmp_path / "repo")],
        env=origin.env,
        check=True,
    )
    repo = GitRepo(tmp_path / "repo", origin.env)
    script = "echo op >> a.txt; rm b.txt"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=0)
    repo.write("b.txt", b"b\n")  # a file as the store has it: its blob is freshened there
    _long_ago(origin)
    _long_ago(repo)
    before = _state(origin)
    for args in (["rollback", "--dry-run"], ["emergency", "--dry-run"]):
        repo.atomic(*args, check=0)
        assert _changed(before, _state(origin)) == [], args


def test_the_mcp_servers_dry_runs_leave_the_repository_byte_identical(tmp_path: Path) -> None:
    """The MCP server's `rollback` and `undo` with `dry_run` (served, as every call that may
    write, in the worktree's queue): the server itself writes nothing for them either."""
    import anyio
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    ids = _made(repo, "something")
    _long_ago(repo)
    calls = [
        ("rollback", {"dry_run": True}),
        ("rollback", {"op": ids[OP], "dry_run": True}),
        ("rollback", {"op": ids[OP], "whole": True, "dry_run": True}),
        ("undo", {"dry_run": True}),
    ]
    params = mcpfork.server_params(repo.env, repo.path)
    found: list[tuple[str, list[bytes], bool]] = []

    async def main() -> None:
        with anyio.fail_after(120):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                before = _state(repo)
                for name, arguments in calls:
                    answer = await s.call_tool(name, arguments)
                    found.append((name, _changed(before, _state(repo)), bool(answer.is_error)))

    anyio.run(main)
    assert [(name, changed) for name, changed, _ in found] == [(n, []) for n, _ in calls]
    assert not any(error for *_, error in found), found


@pytest.mark.parametrize("kind", ["folder", "fifo", "link"])
def test_a_scan_index_name_that_holds_no_file_is_seeded_anew(tmp_path: Path, kind: str) -> None:
    """A folder, a FIFO or a link (to a FIFO outside) where the scan index was, made there
    meanwhile (a dry run holds no lock: another command's scan replaces the file under it;
    or an operation's own doing): every command seeds a scan anew, never reads through the
    link nor waits on the FIFO. It was an internal error (a folder), or a wait for ever."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    _made(repo, "something")
    expected = repo.atomic_json("rollback", "--dry-run")["changes"]
    index = next((repo.path / ".git" / "atomic").glob("scan-*"))
    index.unlink()
    if kind == "folder":
        index.mkdir()
    elif kind == "fifo":
        os.mkfifo(index)
    else:
        os.mkfifo(tmp_path / "outside")
        os.symlink(tmp_path / "outside", index)
    assert repo.atomic_json("rollback", "--dry-run", timeout=30)["changes"] == expected
    repo.atomic("begin", "x", check=0, timeout=30)
    repo.atomic("abort", check=0, timeout=30)


@pytest.mark.parametrize("name", ["re:po", 're"po', "re\\po"])
def test_a_repository_whose_path_git_reads_quoted(tmp_path: Path, name: str) -> None:
    """The repository's store named to git in GIT_ALTERNATE_OBJECT_DIRECTORIES, whose entries
    a `:` separates: a path with one (or a quote, a backslash) is C-quoted, as git reads it.
    Unquoted, git found none of the repository's objects and the dry run failed."""
    repo = GitRepo.create(tmp_path / name, tmp_path / "home")
    _made(repo, "something")
    before = _state(repo)
    changes = repo.atomic_json("rollback", "--dry-run")["changes"]
    assert {c["path"] for c in changes} == {"a.txt", "b.txt", "new.txt"}
    assert _changed(before, _state(repo)) == []
