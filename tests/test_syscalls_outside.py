"""Nothing outside the worktree is read through a link or written: proved by the system calls
(testing/syscalls.py, strace), not by the bytes left on the disk. A `stat` through a link reads
nothing and a failed `open` writes nothing, yet both reached out of the worktree.

A worktree holds links that lead out to a folder of its own (`outside-<random>`: files, a
folder, a FIFO): a link where a folder was, a tracked link, a link in an ignored folder, the
`.gitignore` and `.gitattributes` links, and the operation makes more (a folder swapped for a
link, the gate logs' folder made one). Every command of each family runs under strace, and no
call of git-atomic's names a path out there, holds a descriptor of one, or names a path through
one of those links (the link itself `lstat`-ed, read, removed or renamed is fine). The user's
command and gates may do anything: their processes are left out (`theirs`, a marker in their
command lines). The worktree's own path runs through a link (`via -> real`): that one is the
user's way to the worktree, and a path through it is the worktree's.

One thing git itself does is let through, and only that: `git status` (our scan) and `git
diff-files` `lstat` a tracked file's path before they see that a folder on its way is now a
link (git's diff-lib.c, check_removed): one `lstat`, no open, its answer thrown away (the file
is then taken as deleted). docs/limits.md says so.

strace slows every process (and each command here is a new interpreter, not a fork of the
suite's server): one scenario per command family (the MCP server's with `--slow`)."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from testing import syscalls
from testing.agents import claude_hook
from testing.gitrepo import GitRepo

pytestmark = pytest.mark.skipif(not syscalls.available(), reason="strace absent or not allowed")

MARK = "mark-theirs"  # in the user's command and gates: their processes are left out


class Layout:
    """The worktree (reached through the link `via`) and the folder outside."""

    def __init__(self, tmp: Path) -> None:
        self.outside = tmp / f"outside-{secrets.token_hex(4)}"
        self.outside.mkdir()
        (self.outside / "file.txt").write_bytes(b"outside\n")
        (self.outside / "dir").mkdir()
        (self.outside / "dir" / "inner.txt").write_bytes(b"inner\n")
        (self.outside / "dir" / "a.py").write_bytes(b"not yours\n")
        (self.outside / "rules").write_bytes(b"*.log\n")
        os.mkfifo(self.outside / "fifo")
        (tmp / "real").mkdir()
        self.via = tmp / "via"
        os.symlink(tmp / "real", self.via)
        self.repo = GitRepo.create(self.via / "wt", tmp / "home")
        self.links: list[Path] = []
        self.repo.write("src/a.py", b"a\n")
        self.repo.write("lib/b.py", b"b\n")
        self.link("file.txt", "tracked-link")
        self.repo.git("add", "-A")
        self.repo.git("commit", "-qm", "base")
        (self.repo.path / ".git" / "info" / "exclude").write_bytes(b"ignored/\n")
        self.link("dir", "linkdir")
        self.link("dir", "ignored/inlink")
        self.link("fifo", "fifo-link")
        self.link("rules", ".gitignore")
        self.link("rules", ".gitattributes")

    def link(self, target: str, at: str) -> Path:
        where = self.repo.path / at
        where.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(self.outside / target, where)
        self.links.append(where)
        return where

    def traced(
        self,
        *args: str,
        code: int = 0,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> syscalls.Trace:
        """`git-atomic ARGS` under strace; its exit code checked, and that nothing of ours
        reached out (but git's one `lstat`, above). The links are those there as it starts
        (and those its calls make)."""
        links = [p for p in self.links if p.is_symlink()]
        trace = syscalls.traced(
            args, self.repo.path, {**self.repo.env, **(env or {})}, theirs=[MARK], stdin=stdin
        )
        said = trace.result.stdout + trace.result.stderr
        assert trace.result.returncode == code and "Traceback" not in said, (args, said)
        reached = [
            str(r)
            for r in trace.reached(self.outside, links, allowed=[self.via])
            if not _gits_lstat(r)
        ]
        assert reached == [], (args, reached)
        return trace


def _gits_lstat(reach: syscalls.Reach) -> bool:
    """git's check_removed: a git process's `lstat` of a path through a link (not of the link's
    target named as such, not an open)."""
    call = reach.call
    return (
        call.program.split(" ", 1)[0].endswith("git")
        and reach.how.startswith("through link")
        and call.name in ("newfstatat", "lstat", "statx")
        and "AT_SYMLINK_NOFOLLOW" in call.line
    )


def _sh(*lines: str, fail: bool = False) -> list[str]:
    """The user's command: `lines` in a shell, marked theirs."""
    return ["--", "sh", "-c", "; ".join([f": {MARK}", *lines, *(["exit 1"] if fail else [])])]


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path)


