"""Whether a Watchman root sees every path of a worktree in it: its `ignore_dirs` (the root's
`.watchmanconfig` as Watchman read it when the watch began, else Watchman's global
configuration) names no folder in the worktree or above it. Watchman answers a query about
such a folder with nothing and a valid clock, so a scan that trusted it missed every change
there, and a rollback left an operation's writes in it (jj-vcs/jj#10097 is the same report
against jj). `ignore_vcs` hides nothing from a query (Watchman 4.9 lists what changes in a
`.hg` or `.svn`), so only `ignore_dirs` counts. Split from watcher.py.
"""

from __future__ import annotations

import os

from git_atomic.engine import safefs, watchmanlink
from git_atomic.engine.git import Repo


def sees_all(repo: Repo, root: str, relative: str) -> bool:
    """Whether the watch of `root` reports every path of the worktree at `relative` in it (""
    where the worktree is the root). A folder named beside the worktree, or in a git dir,
    does not count; one Watchman's answer does not give, or cannot be read, does."""
    data = watchmanlink.ask(repo, ["get-config", root])
    config = data.get("config") if data is not None else None
    if not isinstance(config, dict):
        return False  # cannot tell: the usual scan
    ignored = config["ignore_dirs"] if "ignore_dirs" in config else _global_ignore_dirs()
    if not isinstance(ignored, list):
        return False  # not a list Watchman reads, or a global file that cannot be read
    for entry in ignored:
        if not isinstance(entry, str):
            return False
        folder = entry.strip("/")
        if relative and (relative == folder or relative.startswith(folder + "/")):
            return False  # the worktree inside it
        if relative and not folder.startswith(relative + "/"):
            continue  # beside the worktree
        inner = folder[len(relative) + 1 :] if relative else folder
        if ".git" not in inner.split("/"):
            return False
    return True


def _global_ignore_dirs() -> object:
    """`ignore_dirs` of Watchman's global configuration (`WATCHMAN_CONFIG_FILE`, else
    `/etc/watchman.json`, else that name with `.default`): [] where there is none; None where
    it cannot be read (a link, a folder, JSON that is not an object)."""
    path = os.environ.get("WATCHMAN_CONFIG_FILE") or "/etc/watchman.json"
    if not os.path.lexists(path):
        path += ".default"
        if not os.path.lexists(path):
            return []
    folder, name = os.path.split(path)
    import json

    try:
        with safefs.Tree(os.fsencode(folder or ".")) as top:
            data = top.read(os.fsencode(name))  # a regular file only, never through a link
        found = json.loads(data) if data is not None else None
    except (OSError, ValueError):
        return None
    return found.get("ignore_dirs", []) if isinstance(found, dict) else None
