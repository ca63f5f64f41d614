"""A FIFO (or a device, through a link git follows) where git reads its rules: `git status`
itself waits on it for ever (a link in the git dir is refused as a link, never followed). A
capture hung with it (the rollback, `abort`, `recover`, with nothing said, and SIGTERM only
marked), until killed. Now refused by name, exit 3, nothing
changed, every git process it had started stopped; once the file is gone, `recover` is exact.
Judged from the disk (oracle.walk: bytes, modes, links)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

# Well within each command's own timeout: a hang fails the test, it does not pass slowly.
_QUICK_S = 60

# Where git reads its rules, in the tree and in the git dir, and what is put there: a FIFO, or
# a link to a device (git follows links in its git dir, and /dev/zero has no end). The tree's
# are made by an operation that needs no access to `.git`.
CASES = {
    "top-gitignore": (".gitignore", "fifo"),
    "folder-gitignore": ("src/.gitignore", "fifo"),
    "folder-gitattributes": ("src/.gitattributes", "fifo"),
    "in-new-folders": ("new/deep/er/.gitignore", "fifo"),
    "info-exclude": (".git/info/exclude", "fifo"),
    "info-attributes-device": (".git/info/attributes", "device"),
}


def _shell_make(case: str) -> str:
    rel, kind = CASES[case]
    make = f"ln -s /dev/zero {rel}" if kind == "device" else f"mkfifo {rel}"
    return f"mkdir -p $(dirname {rel}) && rm -f {rel} && {make}"


def _prepare(repo: GitRepo, *, scanned: bool) -> oracle.Files:
    # A submodule, which has git read the top's `.gitmodules`.
    sub = repo.path.parent / "sub-origin"
    for args in (
        ["init", "-q", str(sub)],
        ["-C", str(sub), "commit", "-q", "--allow-empty", "-m", "s"],
    ):
        subprocess.run(["git", *args], env=repo.env, check=True, capture_output=True)
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub")
    repo.write("README", b"hello\n")
    repo.write("src/a.py", b"print(1)\n")
    repo.write("src/.gitignore", b"*.log\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.write("src/a.py", b"print(2)\n")  # your work in progress
    repo.write("notes.txt", b"mine\n")
    if scanned:  # a scan index, as after any earlier command: the usual scan
        repo.atomic("run", "--", "true", check=0)
    return oracle.walk(repo.path)


def _remove(repo: GitRepo, case: str) -> None:
    rel, _ = CASES[case]
    (repo.path / rel).unlink()
    if rel in ("src/.gitignore", ".gitmodules"):  # the repository's own file, as committed
        repo.write(rel, repo.git("show", f"HEAD:{rel}").encode())


def _interrupted(repo: GitRepo) -> bool:
    return "interrupted" in repo.atomic("status", check=0).stdout


def _refused(res: subprocess.CompletedProcess[str], repo: GitRepo, case: str) -> None:
    assert res.returncode == 3, (res.returncode, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    # A link in the git dir is refused as a link, from an `lstat`: what it names (a device) is
    # never looked at (test_syscalls_outside.py).
    said = "is a symbolic link" if CASES[case][1] == "device" else "wait for ever"
    assert len(lines) == 1 and said in lines[0], res.stderr
    rel, _ = CASES[case]
    assert rel in lines[0], (rel, lines[0])
    assert not _git_processes_in(repo.path), "a git left waiting on the file"


def _git_processes_in(root: Path) -> list[int]:
    """git processes whose working folder is the worktree (one stuck on the FIFO)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            continue
        if exe == "git" and cwd == os.fspath(root):
            found.append(int(pid))
    return found


