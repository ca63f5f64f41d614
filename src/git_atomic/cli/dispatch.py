"""Dispatch: each command's options, from the parsed arguments to its function in commands/.

Each handler imports its command only when it runs; `run`, `begin` and `abort` start the scan
of the tree first, with the worktree's lock, and import the rest while it runs (engine/early.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from git_atomic.cli.parser import AGENTS
from git_atomic.cli.parserbase import PROG

if TYPE_CHECKING:
    import argparse


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
    from git_atomic.core.children import obeyed

    return obeyed(code)


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

    # The scan of the tree runs while the rest of the command is imported (early.py); not
    # with --wait, whose lock is taken once no operation is open (context.opened).
    with early.started("run", wanted=bool(ns.argv) and not ns.isolate and not ns.wait) as ready:
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

    with early.started("begin", wanted=not ns.wait) as ready:
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
    from git_atomic.engine import discovery

    root = discovery.discover().root if ns.action else Path.cwd()
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
