"""Text a person's terminal shows as it is: no control character from a name or a command.

An operation's name and its command are chosen by whoever runs it, an agent too (MCP `begin`,
`-n`, the command line): shown raw in `log`, `show`, every line about the operation and its
commit's message, their ESC and BEL would drive the terminal (`\\x1b]0;...\\x07` sets its
title; worse sequences exist). Each control character (C0, DEL, C1) is written `\\xNN`.
And a value echoed in an error is bounded: a short start and its length (`bounding`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """`text` with each control character written as `\\xNN`."""
    return text if text.isprintable() else text.translate(_CONTROLS)


# A value given to us (an argument, an MCP tool's argument, a hook payload's field) is echoed
# in an error to say which one is wrong; a 50 MB one came back whole. Past this many
# characters only its start and its length are shown.
ECHO_LIMIT: Final = 200
_SHOWN: Final = 40
# A net for what no given value matches (a value transformed before it is shown): no word of
# an error line is longer than the longest path a system takes.
_WORD_LIMIT: Final = 4096


def bounded(value: str) -> str:
    """`value`, or its first characters and its length when it is longer than `ECHO_LIMIT`."""
    if len(value) <= ECHO_LIMIT:
        return value
    return f"{value[:_SHOWN]}… ({len(value)} characters)"


def bounding(text: str, given: Iterable[str]) -> str:
    """`text` (an error line) with each long value of `given` it echoes, as it is or in
    Python's quotes, bounded, and any word still past `_WORD_LIMIT` too."""
    # A value longer than the text is not in it (each form of it is as long or longer).
    echoed = {v for v in given if ECHO_LIMIT < len(v) <= len(text)}
    for value in sorted(echoed, key=len, reverse=True):
        for form in dict.fromkeys((value, repr(value)[1:-1], printable(value))):
            if form in text:
                text = text.replace(form, bounded(value))
    if len(text) > _WORD_LIMIT:
        import re

        text = re.sub(rf"\S{{{_WORD_LIMIT + 1},}}", lambda m: bounded(m[0]), text)
    return text


def given_strings(value: object) -> Iterator[str]:
    """Every string in `value` (a JSON value: an MCP call's arguments, a hook's payload), keys
    too, and after the `=` of an `--option=value`."""
    if isinstance(value, str):
        yield value
        if value.startswith("-") and "=" in value:
            yield value.partition("=")[2]
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from given_strings(key)
            yield from given_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from given_strings(item)
