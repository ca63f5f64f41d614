"""`git atomic hooks install|uninstall|status`, `git atomic hook AGENT EVENT`, `git atomic mcp`."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from git_atomic.core.errors import UsageError
from git_atomic.core.vocab import HistoryMode

# Each agent's adapter: a module with `LAYOUT` (its hooks file) and `handle(event, payload)`.
ADAPTERS: Final = {
    "claude-code": "claude_code",
    "codex": "codex",
    "gemini": "gemini",
    "cursor": "cursor",
    "copilot": "copilot",
    "openhands": "openhands",
}


def hooks_install(*, target: str, root: Path, history: str = "shadow") -> int:
    """`history`: "commits" makes each kept turn one commit (the hook commands carry it)."""
    from git_atomic.agents import hookfiles

    extra = " --history commits" if history == HistoryMode.COMMITS else ""
    for line in hookfiles.install(_adapter(target).LAYOUT, root, extra_args=extra):
        print(line)
    return 0


def hooks_uninstall(*, target: str, root: Path) -> int:
    from git_atomic.agents import hookfiles

    for line in hookfiles.uninstall(_adapter(target).LAYOUT, root):
        print(line)
    return 0


def hooks_status(*, root: Path) -> int:
    """Per agent: where its hooks file is and which of our hooks it holds; then open turns."""
    from git_atomic.agents import hookfiles
    from git_atomic.engine import discovery

    for target in ADAPTERS:
        layout = _adapter(target).LAYOUT
        events = hookfiles.installed(layout, root)
        wanted = [e.name for e in layout.events]
        commits = any("--history commits" in c for c in hookfiles.commands_of(layout, root))
        lacks = hookfiles.lacking(layout, root) if events else []
        if not events:
            state = "not installed"
        elif not lacks and sorted(events) == sorted(wanted):
            state = "installed"
        else:  # (written by an older git-atomic, or some of ours changed by hand)
            named = ", ".join(lacks) or "none of the events it has now"
            state = (
                f"partly installed (lacks {named} as this release installs them;"
                f" run `{hookfiles.reinstall(layout, root)}`)"
            )
        mode = " (commits mode)" if events and commits else ""
        print(f"{target:<12} {layout.path:<32} {state}{mode}")
    from git_atomic.agents import turnabandoned

    for line in turnabandoned.open_lines(discovery.discover(str(root)).state_dir):
        print(f"open turn: {line}")
    return 0


def hook_event(*, target: str, event: str, history: str = "shadow") -> int:
    """Answer one hook call: the payload is JSON on stdin, the answer goes to stdout/stderr.

    Runs on every tool call of the agent, so it imports only its adapter.
    """
    import os

    from git_atomic.core.printable import bounding, given_strings

    adapter = _adapter(target)
    # Bytes, not the locale's text: a strict UTF-8 stdin fails on a byte that is no UTF-8 (a
    # file name passed on raw); surrogateescape keeps such a name the file's own (os.fsencode).
    # No stdin at all (Python's sys.stdin is None then) is a payload we cannot read either; a
    # stdin the platform leaves open after the payload is not waited on (core/hookstdin.py).
    from git_atomic.core import hookstdin

    try:
        data = hookstdin.from_stream(sys.stdin)
    except OSError:  # a descriptor that cannot be read: no payload either
        data = b""
    payload = _payload(data)
    environ = {**os.environ, "GIT_ATOMIC_TURN_HISTORY": history}
    result = adapter.handle(event, payload, environ)
    # A long value of the payload's (a path, a command) echoed in the answer is bounded.
    given = [*given_strings(payload)]
    sys.stdout.write(_bounded_answer(result.stdout, given))
    sys.stderr.write(bounding(result.stderr, given))
    return int(result.exit_code)


def mcp_serve(*, repo: Path | None) -> int:
    from git_atomic.agents import mcp_server

    return mcp_server.serve(repo=repo)


def _adapter(target: str) -> ModuleType:
    if target not in ADAPTERS:
        raise UsageError(f"unknown agent {target!r}; known: {', '.join(ADAPTERS)}")
    return importlib.import_module(f"git_atomic.agents.{ADAPTERS[target]}")


def _payload(data: bytes) -> dict[str, Any]:
    from git_atomic.core.bomtext import payload_text

    # A payload we cannot read still gets an answer: the hook must never break the agent. One
    # that begins with a byte order mark (Cursor on Windows sends one) is read past it: read as
    # no JSON, it was an empty payload, and the hook did nothing (core/bomtext.py).
    try:
        text = payload_text(data)
        payload = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):  # not JSON or no text; JSON nested past Python's stack
        return {}
    return payload if isinstance(payload, dict) else {}


def _bounded_answer(stdout: str, given: list[str]) -> str:
    """The platform's answer with each long value of `given` it echoes bounded: in each string
    of a JSON answer (written again only when one changed), else in the text."""
    from git_atomic.core.printable import ECHO_LIMIT, bounding

    if not any(ECHO_LIMIT < len(value) <= len(stdout) for value in given):
        return stdout
    try:
        answer = json.loads(stdout)
    except ValueError:
        return bounding(stdout, given)
    bounded = _bounded_strings(answer, given)
    return stdout if bounded == answer else json.dumps(bounded, ensure_ascii=False) + "\n"


def _bounded_strings(value: Any, given: list[str]) -> Any:
    from git_atomic.core.printable import bounding

    if isinstance(value, str):
        return bounding(value, given)
    if isinstance(value, list):
        return [_bounded_strings(item, given) for item in value]
    if isinstance(value, dict):
        return {key: _bounded_strings(item, given) for key, item in value.items()}
    return value
