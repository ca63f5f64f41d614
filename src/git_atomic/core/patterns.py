"""The regular expressions of the routed commands (core/helper.py), compiled by the warm helper.

A pattern compiled at import costs every command line's start, used or not; one compiled at
first use costs every child of the warm helper again, since each starts from the helper's
memory, `re`'s cache included (half a millisecond to two each, on the path of every hook call).
`keep` names such a pattern and hands it back unchanged: the module matches with it as before
(`re.fullmatch(TEXT, ...)`, which finds it in `re`'s cache), and the helper compiles all of them
once, before its first child (cli/helperd.py).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s: imported on the way of every command
if TYPE_CHECKING:
    from typing import TypeVar

    _Text = TypeVar("_Text", str, bytes)

_KEPT: list[str | bytes] = []


def keep(text: _Text) -> _Text:
    """`text`, remembered for `compile_kept`."""
    _KEPT.append(text)
    return text


def compile_kept() -> None:
    """Every kept pattern compiled into `re`'s cache (flags 0, as the modules match)."""
    import re

    for text in _KEPT:
        re.compile(text)
