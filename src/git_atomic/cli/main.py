"""The command line's entry point: parse, dispatch, and report what failed in one line.

The parser (cli/parser.py) and dispatch (cli/dispatch.py) are imported only when a command runs:
`--version` loads neither argparse nor the engine.
"""

import os
import sys

TYPE_CHECKING = False  # not `typing`'s: the client of a warm helper never imports it
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TextIO


def main(argv: "Sequence[str] | None" = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from git_atomic import __version__

        print(f"git-atomic {__version__}")
        return 0
    from git_atomic.core.errors import AtomicError

    _spouts()
    json_out = "--json" in args and "--" not in args[: args.index("--json")]
    ours = args[: args.index("--")] if "--" in args else args
    verb = next((a for a in ours if not a.startswith("-")), None)
    wants_help = verb in (None, "help") or "-h" in ours or "--help" in ours
    hook = _hook_call(args)
    if hook is None:
        from git_atomic.cli.dispatch import dispatch
        from git_atomic.cli.parser import build_parser, parse

        parser = build_parser(only=None if wants_help else verb)
    since = _clock()
    try:
        if hook is not None:
            return _hook(*hook)
        ns = parse(parser, args)
        return dispatch(ns, parser)
    except AtomicError as exc:
        return _report(exc, argv=args, json_out=json_out)
    except KeyboardInterrupt:
        sys.stderr.write("git-atomic: interrupted\n")
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback in a file
        from git_atomic.core.errors import system_refusal

        full = system_refusal(exc)
        if full is not None:
            return _report(full, argv=args, json_out=json_out)
        return _crash(exc, argv=args, json_out=json_out)
    finally:
        _hand_back(since)


def _hook_call(args: "Sequence[str]") -> "tuple[str, str, str] | None":
    """An agent's hook call as installed hooks make it (`hook AGENT EVENT`, with `--history H`
    or `--history=H` after it): (agent, event, history), read without argparse, whose import
    and parser cost every tool call of the agent two milliseconds and more. None for anything
    else, which the parser reads as before (its errors, its help)."""
    from git_atomic.cli import AGENTS

    if len(args) < 3 or args[0] != "hook" or args[1] not in AGENTS or args[2].startswith("-"):
        return None
    rest = list(args[3:])
    if rest[:1] == ["--history"] and len(rest) == 2:
        history = rest[1]
    elif len(rest) == 1 and rest[0].startswith("--history="):
        history = rest[0].removeprefix("--history=")
    elif not rest:
        history = "shadow"
    else:
        return None
    return (args[1], args[2], history) if history in ("shadow", "commits") else None


def _hook(target: str, event: str, history: str) -> int:
    """dispatch.py's `hook`, for a call `_hook_call` read."""
    from git_atomic.commands.agents import hook_event
    from git_atomic.core.children import obeyed

    return obeyed(hook_event(target=target, event=event, history=history))


def _clock() -> float:
    """Now, as the file system's ctimes say it (a second's margin: a coarse clock)."""
    import time

    return time.time() - 1.0


def _hand_back(since: float) -> None:
    """Run as root: what this command made in a git dir someone else owns goes to them
    (engine/handback.py). Nothing to do, and nothing imported, for anyone else."""
    if os.geteuid() != 0:
        return
    git = sys.modules.get("git_atomic.engine.git")
    opened = getattr(git, "OPENED", None)
    if not opened:
        return
    theirs = set()
    for git_dir, common_dir in opened:
        try:
            if os.stat(common_dir).st_uid != 0 or os.stat(git_dir).st_uid != 0:
                theirs.add((git_dir, common_dir))
        except OSError:
            continue
    if theirs:
        from git_atomic.engine import handback

        handback.give_back(theirs, since)


class _Spout:
    """A standard stream whose reader may go away (`git atomic status | head -1`): a write
    after that is dropped, never raised, so the command goes on to its end and exits with its
    own code; everything else is the stream's own."""

    def __init__(self, stream: "TextIO") -> None:
        self._stream = stream
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                self._stream.write(text if text.isascii() else self._shown(text))
            except BrokenPipeError:
                self._away()
        return len(text)

    def _shown(self, text: str) -> str:
        """`text` as the stream can carry it: a byte of a name that is not UTF-8 (a surrogate)
        as `\\xff`, as the journal keeps it, never the raw byte (a terminal's control, or
        UnicodeEncodeError where the stream is strict), nor a character the stream's encoding
        lacks."""
        encoding = getattr(self._stream, "encoding", None) or "utf-8"
        try:
            text.encode(encoding)
            return text
        except UnicodeEncodeError:
            pass
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that was no byte
            raw = text.encode("utf-8", "surrogatepass")
        text = raw.decode("utf-8", "backslashreplace")
        return text.encode(encoding, "backslashreplace").decode(encoding)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._away()

    def _away(self) -> None:
        """The rest goes nowhere: the descriptor made /dev/null, so git and the exit's own
        flush of what is buffered meet no closed pipe either."""
        self._gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        except (OSError, ValueError):
            pass
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _spouts() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _Spout):
            setattr(sys, name, _Spout(stream))


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
    from git_atomic.core.printable import bounding, given_strings, printable

    given = list(given_strings(argv))
    # One line: a newline, tab or ESC a path or a value brought is written `\\xNN`.
    sys.stderr.write(printable(bounding(line, given)) + "\n")
    if json_out:
        from git_atomic.core import jsontext

        message, hint = bounding(exc.message, given), exc.hint and bounding(exc.hint, given)
        result = {"error": message, "hint": hint, "exit_code": int(exc.exit_code)}
        if log is not None:
            result["log"] = log
        sys.stdout.write(jsontext.dumps(result) + "\n")  # a _Spout: never raises
    return int(exc.exit_code)


