"""The git command among the processes that started us, working in this worktree: a `git
rebase` whose exec line runs `git atomic run` (gitdriving.py), a `git commit` whose hook does
(managedbranch.py). Read from Linux's /proc (elsewhere: none found); os alone, a few small
reads up the chain of parents, only where a caller asks."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Final

_ANCESTORS: Final = 12  # how far up the processes that started us a git is looked for
# git's own options that take their value as the next argument (`git -C DIR -c K=V commit`).
_VALUED: Final = frozenset(
    (b"-C", b"-c", b"--git-dir", b"--work-tree", b"--namespace", b"--super-prefix", b"--config-env")
)


def verb_of(argv: list[bytes]) -> bytes | None:
    """The git command a process's argv runs (`commit` of `git -c k=v commit -m x`), or None
    where it is no git's."""
    if not argv:
        return None
    name = os.path.basename(argv[0])
    if name.startswith(b"git-"):
        return name[4:]
    if name != b"git":
        return None
    rest = iter(argv[1:])
    for arg in rest:
        if arg in _VALUED:
            next(rest, None)
        elif not arg.startswith(b"-"):
            return arg
    return None


def git_ancestor(root: Path, verbs: Collection[bytes]) -> tuple[int, str, list[bytes]] | None:
    """The pid and verb of the first process up from our parent that is a `git VERB` (one of
    `verbs`) working at the top of the worktree `root` (git moves there before it works; one
    working in a repository inside it, a submodule's, is not ours), and the argv of the
    process it started on the way to us (the hook it runs: `.git/hooks/pre-commit`), or None."""
    try:
        top = os.path.realpath(root)
        with open("/proc/self/cmdline", "rb") as fh:
            below = fh.read().split(b"\0")
    except OSError:
        return None
    pid = os.getppid()
    for _ in range(_ANCESTORS):
        if pid <= 1:
            return None
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as fh:
                parent = int(fh.read().rpartition(b")")[2].split()[1])
            verb = verb_of(argv)
            if (
                verb is not None
                and verb in verbs
                and os.path.realpath(os.readlink(f"/proc/{pid}/cwd")) == top
            ):
                return pid, os.fsdecode(verb), below
        except (OSError, ValueError, IndexError):
            return None
        pid, below = parent, argv
    return None
