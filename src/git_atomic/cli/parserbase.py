"""What the command line's parser is built from, apart from the commands' options (parser.py).

argparse's errors become our one-line usage errors, naming the command and offering a "did you
mean" for a mistyped choice; `git atomic --help` lists the commands in groups (clispec.py); and
the commands are added through `Commands`, which builds only the one this call runs when asked
to (an agent's hook call parses its own command's options, not the other eighteen's).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from git_atomic.core.errors import UsageError

PROG = "git-atomic"


def _untranslated(message: str) -> str:
    return message


def _untranslated_n(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


# argparse asks gettext for a translation of each of its phrases (one per option it adds),
# which imports `locale` and looks for catalogues on disk each time. Python ships none for
# argparse, and our own words are English: its words are taken as they are (2 ms of each
# command; agents run many).
argparse._ = _untranslated  # type: ignore[attr-defined]
argparse.ngettext = _untranslated_n  # type: ignore[attr-defined]


def _columns() -> int:
    """The terminal's width as `shutil.get_terminal_size` measures it, without importing
    shutil (and the archive modules it imports: 3 ms of each command)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's own, measuring the terminal without shutil: argparse makes one for every
    option it adds (to check its metavar), not only for help."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = _columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """A command's parser (and the top one's): its errors are one-line `UsageError`s."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # The report adds "git-atomic: " itself; a command's parser names its command.
        where = self.prog.removeprefix(PROG).strip()
        raise UsageError(f"{where}: " * bool(where) + usage_message(message))


class TopParser(Parser):
    def format_help(self) -> str:  # `git atomic --help`: the commands in groups
        from git_atomic.cli.clispec import top_help

        return top_help(self)


def usage_message(message: str) -> str:
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


class _Unused:
    """Stands in for the parser of a command this call does not run: its options cost nothing."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        pass


class Commands:
    """Adds each command's parser; with `only`, just that command's (the others get _Unused)."""

    def __init__(self, sub: Any, only: str | None) -> None:
        self.sub = sub  # argparse's _SubParsersAction
        self.only = only
        self.built: list[str] = []

    def add(self, name: str, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        if self.only is not None and name != self.only:
            return _Unused()  # type: ignore[return-value]
        self.built.append(name)
        parser: argparse.ArgumentParser = self.sub.add_parser(
            name, help=help_text, description=help_text, **kw
        )
        return parser
