"""The command line's parser: every command's options and their help (argparse's errors, and
what builds one command's parser alone: parserbase.py).

The man page, the completion and the reference are generated from it (docs/gen_docs.py).
Imported only when a command is parsed: `--version` never loads argparse.
"""

from __future__ import annotations

import argparse
import math

from git_atomic import __version__
from git_atomic.cli import AGENTS as AGENTS
from git_atomic.cli.parserbase import PROG, Commands, Parser, TopParser

# The largest `log -n`: above it is a usage error (exit 2), never clamped (the journal's LIMIT
# holds 64 bits; n >= 2**63 was an internal error); a count above the operations there are shows
# them all. The MCP log tool's schema has the same maximum (agents/mcp_tools.py; a test checks).
MAX_LOG_COUNT = 2**31 - 1


def _positive(text: str, kind: type[float], what: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value <= 0 or (isinstance(value, float) and not math.isfinite(value)):  # nan, inf
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _float_positive(text: str) -> float:
    return _positive(text, float, "seconds")


def _int_positive(text: str) -> int:
    value = int(_positive(text, int, "a whole number"))
    if value > MAX_LOG_COUNT:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_LOG_COUNT}, got {text!r}")
    return value


# One command's parser, built ahead by the warm helper (cli/helperd.py), which forks a child per
# command: each child parses with its own copy, and none pays for building it.
_PREBUILT: dict[str, argparse.ArgumentParser] = {}


