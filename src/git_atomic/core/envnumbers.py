"""Numbers read from our environment variables (GIT_ATOMIC_*: how long to wait, how large):
a value that is no number, or no finite one, is the default, never an internal error of every
call that reads it (a hook's `GIT_ATOMIC_HOOK_LOCK_WAIT=` left empty or misspelt), nor a wait
for ever (`inf`) or none at all (`nan`). Read at each call, never at import (the warm helper
imports a module once and serves many commands, each with its own environment). os alone:
a hook call's and a capture's path imports it."""

from __future__ import annotations

import os

_INFINITE = (float("inf"), float("-inf"))


def seconds(name: str, default: float) -> float:
    """The seconds `name` says, 0 where it says less; `default` where it is unset, empty or no
    finite number."""
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    if value != value or value in _INFINITE:  # nan, inf
        return default
    return max(0.0, value)


def whole(name: str, default: int) -> int:
    """The whole number `name` says; `default` where it is unset, empty or no whole number."""
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        return default
