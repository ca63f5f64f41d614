"""Text a program on Windows wrote, read past the byte order mark it may begin with.

Cursor on Windows pipes each hook's payload with a UTF-8 byte order mark (EF BB BF), and so
does any wrapper that writes the payload through .NET (Windows PowerShell 5.1 flushes its
console encoding's mark into a child's stdin before a byte of the payload); Notepad and
PowerShell's `Out-File` save a settings or configuration file with one. Python's `json.loads`
of such a string stops at the first character, and a payload read as nothing made the hook do
nothing. RFC 8259 (section 8.1) lets a parser ignore the mark; `json.loads` of bytes does, and
reads UTF-16 and UTF-32 that begin with their mark too (a payload a PowerShell wrapper saved
with `Out-File` before piping it): so does a payload read here. A file we may rewrite is read
past a UTF-8 mark only: its platform reads it as UTF-8, and it is written back without one.
"""

from __future__ import annotations

import codecs
from typing import Final

UTF8_BOM: Final = codecs.BOM_UTF8
# The longer marks first: UTF-32-LE's begins with UTF-16-LE's.
_WIDE: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def payload_text(data: bytes) -> str:
    """A JSON payload's text: UTF-8 with the bytes that are not UTF-8 kept (surrogateescape, a
    file name passed on raw stays the file's own), past a UTF-8 byte order mark; UTF-16 or
    UTF-32 where it begins with their mark. UnicodeDecodeError: wide text that is no text."""
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :].decode("utf-8", "surrogateescape")
    for mark, codec in _WIDE:
        if data.startswith(mark):
            return data.decode(codec)  # the codec reads the mark, and the order, itself
    return data.decode("utf-8", "surrogateescape")


def utf8_text(data: bytes) -> str:
    """UTF-8 text past its byte order mark, if it has one. UnicodeDecodeError: not UTF-8."""
    # (not the "utf-8-sig" codec: its module is one more import of every configured command)
    return data.removeprefix(UTF8_BOM).decode("utf-8")