def test_the_oracle_sees_a_read_through_a_link(layout: Layout) -> None:
    """The oracle's own check: a program that reads through the links is caught, each way."""
    wt = layout.repo.path
    trace = syscalls.traced(
        (),
        wt,
        layout.repo.env,
        program=["sh", "-c", "cat linkdir/inner.txt; test -f tracked-link; ls linkdir/ >&2"],
    )
    hows = {r.how.split(" ")[0] for r in trace.reached(layout.outside, layout.links)}
    assert hows == {"through", "follows", "descriptor"}, hows
    # ...and the user's own processes are left out.
    theirs = syscalls.traced(
        (),
        wt,
        layout.repo.env,
        program=["sh", "-c", f"sh -c ': {MARK}; cat linkdir/a.py'"],
        theirs=[MARK],
    )
    assert theirs.reached(layout.outside, layout.links) == []


def test_run_and_what_takes_an_operation_back_reach_nothing_outside(layout: Layout) -> None:
    """`run` failing (its command swapped a folder and a tracked link for links out) and kept
    (shadow), `rollback --op`, `undo`, `status`, `log`."""
    out = layout.outside
    layout.traced(
        "run",
        "--no-gates",
        *_sh(
            "echo x > src/a.py",
            f"rm -rf lib && ln -s {out / 'dir'} lib",
            f"rm tracked-link && ln -s {out / 'dir' / 'inner.txt'} tracked-link",
            fail=True,
        ),
        code=1,
    )
    assert (out / "dir" / "a.py").read_bytes() == b"not yours\n"
    layout.traced(
        "run", "--no-gates", "--history", "shadow", *_sh(f"rm -rf src && ln -s {out / 'dir'} src")
    )
    op_id = json.loads(layout.traced("log", "--json").result.stdout)["operations"][0]["op_id"]
    layout.traced("rollback", "--op", op_id)
    assert layout.repo.read("src/a.py") == b"a\n"
    layout.traced("undo")
    assert os.readlink(layout.repo.path / "src") == str(out / "dir")
    layout.traced("status")


def test_a_session_gates_and_recover_reach_nothing_outside(layout: Layout) -> None:
    """`begin`, `commit` whose gate fails after making the gate logs' folder a link out,
    `abort`, `recover` after a kill, `gc`."""
    repo, out = layout.repo, layout.outside
    logs = repo.path / ".git" / "atomic" / "logs"
    layout.traced("begin", "work")
    repo.write("src/a.py", b"session\n")
    gate = f": {MARK}; rm -rf {logs}; ln -s {out / 'dir'} {logs}; echo said; exit 1"
    layout.traced("commit", "-g", gate, code=1)
    assert sorted(os.listdir(out / "dir")) == ["a.py", "inner.txt"]
    if os.path.islink(logs):
        os.unlink(logs)
    layout.traced("begin", "again")
    repo.write("linkdir-sibling.txt", b"new\n")
    layout.traced("abort")
    repo.atomic("run", "--no-gates", *_sh(f"ln -s {out / 'dir'} made-link", "kill -9 $PPID"))
    layout.links.append(repo.path / "made-link")
    layout.traced("recover")
    assert not os.path.lexists(repo.path / "made-link")
    layout.traced("gc")


def _write_call(layout: Layout, n: int, path: Path) -> Sequence[dict[str, object]]:
    base = {
        "session_id": "s1",
        "transcript_path": "/dev/null",
        "cwd": str(layout.repo.path),
        "permission_mode": "default",
        "tool_name": "Write",
        "tool_input": {"file_path": str(path), "content": "hi\n"},
        "tool_use_id": f"t{n}",
    }
    return (
        {**base, "hook_event_name": "PreToolUse"},
        {**base, "hook_event_name": "PostToolUse", "tool_response": {"success": True}},
    )


