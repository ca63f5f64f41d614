"""The branches this worktree's HEAD left since a moment, as its own reflog says.

Branches are shared by every worktree of a repository, and git records nowhere which worktree
moved one: so an operation's rollback leaves a branch other than this worktree's own that changed
while it ran (restoreplan.plan). One exception is told by this worktree's HEAD reflog, which no
other worktree writes: a branch HEAD was on here and left (`git checkout -B op/x`, then `git
checkout other`: "checkout: moving from op/x to other") was this worktree's while HEAD named
it, and git refuses to check it out anywhere else meanwhile. If it is still where HEAD last left
it, nobody moved it since: it is the operation's to take back. (The reflog's times are not
used: they are the committer's date, which `GIT_COMMITTER_DATE` sets to anything. Only a branch
that changed while the operation ran is asked about, so the one case this takes wrongly is a
branch HEAD left here before the operation at X, moved to Y before it, and moved back to X by
someone else while it ran.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from git_atomic.engine import safefs

_MOVING: Final = b"checkout: moving from "
_LARGEST: Final = 16 << 20  # a reflog longer than this is not read (the rule is not applied)


def left_here(git_dir: Path) -> dict[str, str]:
    """Each branch (`refs/heads/...`) this worktree's HEAD moved away from, with the commit it
    was at the last time it was left; empty when the reflog is not there, not a regular file
    (never read through a link, its folder's either) or too large."""
    try:
        # From the git dir down, no link followed on the way (`logs` made a link by the
        # operation would have it read elsewhere).
        with safefs.Tree(os.fsencode(git_dir)) as tree:
            st = tree.lstat(b"logs/HEAD")
            data = tree.read(b"logs/HEAD") if st is not None and st.st_size <= _LARGEST else None
    except OSError:
        return {}
    if data is None:
        return {}
    left: dict[str, str] = {}
    for line in data.split(b"\n"):
        head, tab, message = line.partition(b"\t")
        fields = head.split(b" ")
        if not tab or len(fields) < 4 or not message.startswith(_MOVING):
            continue
        names = message[len(_MOVING) :].split(b" to ")
        if len(names) != 2 or not names[0]:
            continue
        try:
            name, old = names[0].decode(), fields[0].decode("ascii")
        except UnicodeDecodeError:
            continue
        left[f"refs/heads/{name}"] = old
    return left
