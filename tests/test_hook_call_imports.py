"""What one agent hook call imports once its turn has a step (issue 17, target 2): a file
tool's later call notes the files it names, and neither captures nor reads a checkpoint, so
its process never imports the scan, the checkpoint format, a restore's plan or argparse (the
installed hook's command line is read without it: cli/main.py `_hook_call`). Each of these is
a module's import paid on every tool call of the agent; tests/test_hot_path.py lists what the
first calls may import.

Measured in a real subprocess (`python -S`, the command line's own path: no warm helper), with
`sys.modules` written at its exit."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from testing.agents import write_hook_payload
from testing.gitrepo import ROOT, GitRepo

PKG = "git_atomic"

# Never imported by a file tool's later PreToolUse or PostToolUse.
NEVER_LATER = {
    "argparse",
    "gettext",
    f"{PKG}.cli.parser",
    f"{PKG}.cli.parserbase",
    f"{PKG}.cli.dispatch",
    f"{PKG}.engine.checkpoint",
    f"{PKG}.engine.scan",
    f"{PKG}.engine.scanindex",
    f"{PKG}.engine.watcher",
    f"{PKG}.engine.conversion",
    f"{PKG}.engine.restoreplan",
    f"{PKG}.engine.staged",
    f"{PKG}.engine.snapshot",
    f"{PKG}.ops.context",
    "sqlite3",
}
# Nor by a later PreToolUse: the other sessions' windows are read where a window closes.
NEVER_LATER_PRE = NEVER_LATER | {f"{PKG}.ops.windowlog"}

PROBE = """
import atexit, os, runpy, sys
def report():
    with open(os.environ["HOOK_MODULES_OUT"], "w") as fh:
        fh.write(repr(sorted(sys.modules)))
atexit.register(report)  # the console script leaves with os._exit, after the exit handlers
sys.argv = ["git-atomic", *sys.argv[1:]]
runpy.run_module("git_atomic", run_name="__main__")
"""

ENV = {"GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_VERIFY_SCAN": "0"}


def modules_of(repo: GitRepo, tmp_path: Path, payload: dict[str, object], *args: str) -> set[str]:
    out = tmp_path / "modules.txt"
    proc = _hook_call(repo, out, payload, args)
    assert proc.returncode == 0 and not proc.stdout.strip(), (proc.stdout, proc.stderr)
    found: list[str] = ast.literal_eval(out.read_text())
    return set(found)


def call(repo: GitRepo, event: str, n: int, name: str) -> None:
    payload = write_hook_payload(repo, "later", event, n, name)
    res = repo.atomic("hook", "claude-code", event, input=json.dumps(payload).encode(), env=ENV)
    assert res.returncode == 0 and not res.stdout.strip(), (res.stdout, res.stderr)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a.txt", b"a\n")
    repo.write("src/b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "init")
    call(repo, "PreToolUse", 1, "first.txt")  # the turn's first step: two captures
    repo.write("first.txt", b"first\n")
    call(repo, "PostToolUse", 1, "first.txt")
    return repo


@pytest.mark.parametrize("name", ["new.txt", "a.txt", "src/deeper/new.txt"])
@pytest.mark.parametrize("history", [(), ("--history", "shadow"), ("--history=shadow",)])
def test_a_file_tools_later_call_imports_neither_the_scan_nor_a_checkpoint(
    repo: GitRepo, tmp_path: Path, name: str, history: tuple[str, ...]
) -> None:
    pre = write_hook_payload(repo, "later", "PreToolUse", 2, name)
    loaded = modules_of(repo, tmp_path, pre, "PreToolUse", *history)
    assert not loaded & NEVER_LATER_PRE, sorted(loaded & NEVER_LATER_PRE)
    repo.write(name, b"written by the tool\n")
    post = write_hook_payload(repo, "later", "PostToolUse", 2, name)
    loaded = modules_of(repo, tmp_path, post, "PostToolUse", *history)
    assert not loaded & NEVER_LATER, sorted(loaded & NEVER_LATER)
    # What it noted is the turn's all the same: its end keeps it, a rollback takes it back.
    stop = {"session_id": "later", "cwd": str(repo.path), "hook_event_name": "Stop"}
    res = repo.atomic("hook", "claude-code", "Stop", input=json.dumps(stop).encode(), env=ENV)
    assert "is kept" in res.stdout, (res.stdout, res.stderr)
    repo.atomic("rollback", check=0, env=ENV)
    assert (repo.path / "a.txt").read_bytes() == b"a\n"
    assert (repo.path / "src" / "b.txt").read_bytes() == b"b\n"
    for gone in {"first.txt", name} - {"a.txt"}:
        with pytest.raises(FileNotFoundError):
            (repo.path / gone).lstat()


@pytest.mark.parametrize(
    ("args", "code", "parsed"),
    [
        (("PreToolUse", "--history", "bogus"), 2, True),  # argparse's usage error, as before
        (("PreToolUse", "--hist", "shadow"), 0, True),  # an abbreviation argparse takes
        (("PreToolUse", "--history"), 2, True),
        (("PreToolUse", "extra"), 2, True),
        (("-h",), 0, True),
        (("PreToolUse", "--history", "commits"), 0, False),
    ],
)
def test_any_other_hook_command_line_is_argparses(
    repo: GitRepo, tmp_path: Path, args: tuple[str, ...], code: int, parsed: bool
) -> None:
    """Only the command lines installed hooks write are read without the parser; anything
    else gets argparse's answer (its errors, its help), as before."""
    out = tmp_path / "modules.txt"
    payload = write_hook_payload(repo, "later", "PreToolUse", 3, "other.txt")
    proc = _hook_call(repo, out, payload, args)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert ("argparse" in ast.literal_eval(out.read_text())) == parsed


