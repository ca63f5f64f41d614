"""The configuration the user's worktree sees, carried to the command (and the gates) of
`run --isolate` in its private worktree. git matches `includeIf "gitdir:..."` against the git
dir it runs in (the private one is `.git/worktrees/<op>`) and `includeIf "onbranch:..."`
against the branch checked out (the private worktree is detached): a key such an include gave
the user's tree was missing there, or had another value (t1305-config-include), and the
command ran with another identity, other line endings, no filter (and the commits put on the
branch for it in commits mode were refused for want of the identity the user has). The keys
whose values differ go into our environment (`GIT_CONFIG_COUNT`, after the caller's own), so
that each ends on the value the user's worktree sees."""

from __future__ import annotations

import os
from typing import Final

from git_atomic.engine.git import Repo

# The include keys themselves: their files are what is carried, not the keys.
_INCLUDES: Final = ("include.", "includeif.")


def carry(user: Repo, private: Repo) -> None:
    """Put into our environment (the command's and the gates', and our own calls' in either
    worktree, which then read the values the user's worktree has anyway) the configuration
    values the user's worktree sees and the private one does not. Called once the private
    worktree is made, before anything of ours reads its configuration for the run."""
    try:
        count = int(os.environ.get("GIT_CONFIG_COUNT") or 0)
    except ValueError:  # git refuses it in every call: nothing of ours to add to it
        return
    mine, theirs = _listed(user), _listed(private)
    extra: list[tuple[str, str]] = []
    for key, values in mine.items():
        there = theirs.get(key, [])
        if values == there or key.startswith(_INCLUDES):
            continue
        added = [value for value in values if value not in there]
        if (there + added)[-1:] != values[-1:]:
            added.append(values[-1])  # the last value is the one git reads for one key
        extra += [(key, value) for value in added]
    for at, (key, value) in enumerate(extra, start=count):
        os.environ[f"GIT_CONFIG_KEY_{at}"] = key
        os.environ[f"GIT_CONFIG_VALUE_{at}"] = value
    if extra:
        os.environ["GIT_CONFIG_COUNT"] = str(count + len(extra))
        private.forget_config()  # its identity, its filters: as the user's worktree has them


def _listed(repo: Repo) -> dict[str, list[str]]:
    """Each key's values in the order git reads them, from the files (the values given on a
    command line, ours or the caller's, reach both worktrees alike)."""
    raw = repo.run("config", "-z", "--list", "--show-scope", check=False).stdout
    items = raw.split(b"\0")
    out: dict[str, list[str]] = {}
    for scope, item in zip(items[0::2], items[1::2], strict=False):
        if scope == b"command" or not item:
            continue
        key, sep, value = item.partition(b"\n")
        # `[x] y` alone (no `=`) is true to git; a name or a value need not be UTF-8
        text = os.fsdecode(value) if sep else "true"
        out.setdefault(os.fsdecode(key), []).append(text)
    return out
