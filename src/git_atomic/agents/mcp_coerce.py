"""A tool call's arguments as the model meant them, where its client wrote them in another type.

Real clients do not always send the JSON types a tool's `inputSchema` asks for: Claude Code
(and OpenHands, LM Studio, local models' bridges) sends numbers and booleans as strings
(`"n": "5"`, `"dry_run": "true"`), some send a list as its JSON text (`"command": "[\\"ls\\"]"`),
one that fills every field sends `null` for those left out, and one sends a digits-only string
as a number (an op id prefix `1234`). Each was refused as a type error, and the model retried,
or gave up. Only what can mean one thing is converted, following the schema's declared type:
a string that is a JSON number where a number is wanted, `true`/`false` where a boolean is, a
string holding a JSON array where an array is, an integer where a string is, and a `null`
for an optional parameter is left out. Anything else stays as it came, for the schema's check
to refuse with its reason (`"echo hi"` is no argv: splitting it would guess at quoting).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final

Schema = Mapping[str, Any]

_ARGUMENTS_AS_TEXT: Final = re.compile(r'"arguments"\s*:\s*"')


def lenient(schema: Schema, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments` with each value of another type than its parameter's made that type, where
    it means one thing; a null optional parameter left out."""
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    given: dict[str, Any] = {}
    for key, value in arguments.items():
        wanted = properties.get(key)
        if wanted is None:
            given[key] = value  # not a parameter: the schema's check names it
        elif value is None and key not in required:
            continue  # "not given", as a client that fills every field writes it
        else:
            given[key] = _as(wanted, value)
    return given


def _as(schema: Schema, value: Any) -> Any:
    kind = schema.get("type")
    if kind == "array":
        if isinstance(value, str) and value.lstrip().startswith("["):
            parsed = _json(value)
            value = parsed if isinstance(parsed, list) else value
        if isinstance(value, list):
            items: Schema = schema.get("items") or {}
            return [_as(items, item) for item in value]
        return value
    if kind == "string":
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # digits a client took for a number: `1234`, an op id's start
        return value
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("integer", "number"):
        parsed = _json(text)
        is_number = isinstance(parsed, (int, float)) and not isinstance(parsed, bool)
        if is_number and math.isfinite(parsed):
            return parsed
    return value


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def call_line(line: str) -> str:
    """A `tools/call` line whose `arguments` came as the JSON text of an object (some clients
    send the whole of them so: python-sdk issue 820), or as a blank string (none), with that
    object: the SDK refused it as a protocol error, which clients do not show the model, so it
    could not correct the call. Any other line is itself, for the SDK to read or refuse."""
    if not (_ARGUMENTS_AS_TEXT.search(line) or "\\u" in line):  # a key may be escaped
        return line
    data = _json(line)
    if not isinstance(data, dict) or data.get("method") != "tools/call":
        return line
    params = data.get("params")
    if not isinstance(params, dict):
        return line
    text = params.get("arguments")
    if not isinstance(text, str):
        return line
    meant = _json(text) if text.strip() else {}
    if not isinstance(meant, dict):
        return line
    params["arguments"] = meant
    return json.dumps(data, ensure_ascii=False) + "\n"