def test_a_claude_code_turn_writing_through_links_reaches_nothing_outside(layout: Layout) -> None:
    """Claude Code's `Write` of `linkdir/x.txt` and of `linkdir/../file.txt` (the link's
    parent, outside): the hooks place each path without a look past the link
    (core/linkplace.py), and say the write is not protected."""
    env = {"CLAUDE_PROJECT_DIR": str(layout.repo.path)}
    wt = layout.repo.path
    for n, path in enumerate([wt / "linkdir" / "x.txt", wt / "linkdir" / ".." / "file.txt"]):
        pre, post = _write_call(layout, n, path)
        layout.traced("hook", "claude-code", "PreToolUse", stdin=json.dumps(pre).encode(), env=env)
        path.write_bytes(b"hi\n")
        said = layout.traced(
            "hook", "claude-code", "PostToolUse", stdin=json.dumps(post).encode(), env=env
        )
        assert "not protected (outside the worktree)" in said.result.stdout, said.result
    # The worktree spelled through the link on the way to it (`via/wt`, as CLAUDE_PROJECT_DIR
    # names it) is the worktree: a Write there, and a shell call run there, are protected.
    for n, (tool, tool_input) in enumerate(
        [("Write", {"file_path": str(wt / "src" / "a.py")}), ("Bash", {"command": "true"})]
    ):
        call = {"tool_name": tool, "tool_input": tool_input, "tool_use_id": f"v{n}"}
        claude_hook(layout.repo, "s1", "PreToolUse", **call)
        said = claude_hook(layout.repo, "s1", "PostToolUse", **call, tool_response={})
        assert "not protected" not in said.stdout, said.stdout
    stop = {**pre, "hook_event_name": "Stop", "stop_hook_active": False}
    layout.traced("hook", "claude-code", "Stop", stdin=json.dumps(stop).encode(), env=env)


def test_refusals_of_links_reach_nothing_outside(layout: Layout) -> None:
    """A selective rollback of a link out (exit 2), a `.git-atomic.toml` link out (exit 2; a
    `pyproject.toml` one is not ours: not read), a coverage report reached through one (the
    gate fails: exit 1), a `.gitmodules` link and a link in `.git/info/` (exit 3): each
    refused from an `lstat` and the link's text, nothing it leads to looked at."""
    layout.traced("rollback", "--to", "HEAD", "--", "linkdir", code=2)
    own = layout.link("rules", ".git-atomic.toml")
    layout.link("rules", "pyproject.toml")  # a project file shared from elsewhere: not ours
    said = layout.traced("run", *_sh("true"), code=2)
    assert "outside the worktree: not read" in said.result.stderr, said.result.stderr
    own.unlink()
    layout.traced("status")
    gate = f'[[gates]]\nname = "c"\nrun = ": {MARK}"\ncoverage = {{ report = "linkdir/c.json" }}\n'
    layout.repo.write(".git-atomic.toml", gate.encode())
    said = layout.traced("run", *_sh("true"), code=1)
    assert "outside the worktree: not read" in said.result.stderr, said.result.stderr
    os.unlink(layout.repo.path / ".git-atomic.toml")
    modules = layout.link("rules", ".gitmodules")
    layout.traced("run", "--no-gates", *_sh("true"), code=3)
    os.unlink(modules)
    layout.links.remove(modules)
    (layout.repo.path / ".git" / "info" / "attributes").symlink_to(layout.outside / "rules")
    layout.links.append(layout.repo.path / ".git" / "info" / "attributes")
    layout.traced("begin", "x", code=3)


@pytest.mark.slow  # (the MCP server and three tool calls under strace; nothing found)
def test_the_mcp_servers_tool_calls_reach_nothing_outside(layout: Layout, tmp_path: Path) -> None:
    """`git atomic mcp` answering `status`, `begin` and `abort`: the server and the children it
    starts for each call. Its stdin is held open until the three answers are out (a closed one
    ends the server before it answers), by a shell loop that is ours to trace too."""
    hello = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    calls = [("status", {}), ("begin", {"name": "x"}), ("abort", {})]
    lines = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        *(
            {
                "jsonrpc": "2.0",
                "id": n,
                "method": "tools/call",
                "params": {"name": t, "arguments": a},
            }
            for n, (t, a) in enumerate(calls, start=1)
        ),
    ]
    asked, answers = tmp_path / "asked.jsonl", tmp_path / "answers.jsonl"
    asked.write_text("".join(json.dumps(line) + "\n" for line in lines))
    wait = f"while [ $(grep -c '\"id\":[123],' {answers}) -lt 3 ]; do sleep 0.05; done"
    server = f"{sys.executable} -m git_atomic mcp > {answers}"
    trace = syscalls.traced(
        (),
        layout.repo.path,
        layout.repo.env,
        program=["sh", "-c", f"(cat {asked}; {wait}) | {server}"],
        timeout=120,
    )
    assert trace.result.returncode == 0, trace.result.stderr
    said = [json.loads(line) for line in answers.read_text().splitlines()]
    by_id = {a["id"]: a for a in said}
    assert sorted(by_id) == [0, 1, 2, 3], said
    # (The calls may run at once, `abort` before `begin`: it is not judged.)
    assert not any(by_id[n].get("error") or by_id[n]["result"].get("isError") for n in (0, 1, 2))
    links = [p for p in layout.links if p.is_symlink()]
    reached = [
        str(r)
        for r in trace.reached(layout.outside, links, allowed=[layout.via])
        if not _gits_lstat(r)
    ]
    assert reached == [], reached
