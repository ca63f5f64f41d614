"""git-atomic: make any development operation atomic over a git working tree."""

TYPE_CHECKING = False  # not `typing`'s: `typing` costs every command line about 14 ms to start
# No `from __future__ import annotations` here or in cli/main.py: it reads `__future__.py` from
# disk before the command can answer Ctrl-C, and a Ctrl-C then was a traceback.
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = ["GateFailed", "__version__", "operation"]

if TYPE_CHECKING:
    from git_atomic.api import GateFailed, operation


def __getattr__(name: str) -> "Any":
    # The API pulls in the engine; keep `import git_atomic` (and --version) cheap.
    if name in ("operation", "GateFailed"):
        from git_atomic import api

        return getattr(api, name)
    raise AttributeError(name)