# Compiles every regular expression a module of ours compiles as it is imported (`<module>`).
COMPILES_PROBE = """
import importlib, re, sys
seen = []
compile_ = re._compile
def spy(pattern, flags):
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == re.__file__:
        frame = frame.f_back
    if frame is not None and frame.f_code.co_name == "<module>" and "git_atomic" in (
        frame.f_code.co_filename
    ):
        seen.append((frame.f_code.co_filename.rsplit("git_atomic", 1)[1], frame.f_lineno))
    return compile_(pattern, flags)
re._compile = spy
for name in sys.argv[1:]:
    importlib.import_module(name)
print(repr(seen))
"""


@pytest.mark.parametrize(
    "adapter", ["claude_code", "codex", "gemini", "cursor", "copilot", "openhands"]
)
def test_a_hook_calls_imports_compile_no_regular_expression_of_ours(adapter: str) -> None:
    """A pattern compiled at import costs every hook call, used or not: the modules on a hook
    call's way name theirs with core/patterns.py's `keep` (compiled where used, or ahead by the
    warm helper). Were compiled at import: gitlinks.py's names of its leftovers and
    foundmemo.py's credentials in a configuration, neither used by a file tool's later call."""
    modules = [
        f"{PKG}.cli.main",
        f"{PKG}.commands.agents",
        f"{PKG}.agents.{adapter}",
        f"{PKG}.agents.turnend",
        f"{PKG}.engine.early",
        f"{PKG}.engine.foundmemo",
        f"{PKG}.core.config",
    ]
    proc = subprocess.run(
        [sys.executable, "-S", "-c", COMPILES_PROBE, *modules],
        # (-S: no site-packages, so the package from this checkout, as the hook calls above)
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert ast.literal_eval(proc.stdout.strip()) == [], proc.stdout


def _hook_call(
    repo: GitRepo, out: Path, payload: dict[str, object], args: Sequence[str]
) -> subprocess.CompletedProcess[str]:
    """`git-atomic hook claude-code ARGS` in a new interpreter (PROBE), the names of the
    modules it imported written to `out`."""
    return subprocess.run(
        [sys.executable, "-S", "-c", PROBE, "hook", "claude-code", *args],
        cwd=repo.path,
        env={**repo.env, **ENV, "HOOK_MODULES_OUT": str(out)},
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
    )
