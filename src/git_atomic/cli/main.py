"""The command line's entry point: parse, dispatch, and report what failed in one line.

The parser (cli/parser.py) and dispatch (cli/dispatch.py) are imported only when a command runs:
`--version` loads neither argparse nor the engine.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing`'s: the client of a warm helper never imports it
if TYPE_CHECKING:
    from collections.abc import Sequence


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
    from git_atomic.cli.dispatch import dispatch
    from git_atomic.cli.parser import build_parser, parse

    parser = build_parser(only=None if wants_help else verb)
    try:
        ns = parse(parser, args)
        return dispatch(ns, parser)
    except AtomicError as exc:
        return _report(exc, argv=args, json_out=json_out)
    except KeyboardInterrupt:
        sys.stderr.write("git-atomic: interrupted\n")
        return 130
    except BrokenPipeError as exc:
        if not _reader_gone():
            return _crash(exc, argv=args, json_out=json_out)
        # `git atomic status | head -1`: the reader has all it wanted, and the rest of the
        # output (the exit's flush included) goes nowhere.
        _say("")
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: one line for the user, the traceback in a file
        return _crash(exc, argv=args, json_out=json_out)


def _reader_gone() -> bool:
    """Whether standard output is a pipe nobody reads any more (poll says POLLERR)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


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
        _say(json.dumps(result) + "\n")
    return int(exc.exit_code)


def _say(text: str) -> None:
    """The error's JSON on standard output, unless its reader is gone (the line on standard
    error and the exit code still say it)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _crash(exc: Exception, *, argv: list[str], json_out: bool) -> int:
    from git_atomic.core import errorlog

    path = errorlog.write(exc, argv=argv)
    sys.stderr.write(
        f"git-atomic: internal error: {type(exc).__name__}: {exc} — details in {path}\n"
    )
    if json_out:
        import json

        _say(json.dumps({"error": f"internal error: {exc}", "log": path, "exit_code": 3}) + "\n")
    return 3


def console_main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    code = None
    if args[:1] != ["--version"]:
        # A short command goes to the worktree's warm helper when one answers (core/helper.py).
        from git_atomic.core import helper

        code = helper.call(args)
    if code is None:
        code = main(args)
        if args[:1] != ["--version"] and helper.WANTED:
            helper.start(helper.WANTED[0])
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
