"""The MCP server's tools: what each one tells an agent, its parameters, and its CLI call.

Plain data and small functions, no SDK: `mcp_server.py` turns these into the protocol's `Tool`
objects and runs the calls. Each tool is one `git-atomic VERB ... --json` in the repository.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from git_atomic.agents import option
from git_atomic.agents.mcp_params import (
    ALL_GATES,
    DRY_RUN,
    GATES,
    HISTORY,
    NO_GATES,
    REPO,
    WAIT,
    param,
    strings,
)
from git_atomic.agents.mcp_schemas import OUTPUT, Schema
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import OpStatus

Args = Mapping[str, Any]

# `log -n`'s largest, cli/parser.py's MAX_LOG_COUNT (not imported: it loads argparse's parser).
MAX_LOG_COUNT: Final = 2**31 - 1
LOG_PAGE: Final = 20  # no `n`: the newest operations, not a trail of megabytes no client passes on


@dataclass(frozen=True)
class CliCall:
    verb: str
    args: tuple[str, ...]
    rest: tuple[str, ...]  # after `--`: a command, paths, or a name that may start with '-'
    # Run in the worktree's top folder, not the server's: `rest` holds paths "relative to the
    # repository", which the CLI reads from the folder it runs in.
    at_top: bool = False


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    params: Mapping[str, Schema]
    required: tuple[str, ...]
    call: Callable[[Args], CliCall]
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool = False

    @property
    def input_schema(self) -> Schema:
        return {
            "type": "object",
            "properties": {**self.params, "repo": REPO},
            "required": list(self.required),
            "additionalProperties": False,
        }

    @property
    def output_schema(self) -> Schema:
        return OUTPUT[self.name]


def _flag(args: Args, key: str, flag: str) -> list[str]:
    return [flag] if args.get(key) else []


def _value(args: Args, key: str, flag: str) -> list[str]:
    value = args.get(key)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # JSON Schema's integer includes 2.0, which a client may well write: the CLI's whole
        # numbers (log's --max-count) take `2`, not `2.0`.
        value = int(value)
    return option(flag, str(value)) if value is not None else []


def _gates(args: Args) -> list[str]:
    gates: Sequence[str] = args.get("gates") or ()
    return [
        *(arg for gate in gates for arg in option("-g", gate)),
        *_flag(args, "no_gates", "--no-gates"),
        *_flag(args, "all_gates", "--all-gates"),
    ]


def _call(verb: str, *args: str, rest: Sequence[str] = (), at_top: bool = False) -> CliCall:
    return CliCall(verb, tuple(args), tuple(rest), at_top=at_top)


def _run(a: Args) -> CliCall:
    return _call(
        "run",
        *_value(a, "name", "--name"),
        *_gates(a),
        *_value(a, "timeout", "--timeout"),
        *_value(a, "history", "--history"),
        *_flag(a, "isolate", "--isolate"),
        *_flag(a, "wait", "--wait"),
        rest=a["command"],
    )


def _begin(a: Args) -> CliCall:
    history = _value(a, "history", "--history")
    return _call("begin", *history, *_flag(a, "wait", "--wait"), rest=[a["name"]])


def _rollback(a: Args) -> CliCall:
    return _call(
        "rollback",
        *_value(a, "op", "--op"),
        *_value(a, "to", "--to"),
        *_flag(a, "whole", "--whole"),
        *_flag(a, "dry_run", "--dry-run"),
        rest=a.get("paths") or (),
        at_top=bool(a.get("paths")),
    )


def _log(a: Args) -> CliCall:
    return _call(
        "log",
        *_value({"n": LOG_PAGE, **a}, "n", "--max-count"),
        *_value(a, "status", "--status"),
        *_value(a, "name", "--name"),
        *_value(a, "since", "--since"),
    )


def _show(a: Args) -> CliCall:
    return _call("show", *_flag(a, "diff", "--diff"), *_flag(a, "stat", "--stat"), rest=[a["id"]])


def _tdd(a: Args) -> CliCall:
    # The phase goes before `--`: argparse takes what follows `--` as the command.
    return _call("tdd", *_value(a, "message", "--message"), a["phase"], rest=a.get("command") or ())


SPECS: Final[tuple[ToolSpec, ...]] = (
    ToolSpec(
        "run",
        "Run a command atomically",
        "Run one shell-free command (argv) as a whole atomic operation: PRE-OP checkpoint, the "
        "command, the gates, then POST-OP, or an exact rollback if the command fails, times out "
        "or a gate fails (isError, the tree as before). Use it for a codemod, a formatter, a "
        "dependency bump: anything one command does. With isolate the command runs in a private "
        "worktree and reaches yours only after the gates pass. What the command printed is the "
        "result's output (its end, where long).",
        {
            "command": strings("the command and its arguments, not through a shell", minItems=1),
            "name": param("string", "the operation's name (default: the command's name)"),
            "gates": GATES,
            "no_gates": NO_GATES,
            "all_gates": ALL_GATES,
            "timeout": param(
                "number", "roll back if the command runs longer (seconds)", exclusiveMinimum=0
            ),
            "history": HISTORY,
            "isolate": param(
                "boolean",
                "run in a private worktree; apply the result to yours only when the gates pass",
                default=False,
            ),
            "wait": WAIT,
        },
        ("command",),
        _run,
        read_only=False,
        destructive=True,
        idempotent=False,
        open_world=True,
    ),
    ToolSpec(
        "begin",
        "Begin an atomic operation",
        "Open an operation before you change files yourself: a PRE-OP checkpoint of HEAD, the "
        "index and every file. Then edit, call checkpoint after each step, and finish with "
        "commit (gates, then final) or abort (everything back as before begin).",
        {
            "name": param(
                "string", "the operation's name, e.g. what you are about to do", minLength=1
            ),
            "history": HISTORY,
            "wait": WAIT,
        },
        ("name",),
        _begin,
        read_only=False,
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        "checkpoint",
        "Checkpoint a step",
        "Record the tree as an OP-EXEC stage of the open operation, after each step that works, "
        "so rollback can step back to it.",
        {"message": param("string", "what this step did")},
        (),
        lambda a: _call("checkpoint", *_value(a, "message", "--message")),
        read_only=False,
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        "commit",
        "Commit the open operation",
        "Finish the open operation: run the gates, then make it final (POST-OP). If a gate "
        "fails the operation is rolled back, the tree returns to PRE-OP and the result is an "
        "error naming the gate (its output's tail is in gates[].output_tail; undo brings the "
        "changes back to retry).",
        {"gates": GATES, "no_gates": NO_GATES, "all_gates": ALL_GATES},
        (),
        lambda a: _call("commit", *_gates(a)),
        read_only=False,
        destructive=True,
        idempotent=False,
        open_world=True,  # its gates, given or configured, are shell lines: they reach anything
    ),
    ToolSpec(
        "abort",
        "Abort the open operation",
        "Give up the open operation: every file, the index, HEAD and the branches go back to "
        "PRE-OP. What it replaced is saved; undo brings it back.",
        {},
        (),
        lambda a: _call("abort"),
        read_only=False,
        destructive=True,
        idempotent=False,
    ),
    ToolSpec(
        "rollback",
        "Roll back",
        "Go back. No arguments: step back inside the open operation (to its previous "
        "checkpoint), else take back the newest operation. op: take back that operation's "
        "effect, only its own changes, on top of whatever changed since (later commits and "
        "other edits stay); where they overlap nothing changes and the error names the paths. "
        "to with paths: those files and index entries as they were at that checkpoint. whole, "
        "with op or to: go back to that whole earlier state, dropping what came after (a dry "
        "run lists it, dropped_commits included). Use dry_run first to see what would change. "
        "What a rollback replaces is saved; undo brings it back.",
        {
            "op": param("string", "an operation id (4 or more of its first hex digits)"),
            "to": param("string", "a checkpoint's sha (see show's checkpoint_list)"),
            "paths": strings("with to: restore only these paths, relative to the repository"),
            "whole": param(
                "boolean",
                "with op or to, no paths: the whole earlier state, dropping what came after",
                default=False,
            ),
            "dry_run": DRY_RUN,
        },
        (),
        _rollback,
        read_only=False,
        destructive=True,
        idempotent=False,
    ),
    ToolSpec(
        "undo",
        "Undo the last rollback",
        "Bring back what the last rollback, abort, failed commit, emergency or recover took "
        "back (for instance to retry after a gate failed): exactly, when nothing changed since; "
        "else on top of the later changes, never moving a branch back over later commits.",
        {"dry_run": DRY_RUN},
        (),
        lambda a: _call("undo", *_flag(a, "dry_run", "--dry-run")),
        read_only=False,
        destructive=True,
        idempotent=False,
    ),
    ToolSpec(
        "status",
        "Status",
        "Whether an operation is open (and its checkpoints) or was interrupted, and who holds "
        "the worktree's lock. Call it before begin, or when unsure what state you are in.",
        {},
        (),
        lambda a: _call("status"),
        read_only=True,
        destructive=False,
        idempotent=True,
    ),
    ToolSpec(
        "log",
        "Operation log",
        f"The audit trail of operations, newest first ({LOG_PAGE} unless n says more), with "
        "their checkpoints and gates.",
        {
            "n": param(
                "integer",
                f"the newest n operations (default {LOG_PAGE}; more to look further back)",
                minimum=1,
                maximum=MAX_LOG_COUNT,
                default=LOG_PAGE,
            ),
            "status": param(
                "string",
                "only operations with this status",
                enum=[s.value for s in OpStatus],
            ),
            "name": param("string", "only operations with this name (wildcards: * ? [])"),
            "since": param("string", "only operations since, e.g. 2h, 3d, 2026-11-01"),
        },
        (),
        _log,
        read_only=True,
        destructive=False,
        idempotent=True,
    ),
    ToolSpec(
        "show",
        "Show an operation",
        "One operation: its phases, every checkpoint (sha, for rollback's to), the command, the "
        "gates; with diff its change as a unified diff (PRE-OP to its end), with stat the "
        "changed files and counts.",
        {
            "id": param(
                "string", "the operation id, or 4 or more of its first digits", minLength=1
            ),
            "diff": param("boolean", "include the change as a unified diff", default=False),
            "stat": param("boolean", "include the changed files with counts", default=False),
        },
        ("id",),
        _show,
        read_only=True,
        destructive=False,
        idempotent=True,
    ),
    ToolSpec(
        "gates",
        "Quality gates",
        "List the repository's configured gates (and the TDD test command); with run, run them "
        "now against the tree as it is: a failing gate is an error result. git-atomic itself "
        "changes nothing, no checkpoint and no rollback; each gate is a shell command line that "
        "does what it does (a test run writes its caches and reports). Sends progress while "
        "gates run.",
        {
            "run": param("boolean", "run the gates now", default=False),
            "all_gates": ALL_GATES,
        },
        (),
        lambda a: _call("gates", *_flag(a, "run", "--run"), *_flag(a, "all_gates", "--all-gates")),
        # With run, the configured gates run: shell command lines, unchecked, that may change,
        # remove or reach anything, and do again what they did each time. A client that asked
        # before a destructive or open-world call ran them unasked; listing alone changes
        # nothing, but the hints are the tool's, whatever its arguments.
        read_only=False,
        destructive=True,
        idempotent=False,
        open_world=True,
    ),
    ToolSpec(
        "tdd",
        "TDD phase",
        "One test-driven step as an atomic operation. red: the test command must fail (a new "
        "test); green: it must pass; refactor: it must pass and coverage must not drop. With "
        "command, the command makes the change and a broken rule rolls it back; without, the "
        "tree is judged as it stands and a broken rule changes nothing (isError either way).",
        {
            "phase": param("string", "the TDD phase", enum=["red", "green", "refactor"]),
            "message": param("string", "the commit message after RED:/GREEN:/REFACTOR:"),
            "command": strings("a command that makes the change, not through a shell"),
        },
        ("phase",),
        _tdd,
        read_only=False,
        destructive=True,
        idempotent=False,
        open_world=True,  # its command, as run's, and its test command may reach anything
    ),
    ToolSpec(
        "recover",
        "Recover an interrupted operation",
        "Finish an operation that a crash or kill interrupted (status shows it under "
        "interrupted; until then new operations are refused): back to its PRE-OP, or with "
        "accept keep the tree as it is.",
        {"accept": param("boolean", "keep the current state instead of PRE-OP", default=False)},
        (),
        lambda a: _call("recover", *_flag(a, "accept", "--accept")),
        read_only=False,
        destructive=True,
        idempotent=False,
    ),
)
TOOLS: Final[dict[str, ToolSpec]] = {spec.name: spec for spec in SPECS}
