"""`git-atomic mcp` started by the suite's MCP clients as a fork of a process that imported the
`mcp` SDK once (testing/forkserver.py with `--mcp`), instead of a new interpreter that imports
it each time (about 0.9 s of processor time a server).

The client starts `python -S -m testing.forkclient`, a small process that hands its streams to
a forked child and exits as it does (testing/forkclient.py): the server the tests talk to is
still its own process, with its own pid, journal connection and git processes. What it does not
exercise is the interpreter's start-up and the SDK's import: the SDK's default `Client` in
tests/test_agents_mcp.py, its `lines_server`, and testing/agents.py's `Lines(forked=False)` (a
server a test kills with SIGKILL, or whose pid it compares) start a real interpreter; `Lines`
is forked otherwise (SIGTERM, SIGINT and SIGHUP reach the server through the client).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from testing.gitrepo import ROOT, fork_server, startup_env


def server_command(env: Mapping[str, str], args: Sequence[str] = ()) -> tuple[str, list[str]]:
    """The program and arguments that start `python -m git_atomic mcp ARGS` in `env`: forked
    where the fork server runs and `env` starts Python as it did, else a new interpreter."""
    server = fork_server("--mcp")
    if server is None or startup_env(env) != server[2]:
        return sys.executable, ["-m", "git_atomic", "mcp", *args]
    argv0 = str(ROOT / "src" / "git_atomic" / "__main__.py")
    return sys.executable, ["-S", "-m", "testing.forkclient", server[1], argv0, "mcp", *args]


def server_params(env: Mapping[str, str], cwd: Path, args: Sequence[str] = ()) -> Any:
    """The SDK's `StdioServerParameters` for `git-atomic mcp ARGS` (server_command) in `cwd`."""
    from mcp.client.stdio import StdioServerParameters

    command, argv = server_command(env, args)
    return StdioServerParameters(command=command, args=argv, env=dict(env), cwd=str(cwd))
