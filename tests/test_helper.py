"""The warm helper (core/helper.py the client, cli/helperd.py the helper): a routed command is
run by a child of the worktree's helper, says what the command line says, and the command line
does the work itself whenever the helper is absent, refuses, or dies.

Whether a call was served is read from the client process itself: an audit hook notes its
socket connections and the processes it starts (a served call starts none; the command line
starts git). A client of another user cannot be produced portably (it needs a second account
and root); the helper checks the peer's uid with SO_PEERCRED, and its folder is 0700.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import gitrepo
from testing.gitrepo import ROOT, GitRepo, helper_pids, stop_helpers

PROBE = """
import atexit, os, sys
events = []
def audit(event, args):
    if event == "socket.connect" and not os.fsdecode(args[1]).endswith(".sock"):
        event = "socket.connect elsewhere"  # not a helper's (`<worktree>.sock`): Watchman's
    if event in ("socket.connect", "subprocess.Popen", "os.posix_spawn", "os.fork"):
        events.append(event)
sys.addaudithook(audit)
def report():
    with open(os.environ["HELPER_PROBE_OUT"], "w") as fh:
        fh.write(repr({"events": events, "modules": sorted(sys.modules)}))
atexit.register(report)
import runpy
sys.argv = ["git-atomic", *sys.argv[1:]]
runpy.run_module("git_atomic", run_name="__main__")
"""


class Call:
    def __init__(self, proc: subprocess.CompletedProcess[bytes], found: dict[str, list[str]]):
        self.code = proc.returncode
        self.stdout = proc.stdout.decode()
        self.stderr = proc.stderr.decode()
        self.events = found["events"]
        self.modules = set(found["modules"])

    @property
    def served(self) -> bool:
        return "socket.connect" in self.events and "subprocess.Popen" not in self.events

    @property
    def said(self) -> tuple[int, str, str]:
        return self.code, _plain(self.stdout), _plain(self.stderr)


@pytest.fixture(autouse=True)
def _new_interpreters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command a new interpreter, as a user's: the helper serves those (the suite's fork
    server, testing/forkserver.py, would run them without asking it)."""
    monkeypatch.setattr(gitrepo, "FORK", False)


def _plain(text: str) -> str:
    """Without what differs between two runs: object and operation ids, times, pids."""
    text = re.sub(r"\b[0-9a-f]{7,64}\b", "<id>", text)
    text = re.sub(r"\d+", "<n>", text)
    return re.sub(r"<n> (second|minute|hour|day)s?\b", r"<n> \1", text)


def probe(
    repo: GitRepo,
    tmp_path: Path,
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str],
    flags: tuple[str, ...] = (),
    through: tuple[str, ...] = (),
) -> Call:
    """The probe's call of `git atomic ARGS` (`through`: a command line that runs it)."""
    out = tmp_path / "probe.txt"
    out.unlink(missing_ok=True)
    proc = subprocess.run(
        [*through, sys.executable, *flags, "-c", PROBE, *args],
        cwd=repo.path,
        env={**repo.env, **env, "HELPER_PROBE_OUT": str(out)},
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    found = ast.literal_eval(out.read_text()) if out.exists() else {"events": [], "modules": []}
    return Call(proc, found)


def helper_of(repo: GitRepo, *, timeout: float = 30.0) -> int:
    """The pid of the repository's helper, once it answers (its socket bound and its pid file
    written: the second comes a moment after the first, which a loaded machine can stretch)."""
    deadline = time.monotonic() + timeout
    folder = repo.path / ".git" / "atomic" / "helper"
    while time.monotonic() < deadline:
        pids = helper_pids(repo.path.parent)
        if pids and (folder / "main.sock").exists() and (folder / "main.pid").exists():
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("no helper came up")


def started(repo: GitRepo, env: dict[str, str] | None = None) -> int:
    # Long enough for a loaded machine between two served calls (the fixture stops it after).
    # A routed command that writes starts it (`status` only reads: it starts none); with no
    # operation open, `checkpoint` changes nothing but making the journal (exit 2).
    repo.atomic("checkpoint", env={"GIT_ATOMIC_HELPER_IDLE": "600", **(env or {})})
    return helper_of(repo)


def gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                if fh.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return int(fh.read().rsplit(b")", 1)[1].split()[1])


def wait_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and (text := path.read_text()).strip():
            return text
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"{path} never came")


