"""Configuration: where it is read from, what it means, and every way it can be wrong."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import git_atomic
from git_atomic.core import records
from git_atomic.core.config import (
    Config,
    CoverageRule,
    GateSpec,
    TddConfig,
    budget_of,
    command_line_gates,
    gate_from_command_line,
    load_config,
)
from git_atomic.core.errors import ConfigError, Exit, UsageError
from git_atomic.core.vocab import HistoryMode
from testing import oracle
from testing.gitrepo import GitRepo

SPEC_EXAMPLE = """\
history = "commits"
[[gates]]
name = "tests"
run = "pytest -q"
timeout = 900
[[gates]]
name = "coverage"
run = "pytest -q --cov=src --cov-report=json"
coverage = { report = "coverage.json", min = 80, no_regression = true }
[tdd]
test = "pytest -q"
"""

SPEC_GATES = (
    GateSpec(name="tests", run="pytest -q", timeout=900.0),
    GateSpec(
        name="coverage",
        run="pytest -q --cov=src --cov-report=json",
        coverage=CoverageRule(report="coverage.json", min=80.0, no_regression=True),
    ),
)


def write(root: Path, text: str, name: str = ".git-atomic.toml") -> Path:
    path = root / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def as_pyproject(text: str) -> str:
    """The same configuration nested under [tool.git-atomic] in a real-looking pyproject."""
    nested = (
        text.replace("[[gates]]", "[[tool.git-atomic.gates]]")
        .replace("[tdd]", "[tool.git-atomic.tdd]")
        .replace("history =", "[tool.git-atomic]\nhistory =")
    )
    return f'[project]\nname = "demo"\nversion = "1.0"\n\n{nested}'


def config_error(root: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(root)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == Exit.USAGE
    # Nothing chained: whatever prints it shows our line, never tomllib's traceback.
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return message


# --- where the configuration comes from -------------------------------------------------


def test_no_configuration_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config(HistoryMode.COMMITS, (), TddConfig(test=None), source=None)


def test_pyproject_without_our_table_gives_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "demo"\n[tool.ruff]\nline-length = 100\n', "pyproject.toml")
    assert load_config(tmp_path) == Config()


@pytest.mark.parametrize(
    "table",
    [
        "[tool.git-atomic]",
        '[tool."git-atomic"]',
        "[ tool . 'git-atomic' ]",
        '["tool"."git\\u002datomic"]',
        '[tool."\\u0067it-\\U00000061tomic"]',
    ],
)
def test_every_spelling_of_our_table_in_pyproject_is_read(tmp_path: Path, table: str) -> None:
    """A pyproject.toml that cannot name our table is not parsed at all (the parser's import
    costs a command's start 4 to 6 ms); one that names it in any spelling TOML has is."""
    write(tmp_path, f'[project]\nname = "demo"\n{table}\nhistory = "shadow"\n', "pyproject.toml")
    assert load_config(tmp_path).history is HistoryMode.SHADOW


def _load_in_a_child(root: Path, cache: Path) -> tuple[str, bool]:
    """`load_config(root)` in a fresh interpreter with `cache` as XDG_CACHE_HOME: the history
    it read, and whether the TOML parser was imported."""
    code = (
        "import sys; from pathlib import Path; from git_atomic.core.config import load_config; "
        "c = load_config(Path(sys.argv[1])); print(c.history.value, 'tomllib' in sys.modules)"
    )
    src = str(Path(git_atomic.__file__).parent.parent)
    out = subprocess.run(  # -S: no site start-up code (coverage's would read its own TOML)
        [sys.executable, "-S", "-c", code, str(root)],
        env={**os.environ, "PYTHONPATH": src, "XDG_CACHE_HOME": str(cache)},
        capture_output=True,
        text=True,
        check=True,
    )
    history, imported = out.stdout.split()
    return history, imported == "True"


def test_a_pyproject_that_cannot_name_us_is_not_parsed(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "demo"\n[tool.ruff]\nline-length = 100\n', "pyproject.toml")
    assert _load_in_a_child(tmp_path, tmp_path / "cache") == ("commits", False)


def test_a_configuration_parsed_once_is_not_parsed_again(tmp_path: Path) -> None:
    """The TOML parser's import costs a cold command 5 to 8 ms: a file's parse is kept in the
    cache folder under its very bytes. Changed bytes are parsed again; an entry made for
    other bytes (same name) or damaged is never used."""
    root, cache = tmp_path / "r", tmp_path / "cache"
    root.mkdir()
    write(root, 'history = "shadow"\n')
    assert _load_in_a_child(root, cache) == ("shadow", True)
    assert _load_in_a_child(root, cache) == ("shadow", False)
    write(root, 'history = "commits"\n')
    assert _load_in_a_child(root, cache) == ("commits", True)
    [entry] = [p for p in (cache / "git-atomic").iterdir() if b"commits" in p.read_bytes()]
    # Another file's bytes under this one's name (a checksum collision): not used.
    entry.write_bytes(entry.read_bytes().replace(b"commits", b"shadow!"))
    assert _load_in_a_child(root, cache) == ("commits", True)
    entry.write_bytes(b"damaged")
    assert _load_in_a_child(root, cache) == ("commits", True)
    assert _load_in_a_child(root, cache) == ("commits", False)


def test_a_cached_parse_is_the_parsers_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the cache gives back equals tomllib's parse (every TOML type marshal keeps); a
    file with a date in it is parsed each time."""
    import tomllib

    from git_atomic.core import config

    raw = SPEC_EXAMPLE.encode() + b'\n[extra]\nf = 1.5\nb = true\nl = [1, "x", {a = 2}]\n'
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "repo").mkdir()  # (the cache beside the worktree: none is kept in it)
    path = write(tmp_path / "repo", raw.decode())
    assert config._parse(path, "x") == tomllib.loads(raw.decode())
    assert config._parsed_before(raw) == tomllib.loads(raw.decode())
    dated = b"when = 1979-05-27T07:32:00Z\n"
    config._remember_parsed(dated, tomllib.loads(dated.decode()))
    assert config._parsed_before(dated) is None


def test_the_spec_example_in_git_atomic_toml(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC_EXAMPLE)
    config = load_config(tmp_path)
    assert config.history is HistoryMode.COMMITS
    assert config.gates == SPEC_GATES
    assert config.tdd == TddConfig(test="pytest -q")
    assert config.source == path


def test_the_spec_example_in_pyproject(tmp_path: Path) -> None:
    path = write(tmp_path, as_pyproject(SPEC_EXAMPLE), "pyproject.toml")
    config = load_config(tmp_path)
    assert config.gates == SPEC_GATES
    assert config.tdd == TddConfig(test="pytest -q")
    assert config.source == path


@pytest.mark.parametrize("name", [".git-atomic.toml", "pyproject.toml"])
def test_a_configuration_that_begins_with_a_byte_order_mark_is_read(
    tmp_path: Path, name: str
) -> None:
    """Notepad and PowerShell's `Out-File` save with a UTF-8 byte order mark, which tomllib
    takes for an invalid statement: every operation was refused. It is read past the mark, by
    the commands and by a capture's own reading of a checkpoint's copy (`budget_of`) alike."""
    text = SPEC_EXAMPLE.replace("[[gates]]", "max_new_file_size = 77\n[[gates]]", 1)
    text = as_pyproject(text) if name == "pyproject.toml" else text
    (tmp_path / name).write_bytes(codecs.BOM_UTF8 + text.encode())
    config = load_config(tmp_path)
    assert config.gates == SPEC_GATES and config.max_new_file_size == 77
    raw = (tmp_path / name).read_bytes()
    own, pyproject = (raw, None) if name == ".git-atomic.toml" else (None, raw)
    assert budget_of(own, pyproject) == 77


def test_git_atomic_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, as_pyproject(SPEC_EXAMPLE), "pyproject.toml")
    own = write(tmp_path, 'history = "shadow"\n')
    config = load_config(tmp_path)
    assert config.history is HistoryMode.SHADOW
    assert config.gates == ()  # nothing is merged in from pyproject.toml
    assert config.source == own


def test_an_empty_git_atomic_toml_still_wins(tmp_path: Path) -> None:
    write(tmp_path, as_pyproject(SPEC_EXAMPLE), "pyproject.toml")
    own = write(tmp_path, "")
    assert load_config(tmp_path) == Config(source=own)


def test_a_broken_pyproject_that_never_mentions_us_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, "[project\nname = ", "pyproject.toml")
    assert load_config(tmp_path) == Config()


def test_a_broken_pyproject_that_mentions_us_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, '[tool.git-atomic]\nhistory = "shadow\n', "pyproject.toml")
    assert config_error(tmp_path).startswith("pyproject.toml: invalid TOML: ")


def test_a_broken_git_atomic_toml_wins_over_a_good_pyproject(tmp_path: Path) -> None:
    write(tmp_path, as_pyproject(SPEC_EXAMPLE), "pyproject.toml")
    write(tmp_path, "[[gates]\n")
    assert config_error(tmp_path).startswith(".git-atomic.toml: invalid TOML: ")


# --- what the values become -----------------------------------------------------------------


def test_shadow_history_argv_gates_env_and_argv_tdd(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        history = "shadow"
        [[gates]]
        name = "lint"
        run = ["ruff", "check", "src dir"]
        timeout = 2.5
        env = { RUFF_CACHE_DIR = "/tmp/ruff", LANG = "C" }
        [tdd]
        test = ["python", "-m", "pytest", "-x"]
        coverage = "coverage.json"
        timeout = 60
        """,
    )
    config = load_config(tmp_path)
    assert config.history is HistoryMode.SHADOW
    assert f"{config.history}" == "shadow"  # prints as its value, for JSON and messages
    (gate,) = config.gates
    assert gate.run == ("ruff", "check", "src dir")
    assert gate.timeout == 2.5
    assert dict(gate.env) == {"RUFF_CACHE_DIR": "/tmp/ruff", "LANG": "C"}
    assert gate.coverage is None
    assert config.tdd == TddConfig(("python", "-m", "pytest", "-x"), "coverage.json", 60.0)


def test_coverage_rule_defaults_and_number_types(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        [[gates]]
        name = "cov"
        run = "make cov"
        coverage = { report = "build/lcov.info" }
        [[gates]]
        name = "cov2"
        run = "make cov2"
        timeout = 60
        coverage = { report = "coverage.xml", min = 87.5 }
        """,
    )
    first, second = load_config(tmp_path).gates
    assert first.coverage == CoverageRule("build/lcov.info", min=None, no_regression=False)
    assert second.coverage == CoverageRule("coverage.xml", min=87.5, no_regression=False)
    assert isinstance(second.timeout, float) and second.timeout == 60.0


def test_boundaries_of_min_are_allowed(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        [[gates]]
        name = "a"
        run = "true"
        coverage = { report = "c.json", min = 0 }
        [[gates]]
        name = "b"
        run = "true"
        coverage = { report = "c.json", min = 100 }
        """,
    )
    mins = [g.coverage.min for g in load_config(tmp_path).gates if g.coverage]
    assert mins == [0.0, 100.0]


def test_records_are_frozen_and_env_is_read_only(tmp_path: Path) -> None:
    write(tmp_path, '[[gates]]\nname = "t"\nrun = "true"\nenv = { A = "1" }\n')
    config = load_config(tmp_path)
    gate = config.gates[0]
    with pytest.raises(records.FrozenInstanceError):
        gate.name = "other"  # type: ignore[misc]
    with pytest.raises(records.FrozenInstanceError):
        config.history = HistoryMode.SHADOW  # type: ignore[misc]
    with pytest.raises(TypeError):
        gate.env["A"] = "2"  # type: ignore[index]
    assert hash(gate) == hash(GateSpec("t", "true", env={"A": "1"}))
    assert dict(GateSpec("x", "true").env) == {}


def test_loading_the_module_does_not_import_tomllib() -> None:
    code = "import sys, git_atomic.core.config; print('tomllib' in sys.modules)"
    # This checkout's package (pytest's pythonpath), not one installed in site-packages; no
    # site (-S): what a .pth file imports (coverage reads its settings with tomllib) is not ours.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    argv = [sys.executable, "-S", "-c", code]
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "False", result.stderr


# --- every way it can be wrong --------------------------------------------------------------

GATE = '[[gates]]\nname = "t"\nrun = "true"\n'

TOP_KEYS = ", ok_exit, max_new_file_size, protect"
ERRORS = [
    # unknown keys, with a suggestion where one is close
    (
        'historry = "shadow"',
        'historry: unknown key; did you mean "history"? expected one of: history, gates, tdd'
        + TOP_KEYS,
    ),
    ("colour = 1", "colour: unknown key; expected one of: history, gates, tdd" + TOP_KEYS),
    # a quoted key is shown quoted, so the message stays on one line
    ('"a\\nb" = 1', '"a\\nb": unknown key; expected one of: history, gates, tdd' + TOP_KEYS),
    (
        GATE + "timout = 5",
        'gates[0].timout: unknown key; did you mean "timeout"? '
        "expected one of: name, run, timeout, coverage, env, ok_exit",
    ),
    (
        GATE + 'coverage = { report = "c.json", minimum = 80 }',
        'gates[0].coverage.minimum: unknown key; did you mean "min"? '
        "expected one of: report, min, no_regression",
    ),
    (
        '[tdd]\ncommand = "pytest"',
        "tdd.command: unknown key; expected one of: test, coverage, timeout",
    ),
    # history
    ('history = "fast"', 'history: expected "commits" or "shadow", got "fast"'),
    ('history = "Shadow"', 'history: expected "commits" or "shadow", got "Shadow"'),
    ("history = 1", 'history: expected "commits" or "shadow", got 1'),
    # the shape of gates
    ('[gates]\nname = "t"', "gates: expected an array of tables ([[gates]]), got a table"),
    ('gates = ["pytest -q"]', 'gates[0]: expected a table, got "pytest -q"'),
    ('[[gates]]\nname = "t"', "gates[0].run: is required"),
    (
        '[[gates]]\nname = 3\nrun = "true"',
        "gates[0].name: expected a non-empty one-line string, got 3",
    ),
    (
        '[[gates]]\nname = " "\nrun = "true"',
        'gates[0].name: expected a non-empty one-line string, got " "',
    ),
    (
        '[[gates]]\nname = "a\\nb"\nrun = "true"',
        'gates[0].name: expected a non-empty one-line string, got "a\\nb"',
    ),
    (
        GATE + '[[gates]]\nname = "t"\nrun = "false"',
        'gates[1].name: expected a unique name, but "t" is already gates[0]',
    ),
    # run
    *[
        (
            f'[[gates]]\nname = "t"\nrun = {value}',
            "gates[0].run: expected a command line (string) or an argv "
            f"(non-empty array of strings), got {shown}",
        )
        for value, shown in [
            ("5", "5"),
            ('""', '""'),
            ('"   "', '"   "'),
            ("[]", "an array"),
            ('["pytest", 1]', "an array"),
            ('["", "-q"]', "an array"),
            ('"make\\u0000"', '"make\\x00"'),
            ('["make", "a\\u0000"]', "an array"),
            ("{ cmd = 'x' }", "a table"),
        ]
    ],
    # timeout
    *[
        (
            GATE + f"timeout = {value}",
            f"gates[0].timeout: expected a number of seconds above 0, got {shown}",
        )
        for value, shown in [
            ("0", "0"),
            ("-1", "-1"),
            ("-0.5", "-0.5"),
            ('"10"', '"10"'),
            ("true", "true"),
            ("inf", "inf"),
            ("nan", "nan"),
            ("1" + "0" * 400, "1" + "0" * 26 + "..."),
        ]
    ],
    # coverage
    (
        GATE + 'coverage = "coverage.json"',
        'gates[0].coverage: expected a table { report = ..., min = ... }, got "coverage.json"',
    ),
    (
        GATE + "coverage = { min = 80 }",
        "gates[0].coverage.report: is required (the path of the coverage report)",
    ),
    (
        GATE + "coverage = { report = 1 }",
        "gates[0].coverage.report: expected a path as a non-empty string, got 1",
    ),
    (
        GATE + 'coverage = { report = "" }',
        'gates[0].coverage.report: expected a path as a non-empty string, got ""',
    ),
    *[
        (
            GATE + f'coverage = {{ report = "c.json", min = {value} }}',
            f"gates[0].coverage.min: expected a number from 0 to 100, got {shown}",
        )
        for value, shown in [
            ("120", "120"),
            ("100.01", "100.01"),
            ("-1", "-1"),
            ('"80"', '"80"'),
            ('"80%"', '"80%"'),
            ("false", "false"),
            ("nan", "nan"),
        ]
    ],
    (
        GATE + 'coverage = { report = "c.json", no_regression = "yes" }',
        'gates[0].coverage.no_regression: expected true or false, got "yes"',
    ),
    # env
    (GATE + 'env = "A=1"', 'gates[0].env: expected a table of strings, got "A=1"'),
    (GATE + "env = { PORT = 8080 }", "gates[0].env.PORT: expected a string (quote it), got 8080"),
    (
        GATE + 'env = { "A=B" = "1" }',
        "gates[0].env: expected variable names without '=' or NUL, got \"A=B\"",
    ),
    (
        GATE + 'env = { "my var" = 1 }',
        'gates[0].env."my var": expected a string (quote it), got 1',
    ),
    (
        GATE + 'env = { A = "x\\u0000y" }',
        'gates[0].env.A: expected a string (quote it), got "x\\x00y"',
    ),
    # tdd
    ('tdd = "pytest"', 'tdd: expected a table, got "pytest"'),
    (
        "[tdd]\ntest = 1979-05-27",
        "tdd.test: expected a command line (string) or an argv (non-empty array of strings), "
        "got a date (1979-05-27)",
    ),
    (
        "[tdd]\ncoverage = 80",
        "tdd.coverage: expected the path of the coverage report the test command writes, "
        "as a string, got 80",
    ),
    ("[tdd]\ntimeout = 0", "tdd.timeout: expected a number of seconds above 0, got 0"),
    ('[tdd]\ntimeout = "1m"', 'tdd.timeout: expected a number of seconds above 0, got "1m"'),
]


@pytest.mark.parametrize(("toml", "expected"), ERRORS)
def test_every_error_names_file_key_and_expectation(
    tmp_path: Path, toml: str, expected: str
) -> None:
    write(tmp_path, toml + "\n")
    assert config_error(tmp_path) == f".git-atomic.toml: {expected}"


@pytest.mark.parametrize(("toml", "expected"), ERRORS)
def test_the_same_errors_in_pyproject_name_the_table(
    tmp_path: Path, toml: str, expected: str
) -> None:
    nested = (
        toml.replace("[[gates]]", "[[tool.git-atomic.gates]]")
        .replace("[gates]", "[tool.git-atomic.gates]")
        .replace("[tdd]", "[tool.git-atomic.tdd]")
    )
    if not nested.startswith("[tool.") and not nested.startswith("[[tool."):
        nested = "[tool.git-atomic]\n" + nested
    write(tmp_path, nested + "\n", "pyproject.toml")
    assert config_error(tmp_path) == f"pyproject.toml: tool.git-atomic.{expected}"


def test_a_table_that_is_not_a_table_in_pyproject(tmp_path: Path) -> None:
    write(tmp_path, '[tool]\ngit-atomic = "yes"\n', "pyproject.toml")
    assert config_error(tmp_path) == 'pyproject.toml: tool.git-atomic: expected a table, got "yes"'


def test_toml_syntax_error_is_one_line_with_the_position(tmp_path: Path) -> None:
    write(tmp_path, 'history = "commits"\n[[gates]\nname = "t"\n')
    message = config_error(tmp_path)
    assert message.startswith(".git-atomic.toml: invalid TOML: ")
    assert "line 2" in message


def test_a_duplicate_key_is_a_toml_error(tmp_path: Path) -> None:
    write(tmp_path, 'history = "commits"\nhistory = "shadow"\n')
    assert config_error(tmp_path).startswith(".git-atomic.toml: invalid TOML: ")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / ".git-atomic.toml").write_bytes(b'history = "caf\xe9"\n')
    assert config_error(tmp_path) == ".git-atomic.toml: invalid TOML: not UTF-8"


