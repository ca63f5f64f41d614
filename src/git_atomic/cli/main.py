"""The command line: the parser and dispatch only. Logic lives in git_atomic.commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import argparse

PROG = "git-atomic"
# The agents `hooks` knows (commands/agents.py maps each to its adapter).
AGENTS = ("claude-code", "codex", "gemini", "cursor", "copilot", "openhands")


def _parser_class() -> type[argparse.ArgumentParser]:
    # argparse is imported only when a command is parsed: `--version` stays cheap.
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            from git_atomic.core.errors import UsageError

            # The report adds "git-atomic: " itself; a command's parser names its command.
            where = self.prog.removeprefix(PROG).strip()
            raise UsageError(f"{where}: " * bool(where) + _usage_message(message))

    return _Parser


def _usage_message(message: str) -> str:
    """argparse's words, with a "did you mean" for a mistyped choice; the hidden `hook` (what
    installed hooks call) is never offered."""
    import difflib
    import re

    found = re.fullmatch(r"argument (\S+): invalid choice: '?(.*?)'? \(choose from (.*)\)", message)
    if found is None:
        return message
    what, word = found[1], found[2]
    choices = [c.strip().strip("'") for c in found[3].split(",")]
    choices = [c for c in choices if c != "hook"]
    close = difflib.get_close_matches(word, choices, n=1)
    maybe = f"; did you mean {close[0]!r}?" if close else ""
    if what == "COMMAND":
        return f"no command {word!r}{maybe} (see `git atomic help`)"
    return f"{what}: invalid choice {word!r}{maybe} (choose from {', '.join(choices)})"


def _top_parser_class() -> type[argparse.ArgumentParser]:
    class _TopParser(_parser_class()):  # type: ignore[misc]
        def format_help(self) -> str:  # `git atomic --help`: the commands in groups
            from git_atomic.cli.clispec import top_help

            return top_help(self)

    return _TopParser


def _positive(text: str, kind: type[float], what: str) -> float:
    import argparse

    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _float_positive(text: str) -> float:
    return _positive(text, float, "seconds")


def _int_positive(text: str) -> int:
    return int(_positive(text, int, "a whole number"))


class _Unused:
    """Stands in for the parser of a command this call does not run: its options cost nothing."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        pass


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just that command's (agents call us many times a minute,
    and the other eighteen commands' options are a third of the start-up). Help, and a
    command that does not exist, always get the whole parser."""
    import argparse

    from git_atomic import __version__

    _Parser = _parser_class()
    parser = _top_parser_class()(
        prog=PROG,
        description="Make any development operation atomic over a git working tree: "
        "checkpoint, run, gate — or roll back exactly.",
    )
    parser.add_argument("--version", action="version", version=f"git-atomic {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=_Parser)
    built: list[str] = []

    def cmd(name: str, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return _Unused()  # type: ignore[return-value]
        built.append(name)
        return sub.add_parser(name, help=help_text, description=help_text, **kw)

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--json",
            action="store_true",
            dest="json_out",
            help="print one JSON object on stdout (human text goes to stderr)",
        )

    def history_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--history",
            choices=("commits", "shadow"),
            help="commits: visible OP-EXEC/POST-OP commits of the operation's effect; "
            "shadow: checkpoints only under refs/atomic/ (default: config)",
        )

    def gate_flags(p: argparse.ArgumentParser) -> None:
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

    p = cmd("run", "run COMMAND as one atomic operation")
    p.add_argument("-n", "--name", help="the operation's name (default: the command's name)")
    gate_flags(p)
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
    history_flag(p)
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
    json_flag(p)
    p.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND [ARG...]",
        help="the command that makes the change, after --",
    )

    p = cmd("begin", "open an operation (PRE-OP checkpoint)")
    p.add_argument("name", metavar="NAME", help="the operation's name")
    history_flag(p)
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait for another operation in this worktree instead of refusing",
    )
    json_flag(p)

    p = cmd("checkpoint", "record an OP-EXEC stage of the open operation")
    p.add_argument("-m", "--message", default=None, help="what this stage did")
    json_flag(p)

    p = cmd("commit", "run the gates, then POST-OP or roll back")
    gate_flags(p)
    json_flag(p)

    p = cmd("abort", "roll the open operation back to its PRE-OP state")
    json_flag(p)

    p = cmd("rollback", "take back an operation's effect, or step back inside an open one")
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
    json_flag(p)
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="with --to: restore only these paths (files and index entries)",
    )

    p = cmd("emergency", "save everything as a rescue checkpoint, return to the last good state")
    p.add_argument("--to", metavar="COMMIT", help="go to this commit instead")
    p.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    json_flag(p)

    p = cmd("undo", "re-apply what the last rollback, emergency, recover or undo took back")
    p.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    json_flag(p)

    p = cmd("status", "the open or interrupted operation and the lock holder")
    json_flag(p)

    p = cmd("recover", "finish an operation that a crash interrupted")
    p.add_argument(
        "--accept",
        action="store_true",
        help="keep the current state instead of returning to PRE-OP",
    )
    json_flag(p)

    p = cmd("log", "the audit trail, newest first")
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
    json_flag(p)

    p = cmd("show", "one operation: phases, checkpoints, command, gates")
    p.add_argument("op_id", metavar="ID", help="an operation id, or 4 or more of its first digits")
    p.add_argument(
        "--diff",
        action="store_true",
        help="the change, PRE-OP to final (to the rescue, for a rolled-back one)",
    )
    p.add_argument("--stat", action="store_true", help="changed files with counts")
    json_flag(p)

    p = cmd("gates", "list the configured gates; --run runs them now")
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
    json_flag(p)

    p = cmd("tdd", "a TDD phase as an atomic operation: red, green or refactor")
    p.add_argument(
        "phase",
        choices=("red", "green", "refactor"),
        help="red: the test command must fail; green: it must pass; refactor: it "
        "must pass and coverage must not drop",
    )
    p.add_argument(
        "-m", "--message", default=None, help="the commit message after RED:/GREEN:/REFACTOR:"
    )
    json_flag(p)
    p.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND [ARG...]",
        help="the command that makes the change, after --",
    )

    p = cmd("init", "write a first configuration from the project's test and lint commands")
    p.add_argument(
        "--dry-run", action="store_true", help="print what it would write; write nothing"
    )
    p.add_argument("--force", action="store_true", help="replace an existing configuration")

    p = cmd("gc", "retire old checkpoints and journal rows")
    p.add_argument(
        "--older-than",
        type=float,
        default=30.0,
        metavar="DAYS",
        help="retire operations older than this (default: 30)",
    )
    json_flag(p)

    p = cmd("mcp", "a Model Context Protocol server on stdio (needs the mcp extra)")
    p.add_argument("--repo", default=None, help="the repository (default: current folder)")

    p = cmd("hooks", "install, remove or show the hooks that make agent turns atomic")
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

    if only in (None, "hook"):
        p = sub.add_parser("hook")  # what installed hooks call; not for people
        p.add_argument("target", choices=AGENTS)
        p.add_argument("event")
        p.add_argument("--history", choices=("shadow", "commits"), default="shadow")
        built.append("hook")  # every tool call of an agent: its parser alone, undecorated

    p = cmd("help", "help for a command; the manual")
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
    if only is not None:
        return parser if built else build_parser()
    from git_atomic.cli.clispec import decorate

    decorate(parser)
    return parser


def _strip_dashdash(argv: list[str]) -> list[str]:
    return argv[1:] if argv and argv[0] == "--" else argv


def dispatch(ns: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    verb: str | None = ns.verb
    if verb is None or verb == "help":
        return _help(ns, parser)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": _run,
        "begin": _begin,
        "checkpoint": _checkpoint,
        "commit": _commit,
        "abort": _abort,
        "status": _status,
        "recover": _recover,
        "log": _log,
        "show": _show,
        "rollback": _rollback,
        "emergency": _emergency,
        "undo": _undo,
        "gates": _gates,
        "tdd": _tdd,
        "gc": _gc,
        "init": _init,
        "mcp": _mcp,
        "hooks": _hooks,
        "hook": _hook,
    }
    code = handlers[verb](ns)
    from git_atomic.core.process import INTERRUPTS

    if INTERRUPTS.received is not None and code not in (130, 143):
        # A signal arrived while a state change ran; it was finished first, now we obey.
        import signal

        return 130 if INTERRUPTS.received == signal.SIGINT else 143
    return code


def _help(ns: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from git_atomic.cli import manpage

    if getattr(ns, "man_path", False):
        print(manpage.MAN_ROOT)
        return 0
    if getattr(ns, "completion_path", False):
        print(manpage.DATA_DIR / "completion")
        return 0
    if getattr(ns, "man", False):
        return manpage.show(parser)
    topic = getattr(ns, "topic", None)
    if topic:
        from git_atomic.cli.clispec import describe

        if topic not in {c.name for c in describe(parser).commands}:
            from git_atomic.core.errors import UsageError

            raise UsageError(f"help: no command {topic!r} (see `git atomic help`)")
        parser.parse_args([topic, "--help"])
    sys.stdout.write(parser.format_help())
    return 0


def _run(ns: argparse.Namespace) -> int:
    from git_atomic.engine import early

    # The scan of the tree runs while the rest of the command is imported (early.py).
    with early.started("run", wanted=bool(ns.argv) and not ns.isolate) as ready:
        from git_atomic.commands.run import run
        from git_atomic.core.config import parse_ok_exit

        return run(
            argv=_strip_dashdash(ns.argv),
            name=ns.name,
            gates=ns.gates,
            no_gates=ns.no_gates,
            timeout=ns.timeout,
            history=ns.history,
            isolate=ns.isolate,
            wait=ns.wait,
            json_out=ns.json_out,
            all_gates=ns.all_gates,
            early=ready,
            ok_exit=parse_ok_exit(ns.ok_exit) if ns.ok_exit is not None else None,
        )


def _begin(ns: argparse.Namespace) -> int:
    from git_atomic.engine import early

    with early.started("begin") as ready:
        from git_atomic.commands.session import begin

        return begin(
            name=ns.name, history=ns.history, wait=ns.wait, json_out=ns.json_out, early=ready
        )


def _checkpoint(ns: argparse.Namespace) -> int:
    from git_atomic.commands.session import checkpoint

    return checkpoint(message=ns.message, json_out=ns.json_out)


def _commit(ns: argparse.Namespace) -> int:
    from git_atomic.commands.session import commit

    return commit(
        gates=ns.gates, no_gates=ns.no_gates, all_gates=ns.all_gates, json_out=ns.json_out
    )


def _abort(ns: argparse.Namespace) -> int:
    from git_atomic.engine import early

    with early.started("abort") as ready:
        from git_atomic.commands.session import abort

        return abort(json_out=ns.json_out, early=ready)


def _status(ns: argparse.Namespace) -> int:
    from git_atomic.commands.query import status

    return status(json_out=ns.json_out)


def _recover(ns: argparse.Namespace) -> int:
    from git_atomic.commands.recover import recover

    return recover(accept=ns.accept, json_out=ns.json_out)


def _log(ns: argparse.Namespace) -> int:
    from git_atomic.commands.query import log

    return log(limit=ns.limit, status=ns.status, name=ns.name, since=ns.since, json_out=ns.json_out)


def _show(ns: argparse.Namespace) -> int:
    from git_atomic.commands.query import show

    return show(op_id=ns.op_id, diff=ns.diff, stat=ns.stat, json_out=ns.json_out)


def _rollback(ns: argparse.Namespace) -> int:
    from git_atomic.commands.rollback import rollback

    return rollback(
        op=ns.op,
        to=ns.to,
        paths=_strip_dashdash(ns.paths),
        dry_run=ns.dry_run,
        json_out=ns.json_out,
        whole=ns.whole,
    )


def _emergency(ns: argparse.Namespace) -> int:
    from git_atomic.commands.undo import emergency

    return emergency(to=ns.to, dry_run=ns.dry_run, json_out=ns.json_out)


def _undo(ns: argparse.Namespace) -> int:
    from git_atomic.commands.undo import undo

    return undo(dry_run=ns.dry_run, json_out=ns.json_out)


def _gates(ns: argparse.Namespace) -> int:
    from git_atomic.commands.gates import gates

    return gates(run_now=ns.run_now, all_gates=ns.all_gates, json_out=ns.json_out)


def _tdd(ns: argparse.Namespace) -> int:
    from git_atomic.commands.tdd import tdd
    from git_atomic.core.errors import UsageError

    # REMAINDER right after the phase also takes the options that follow it
    # (`tdd red -m MSG -- CMD`): read them off the front, up to `--`.
    message, json_out, argv = ns.message, ns.json_out, list(ns.argv)
    while argv and argv[0] != "--":
        word = argv.pop(0)
        if word == "--json":
            json_out = True
        elif word in ("-m", "--message"):
            if not argv or argv[0] == "--":
                raise UsageError(f"{PROG} tdd: argument -m/--message: expected one argument")
            message = argv.pop(0)
        elif word.startswith(("--message=", "-m")):
            message = word.split("=", 1)[1] if word.startswith("--") else word[2:]
        else:
            raise UsageError(
                f"{PROG} tdd: unexpected {word!r}; give the command after --, "
                f"e.g. git atomic tdd {ns.phase} -- {word}"
            )
    return tdd(phase=ns.phase, message=message, argv=_strip_dashdash(argv), json_out=json_out)


def _init(ns: argparse.Namespace) -> int:
    from git_atomic.commands.init import init

    return init(dry_run=ns.dry_run, force=ns.force)


def _gc(ns: argparse.Namespace) -> int:
    from git_atomic.commands.gc import gc

    return gc(older_than_days=ns.older_than, json_out=ns.json_out)


def _mcp(ns: argparse.Namespace) -> int:
    from pathlib import Path

    from git_atomic.commands.agents import mcp_serve

    return mcp_serve(repo=Path(ns.repo) if ns.repo else None)


def _hooks(ns: argparse.Namespace) -> int:
    from pathlib import Path

    from git_atomic.commands.agents import hooks_install, hooks_status, hooks_uninstall
    from git_atomic.core.errors import UsageError
    from git_atomic.engine import git

    root = git.discover().root if ns.action else Path.cwd()
    if ns.action != "install" and ns.history is not None:
        raise UsageError(f"hooks {ns.action}: --history is an option of install")
    if ns.action == "status":
        if ns.target is not None:
            raise UsageError("hooks status: takes no AGENT (it shows every agent)")
        return hooks_status(root=root)
    if ns.target is None:
        raise UsageError(f"hooks {ns.action}: name the AGENT ({', '.join(AGENTS)})")
    if ns.action == "install":
        return hooks_install(target=ns.target, root=root, history=ns.history or "shadow")
    return hooks_uninstall(target=ns.target, root=root)


def _hook(ns: argparse.Namespace) -> int:
    from git_atomic.commands.agents import hook_event

    return hook_event(target=ns.target, event=ns.event, history=ns.history)


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    # `tdd PHASE [-m MSG] -- COMMAND`: argparse's REMAINDER right after a positional takes the
    # options too, and drops the `--` when nothing stands between: split the command off first.
    if args[:1] == ["tdd"] and "--" in args:
        at = args.index("--")
        ns = parser.parse_args(args[:at])
        ns.argv = [*ns.argv, *args[at:]]
        return ns
    return parser.parse_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from git_atomic import __version__

        print(f"git-atomic {__version__}")
        return 0
    from git_atomic.core.errors import AtomicError

    json_out = "--json" in args and "--" not in args[: args.index("--json")]
    ours = args[: args.index("--")] if "--" in args else args
    verb = next((a for a in ours if not a.startswith("-")), None)
    wants_help = verb in (None, "help") or "-h" in ours or "--help" in ours
    parser = build_parser(only=None if wants_help else verb)
    try:
        ns = _parse(parser, args)
        return dispatch(ns, parser)
    except AtomicError as exc:
        return _report(exc, argv=args, json_out=json_out)
    except KeyboardInterrupt:
        sys.stderr.write("git-atomic: interrupted\n")
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback in a file
        return _crash(exc, argv=args, json_out=json_out)


def _report(exc: Exception, *, argv: list[str], json_out: bool) -> int:
    from git_atomic.core.errors import AtomicError, GitError

    assert isinstance(exc, AtomicError)
    line = f"git-atomic: {exc.message}"
    if exc.hint:
        line += f" ({exc.hint})"
    log = None
    if isinstance(exc, GitError):  # git's own words, in full, where the line points
        from git_atomic.core import errorlog

        log = errorlog.write(exc, argv=argv)
        line += f" — git's full output in {log}"
    sys.stderr.write(line + "\n")
    if json_out:
        import json

        result = {"error": exc.message, "hint": exc.hint, "exit_code": int(exc.exit_code)}
        if log is not None:
            result["log"] = log
        sys.stdout.write(json.dumps(result) + "\n")
    return int(exc.exit_code)


def _crash(exc: Exception, *, argv: list[str], json_out: bool) -> int:
    from git_atomic.core import errorlog

    path = errorlog.write(exc, argv=argv)
    sys.stderr.write(
        f"git-atomic: internal error: {type(exc).__name__}: {exc} — details in {path}\n"
    )
    if json_out:
        import json

        sys.stdout.write(
            json.dumps({"error": f"internal error: {exc}", "log": path, "exit_code": 3}) + "\n"
        )
    return 3


def console_main(argv: Sequence[str] | None = None) -> int:
    code = main(argv)
    _leave_now(code)
    return code


def _leave_now(code: int) -> None:
    """Exit without tearing the interpreter down. Freeing every module and object one by one
    costs a few milliseconds of each command (6 ms for `begin`), and agents run many; the
    operating system frees the process at once. The command's work is done by now: files written,
    journal closed and committed, children waited for. Only when nothing else runs (no other
    thread) and the output is flushed; the usual exit otherwise, which reports what failed."""
    import atexit
    import os

    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()  # what registered itself to run at exit still runs
    os._exit(code)