def twin(tmp_path: Path, name: str) -> GitRepo:
    repo = GitRepo.create(tmp_path / name / "repo", tmp_path / name / "home")
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "two")
    return repo


SESSION = [
    ("status",),
    ("begin", "work"),
    ("status", "--json"),
    ("checkpoint", "-m", "step"),
    ("status",),
    ("abort",),
    ("abort",),  # nothing open: an error, said the same way
    ("begin",),  # a usage error (argparse's exit 2)
    ("status",),
]


def test_a_session_says_the_same_served_and_cold(tmp_path: Path) -> None:
    cold, warm = twin(tmp_path, "cold"), twin(tmp_path, "warm")
    started(warm)
    for args in SESSION:
        if args[0] == "checkpoint":
            for repo in (cold, warm):
                repo.write("a.txt", b"changed\n")
                repo.write("new/b.txt", b"new\n")
        here = probe(cold, tmp_path, *args, env={"GIT_ATOMIC_HELPER": "0"})
        there = probe(warm, tmp_path, *args, env={})
        assert not here.served and there.served, (args, here.events, there.events)
        assert there.said == here.said, args
    assert warm.fingerprint().files == cold.fingerprint().files
    assert warm.read("a.txt") == b"a\n" and not (warm.path / "new").exists()


def test_hook_calls_read_their_payload_and_say_the_same(tmp_path: Path) -> None:
    cold, warm = twin(tmp_path, "cold"), twin(tmp_path, "warm")
    started(warm)
    for repo in (cold, warm):
        repo.atomic("hooks", "install", "claude-code", check=0)
    said = {}
    for name, repo, env in (("cold", cold, {"GIT_ATOMIC_HELPER": "0"}), ("warm", warm, {})):
        calls = []
        for event, tool in (("PreToolUse", "Write"), ("PostToolUse", "Write"), ("Stop", None)):
            payload: dict[str, object] = {
                "session_id": "s1",
                "transcript_path": "",
                "cwd": str(repo.path),
                "hook_event_name": event,
            }
            if tool:
                payload.update(
                    tool_name=tool,
                    tool_use_id="toolu_1",
                    tool_input={"file_path": str(repo.path / "w.txt"), "content": "w\n"},
                )
            if event == "PostToolUse":
                repo.write("w.txt", b"w\n")
                payload["tool_response"] = {"type": "create"}
            call = probe(
                repo,
                tmp_path,
                "hook",
                "claude-code",
                event,
                stdin=json.dumps(payload).encode(),
                env={**env, "CLAUDE_PROJECT_DIR": str(repo.path)},
            )
            assert call.served == (name == "warm"), (event, call.events, call.stderr)
            calls.append(call.said)
        said[name] = calls
    assert said["warm"] == said["cold"]
    assert said["warm"][-1][0] == 0 and "is kept" in said["warm"][-1][1], said
    assert warm.read("w.txt") == b"w\n"


def test_the_client_imports_nothing_heavy_when_served(repo: GitRepo, tmp_path: Path) -> None:
    # Without site-packages (-S), whose `.pth` files may import anything: the helper the first
    # call starts has the same flags, so it serves the second.
    env = {"GIT_ATOMIC_HELPER_IDLE": "600"}
    assert not probe(repo, tmp_path, "checkpoint", env=env, flags=("-S",)).served
    helper_of(repo)
    call = probe(repo, tmp_path, "status", env=env, flags=("-S",))
    assert call.served and call.code == 0
    ours = {m for m in call.modules if m.startswith("git_atomic")}
    assert ours == {"git_atomic", "git_atomic.cli", "git_atomic.cli.entry"} | {
        "git_atomic.cli.main",
        "git_atomic.core",
        "git_atomic.core.helper",
    }
    heavy = {"socket", "json", "subprocess", "argparse", "dataclasses", "sqlite3", "selectors"}
    heavy |= {"typing", "re", "enum"}  # typing brings re and enum: ~7 ms of every call's start
    assert not heavy & call.modules