def test_a_config_path_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / ".git-atomic.toml").mkdir()
    assert config_error(tmp_path).startswith(".git-atomic.toml: cannot read: ")


def test_long_values_are_cut_in_the_message(tmp_path: Path) -> None:
    write(tmp_path, f'history = "{"x" * 500}"\n')
    message = config_error(tmp_path)
    assert message.endswith('x..."')
    assert len(message) < 160


# --- gates given on the command line --------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("pytest -q", "pytest"),
        ("  ruff check src  ", "ruff"),
        ("/usr/bin/python3 -m pytest", "python3"),
        ("./scripts/run-tests.sh --fast", "run-tests.sh"),
        ("CI=1 LANG=C make test", "make"),
        ("'npm' test", "npm"),
        ("pytest 'unbalanced", "pytest"),
        ("(cd sub && make)", "gate-3"),
        ("true && false", "true"),
    ],
)
def test_a_command_line_gate_is_named_after_its_program(command: str, name: str) -> None:
    gate = gate_from_command_line(command, 2)
    assert gate == GateSpec(name=name, run=command)
    assert isinstance(gate.run, str)  # a shell command line, run as written
    assert gate.timeout is None and gate.coverage is None and dict(gate.env) == {}


@pytest.mark.parametrize("command", ["", "   ", "\t\n"])
def test_an_empty_command_line_gate_is_a_usage_error(command: str) -> None:
    with pytest.raises(UsageError) as info:
        gate_from_command_line(command, 0)
    assert info.value.exit_code == Exit.USAGE
    assert str(info.value).startswith("-g: expected a command line, got ")