def _crash(exc: Exception, *, argv: list[str], json_out: bool) -> int:
    from git_atomic.core import errorlog
    from git_atomic.core.printable import bounding, given_strings, printable

    path = errorlog.write(exc, argv=argv)
    said = printable(bounding(str(exc), list(given_strings(argv))))
    sys.stderr.write(
        f"git-atomic: internal error: {type(exc).__name__}: {said} — details in {path}\n"
    )
    if json_out:
        from git_atomic.core import jsontext

        result = {"error": f"internal error: {said}", "log": path, "exit_code": 3}
        sys.stdout.write(jsontext.dumps(result) + "\n")
    return 3


def console_main(
    argv: "Sequence[str] | None" = None, first: "Callable[[], object] | None" = None
) -> int:
    # Ctrl-C before `main` has its own answer to it (the start of Python, the warm helper's
    # client), or after: one line and 130, as everywhere, never a traceback. `first` runs first
    # thing in the `try` (cli/entry.py's: Ctrl-C answered by KeyboardInterrupt again).
    try:
        if first is not None:
            first()
        return _console_main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("git-atomic: interrupted\n")
        return 130


# Python's cyclic garbage collector, as a command uses it. A command is a short process whose
# scan makes hundreds of thousands of objects that live to its end (the index's entries, the
# folder walk's names, the capture's lists); at the default thresholds (700, 10, 10) every 700
# new objects start a collection, and every hundredth walks all the older ones again: 9-10 % of
# a checkpoint's processor time at 10,000 and 100,000 files (docs/performance.md, stop 51).
# Collections still run, fewer: a cycle is freed later, never kept for good. Only our own
# processes (the command line, the warm helper and its children): never a program that
# imports the API.
_GC_THRESHOLDS = (10_000, 50, 100)


def fewer_collections() -> None:
    import gc

    gc.set_threshold(*_GC_THRESHOLDS)


def _console_main(argv: "Sequence[str] | None") -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _closed_to_null()
    fewer_collections()
    code = None
    if args[:1] != ["--version"]:
        # A short command goes to the worktree's warm helper when one answers (core/helper.py).
        from git_atomic.core import helper

        code = helper.call(args)
    if code is None:
        code = main(args)
        if args[:1] != ["--version"] and helper.WANTED:
            from git_atomic.core import helperstart

            helperstart.start(helper.WANTED[0])
    _leave_now(code)
    return code


def _closed_to_null() -> None:
    """A standard stream the process was started without (`1>&-`, `0<&-`) is the null device,
    as git makes it at its start (`sanitize_stdfds`). Python has None for it: every command
    that printed anything ended in a traceback, a hook's answer too. And a file opened later,
    ours or a child's, would take its number and receive what is printed there."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if getattr(sys, name) is None:
                mode, errors = ("r", "strict") if fd == 0 else ("w", "backslashreplace")
                stream = open(fd, mode, encoding="utf-8", errors=errors, closefd=False)  # noqa: SIM115
                setattr(sys, name, stream)  # (the process's own, open to its end)


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
