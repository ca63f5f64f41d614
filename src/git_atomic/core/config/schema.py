"""What a configuration holds: the frozen records `.git-atomic.toml` becomes, their defaults,
the keys each table may use, and the name a gate gets when its table gives none.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from git_atomic.core import records
from git_atomic.core.records import dataclass, field
from git_atomic.core.vocab import HistoryMode

# New untracked files larger than this are not captured (docs/design.md says why 10 MiB).
DEFAULT_MAX_NEW_FILE_SIZE: Final = 10 << 20


@dataclass(frozen=True)
class CoverageRule:
    report: str  # relative to the repository root unless absolute
    min: float | None = None
    no_regression: bool = False


def _no_env() -> Mapping[str, str]:
    return types.MappingProxyType({})


@dataclass(frozen=True)
class GateSpec:
    name: str
    run: str | tuple[str, ...]  # a str is a shell command line, a tuple an argv
    timeout: float | None = None
    coverage: CoverageRule | None = None
    # Excluded from the hash: a mapping is not hashable, and equal gates still hash equal.
    env: Mapping[str, str] = field(default_factory=_no_env, hash=False)
    ok_exit: tuple[int, ...] = (0,)  # the exit statuses that count as passing


@dataclass(frozen=True)
class TddConfig:
    test: str | tuple[str, ...] | None = None
    coverage: str | None = None  # the report the test command writes; REFACTOR compares it
    timeout: float | None = None


@dataclass(frozen=True)
class Config:
    history: HistoryMode = HistoryMode.COMMITS
    gates: tuple[GateSpec, ...] = ()
    tdd: TddConfig = field(default_factory=TddConfig)
    source: Path | None = None  # the file it came from; None when built from defaults
    # Exit statuses that count as success for a command, by its program's name (`--ok-exit`):
    # some tools exit 1 when they changed files (pyupgrade).
    ok_exit: Mapping[str, tuple[int, ...]] = field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )
    max_new_file_size: int | None = DEFAULT_MAX_NEW_FILE_SIZE  # bytes; None: no limit
    protect: tuple[str, ...] = ()  # patterns of ignored files every checkpoint holds

    def command_ok_exit(self, argv: Sequence[str]) -> tuple[int, ...]:
        return self.ok_exit.get(argv[0].rstrip("/").rsplit("/", 1)[-1], (0,))


# The keys each table may hold; reader.py refuses any other, naming the nearest.
TOP_KEYS: Final = ("history", "gates", "tdd", "ok_exit", "max_new_file_size", "protect")
GATE_KEYS: Final = ("name", "run", "timeout", "coverage", "env", "ok_exit")
COVERAGE_KEYS: Final = ("report", "min", "no_regression")
TDD_KEYS: Final = ("test", "coverage", "timeout")


def name_gates(gates: tuple[GateSpec, ...]) -> tuple[GateSpec, ...]:
    """Gates without a `name` named after the program they run, apart from every other gate."""
    used = {g.name for g in gates if g.name}
    out = []
    for index, gate in enumerate(gates):
        if not gate.name:
            program = (
                program_name(gate.run)
                if isinstance(gate.run, str)
                else gate.run[0].rstrip("/").rsplit("/", 1)[-1]
            )
            base = program or f"gate-{index + 1}"
            name, n = base, 1
            while name in used:
                n += 1
                name = f"{base}-{n}"
            used.add(name)
            gate = records.replace(gate, name=name)
        out.append(gate)
    return tuple(out)


def program_name(command: str) -> str:
    """The name of the program a shell command line runs; "" when it shows none we can name
    a gate after (a word other than letters, digits, "-", "_" and ".")."""
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: the shell will say so when the gate runs
        words = command.split()
    # Skip `VAR=value` assignments in front of the program, as the shell does.
    program = next((w for w in words if not _is_assignment(w)), "")
    name = program.rstrip("/").rsplit("/", 1)[-1]
    return name if name.replace("-", "").replace("_", "").replace(".", "").isalnum() else ""


def _is_assignment(word: str) -> bool:
    name, equals, _ = word.partition("=")
    return bool(equals) and name.isidentifier()
