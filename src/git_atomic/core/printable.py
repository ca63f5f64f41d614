"""Text a person's terminal shows as it is: no control character from a name or a command.

An operation's name and its command are chosen by whoever runs it, an agent too (MCP `begin`,
`-n`, the command line): shown raw in `log`, `show`, every line about the operation and its
commit's message, their ESC and BEL would drive the terminal (`\\x1b]0;...\\x07` sets its
title; worse sequences exist). Each control character (C0, DEL, C1) is written `\\xNN`.
"""

from __future__ import annotations

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """`text` with each control character written as `\\xNN`."""
    return text if text.isprintable() else text.translate(_CONTROLS)