@pytest.mark.parametrize("scanned", [True, False], ids=["scan", "first"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_failed_run_that_left_one_is_refused_then_recovered(
    repo: GitRepo, case: str, scanned: bool
) -> None:
    before = _prepare(repo, scanned=scanned)
    script = f"echo op > README && echo new > src/b.py && {_shell_make(case)}; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
    _refused(res, repo, case)
    # Nothing was taken back (nothing changed): the operation waits for `recover`.
    assert repo.read("README") == b"op\n" and repo.read("src/b.py") == b"new\n"
    if CASES[case][0] == ".git/info/attributes":  # read by every diff: `status` too refuses it
        _refused(repo.atomic("status", timeout=_QUICK_S), repo, case)
    else:
        assert _interrupted(repo)
    _remove(repo, case)
    assert _interrupted(repo)
    repo.atomic("recover", check=0, timeout=_QUICK_S)
    assert oracle.walk(repo.path) == before
    assert not _interrupted(repo)


@pytest.mark.parametrize("case", ["folder-gitignore", "in-new-folders", "info-exclude"])
def test_abort_refuses_one_made_since_begin(repo: GitRepo, case: str) -> None:
    """`abort`'s rescue starts its scan before its command is loaded (early.py)."""
    before = _prepare(repo, scanned=True)
    repo.atomic("begin", "edit", check=0)
    repo.write("README", b"op\n")
    subprocess.run(["sh", "-c", _shell_make(case)], cwd=repo.path, check=True)
    _refused(repo.atomic("abort", timeout=_QUICK_S), repo, case)
    assert repo.read("README") == b"op\n"
    _remove(repo, case)
    repo.atomic("recover", check=0, timeout=_QUICK_S)
    assert oracle.walk(repo.path) == before


def test_one_there_before_begin_opens_nothing(repo: GitRepo) -> None:
    before = _prepare(repo, scanned=True)
    os.mkfifo(repo.path / "src" / ".gitattributes")
    res = repo.atomic("begin", "edit", timeout=_QUICK_S)
    _refused(res, repo, "folder-gitattributes")
    assert "no operation is open" in repo.atomic("status", check=0).stdout
    _remove(repo, "folder-gitattributes")
    assert oracle.walk(repo.path) == before


@pytest.fixture
def watched(repo: GitRepo) -> Iterator[GitRepo]:
    if shutil.which("watchman") is None:
        pytest.skip("Watchman is not installed (apt-get install watchman)")
    subprocess.run(["watchman", "watch", str(repo.path)], capture_output=True, check=True)
    try:
        yield repo
    finally:
        subprocess.run(["watchman", "watch-del", str(repo.path)], capture_output=True)


@pytest.mark.parametrize("case", ["folder-gitignore", "folder-gitattributes", "in-new-folders"])
def test_through_watchman(watched: GitRepo, case: str) -> None:
    """Watchman names the file that changed; the scan asks it before any git reads the tree."""
    repo = watched
    before = _prepare(repo, scanned=True)
    repo.atomic("run", "--", "true", check=0)  # a scan index with Watchman's clock
    script = f"echo op > README && {_shell_make(case)}; exit 1"
    _refused(repo.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S), repo, case)
    _remove(repo, case)
    repo.atomic("recover", check=0, timeout=_QUICK_S)
    assert oracle.walk(repo.path) == before


@pytest.mark.parametrize("scanned", [True, False], ids=["scan", "first"])
def test_a_fifo_at_gitmodules_is_rolled_back(repo: GitRepo, scanned: bool) -> None:
    """Of the same family, one git does not wait on in a capture: a file of the repository's
    that the operation made a FIFO, taken back like any other."""
    before = _prepare(repo, scanned=scanned)
    script = "echo op > README && rm .gitmodules && mkfifo .gitmodules; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1, timeout=_QUICK_S)
    assert oracle.walk(repo.path) == before
    assert not _git_processes_in(repo.path)


def test_an_agent_tool_call_that_made_one_leaves_the_agent_going(repo: GitRepo) -> None:
    """Through Claude Code's hooks: the call's after-event cannot take its checkpoint and says
    so, exit 0 (the agent goes on); its Stop neither hangs nor takes anything back unseen."""
    from testing.agents import claude_hook

    _prepare(repo, scanned=True)
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "false"\n')  # judged
    before = oracle.walk(repo.path)
    bash = {"tool_name": "Bash", "tool_use_id": "toolu_1", "tool_input": {"command": "x"}}
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
    claude_hook(repo, "s1", "PreToolUse", **bash)
    made = subprocess.run(
        ["sh", "-c", f"echo op > README && {_shell_make('folder-gitignore')}"], cwd=repo.path
    )
    assert made.returncode == 0
    after = claude_hook(repo, "s1", "PostToolUse", tool_response={}, **bash)
    said = after.stdout + after.stderr
    assert "wait for ever" in said, said
    stop = claude_hook(repo, "s1", "Stop", stop_hook_active=False)
    assert "wait for ever" in stop.stdout, stop.stdout
    assert not _git_processes_in(repo.path)
    assert repo.read("README") == b"op\n"  # the agent's, never taken back without a capture
    _remove(repo, "folder-gitignore")
    status = repo.atomic("status", check=0).stdout
    if "interrupted" in status:
        repo.atomic("recover", check=0, timeout=_QUICK_S)
        assert oracle.walk(repo.path) == before


@pytest.mark.parametrize("key", ["core.excludesFile", "core.attributesFile"])
def test_an_operation_that_points_the_configuration_at_one(repo: GitRepo, key: str) -> None:
    """The configuration a run read before its command is not the one after it: the FIFO a
    command names by `git config` is looked at too (it hung the rollback for ever)."""
    before = _prepare(repo, scanned=True)
    fifo = repo.path.parent / "rules-fifo"
    script = f"echo op > README && mkfifo {fifo} && git config {key} {fifo}; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
    assert res.returncode == 3 and "wait for ever" in res.stderr, res.stderr
    assert str(fifo) in res.stderr and not _git_processes_in(repo.path)
    repo.git("config", "--unset", key)
    repo.atomic("recover", check=0, timeout=_QUICK_S)
    assert oracle.walk(repo.path) == before


@pytest.mark.parametrize("key", ["core.excludesFile", "core.attributesFile"])
def test_the_null_device_named_by_the_configuration_is_no_stall(repo: GitRepo, key: str) -> None:
    """`git config core.excludesFile /dev/null`, the usual way to turn the global rules off:
    every operation was refused ("/dev/null is a device: git ... would wait for ever", exit 3,
    and the hint said to remove it). git reads its end at once; the operation runs and its
    rollback is exact. A device that never ends (`/dev/zero`) is still refused."""
    repo.git("config", key, os.devnull)
    repo.write("mine.txt", b"yours\n")
    before = oracle.walk(repo.path)
    res = repo.atomic("run", "--", "sh", "-c", "echo op > README; echo x > new; exit 1")
    assert res.returncode == 1, res.stderr
    assert oracle.walk(repo.path) == before
    repo.git("config", key, "/dev/zero")
    res = repo.atomic("run", "--", "true", timeout=_QUICK_S)
    assert res.returncode == 3 and "/dev/zero is a device" in res.stderr, res.stderr
