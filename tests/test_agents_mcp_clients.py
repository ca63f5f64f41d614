"""`git atomic mcp` against the official TypeScript SDK client and the MCP inspector's CLI mode.

Their npm packages are pinned in tests/mcp_ts/package-lock.json and installed there on first
use (`npm ci`, once per machine until the lock changes). Without node and npm, or when the
install fails, these tests are skipped and say why.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import git_atomic
from testing.gitrepo import GitRepo

# One worker installs and runs both (the file lock below still guards other test runs).
pytestmark = pytest.mark.xdist_group("mcp_ts")
CLIENTS = Path(__file__).parent / "mcp_ts"
INSTALL_TIMEOUT_S = 300
# The SDK needs node 18; the inspector asks for 22.19 but runs on 20, the oldest tried here.
MIN_NODE = 20
PINNED = {
    "@modelcontextprotocol/sdk": "1.32.2",
    "@modelcontextprotocol/inspector": "2.12.0",
}


def _installed() -> bool:
    for package, version in PINNED.items():
        manifest = CLIENTS / "node_modules" / package / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/mcp_ts with its node_modules, installed once (xdist workers wait on a file lock)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the TypeScript MCP clients need {' and '.join(missing)}, not found on PATH")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    major = version.stdout.strip().lstrip("v").partition(".")[0]
    if not major.isdigit() or int(major) < MIN_NODE:
        pytest.skip(
            f"the pinned MCP clients need node {MIN_NODE} or newer, found {version.stdout!r}"
        )
    with open(CLIENTS / "package-lock.json", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            try:
                done = subprocess.run(
                    [
                        "npm",
                        "ci",
                        "--no-audit",
                        "--no-fund",
                        "--ignore-scripts",
                        "--loglevel=error",
                    ],
                    cwd=CLIENTS,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=INSTALL_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm ci in tests/mcp_ts took over {INSTALL_TIMEOUT_S} s")
            if done.returncode != 0 or not _installed():
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                pytest.skip(f"npm ci in tests/mcp_ts failed ({done.returncode}): {last}")
    return CLIENTS


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


def _node(repo: GitRepo, clients: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", *args],
        cwd=clients,
        env=repo.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_typescript_sdk_client(repo: GitRepo, node_clients: Path) -> None:
    done = _node(repo, node_clients, "client.mjs", sys.executable, str(repo.path))
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout)
    assert out["server"]["version"] == git_atomic.__version__
    assert len(out["tools"]) == 13 and all(
        t["title"] and t["hasOutputSchema"] for t in out["tools"]
    )
    calls = out["calls"]
    assert not calls["begin"]["isError"] and calls["begin"]["data"]["status"] == "open"
    failing = calls["failing"]
    assert failing["isError"] and failing["data"]["failed_phase"] == "validate"
    assert (
        failing["text"].startswith("from-typescript [") and "gate false failed" in failing["text"]
    )
    assert not calls["undo"]["isError"] and repo.read("ts.txt") == b"ts\n"
    # Cancelled by an AbortController after the first progress notification: rolled back.
    assert re.fullmatch(r"git-atomic commit: (gate sleep )?running for \d+ s", out["progress"][0])
    assert "enough" in out["cancelled"]
    assert not calls["after"]["isError"]
    [slow] = calls["log"]["data"]["operations"]
    assert (slow["status"], slow["failed_phase"]) == ("rolled_back", "interrupt")
    assert calls["abort"]["data"]["status"] == "rolled_back"


def _inspector(repo: GitRepo, clients: Path, *args: str) -> subprocess.CompletedProcess[str]:
    inspector = clients / "node_modules" / "@modelcontextprotocol" / "inspector"
    launcher = inspector / "clients" / "launcher" / "build" / "index.js"
    # The inspector starts the server with a minimal environment: pass the hermetic one.
    passed = ("PYTHONPATH", "HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_NOSYSTEM", "LC_ALL")
    env = [
        arg
        for key, value in repo.env.items()
        if key in passed or key.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))
        for arg in ("-e", f"{key}={value}")
    ]
    return _node(
        repo,
        clients,
        str(launcher),
        "--cli",
        "--cwd",
        str(repo.path),
        "--connect-timeout",
        "120000",
        *env,
        *args,
        "--",
        sys.executable,
        "-m",
        "git_atomic",
        "mcp",
    )


def _first_json(text: str) -> Any:
    """The call's result: the inspector may print a JSON error line after it."""
    return json.JSONDecoder().raw_decode(text.lstrip())[0]


def test_the_inspector_cli(repo: GitRepo, node_clients: Path) -> None:
    # --strict: the inspector's own check of every tool schema's portability across clients.
    listed = _inspector(repo, node_clients, "--method", "tools/list", "--strict")
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    tools = json.loads(listed.stdout)["tools"]
    assert {t["name"] for t in tools} >= {"run", "begin", "commit", "rollback", "tdd", "recover"}

    # One call that fails: an error result carrying the structured result and its one line.
    failed = _inspector(
        repo,
        node_clients,
        "--method",
        "tools/call",
        "--tool-name",
        "run",
        "--tool-arg",
        'command=["sh", "-c", "echo changed > README; false"]',
        "name=insp",
    )
    assert failed.returncode != 0  # the inspector exits non-zero on an isError result
    result = _first_json(failed.stdout)
    assert result["isError"] is True and result["structuredContent"]["status"] == "rolled_back"
    assert result["content"][0]["text"].startswith("insp [")
    assert "(the command failed)" in result["content"][0]["text"]
    assert repo.read("README") == b"hello\n"
