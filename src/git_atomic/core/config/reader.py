"""The check of a parsed configuration table against the schema, into a `Config`.

Every complaint is one line that names the file and the key path and shows the value as the
user wrote it (`describe`), with a hint when a key is a near miss of a known one.
"""

from __future__ import annotations

import math
import types
from pathlib import Path
from typing import Final, NoReturn

from git_atomic.core.config.schema import (
    COVERAGE_KEYS,
    GATE_KEYS,
    TDD_KEYS,
    TOP_KEYS,
    Config,
    CoverageRule,
    GateSpec,
    TddConfig,
    name_gates,
)
from git_atomic.core.errors import ConfigError
from git_atomic.core.vocab import HistoryMode

_SIZE_UNITS: Final = {
    "": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000**2, "mb": 1000**2,
    "mib": 1 << 20, "g": 1000**3, "gb": 1000**3, "gib": 1 << 30,
}  # fmt: skip


class ConfigReader:
    """Checks one parsed table against the schema; every complaint names file and key path."""

    def __init__(self, path: Path, *, prefix: str) -> None:
        self.path = path
        self.prefix = prefix

    def fail(self, key: str, expected: str, value: object = None, *, got: bool = True) -> NoReturn:
        where = ".".join(p for p in (self.prefix, key) if p)
        tail = f", got {describe(value)}" if got else ""
        raise ConfigError(f"{self.path.name}: {where}: {expected}{tail}")

    def config(self, data: dict[str, object]) -> Config:
        self.check_keys("", data, TOP_KEYS)
        history = data.get("history", HistoryMode.COMMITS.value)
        modes = [m.value for m in HistoryMode]
        if not isinstance(history, str) or history not in modes:
            self.fail("history", "expected " + " or ".join(f'"{m}"' for m in modes), history)
        raw_gates = data.get("gates", [])
        if not isinstance(raw_gates, list):
            self.fail("gates", "expected an array of tables ([[gates]])", raw_gates)
        gates = name_gates(tuple(self.gate(f"gates[{i}]", g) for i, g in enumerate(raw_gates)))
        seen: dict[str, int] = {}
        for i, gate in enumerate(gates):
            if gate.name in seen and "name" in raw_gates[i]:
                first = f"gates[{seen[gate.name]}]"
                expected = f'expected a unique name, but "{gate.name}" is already {first}'
                self.fail(f"gates[{i}].name", expected, got=False)
            seen[gate.name] = i
        tdd = data.get("tdd", {})
        if not isinstance(tdd, dict):
            self.fail("tdd", "expected a table", tdd)
        self.check_keys("tdd", tdd, TDD_KEYS)
        test = self.command("tdd.test", tdd["test"]) if "test" in tdd else None
        report = tdd.get("coverage")
        if report is not None and (not isinstance(report, str) or not report.strip()):
            self.fail(
                "tdd.coverage",
                "expected the path of the coverage report the test command writes, as a string",
                report,
            )
        ok_exit = data.get("ok_exit", {})
        if not isinstance(ok_exit, dict):
            self.fail("ok_exit", "expected a table: program = [statuses]", ok_exit)
        by_program = {p: self.statuses(f"ok_exit.{_key(p)}", v) for p, v in ok_exit.items()}
        return Config(
            HistoryMode(history),
            gates,
            TddConfig(test, report, self.timeout("tdd", tdd)),
            self.path,
            types.MappingProxyType(by_program),
            self.size("max_new_file_size", data.get("max_new_file_size", "10MiB")),
            self.patterns("protect", data.get("protect", [])),
        )

    def size(self, key: str, value: object) -> int | None:
        """A number of bytes, or a string with a unit ("10MiB", "500 KB"); 0 or "none": none."""
        expected = 'expected a size: bytes, or a string such as "10MiB" (0 or "none": no limit)'
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value or None
        if not isinstance(value, str):
            self.fail(key, expected, value)
        text = value.strip().lower().replace(" ", "")
        if text == "none":
            return None
        digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = text[len(digits) :]
        try:
            number = float(digits)
        except ValueError:
            self.fail(key, expected, value)
        if unit not in _SIZE_UNITS or not math.isfinite(number) or number < 0:
            self.fail(key, expected, value)
        return int(number * _SIZE_UNITS[unit]) or None

    def patterns(self, key: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
            self.fail(key, 'expected an array of patterns, such as [".env", "*.local.toml"]', value)
        return tuple(value)

    def gate(self, key: str, data: object) -> GateSpec:
        if not isinstance(data, dict):
            self.fail(key, "expected a table", data)
        self.check_keys(key, data, GATE_KEYS)
        if "run" not in data:
            self.fail(f"{key}.run", "is required", got=False)
        name = data.get("name", "")  # none: named after its program, as `-g` does (name_gates)
        if (
            not isinstance(name, str)
            or ("name" in data and not name.strip())
            or not name.isprintable()
        ):
            self.fail(f"{key}.name", "expected a non-empty one-line string", name)
        run = self.command(f"{key}.run", data["run"])
        timeout = self.timeout(key, data)
        coverage = (
            self.coverage(f"{key}.coverage", data["coverage"]) if "coverage" in data else None
        )
        env = data.get("env", {})
        if not isinstance(env, dict):
            self.fail(f"{key}.env", "expected a table of strings", env)
        for var, value in env.items():
            if not var or "=" in var or "\0" in var:
                self.fail(f"{key}.env", "expected variable names without '=' or NUL", var)
            if not isinstance(value, str) or "\0" in value:
                self.fail(f"{key}.env.{_key(var)}", "expected a string (quote it)", value)
        ok = self.statuses(f"{key}.ok_exit", data["ok_exit"]) if "ok_exit" in data else (0,)
        return GateSpec(name, run, timeout, coverage, types.MappingProxyType(dict(env)), ok)

    def statuses(self, key: str, value: object) -> tuple[int, ...]:
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)
        ):
            return tuple(dict.fromkeys(value))
        self.fail(key, "expected a non-empty array of exit statuses (0 to 255)", value)

    def coverage(self, key: str, data: object) -> CoverageRule:
        if not isinstance(data, dict):
            self.fail(key, "expected a table { report = ..., min = ... }", data)
        self.check_keys(key, data, COVERAGE_KEYS)
        report = data.get("report")
        if report is None:
            self.fail(f"{key}.report", "is required (the path of the coverage report)", got=False)
        if not isinstance(report, str) or not report.strip():
            self.fail(f"{key}.report", "expected a path as a non-empty string", report)
        minimum = None
        if "min" in data:
            expected = "a number from 0 to 100"
            minimum = self.number(f"{key}.min", data["min"], expected)
            if not 0 <= minimum <= 100:
                self.fail(f"{key}.min", f"expected {expected}", data["min"])
        no_regression = data.get("no_regression", False)
        if not isinstance(no_regression, bool):
            self.fail(f"{key}.no_regression", "expected true or false", no_regression)
        return CoverageRule(report, minimum, no_regression)

    def timeout(self, key: str, data: dict[str, object]) -> float | None:
        if "timeout" not in data:
            return None
        expected = "a number of seconds above 0"
        timeout = self.number(f"{key}.timeout", data["timeout"], expected)
        if timeout <= 0:
            self.fail(f"{key}.timeout", f"expected {expected}", data["timeout"])
        return timeout

    def command(self, key: str, value: object) -> str | tuple[str, ...]:
        # NUL cannot reach a process: the command would fail to start instead of failing the gate.
        if isinstance(value, str) and value.strip() and "\0" not in value:
            return value
        words = value if isinstance(value, list) else []
        if words and words[0] and all(isinstance(w, str) and "\0" not in w for w in words):
            return tuple(words)
        expected = "a command line (string) or an argv (non-empty array of strings)"
        self.fail(key, f"expected {expected}", value)

    def number(self, key: str, value: object, expected: str) -> float:
        # bool is an int in Python, but `timeout = true` is a mistake, not a second.
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected {expected}", value)
        try:
            number = float(value)
        except OverflowError:  # TOML integers have no size limit in tomllib
            number = math.inf
        if not math.isfinite(number):
            self.fail(key, f"expected {expected}", value)
        return number

    def check_keys(self, key: str, data: dict[str, object], allowed: tuple[str, ...]) -> None:
        for name in data:
            if name not in allowed:
                import difflib

                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f'did you mean "{close[0]}"? ' if close else ""
                where = f"{key}.{_key(name)}" if key else _key(name)
                expected = f"unknown key; {hint}expected one of: {', '.join(allowed)}"
                self.fail(where, expected, got=False)


def _key(name: str) -> str:
    """A key as TOML would print it: bare when it can be, quoted otherwise."""
    bare = name and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    return name if bare else describe(name)


def describe(value: object) -> str:
    """A TOML value as the user wrote it, short and on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = str(value)
        return text if len(text) <= 30 else text[:27] + "..."
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        return '"' + shown.replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__} ({value})"  # TOML dates and times
