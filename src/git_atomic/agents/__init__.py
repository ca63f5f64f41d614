"""Agent integrations (Claude Code hooks, the MCP server) and their one door to the CLI.

Agents drive git-atomic only through its command line, one process per call, always with
`--json`: each call then takes its own lock and has its own crash safety, and nothing is
shared in-process between an agent's calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from git_atomic.core.errors import Exit
from git_atomic.core.records import dataclass


@dataclass(frozen=True)
class CliResult:
    argv: tuple[str, ...]
    exit_code: int
    data: dict[str, Any] | None  # the one JSON object the CLI printed on stdout, if it did
    stdout: str
    stderr: str  # its end only where `stderr_dropped` says its start was let go
    stderr_dropped: int = 0  # characters of stderr's start not kept (the MCP server's child)

    @property
    def error_line(self) -> str:
        """The CLI's own one-line explanation, for messages to people."""
        error = (self.data or {}).get("error")
        if isinstance(error, str) and error:
            return error
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1].removeprefix("git-atomic: ") if lines else f"exit status {self.exit_code}"

    def stderr_tail(self, *, lines: int = 20, chars: int = 2000) -> str:
        tail = "\n".join(self.stderr.rstrip().splitlines()[-lines:])
        return tail[-chars:]


def cli_argv(verb: str, args: Sequence[str] = (), *, paths: Sequence[str] = ()) -> list[str]:
    argv = [sys.executable, "-m", "git_atomic", verb, *args, "--json"]
    if paths:
        argv += ["--", *paths]
    return argv


def run_cli(
    verb: str, args: Sequence[str] = (), *, cwd: Path, paths: Sequence[str] = ()
) -> CliResult:
    """Run `git-atomic VERB ARGS --json [-- PATHS]` in `cwd`; never raises for a failed call."""
    argv = cli_argv(verb, args, paths=paths)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except OSError as exc:  # cwd gone, interpreter gone: still an answer, not a crash
        return CliResult(
            tuple(argv),
            int(Exit.REFUSED),
            None,
            "",
            f"cannot run git-atomic in {cwd}: {exc.strerror or exc}\n",
        )
    return CliResult(
        tuple(argv), proc.returncode, _one_object(proc.stdout), proc.stdout, proc.stderr
    )


def _one_object(stdout: str) -> dict[str, Any] | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def option(flag: str, value: str) -> list[str]:
    """`flag value` such that a value starting with '-' is not taken for another option."""
    if flag.startswith("--"):
        return [f"{flag}={value}"]
    return [flag, value] if not value.startswith("-") else [f"{flag}{value}"]
