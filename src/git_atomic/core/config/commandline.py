"""Gates given on the command line (`-g COMMAND`), named apart from the configured ones, and
the exit statuses a command may end with (`--ok-exit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from git_atomic.core import records
from git_atomic.core.config.reader import describe
from git_atomic.core.config.schema import Config, GateSpec, program_name
from git_atomic.core.errors import UsageError


def gate_from_command_line(command: str, index: int) -> GateSpec:
    """A gate given as `-g COMMAND`: a shell command line named after the program it runs.

    `index` is the gate's position among the `-g` options (from 0); it names a gate whose
    command shows no program name, e.g. one that starts with a parenthesis.
    """
    if not command.strip():
        raise UsageError(f"-g: expected a command line, got {describe(command)}")
    return GateSpec(name=program_name(command) or f"gate-{index + 1}", run=command)


def command_line_gates(
    commands: Sequence[str], *, taken: Iterable[str] = ()
) -> tuple[GateSpec, ...]:
    """The gates of several `-g` options, named apart from each other and from `taken`.

    Two `-g "pytest ..."` become `pytest` and `pytest-2`, so each has its own result and log.
    """
    used = set(taken)
    gates = []
    for index, command in enumerate(commands):
        gate = gate_from_command_line(command, index)
        gates.append(records.replace(gate, name=numbered(gate.name, used)))
    return tuple(gates)


def numbered(name: str, used: set[str]) -> str:
    """`name`, or the first of `name-2`, `name-3`, ... not in `used`; added to `used`."""
    found, n = name, 1
    while found in used:
        n += 1
        found = f"{name}-{n}"
    used.add(found)
    return found


def parse_ok_exit(text: str) -> tuple[int, ...]:
    """`--ok-exit 0,1`: the exit statuses that count as success for the command."""
    try:
        codes = tuple(dict.fromkeys(int(part) for part in text.split(",")))
    except ValueError:
        codes = ()
    if not codes or any(not 0 <= c <= 255 for c in codes):
        raise UsageError(f"--ok-exit: expected exit statuses like 0,1, got {text!r}")
    return codes


def gates_to_run(
    config: Config, commands: Sequence[str], *, no_gates: bool
) -> tuple[GateSpec, ...]:
    """The configured gates, then the `-g` ones (named apart from them); none with --no-gates."""
    if no_gates:
        return ()
    return config.gates + command_line_gates(commands, taken=[g.name for g in config.gates])
