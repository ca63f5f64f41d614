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


def test_the_folders_on_the_way_to_a_path_are_computed_in_one_place() -> None:
    """`a`, `a/b` for `a/b/c`: one helper (engine/gittrees.folders_on_the_way), which every
    module imports. Copies of it had drifted into four modules (turnfiles.py kept one, said to
    spare a hook call the import of restoreplan.py; gittrees.py is on that path already)."""
    import ast

    def body(node: ast.FunctionDef) -> str:
        stmts = node.body
        first = stmts[0] if stmts else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            stmts = stmts[1:]  # (its docstring aside)
        return ast.dump(ast.Module(body=stmts, type_ignores=[]))

    shared = ROOT / "src" / "git_atomic" / "engine" / "gittrees.py"
    [helper] = [
        n
        for n in ast.parse(shared.read_text()).body
        if isinstance(n, ast.FunctionDef) and n.name == "folders_on_the_way"
    ]
    copies = [
        f"{path.relative_to(ROOT)}:{node.name}"
        for path in sorted((ROOT / "src").rglob("*.py"))
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef)
        and node is not helper
        and path != shared
        and body(node) == body(helper)
    ]
    assert copies == [], copies