PRELOADED = """
import importlib, io, json, os, re, sys
from git_atomic.cli.helperd import PRELOAD, warm
for name in PRELOAD:
    importlib.import_module(name)
warm()
def compiled():
    return {repr(key[1]) for cache in (re._cache, getattr(re, "_cache2", {})) for key in cache}
before = set(sys.modules)
patterns = compiled()
from git_atomic.cli.main import main
for args, stdin in json.loads(sys.argv[1]):
    if args[:2] == ["hook", "claude-code"] and args[2] != "Stop":
        os.makedirs("agent", exist_ok=True)
        with open(f"agent/{len(stdin)}.txt", "w") as fh:
            fh.write(stdin)
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    code = main(args)
    assert code == 0, (args, code)
sys.__stdout__.write(json.dumps(sorted(set(sys.modules) - before)) + "\\n")
sys.__stdout__.write(json.dumps(sorted(compiled() - patterns)))
"""


def test_the_helper_preloads_what_its_commands_import(repo: GitRepo, tmp_path: Path) -> None:
    """A module a routed command imports that the helper has not preloaded is imported again by
    every child (tomllib: 6 ms of each capture where a configuration file exists; the JSON
    answer's modules, 5 ms of every `--json` call); so is a regular expression it did not
    compile (core/patterns.py), or a parser it did not build (0.5 to 4 ms each)."""
    repo.write(".git-atomic.toml", b"max_new_file_size = 1000000\n")
    repo.write("pyproject.toml", b"[project]\nname = 'x'\n")
    repo.write("big.bin", os.urandom(40_000))
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "configured")

    def hook(event: str, i: int) -> tuple[list[str], str]:
        payload = {"session_id": "s", "hook_event_name": event, "cwd": str(repo.path)}
        if event != "Stop":
            target = str(repo.path / "agent" / f"{i}.txt")
            payload.update(tool_name="Write", tool_input={"file_path": target, "content": "x"})
        return ["hook", "claude-code", event], json.dumps(payload)

    calls = [
        (["status"], ""),
        (["begin", "w", "--history", "shadow"], ""),
        (["checkpoint"], ""),
        (["abort"], ""),
        (["status", "--json"], ""),
        (["begin", "w", "--history", "shadow", "--json"], ""),
        (["checkpoint", "--json"], ""),
        (["abort", "--json"], ""),
        *(hook(event, i) for i in range(2) for event in ("PreToolUse", "PostToolUse")),
        hook("Stop", 0),
    ]
    proc = subprocess.run(
        [sys.executable, "-S", "-c", PRELOADED, json.dumps(calls)],
        cwd=repo.path,
        env={**repo.env, "GIT_ATOMIC_HELPER": "0"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    modules, patterns = proc.stdout.decode().splitlines()[-2:]
    assert json.loads(modules) == []
    assert json.loads(patterns) == []


def test_without_a_helper_the_command_runs_here_and_starts_one(
    repo: GitRepo, tmp_path: Path
) -> None:
    call = probe(repo, tmp_path, "checkpoint", env={})
    assert not call.served and call.code == 2  # no operation open: a usage error
    pid = helper_of(repo)
    with open(f"/proc/{pid}/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    assert int(fields[3]) == pid  # its own session (the session id is its pid)
    assert int(fields[4]) == 0  # and no terminal
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
    folder = repo.path / ".git" / "atomic" / "helper"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert probe(repo, tmp_path, "status", env={}).served


def test_status_is_served_by_a_helper_but_starts_none(repo: GitRepo, tmp_path: Path) -> None:
    """`status` only reads: a helper it started (its folder, socket and pid file in
    .git/atomic/helper) would be the one change it made (tests/test_read_only_commands.py)."""
    repo.atomic("run", "--no-gates", "--", "true", check=0, env={"GIT_ATOMIC_HELPER": "0"})
    for _ in range(2):
        call = probe(repo, tmp_path, "status", env={})
        assert not call.served and call.code == 0
    time.sleep(0.5)
    assert helper_pids(repo.path.parent) == []
    assert not (repo.path / ".git" / "atomic" / "helper").exists()
    started(repo)
    assert probe(repo, tmp_path, "status", env={}).served


@pytest.mark.parametrize("sig", ["INT", "TERM"])
def test_a_command_that_ignores_a_signal_is_not_served(
    repo: GitRepo, tmp_path: Path, sig: str
) -> None:
    """A command started with SIGINT or SIGTERM ignored (`trap '' INT`) was served: its client
    passed the signal on to the helper's child, which answered it (a Stop hook's gates were
    interrupted). It runs in its own process now, where the signal stays ignored."""
    assert not probe(repo, tmp_path, "checkpoint", env={}).served
    helper_of(repo)
    assert probe(repo, tmp_path, "status", env={}).served
    ignoring = ("bash", "-c", f"trap '' {sig}; exec \"$@\"", "bash")
    call = probe(repo, tmp_path, "status", env={}, through=ignoring)
    assert call.code == 0 and "socket.connect" not in call.events, call.events


def test_off_means_never_asked_and_never_started(repo: GitRepo, tmp_path: Path) -> None:
    call = probe(repo, tmp_path, "begin", "x", env={"GIT_ATOMIC_HELPER": "0"})
    assert call.code == 0 and "socket.connect" not in call.events
    time.sleep(1.0)
    assert helper_pids(tmp_path) == []
    assert not (repo.path / ".git" / "atomic" / "helper").exists()


def _installation(tmp_path: Path, name: str) -> dict[str, str]:
    where = tmp_path / name
    shutil.copytree(
        ROOT / "src" / "git_atomic",
        where / "git_atomic",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return {"PYTHONPATH": os.pathsep.join([str(where), str(ROOT)])}


def test_a_changed_installation_is_not_served_and_its_helper_leaves(
    repo: GitRepo, tmp_path: Path
) -> None:
    env = _installation(tmp_path, "inst")
    old = started(repo, env)
    assert probe(repo, tmp_path, "status", env=env).served
    scan = tmp_path / "inst" / "git_atomic" / "engine" / "scan.py"
    later = scan.stat().st_mtime + 10
    os.utime(scan, (later, later))  # as an upgrade in place rewrites the files
    call = probe(repo, tmp_path, "status", env=env)
    assert not call.served and call.code == 0 and "no operation is open" in call.stdout
    assert gone(old)
    new = helper_of(repo)
    assert new != old
    assert probe(repo, tmp_path, "status", env=env).served


def test_an_upgrade_to_another_version_replaces_the_helper(repo: GitRepo, tmp_path: Path) -> None:
    """The client of the new version says another identity; the helper still leaves, and the
    client starts the new one (it did not: refused as another installation, the old helper
    stayed as long as calls kept it from its idle time)."""
    env = _installation(tmp_path, "inst")
    old = started(repo, env)
    init = tmp_path / "inst" / "git_atomic" / "__init__.py"
    text = init.read_text()
    newer = re.sub(r'__version__ = "([^"]+)"', r'__version__ = "\1.post1"', text)
    assert newer != text
    init.write_text(newer)
    call = probe(repo, tmp_path, "status", env=env)
    assert not call.served and call.code == 0 and "no operation is open" in call.stdout
    assert gone(old)
    assert helper_of(repo) != old
    assert probe(repo, tmp_path, "status", env=env).served


def test_another_installation_is_not_served_and_leaves_the_helper_be(
    repo: GitRepo, tmp_path: Path
) -> None:
    first, second = _installation(tmp_path, "one"), _installation(tmp_path, "two")
    pid = started(repo, first)
    call = probe(repo, tmp_path, "status", env=second)
    assert "socket.connect" in call.events and not call.served
    assert call.code == 0 and "no operation is open" in call.stdout
    time.sleep(0.5)
    assert helper_pids(tmp_path) == [pid]
    assert probe(repo, tmp_path, "status", env=first).served


def test_a_client_in_a_sandbox_is_not_served(repo: GitRepo, tmp_path: Path) -> None:
    """Landlock and seccomp sandboxes set no_new_privs: such a client's command would run in
    the helper, outside its sandbox. It runs in the client."""
    started(repo)
    confined = PROBE.replace(
        "import atexit, os, sys",
        "import atexit, os, sys, ctypes\n"
        "assert ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0) == 0",  # NO_NEW_PRIVS
    )
    out = tmp_path / "probe.txt"
    proc = subprocess.run(
        [sys.executable, "-c", confined, "status"],
        cwd=repo.path,
        env={**repo.env, "HELPER_PROBE_OUT": str(out)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    call = Call(proc, ast.literal_eval(out.read_text()))
    assert "socket.connect" in call.events and not call.served, call.events
    assert call.code == 0 and "no operation is open" in call.stdout
    assert probe(repo, tmp_path, "status", env={}).served  # the helper is still there


def _paused(
    repo: GitRepo, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path, int]:
    pause = tmp_path / f"pause-{args[0]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *args],
        cwd=repo.path,
        env={
            **repo.env,
            **(env or {}),
            "GIT_ATOMIC_FAILPOINT_PAUSE": "begin:after-journal",
            "GIT_ATOMIC_FAILPOINT_PAUSE_FILE": str(pause),
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return proc, pause, int(wait_file(pause, proc))


def test_a_command_killed_in_the_helper_is_reported_as_the_command_line_would(
    repo: GitRepo, tmp_path: Path
) -> None:
    helper = started(repo)
    before = repo.fingerprint()
    proc, _pause, child = _paused(repo, tmp_path, "begin", "work")
    assert child != proc.pid and parent_of(child) == helper  # it runs in the helper's child
    os.kill(child, signal.SIGKILL)  # with the worktree's lock, its record written
    _out, err = proc.communicate(timeout=60)
    # The client ran the command itself, which found what a killed command line leaves.
    assert proc.returncode == 3, err
    assert f"pid {child}" in err.decode() and "recover" in err.decode()
    assert not gone(helper, timeout=0.2)  # the helper lives on
    repo.atomic("recover", check=0)
    assert repo.fingerprint() == before
    assert probe(repo, tmp_path, "begin", "again", env={}).served


def test_two_clients_at_once(repo: GitRepo, tmp_path: Path) -> None:
    started(repo)
    proc, pause, child = _paused(repo, tmp_path, "begin", "work")
    call = probe(repo, tmp_path, "status", env={})  # while the first holds the lock
    assert call.served and call.code == 0
    assert f"pid {child}" in call.stdout
    pause.unlink()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert repo.atomic_json("status")["open"]["name"] == "work"


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_client_is_the_commands(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    cold, warm = twin(tmp_path, "cold"), twin(tmp_path, "warm")
    started(warm)
    ends = []
    for repo, env in ((cold, {"GIT_ATOMIC_HELPER": "0"}), (warm, {})):
        proc, pause, pid = _paused(repo, tmp_path, "begin", "work", env=env)
        assert (pid == proc.pid) == (repo is cold)
        proc.send_signal(sig)
        time.sleep(0.5)  # the command notes the signal, finishes its step, then obeys
        pause.unlink()
        _out, err = proc.communicate(timeout=60)
        status = repo.atomic_json("status")
        ends.append((proc.returncode, _plain(err.decode()), _plain(json.dumps(status))))
    assert ends[0] == ends[1]
    assert ends[1][0] in (code, -sig)


def test_a_helper_still_starting_is_not_started_twice(repo: GitRepo, tmp_path: Path) -> None:
    """Two commands in quick succession both find no socket (a helper binds it after its
    imports): the second starts no other helper while the first holds the lock, and a helper
    started then anyway leaves without importing the engine."""
    import fcntl

    repo.atomic("begin", "x", check=0, env={"GIT_ATOMIC_HELPER": "0"})  # makes .git/atomic
    folder = repo.path / ".git" / "atomic" / "helper"
    folder.mkdir(mode=0o700)
    with open(folder / "main.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a helper does before its imports
        call = probe(repo, tmp_path, "checkpoint", env={})
        assert call.code == 0 and not call.served
        time.sleep(1.0)
        assert helper_pids(tmp_path) == []
        begun = time.monotonic()
        leaving = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from git_atomic.cli.helperd import serve; serve(*sys.argv[1:]); "
                "print(sorted(m for m in sys.modules if m.startswith('git_atomic.')))",
                str(folder),
                "main.sock",
                "5",
            ],
            env=repo.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert time.monotonic() - begun < 30
    loaded = ast.literal_eval(leaving.stdout)
    assert "git_atomic.cli.main" not in loaded and "git_atomic.engine.early" not in loaded
    assert not (folder / "main.sock").exists()
    started(repo)  # the lock let go: the next command starts one


def test_links_in_the_helper_folder_are_never_written_through(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A link where the lock or the pid file goes: the helper writes nothing through it (no
    helper serves while the lock is a link; the commands run here)."""
    repo.atomic("begin", "x", check=0, env={"GIT_ATOMIC_HELPER": "0"})  # makes .git/atomic
    folder = repo.path / ".git" / "atomic" / "helper"
    folder.mkdir(mode=0o700)
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "main.pid.tmp").symlink_to(outside / "pid")
    (folder / "main.lock").symlink_to(outside / "lock")
    for _ in range(2):
        call = probe(repo, tmp_path, "checkpoint", env={})
        assert call.code == 0 and not call.served
    time.sleep(1.0)
    assert helper_pids(tmp_path) == [] and list(outside.iterdir()) == []
    (folder / "main.lock").unlink()
    pid = started(repo)
    assert (folder / "main.pid").read_text().strip() == str(pid)
    assert not (folder / "main.pid.tmp").exists() and list(outside.iterdir()) == []


def test_an_idle_helper_leaves(repo: GitRepo) -> None:
    pid = started(repo, {"GIT_ATOMIC_HELPER_IDLE": "1"})
    assert gone(pid, timeout=30)
    folder = repo.path / ".git" / "atomic" / "helper"
    assert not (folder / "main.sock").exists() and not (folder / "main.pid").exists()


def test_a_long_path_to_the_socket(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / ("d" * 90) / "repo", tmp_path / "home")
    assert len(str(repo.path / ".git" / "atomic" / "helper" / "main.sock")) > 108
    started(repo)
    call = probe(repo, tmp_path, "begin", "x", env={})
    assert call.served and call.code == 0
    stop_helpers(tmp_path)


def test_no_module_reads_the_environment_when_imported() -> None:
    """The helper imports the package once and runs each command in a child with the
    command's environment: a value read at import would be the helper's."""
    wrong = []
    for path in sorted((ROOT / "src" / "git_atomic").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in _outside_functions(tree):
            text = ast.unparse(node)
            if re.search(r"\bos\.(environ\s*[\[.]|getenv|getcwd|getpid|umask)", text):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:80]}")
    assert not wrong, "read at import:\n" + "\n".join(wrong)


def _outside_functions(tree: ast.Module) -> Iterator[ast.AST]:
    """The statements run when the module is imported (class bodies too), not function bodies;
    a parameter's default value is evaluated at import."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from node.args.defaults
            yield from (d for d in node.args.kw_defaults if d is not None)
        elif isinstance(node, ast.ClassDef):
            yield from _outside_functions(ast.Module(body=node.body, type_ignores=[]))
        else:
            yield node


GIVES_UP = """
import os, socket, sys
from git_atomic.core import helper
sock = helper._connect(*helper.locate())
message = helper.request(["begin", "gave-up"], None)
here = os.open(".", os.O_PATH | os.O_DIRECTORY)
fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2, here))
sent = sock.sendmsg([message[:4096]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
if sent < len(message):
    sock.sendall(message[sent:])
said = b""
while b"\\n" not in said:
    said += sock.recv(256)
sock.close()  # as a client does that stopped waiting: it then runs the command itself
print(said.split(b"\\n")[0].decode())
"""


def test_a_child_whose_client_gave_up_waiting_does_not_run_the_command(repo: GitRepo) -> None:
    """A client waits 10 s for the child's pid, then runs the command itself (a machine under
    load can take that long to fork): the child must then not run it too, or the command ran
    twice (two `begin`s, a `run` refused as busy by its own twin). The child runs it only once
    the client, told its pid, says `go`; a client that closed its socket never does."""
    started(repo)
    proc = subprocess.run(
        [sys.executable, "-c", GIVES_UP],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    word, _, pid = proc.stdout.decode().strip().partition(" ")
    assert word == "pid", proc.stdout
    assert gone(int(pid))
    status = json.loads(repo.atomic("status", "--json", env={"GIT_ATOMIC_HELPER": "0"}).stdout)
    assert "gave-up" not in json.dumps(status), status
    assert repo.git("for-each-ref", "refs/atomic/ops").strip() == ""