def test_command_line_gates_get_names_apart_from_each_other_and_the_config() -> None:
    gates = command_line_gates(["pytest -q", "pytest -x", "ruff check", "tests"], taken=["ruff"])
    assert [g.name for g in gates] == ["pytest", "pytest-2", "ruff-2", "tests"]
    assert [g.run for g in gates] == ["pytest -q", "pytest -x", "ruff check", "tests"]


def test_gates_without_a_name_are_named_after_their_program(tmp_path: Path) -> None:
    (tmp_path / ".git-atomic.toml").write_text(
        textwrap.dedent(
            """\
            [[gates]]
            run = "pytest -q"
            [[gates]]
            run = ["ruff", "check", "."]
            [[gates]]
            name = "pytest"
            run = "pytest -q tests/slow"
            [[gates]]
            run = "PYTHONHASHSEED=0 pytest -x"
            [[gates]]
            run = "(cd src && make)"
            """
        )
    )
    names = [g.name for g in load_config(tmp_path).gates]
    assert names == ["pytest-2", "ruff", "pytest", "pytest-3", "gate-5"]


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_a_cache_folder_or_entry_that_is_not_one_is_no_error(tmp_path: Path, kind: str) -> None:
    """The cache folder's path a regular file (every write fails), or an entry a FIFO (a read
    would block the command, which holds the worktree's lock, for ever): parsed each time,
    never an error."""
    root, cache = tmp_path / "r", tmp_path / "cache"
    root.mkdir()
    write(root, 'history = "shadow"\n')
    if kind == "file":
        cache.mkdir()
        (cache / "git-atomic").write_text("not a folder")
    else:
        assert _load_in_a_child(root, cache) == ("shadow", True)
        [entry] = (cache / "git-atomic").iterdir()
        entry.unlink()
        os.mkfifo(entry)
    assert _load_in_a_child(root, cache) == ("shadow", True)


