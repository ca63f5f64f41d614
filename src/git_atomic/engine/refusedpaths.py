"""Names your git refuses to track: git's `verify_path` under your `core.protectNTFS` (on by
default on every system: `GIT~1`, `.git.`, `.git::$INDEX_ALLOCATION`, `.GIT ` with its trailing
space) and `core.protectHFS` (macOS's default: `.g\u200cit`, once HFS+ drops the ignorable
character).

Our own git calls take such a name (core/process.py): it is your file here, held by every
checkpoint and put back. A commit on your branch must not hold one: `git add -A` never stages
it, and your git cannot check that commit out ("invalid path 'GIT~1'"), nor leave it and come
back. So a commit holds what your git would stage (commitview.py): the name stays on disk,
untracked, as `git add -A` leaves it.

git is asked, not imitated: the candidates (a part of the path with `~`, starting `.git` in
any letter case, or with a byte past ASCII) go into a throwaway index with your two settings,
and those it leaves out are the ones it refuses. Only then: no process where no name could be
one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from git_atomic.engine.git import Repo
from git_atomic.engine.gitconfig import git_bool


def _candidate(path: bytes) -> bool:
    for part in path.split(b"/"):
        if b"~" in part or part.lower().startswith(b".git") or any(c > 0x7F for c in part):
            return True
    return False


def refused(repo: Repo, paths: Iterable[bytes]) -> frozenset[bytes]:
    """Those of `paths` your git's settings refuse to track."""
    asked = sorted({p for p in paths if _candidate(p)})
    if not asked:
        return frozenset()
    ntfs = _yours(repo, "core.protectNTFS", default=True)
    hfs = _yours(repo, "core.protectHFS", default=sys.platform == "darwin")
    if not ntfs and not hfs:
        return frozenset()
    oid = "1" * len(repo.zero_oid)  # never read: update-index --index-info only records it
    lines = b"".join(f"100644 {oid}\t".encode() + p + b"\0" for p in asked)
    settings = (
        *("-c", f"core.protectNTFS={str(ntfs).lower()}"),
        *("-c", f"core.protectHFS={str(hfs).lower()}"),
    )
    scratch = repo.scratch_path("names-index")
    env = {"GIT_INDEX_FILE": str(scratch)}
    try:
        repo.run(*settings, "update-index", "-z", "--index-info", input=lines, env=env)
        listed = repo.out("ls-files", "-z", env=env)
    finally:
        scratch.unlink(missing_ok=True)
    taken = set(listed.split(b"\0"))
    return frozenset(p for p in asked if p not in taken)


def _yours(repo: Repo, key: str, *, default: bool) -> bool:
    """Your setting of `key`: the configuration our calls read ends with our own `false`
    (core/process.py), which is not yours."""
    values = repo.config_values(key)[:-1]
    return git_bool(values[-1]) if values else default
