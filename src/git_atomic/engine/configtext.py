"""A git config file's text read as git reads it (config.c's parser), no git process: for the
readers that must not start one (an agent turn's hooks run on every tool call) and still must
find every key git finds, quoted, escaped or not: a `.gitmodules` whose `path` git wrote
quoted (`path = "a#b;c"`, `path = q\\"x`, `path = " lead"`), a submodule's `core.worktree`.

`entries` gives the (key, value) pairs `git config --file F --list` gives, in order: the
section and the key's name in lower case, a subsection as written (its `\\` escapes taken);
a value with its quotes and escapes taken, comments and outer spaces dropped, each run of
spaces or tabs outside quotes one space per character (as git does); None for a key with no
`=`. None for a text git refuses (it fails, so its callers find nothing either), and for one
holding a NUL byte (git's C strings would cut it there: never guessed at). Includes are not
followed: `git config --file` follows none either.
"""

from __future__ import annotations

import re
from typing import Final

_BOM: Final = b"\xef\xbb\xbf"
_SPACE: Final = frozenset(b" \t\n\r")  # git's isspace (sane_ctype): not \v nor \f
_ESCAPES: Final = {ord("t"): ord("\t"), ord("b"): ord("\b"), ord("n"): ord("\n")}
_ESCAPES.update({ord("\\"): ord("\\"), ord('"'): ord('"')})


class _Refused(Exception):
    pass


def _alpha(c: int) -> bool:
    return 65 <= c <= 90 or 97 <= c <= 122  # ASCII alone, as git's ctype table


def _keychar(c: int) -> bool:
    return _alpha(c) or 48 <= c <= 57 or c == ord("-")


def _lower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


class _Reader:
    """get_next_char: `\\r\\n` read as `\\n`, the end of the text as one `\\n` more."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at, self.eof = data, 0, False

    def next(self) -> int:
        if self.at >= len(self.data):
            self.eof = True
            return 10
        c = self.data[self.at]
        self.at += 1
        if c == 13 and self.data[self.at : self.at + 1] == b"\n":
            self.at += 1
            return 10
        return c


def entries(data: bytes) -> list[tuple[bytes, bytes | None]] | None:
    """The text's keys and values, as `git config --list` lists them; None where git fails."""
    if b"\0" in data:
        return None
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    elif data[:1] == _BOM[:1]:
        return None  # git tolerates no partial BOM
    out: list[tuple[bytes, bytes | None]] = []
    stem, at = b"", 0
    try:
        while at < len(data):
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end
            plain = _plain(data[at:end], stem, out)
            if plain is not None:  # (most lines: as git writes them, read whole)
                stem, at = plain, end + 1
                continue
            src = _Reader(data)  # the line, and those it goes on to, a byte at a time
            src.at = at
            stem = _line(src, out, stem)
            if src.eof:
                break
            at = src.at
    except _Refused:
        return None
    return out


# A line as git writes most: a section's head with a plain name, `key = value` with nothing
# to unquote or unescape (no tab: git makes each a space), a blank line.
_HEAD: Final = re.compile(rb'[ \t]*\[([A-Za-z0-9.-]+)(?:[ \t]+"([^"\\\n]*)")?\][ \t]*')
_KEY: Final = re.compile(rb"[ \t]*([A-Za-z][A-Za-z0-9-]*)[ \t]*(?:=[ \t]*([^\"\\#;\r\t]*))?")


def _plain(line: bytes, stem: bytes, out: list[tuple[bytes, bytes | None]]) -> bytes | None:
    """The section after a plain `line` (its entry added to `out`); None where it is not."""
    if not line.strip(b" \t"):
        return stem
    m = _KEY.fullmatch(line)
    if m is not None:
        value = m.group(2)
        out.append((stem + m.group(1).lower(), None if value is None else value.rstrip(b" ")))
        return stem
    m = _HEAD.fullmatch(line)
    if m is None:
        return None
    sub = m.group(2)
    return m.group(1).lower() + (b"." + sub if sub is not None else b"") + b"."


def _line(src: _Reader, out: list[tuple[bytes, bytes | None]], stem: bytes) -> bytes:
    """git's main loop over one line (and the lines a value goes on to): the section after."""
    comment = False
    while True:
        c = src.next()
        if c == 10:
            return stem
        if comment or c in _SPACE:
            continue
        if c in b"#;":
            comment = True
            continue
        if c == ord("["):
            head = _section(src)
            if not head:
                raise _Refused
            stem = bytes(head) + b"."
            continue
        if not _alpha(c):
            raise _Refused
        out.append(_value(src, stem + bytes([_lower(c)])))
        return stem


def _section(src: _Reader) -> bytearray:
    """get_base_var and get_extended_base_var: `[name]`, `[name.sub]`, `[name "sub"]`."""
    name = bytearray()
    while True:
        c = src.next()
        if src.eof:
            raise _Refused
        if c == ord("]"):
            return name
        if c in _SPACE:
            break
        if not _keychar(c) and c != ord("."):
            raise _Refused
        name.append(_lower(c))
    while c in _SPACE:
        if c == 10:
            raise _Refused
        c = src.next()
    if c != ord('"'):
        raise _Refused
    name.append(ord("."))
    while True:
        c = src.next()
        if c == 10:
            raise _Refused
        if c == ord('"'):
            break
        if c == ord("\\"):
            c = src.next()
            if c == 10:
                raise _Refused
        name.append(c)
    if src.next() != ord("]"):
        raise _Refused
    return name


def _value(src: _Reader, key: bytes) -> tuple[bytes, bytes | None]:
    """get_value and parse_value."""
    name = bytearray(key)
    while True:
        c = src.next()
        if src.eof or not _keychar(c):
            break
        name.append(_lower(c))
    while c in b" \t":
        c = src.next()
    if c == 10:
        return bytes(name), None
    if c != ord("="):
        raise _Refused
    value, quote, comment, space = bytearray(), False, False, 0
    while True:
        c = src.next()
        if c == 10:
            if quote:
                raise _Refused
            return bytes(name), bytes(value)
        if comment:
            continue
        if c in _SPACE and not quote:
            space += 1 if value else 0
            continue
        if not quote and c in b";#":
            comment = True
            continue
        value += b" " * space
        space = 0
        if c == ord("\\"):
            c = src.next()
            if c == 10:
                continue
            if c not in _ESCAPES:
                raise _Refused
            value.append(_ESCAPES[c])
            continue
        if c == ord('"'):
            quote = not quote
            continue
        value.append(c)


def values(data: bytes, key: bytes) -> list[bytes | None]:
    """The values of `key` (its section and name in lower case), in order; none where git
    fails to read the text."""
    return [v for k, v in entries(data) or () if k == key]


def submodule_paths(data: bytes) -> list[tuple[bytes, bytes]]:
    """A `.gitmodules` text's (name, path) pairs, as `git config --get-regexp
    '^submodule\\..*\\.path$'` lists them, but for a `path` with no value and one that starts
    with `-` (git's submodule code ignores it as well)."""
    out = []
    for k, v in entries(data) or ():
        if not v or v.startswith(b"-"):  # git ignores it: "may be ... a command-line option"
            continue
        if k.startswith(b"submodule.") and k.endswith(b".path") and len(k) >= 15:
            out.append((k[len(b"submodule.") : -len(b".path")], v))
    return out
