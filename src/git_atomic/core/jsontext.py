"""JSON that every strict parser reads, from values that may hold names that are not UTF-8.

A file or branch name is bytes; Python keeps the bytes that are not UTF-8 as lone surrogates
(surrogateescape), which `json.dumps` writes as `"\\udcff"`: valid to Python, refused or
mangled by a strict UTF-8 parser (Rust's serde_json, Go's encoding/json, jq). Such a string is
written readable instead, each of those bytes as U+FFFD, and its exact bytes are kept apart:
`exact` maps the string's JSON Pointer (RFC 6901) to its bytes, which the CLI's `--json` prints
base64 under `not_utf8` (docs/reference.md).
"""

from __future__ import annotations

import json
from typing import Final

# The key of `--json`'s object that holds the exact bytes of the strings shown with U+FFFD.
NOT_UTF8: Final = "not_utf8"


def dumps(obj: object) -> str:
    """`obj` as JSON text; where a string holds bytes that are not UTF-8, the object (a dict)
    gets `not_utf8`: each such string's JSON Pointer and its exact bytes, base64."""
    text = json.dumps(obj)
    if "\\ud" not in text:  # no surrogate at all (the usual case): nothing to look at
        return text
    exact: dict[str, bytes] = {}
    readable = clean(obj, exact)
    if exact and isinstance(readable, dict):
        import base64

        readable[NOT_UTF8] = {
            where: base64.b64encode(raw).decode("ascii") for where, raw in exact.items()
        }
    return json.dumps(readable)


def clean(value: object, exact: dict[str, bytes] | None = None, where: str = "") -> object:
    """`value` with every lone surrogate in its strings (keys too) made U+FFFD; the exact bytes
    of each string changed go into `exact`, by JSON Pointer (a key's are not kept)."""
    if isinstance(value, str):
        if _is_unicode(value):
            return value
        if exact is not None:
            exact[where] = as_bytes(value)
        return readable(value)
    if isinstance(value, dict):
        return {
            (k if not isinstance(k, str) or _is_unicode(k) else readable(k)): clean(
                v, exact, f"{where}/{_token(str(k))}"
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [clean(v, exact, f"{where}/{i}") for i, v in enumerate(value)]
    return value


def readable(text: str) -> str:
    """`text` with each lone surrogate (a byte that was not UTF-8) made U+FFFD."""
    if _is_unicode(text):
        return text
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def as_bytes(text: str) -> bytes:
    """The bytes `text` was decoded from (surrogateescape); a surrogate that was no byte (read
    from JSON's `"\\ud800"`) as UTF-8 would have it, had it a code."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
