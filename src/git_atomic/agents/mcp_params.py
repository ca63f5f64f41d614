"""The parameters several MCP tools share (mcp_tools.py): their JSON Schemas, each described
for the model that fills it in."""

from __future__ import annotations

from typing import Any, Final

from git_atomic.agents.mcp_schemas import Schema
from git_atomic.core.vocab import HistoryMode


def param(kind: str, description: str, **more: Any) -> Schema:
    return {"type": kind, "description": description, **more}


def strings(description: str, **more: Any) -> Schema:
    return {"type": "array", "items": {"type": "string"}, "description": description, **more}


REPO: Final = param(
    "string",
    "the repository's folder (absolute, or relative to the server's folder); default: the "
    "server's --repo, else $GIT_ATOMIC_REPO, else its working directory",
)
HISTORY: Final = param(
    "string",
    "commits: visible OP-EXEC/POST-OP commits on the branch; shadow: checkpoints only under "
    "refs/atomic/, the branch and index untouched (default: the repository's config)",
    enum=[m.value for m in HistoryMode],
)
GATES: Final = strings(
    "gates for this call, each a shell command line that must exit 0 (default: the configured "
    "gates; see the gates tool)"
)
NO_GATES: Final = param("boolean", "skip every gate", default=False)
ALL_GATES: Final = param(
    "boolean", "run every gate even after one fails, to report them all", default=False
)
DRY_RUN: Final = param(
    "boolean", "only list each path that would change and how; change nothing", default=False
)
WAIT: Final = param(
    "boolean",
    "wait for an operation another program holds in this worktree instead of failing, "
    "up to 10 minutes, also for one opened with begin to be committed or aborted (refused at "
    "once while one you opened with begin here is open); calls through this server always "
    "queue behind each other",
    default=False,
)
