"""The command's first module: `git-atomic` and `python -m git_atomic` start here.

Python answers Ctrl-C by raising KeyboardInterrupt wherever it next looks, and until
`console_main` is inside its `try` that can be before any `except` of ours (at the first
instruction of a function, say): a traceback. So from this module's first lines until that
`try`, Ctrl-C ends the process at once with the command's own line and 130; nothing has been
written yet. Only a command's process imports this module (never the warm helper, the API or the
MCP server), and a Ctrl-C its caller made it ignore stays ignored.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
else:
    import _signal  # built in and loaded: `signal` would import `enum` first


def _interrupted_at_start(signum: int, frame: object) -> None:
    import os

    os.write(2, b"git-atomic: interrupted\n")
    os._exit(130)


if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _interrupted_at_start)

from git_atomic.cli.main import console_main as _console_main  # noqa: E402


def _as_called() -> None:
    if _signal.getsignal(_signal.SIGINT) is _interrupted_at_start:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)


def console_main() -> int:
    return _console_main(None, first=_as_called)
