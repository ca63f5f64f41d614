"""Watchman for tests: the mark that skips, visibly, where it is not installed (CI machines
may have none), and a worktree watched for the length of a `with` block."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

needs_watchman = pytest.mark.skipif(
    shutil.which("watchman") is None, reason="Watchman is not installed (apt-get install watchman)"
)


@contextlib.contextmanager
def watching(path: Path) -> Iterator[None]:
    """`path` watched by the machine's Watchman, its watch dropped at the end."""
    subprocess.run(["watchman", "watch", str(path)], capture_output=True, check=True, timeout=60)
    try:
        yield
    finally:
        subprocess.run(["watchman", "watch-del", str(path)], capture_output=True, check=False)