def test_a_configuration_file_linked_out_of_the_worktree_is_never_read(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Nothing outside the worktree is read through a link: an operation that makes the file
    a link to a limit of its choosing elsewhere does not govern what its rollback holds; a
    link inside the worktree is read as the file it names."""
    outside = tmp_path / "elsewhere.toml"
    outside.write_text('max_new_file_size = "1B"\n')
    before = oracle.walk(repo.path)
    command = f"ln -s {outside} .git-atomic.toml; echo payload > y; exit 1"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", command, check=1)
    assert oracle.walk(repo.path) == before  # y held (and gone), the link gone
    os.symlink(outside, repo.path / ".git-atomic.toml")
    res = repo.atomic("gates", check=2)
    assert "outside the worktree" in res.stderr, res.stderr
    os.unlink(repo.path / ".git-atomic.toml")
    repo.write("config/shared.toml", b'[[gates]]\nname = "inside"\nrun = "true"\n')
    os.symlink("config/shared.toml", repo.path / ".git-atomic.toml")
    assert "inside" in repo.atomic("gates", check=0).stdout


def test_a_pyproject_linked_from_elsewhere_is_simply_not_ours(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A project file shared from outside the worktree (a monorepo's common pyproject) is never
    read, and is no error: only our own file, linked out, is refused."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "pyproject.toml").write_text('[project]\nname = "x"\n')
    os.symlink(shared / "pyproject.toml", repo.path / "pyproject.toml")
    repo.atomic("run", "--", "sh", "-c", "echo op > n.txt; exit 1", check=1)
    assert not repo.exists("n.txt")
