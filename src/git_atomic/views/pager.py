"""The pager, as git chooses and runs it (GIT_PAGER, pager.atomic, core.pager, PAGER, less)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from git_atomic.engine.git import Repo


def pager_command(repo: Repo, env: Mapping[str, str] | None = None) -> str | None:
    """The pager git would use for `git atomic`: GIT_PAGER, pager.atomic, core.pager, PAGER,
    less. None: do not page (not a terminal, or the setting says cat / false)."""
    env = os.environ if env is None else env
    setting = repo.config("pager.atomic")
    if setting is not None and setting.lower() in ("false", "no", "off", "0"):
        return None
    if setting is not None and setting.lower() in ("true", "yes", "on", "1"):
        setting = None
    pager = (
        env.get("GIT_PAGER") or setting or repo.config("core.pager") or env.get("PAGER") or "less"
    )
    return None if pager.strip() in ("", "cat") else pager


def page(text: str, *, repo: Repo) -> None:
    """Through the pager when stdout is a terminal, as git does (LESS=FRX: short text stays)."""
    pager = pager_command(repo) if sys.stdout.isatty() else None
    if pager is None or not _runnable(pager):
        _write(text)
        return
    import signal
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C belongs to the pager
    try:
        subprocess.run(pager, shell=True, input=text.encode(), env=env, check=False)
    except OSError:
        _write(text)
    finally:
        signal.signal(signal.SIGINT, previous)


def _runnable(pager: str) -> bool:
    """False for a pager whose program is missing (no less on a minimal system): print instead
    of letting the shell swallow the text with `command not found`."""
    import shlex
    import shutil

    try:
        words = shlex.split(pager)
    except ValueError:
        return True  # the shell may still make sense of it
    return not words or "=" in words[0] or shutil.which(words[0]) is not None


def _write(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `git atomic log | head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