def prebuild(verb: str) -> argparse.ArgumentParser:
    """`verb`'s parser, built now and kept for every later `build_parser(only=verb)`."""
    _PREBUILT[verb] = built = _PREBUILT.get(verb) or build_parser(only=verb)
    return built


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just that command's (agents call us many times a minute,
    and the other eighteen commands' options are a third of the start-up). Help, and a
    command that does not exist, always get the whole parser."""
    if only is not None and only in _PREBUILT:
        return _PREBUILT[only]
    parser = TopParser(
        prog=PROG,
        description="Make any development operation atomic over a git working tree: "
        "checkpoint, run, gate — or roll back exactly.",
    )
    parser.add_argument("--version", action="version", version=f"git-atomic {__version__}")
    c = Commands(parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=Parser), only)
    for add in (
        _add_run,
        _add_session,
        _add_taking_back,
        _add_looking,
        _add_gates_and_tdd,
        _add_upkeep,
        _add_agents,
        _add_help,
    ):
        add(c)
    if only is not None:
        return parser if c.built else build_parser()
    from git_atomic.cli.clispec import decorate

    decorate(parser)
    return parser


def _command_after_dashes(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND [ARG...]",
        help="the command that makes the change, after --",
    )


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json",
        action="store_true",
        dest="json_out",
        help="print one JSON object on stdout (human text goes to stderr)",
    )


def _history_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--history",
        choices=("commits", "shadow"),
        help="commits: visible OP-EXEC/POST-OP commits of the operation's effect; "
        "shadow: checkpoints only under refs/atomic/ (default: config)",
    )


def _gate_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-g",
        "--gate",
        action="append",
        default=[],
        dest="gates",
        metavar="GATE",
        help="a gate: a shell command line that must succeed",
    )
    p.add_argument("--no-gates", action="store_true", help="skip all gates")
    p.add_argument(
        "--all-gates",
        action="store_true",
        help="run every gate even after one fails, to report them all",
    )


def _add_run(c: Commands) -> None:
    """`run`: a command as one operation."""
    p = c.add("run", "run COMMAND as one atomic operation")
    p.add_argument("-n", "--name", help="the operation's name (default: the command's name)")
    _gate_flags(p)
    p.add_argument(
        "--timeout",
        type=_float_positive,
        metavar="S",
        help="kill the command after S seconds and roll back",
    )
    p.add_argument(
        "--ok-exit",
        metavar="CODES",
        help="exit statuses of the command that count as success, e.g. 0,1 "
        "(default: 0, or the config's ok_exit for its program)",
    )
    _history_flag(p)
    p.add_argument(
        "--isolate",
        action="store_true",
        help="run in a private worktree; apply the result only when gates pass",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait for another operation in this worktree instead of refusing",
    )
    _json_flag(p)
    _command_after_dashes(p)


def _add_session(c: Commands) -> None:
    """`begin`, `checkpoint`, `commit`, `abort`: an operation by hand."""
    p = c.add("begin", "open an operation (PRE-OP checkpoint)")
    p.add_argument("name", metavar="NAME", help="the operation's name")
    _history_flag(p)
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait for another operation in this worktree instead of refusing",
    )
    _json_flag(p)

    p = c.add("checkpoint", "record an OP-EXEC stage of the open operation")
    p.add_argument("-m", "--message", default=None, help="what this stage did")
    _json_flag(p)

    p = c.add("commit", "run the gates, then POST-OP or roll back")
    _gate_flags(p)
    _json_flag(p)

    p = c.add("abort", "roll the open operation back to its PRE-OP state")
    _json_flag(p)


def _add_taking_back(c: Commands) -> None:
    """`rollback`, `emergency`, `undo`: take back, and take back a taking back."""
    p = c.add("rollback", "take back an operation's effect, or step back inside an open one")
    p.add_argument("--op", metavar="ID", help="take back that operation's effect")
    p.add_argument(
        "--to",
        metavar="CHECKPOINT",
        help="with paths: only those paths as they were; with --whole: that whole state",
    )
    p.add_argument(
        "--whole",
        action="store_true",
        help="go back to the whole earlier state, dropping what came after (see --dry-run)",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    _json_flag(p)
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="with --to: restore only these paths (files, index entries and their flags); each "
        "is a name, never a pattern",
    )

    p = c.add("emergency", "save everything as a rescue checkpoint, return to the last good state")
    p.add_argument("--to", metavar="COMMIT", help="go to this commit instead")
    p.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    _json_flag(p)

    p = c.add("undo", "re-apply what the last rollback, emergency, recover or undo took back")
    p.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    _json_flag(p)


def _add_looking(c: Commands) -> None:
    """`status`, `recover`, `log`, `show`: what happened, and finishing what a crash left."""
    p = c.add("status", "the open or interrupted operation, what it changed, and the lock holder")
    _json_flag(p)

    p = c.add("recover", "finish an operation that a crash interrupted")
    p.add_argument(
        "--accept",
        action="store_true",
        help="keep the current state instead of returning to PRE-OP",
    )
    _json_flag(p)

    p = c.add("log", "the audit trail, newest first")
    p.add_argument(
        "-n",
        "--max-count",
        type=_int_positive,
        dest="limit",
        metavar="N",
        help="only the newest N operations",
    )
    p.add_argument(
        "--status",
        choices=("open", "committed", "rolled_back", "recovered"),
        help="only operations with this status",
    )
    p.add_argument("--name", help="only operations with this name (wildcards: * ? [])")
    p.add_argument("--since", help="only operations since, e.g. 2h, 3d, 2026-11-01")
    _json_flag(p)

    p = c.add("show", "one operation: phases, checkpoints, command, gates")
    p.add_argument("op_id", metavar="ID", help="an operation id, or 4 or more of its first digits")
    p.add_argument(
        "--diff",
        action="store_true",
        help="the change, PRE-OP to final (to the rescue, for a rolled-back one)",
    )
    p.add_argument("--stat", action="store_true", help="changed files with counts")
    _json_flag(p)


def _add_gates_and_tdd(c: Commands) -> None:
    """`gates`, `tdd`."""
    p = c.add("gates", "list the configured gates; --run runs them now")
    p.add_argument(
        "--run",
        action="store_true",
        dest="run_now",
        help="run the gates now against the working tree; change nothing",
    )
    p.add_argument(
        "--all-gates",
        action="store_true",
        help="run every gate even after one fails, to report them all",
    )
    _json_flag(p)

    p = c.add("tdd", "a TDD phase as an atomic operation: red, green or refactor")
    p.add_argument(
        "phase",
        choices=("red", "green", "refactor"),
        help="red: the test command must fail; green: it must pass; refactor: it "
        "must pass and coverage must not drop",
    )
    p.add_argument(
        "-m", "--message", default=None, help="the commit message after RED:/GREEN:/REFACTOR:"
    )
    _json_flag(p)
    _command_after_dashes(p)


def _add_upkeep(c: Commands) -> None:
    """`init`, `gc`."""
    p = c.add("init", "write a first configuration from the project's test and lint commands")
    p.add_argument(
        "--dry-run", action="store_true", help="print what it would write; write nothing"
    )
    p.add_argument("--force", action="store_true", help="replace an existing configuration")

    p = c.add("gc", "retire old checkpoints and journal rows")
    p.add_argument(
        "--older-than",
        type=float,
        default=30.0,
        metavar="DAYS",
        help="retire operations older than this (default: 30)",
    )
    _json_flag(p)


def _add_agents(c: Commands) -> None:
    """`mcp`, `hooks`, and the hidden `hook` that installed hooks call."""
    p = c.add("mcp", "a Model Context Protocol server on stdio (needs the mcp extra)")
    p.add_argument("--repo", default=None, help="the repository (default: current folder)")

    p = c.add("hooks", "install, remove or show the hooks that make agent turns atomic")
    p.add_argument(
        "action",
        choices=("install", "uninstall", "status"),
        help="install or uninstall one agent's hooks; status: what is installed where",
    )
    p.add_argument(
        "target",
        nargs="?",
        choices=AGENTS,
        metavar="AGENT",
        help="the agent: " + ", ".join(AGENTS),
    )
    p.add_argument(
        "--history",
        choices=("shadow", "commits"),
        default=None,
        help="install: what a kept turn leaves; shadow (default): its result in the working "
        "tree; commits: also one commit per turn on the branch",
    )

    if c.only in (None, "hook"):
        p = c.sub.add_parser("hook")  # what installed hooks call; not for people
        p.add_argument("target", choices=AGENTS)
        p.add_argument("event")
        p.add_argument("--history", choices=("shadow", "commits"), default="shadow")
        c.built.append("hook")  # every tool call of an agent: its parser alone, undecorated


def _add_help(c: Commands) -> None:
    """`help`."""
    p = c.add("help", "help for a command; the manual")
    p.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to explain")
    p.add_argument("--man", action="store_true", help="show the manual page, git-atomic(1)")
    p.add_argument(
        "--man-path",
        action="store_true",
        help="print a folder to add to MANPATH, so `git atomic --help` finds the page",
    )
    p.add_argument(
        "--completion-path",
        action="store_true",
        help="print the folder of the bash (git-atomic.bash) and zsh (_git-atomic) completion",
    )


def parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    # `tdd PHASE [-m MSG] -- COMMAND`: argparse's REMAINDER right after a positional takes the
    # options too, and drops the `--` when nothing stands between: split the command off first.
    if args[:1] == ["tdd"] and "--" in args:
        at = args.index("--")
        ns = parser.parse_args(args[:at])
        ns.argv = [*ns.argv, *args[at:]]
        return ns
    return parser.parse_args(args)
