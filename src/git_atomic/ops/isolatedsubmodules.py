"""Submodules in an isolated run's private worktree (`run --isolate`).

The private worktree is a `git worktree add` of the user's commit: no submodule is checked out
there, each one's folder is empty. A command that writes into one (`echo x >> sub/file`, a
codegen that writes into a vendored submodule) writes into a folder git takes for an
unpopulated submodule: no capture lists it, so none of it comes home, and the run said its
result was "applied to your worktree" with that work gone with the private worktree. It is
named: the files it wrote there, and that they are not applied.
"""

from __future__ import annotations

import os
from typing import Final

from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

_SHOWN_AT_MOST: Final = 3


def written_into(private: Repo) -> list[str]:
    """One line for each submodule (a `path` of the index's `.gitmodules`) whose folder in the
    private worktree holds anything: what the command wrote there."""
    # (one lstat: the usual run has no submodule; a sparse checkout, whose patterns the private
    # worktree is given, may leave `.gitmodules` out of it: the index's is read, t7418)
    if not os.path.lexists(private.root / ".gitmodules") and not private.config_bool(
        "core.sparsecheckout"
    ):
        return []
    listed = private.run(
        "config", "-z", "--blob", ":.gitmodules", "--get-regexp", r"^submodule\..*\.path$",
        check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        return []
    lines = []
    with safefs.Tree(os.fsencode(private.root)) as tree:
        for item in listed.stdout.split(b"\0"):
            path = item.partition(b"\n")[2].rstrip(b"/")
            fd = tree.folder(path) if path else None
            names = sorted(os.listdir(fd)) if fd is not None else []  # (str: a descriptor's)
            if not names:
                continue
            shown = path.decode("utf-8", "backslashreplace")
            more = f" and {len(names) - _SHOWN_AT_MOST} more" if names[_SHOWN_AT_MOST:] else ""
            some = ", ".join(names[:_SHOWN_AT_MOST])
            lines.append(
                f"{shown}: the command wrote into this submodule's folder ({some}{more}), which "
                "is not checked out in the private worktree (`run --isolate` checks out no "
                "submodule): what it wrote there is not applied (run it without --isolate to "
                "change a submodule)"
            )
    return lines
