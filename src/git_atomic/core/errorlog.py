"""Reports for what the user cannot fix with one line: git failing where it should not, a bug.

The terminal gets one line; everything needed to see why (the full command, its exit code,
its output, the versions of git, Python and git-atomic, and the traceback for a bug) goes to a
log file the line points to, as pre-commit's error handler does. Only the error paths import
this module.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback

from git_atomic.core.errors import GitError


def write(exc: BaseException, *, argv: list[str]) -> str:
    """Write the report of `exc` and return the log file's path, or a reason it could not be
    written (the one line must still say something true)."""
    directory = os.environ.get("GIT_ATOMIC_LOG_DIR") or tempfile.gettempdir()
    path = os.path.join(directory, f"git-atomic-{int(time.time())}-{os.getpid()}.log")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(_report(exc, argv))
    except OSError as err:
        return f"(no log written: {err.strerror})"
    return path


def _cwd() -> str:
    """The current folder, or why there is none: the command may have removed it (an
    operation's `rm -rf` of the folder it was started in), which must not cost the report."""
    try:
        return os.getcwd()
    except OSError as err:
        return f"({err.strerror})"


def _report(exc: BaseException, argv: list[str]) -> str:
    from git_atomic import __version__

    lines = [
        "### git-atomic error report",
        f"command: git-atomic {' '.join(argv)}",
        f"cwd: {_cwd()}",
        f"git-atomic: {__version__}",
        f"git: {_git_version()}",
        f"python: {sys.version.split()[0]} ({platform.platform()})",
        "",
    ]
    if isinstance(exc, GitError):
        lines += [
            "### the git call that failed",
            f"argv: {exc.argv!r}",
            f"exit code: {exc.returncode}",
            "--- stdout",
            exc.stdout.decode("utf-8", "replace").rstrip(),
            "--- stderr",
            exc.stderr.decode("utf-8", "replace").rstrip(),
            "",
        ]
    lines += ["### traceback", "".join(traceback.format_exception(exc)).rstrip(), ""]
    return "\n".join(lines)


def _git_version() -> str:
    from git_atomic.core import process

    try:
        out = process.git(["--version"], cwd=tempfile.gettempdir(), check=False)
    except OSError as err:
        return f"unknown ({err.strerror})"
    return out.stdout.decode("utf-8", "replace").strip() or f"unknown (exit {out.returncode})"
