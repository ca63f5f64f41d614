"""`git atomic init`: a first configuration, from the test and lint commands the project has.

It reads only files at the top of the worktree (pyproject.toml, package.json, Cargo.toml,
go.mod, a Makefile, tox.ini, ...) and runs nothing: what it writes is a starting point that says
where each gate came from, for the person to read and adjust.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any, Final

from git_atomic.core import records, wholefile
from git_atomic.core.bomtext import utf8_text
from git_atomic.core.config import CONFIG_FILE, PYPROJECT_FILE, PYPROJECT_TABLE
from git_atomic.core.config.commandline import numbered
from git_atomic.core.errors import RefusedError, UsageError
from git_atomic.core.records import dataclass
from git_atomic.engine import discovery
from git_atomic.ops import output

_NPM_PLACEHOLDER: Final = "no test specified"  # what `npm init` writes as its test script
_LIMIT: Final = 1 << 24  # a project file read whole (a larger one: cut there, never hung on)


@dataclass(frozen=True)
class Found:
    name: str  # the gate's name
    run: str  # a shell command line
    why: str  # the file (and table) it was found in
    tests: bool = False  # a test command: also the [tdd] test
    timeout: int | None = None


def init(*, dry_run: bool, force: bool) -> int:
    root = discovery.discover().root
    target, existing = _target(root)
    if existing and not force:
        raise UsageError(
            f"init: {existing} already configures git-atomic; nothing was written "
            "(--force replaces it, --dry-run shows what init would write)"
        )
    found = detect(root)
    text = render(found, table=PYPROJECT_TABLE if target.name == PYPROJECT_FILE else None)
    if dry_run:
        print(text, end="")
        output.say(
            f"git-atomic: init --dry-run: {target.name} would get the above; nothing written"
        )
        return 0
    _write(target, text)
    output.say(f"git-atomic: wrote {_what(target)}: {_summary(found)}")
    output.say("  check them now with `git atomic gates --run`; edit the file to change them")
    return 0


def _target(root: Path) -> tuple[Path, str | None]:
    """Where the configuration goes, and what already configures git-atomic there, if any.
    .git-atomic.toml wins over pyproject.toml when both exist (as load_config reads them)."""
    own, pyproject = root / CONFIG_FILE, root / PYPROJECT_FILE
    if own.exists():
        return own, CONFIG_FILE
    if pyproject.exists():
        table = _toml(pyproject).get("tool", {}).get("git-atomic")
        return pyproject, f"{PYPROJECT_FILE} [{PYPROJECT_TABLE}]" if table is not None else None
    return own, None


def _own(path: Path) -> bytes:
    """A project file's bytes, never through a link out of the worktree (what it leads to is
    not this project's: OSError ELOOP), nor a FIFO's wait. One linked inside it is read as the
    file it names, opened folder by folder from the top (wholefile.read_beneath), as the
    configuration is (core/config)."""
    top, real = os.path.realpath(path.parent), os.path.realpath(path)
    if os.path.commonpath([real, top]) != top:
        raise OSError(errno.ELOOP, "a link out of the worktree", str(path))
    return wholefile.read_beneath(top, os.path.relpath(real, top), limit=_LIMIT)


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(utf8_text(_own(path)))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return {}  # a link: never read, and never written through (`_write` says so)
        raise UsageError(f"init: cannot read {path.name}: {exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"init: cannot read {path.name}: {exc}") from None


def detect(root: Path) -> list[Found]:
    """The test and lint commands this project shows, the canonical entry point first."""
    found: list[Found] = []
    make = _make_targets(root / "Makefile")
    if "test" in make:
        found.append(Found("tests", "make test", "Makefile: a test target", tests=True))
    found += _python(root, with_tests=not found)
    found += _node(root, with_tests=not any(f.tests for f in found))
    if (root / "Cargo.toml").exists() and not any(f.tests for f in found):
        found.append(Found("tests", "cargo test --quiet", "Cargo.toml", tests=True))
    if (root / "go.mod").exists():
        if not any(f.tests for f in found):
            found.append(Found("tests", "go test ./...", "go.mod", tests=True))
        found.append(Found("vet", "go vet ./...", "go.mod"))
    if "lint" in make:
        found.append(Found("lint", "make lint", "Makefile: a lint target"))
    return _named_once(found)


def _named_once(found: list[Found]) -> list[Found]:
    """Gate names must be unique (the configuration refuses a second `lint`): a later gate of a
    name already taken gets `-2`, `-3`, ..., as `-g` names a second gate of one program."""
    taken: set[str] = set()
    return [records.replace(gate, name=numbered(gate.name, taken)) for gate in found]


def _python(root: Path, *, with_tests: bool) -> list[Found]:
    pyproject = _toml(root / PYPROJECT_FILE) if (root / PYPROJECT_FILE).exists() else {}
    tool = pyproject.get("tool", {})
    cfg = _text(root / "setup.cfg") + _text(root / "tox.ini")
    out: list[Found] = []
    if with_tests:
        pytest_why = (
            "pytest.ini"
            if (root / "pytest.ini").exists()
            else f"{PYPROJECT_FILE} [tool.pytest.ini_options]"
            if "pytest" in tool
            else "conftest.py"
            if (root / "conftest.py").exists()
            else "setup.cfg or tox.ini: a pytest section"
            if re.search(r"^\[(tool:)?pytest\]", cfg, re.M)
            else "tests/: Python test files"
            if any((root / "tests").glob("test_*.py"))
            else None
        )
        if pytest_why is not None:
            out.append(Found("tests", "pytest -q", pytest_why, tests=True, timeout=900))
        elif (root / "tox.ini").exists() or "tox" in tool:
            out.append(Found("tests", "tox -q", "tox configuration", tests=True))
        elif (root / "noxfile.py").exists():
            out.append(Found("tests", "nox", "noxfile.py", tests=True))
    if "ruff" in tool or (root / "ruff.toml").exists() or (root / ".ruff.toml").exists():
        out.append(Found("lint", "ruff check .", "ruff configuration"))
    if "mypy" in tool or (root / "mypy.ini").exists() or re.search(r"^\[mypy\]", cfg, re.M):
        out.append(Found("types", "mypy .", "mypy configuration"))
    return out


def _node(root: Path, *, with_tests: bool) -> list[Found]:
    try:
        package = json.loads(_own(root / "package.json"))  # UTF-8, UTF-16, a BOM
    except (OSError, ValueError):
        return []
    scripts = package.get("scripts") if isinstance(package, dict) else None
    if not isinstance(scripts, dict):
        return []
    runner = next(
        (
            tool
            for lock, tool in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"))
            if (root / lock).exists()
        ),
        "npm",
    )
    out: list[Found] = []
    test = scripts.get("test")
    if with_tests and isinstance(test, str) and _NPM_PLACEHOLDER not in test:
        out.append(Found("tests", f"{runner} test", "package.json: scripts.test", tests=True))
    if isinstance(scripts.get("lint"), str):
        out.append(Found("lint", f"{runner} run lint", "package.json: scripts.lint"))
    return out


def _make_targets(path: Path) -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", _text(path), re.M))


def _text(path: Path) -> str:
    try:
        return _own(path).decode("utf-8", "replace")
    except OSError:
        return ""


def _quote(text: str) -> str:
    return json.dumps(text)  # a TOML basic string is JSON's, for the text we write


def render(found: list[Found], *, table: str | None) -> str:
    """The commented configuration; `table`: written inside pyproject.toml under that table."""
    prefix = f"{table}." if table else ""
    # Inside pyproject.toml every line we write is under our table (so --force replaces it all).
    lines = [
        *([f"[{table}]"] if table else []),
        "# git-atomic: written by `git atomic init` from what this project has; edit freely.",
        "# Gates run after every `git atomic run` and `git atomic commit`, in order: the first",
        "# that fails rolls the operation back. `git atomic gates --run` tries them now.",
        "# commits: each operation's result is committed on the branch;",
        "# shadow: the branch is never touched, the result stays in the tree for you to commit.",
        'history = "commits"',
    ]
    for gate in found:
        lines += ["", f"[[{prefix}gates]]", f"name = {_quote(gate.name)}"]
        lines.append(f"run = {_quote(gate.run)}  # found: {gate.why}")
        if gate.timeout:
            lines.append(f"timeout = {gate.timeout}  # seconds")
    if not found:
        lines += [
            "",
            "# No test or lint command was found. A gate is any command that must succeed:",
            f"# [[{prefix}gates]]",
            '# name = "tests"',
            '# run = "pytest -q"',
        ]
    test = next((g for g in found if g.tests), None)
    lines += [
        "",
        "# The test command each TDD phase judges: RED must fail, GREEN must pass.",
        f"[{prefix}tdd]",
        f"test = {_quote(test.run)}" if test else '# test = "pytest -q"',
    ]
    return "\n".join(lines) + "\n"


def _write(target: Path, text: str) -> None:
    """Written whole (core/wholefile.py: aside, flushed, renamed): a crash or a power cut
    leaves your pyproject.toml as it was or as written, never torn or empty; and the copy a
    killed `init` left beside it is removed."""
    if os.path.islink(target):
        raise RefusedError(
            f"init: {target.name} is a symbolic link; git-atomic never writes through one, "
            "nothing was written",
            hint="put the file itself there, or write the configuration by hand",
        )
    if target.name == PYPROJECT_FILE:
        theirs = utf8_text(_own(target))
        text = _without_our_tables(theirs).rstrip("\n") + "\n\n" + text
    mode = 0o644
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(os.lstat(target).st_mode)  # yours kept
    wholefile.remove_left(target)
    wholefile.replace(target, text.encode("utf-8", "surrogateescape"), mode=mode)


def _without_our_tables(text: str) -> str:
    """pyproject.toml without its [tool.git-atomic...] tables (what --force replaces)."""
    out: list[str] = []
    ours = False
    for line in text.splitlines(keepends=True):
        header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if header:
            ours = header[1] == PYPROJECT_TABLE or header[1].startswith(PYPROJECT_TABLE + ".")
        if not ours:
            out.append(line)
    return "".join(out)


def _what(target: Path) -> str:
    return f"{PYPROJECT_FILE} [{PYPROJECT_TABLE}]" if target.name == PYPROJECT_FILE else CONFIG_FILE


def _summary(found: list[Found]) -> str:
    if not found:
        return "no test or lint command found: the gates are examples in comments"
    gates = ", ".join(f"{g.name} ({g.run})" for g in found)
    test = next((g.run for g in found if g.tests), None)
    return f"gates {gates}" + (f"; tdd test {test}" if test else "") + '; history "commits"'
