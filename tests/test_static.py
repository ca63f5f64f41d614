"""The code stays `mypy --strict` and ruff clean: both are part of the suite, not a ritual."""

from __future__ import annotations

import re
import subprocess
import sys

from testing.gitrepo import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_mypy_strict() -> None:
    res = _run("mypy", "--no-error-summary")
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff() -> None:
    res = _run("ruff", "check", "src", "testing", "tests", "benchmarks")
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_format() -> None:
    res = _run("ruff", "format", "--check", "src", "testing", "tests", "benchmarks", "docs")
    assert res.returncode == 0, res.stdout + res.stderr


def test_no_module_uses_the_standard_dataclasses() -> None:
    """Importing `dataclasses` imports `inspect` (with ast, dis, tokenize), and each standard
    dataclass costs a process 1 to 4 ms to define, at every start (core/records.py): the
    package's records, fields and `replace` are git_atomic.core.records's."""
    offenders = []
    for path in sorted((ROOT / "src" / "git_atomic").rglob("*.py")):
        text = path.read_text()
        # (named in backquotes, as docstrings do, it is only named)
        standard = r"^\s*(from dataclasses import|import dataclasses)|(?<![`\w])dataclasses\.[a-z]"
        if re.search(standard, text, re.M):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
