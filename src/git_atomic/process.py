"""The one door to subprocess: git plumbing calls, and the user's commands and gates."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from git_atomic.errors import GitError

# Variables that would point git at another repository, index or object store than the one we
# resolved. The user's command and gates keep their environment; only our own git calls drop them.
_GIT_LOCATION_VARS: Final = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
        "GIT_QUARANTINE_PATH",
        "GIT_REFLOG_ACTION",
        "GIT_EDITOR",
        "GIT_SEQUENCE_EDITOR",
        "GIT_PAGER",
        "GIT_TRACE",
        "GIT_LITERAL_PATHSPECS",
        "GIT_GLOB_PATHSPECS",
        "GIT_NOGLOB_PATHSPECS",
        "GIT_ICASE_PATHSPECS",
    }
)

# Hooks never run for our plumbing: checkpoints are not validation (that is what gates are for).
_EMPTY_HOOKS: Final = os.devnull


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes


def _git_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


def git(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> Result:
    """Run one git command; raise GitError (with git's stderr) when it fails and check is set."""
    argv = [
        "git",
        "-c",
        f"core.hooksPath={_EMPTY_HOOKS}",
        "-c",
        "advice.addEmbeddedRepo=false",
        *args,
    ]
    proc = subprocess.run(
        argv,
        cwd=cwd,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        env=_git_env(env),
        check=False,
    )
    if check and proc.returncode != 0:
        raise GitError([argv[0], *args], proc.returncode, proc.stdout, proc.stderr)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def git_out(args: Sequence[str], *, cwd: str | os.PathLike[str], input: bytes | None = None,
            env: Mapping[str, str] | None = None) -> bytes:
    return git(args, cwd=cwd, input=input, env=env).stdout


def git_line(args: Sequence[str], *, cwd: str | os.PathLike[str], input: bytes | None = None,
             env: Mapping[str, str] | None = None) -> str:
    return git_out(args, cwd=cwd, input=input, env=env).decode().strip()
