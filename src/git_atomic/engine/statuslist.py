"""What `git status` lists for a scan, read: its records, and what in them git will not hold.

A scan's `git status -z --porcelain=v2` names the files gone, the files that differ from the
scan index, and the untracked ones (`parse`); anything a scan index should never show (an
unmerged entry, a rename, an untracked nested repository) makes the scan say nothing. What git
said it could not read is refused by name (`refuse_unreadable`); untracked names git refuses to
track whatever its settings (`.git` in another letter case, a `.gitmodules` link) are never held
(`unholdable_names`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path

from git_atomic.engine.git import Repo

# Set by an operation's own rollback while its rescue is captured (rescue.py): the instant its
# PRE-OP was captured. A folder git cannot list that was made so (or made) since then is the
# operation's, and refused by name (unreadable.py); None: such folders are neither captured
# nor touched (a container's data folder you cannot list).
UNLISTABLE_SINCE: ContextVar[float | None] = ContextVar("unlistable_since", default=None)


def refuse_unreadable(stderr: bytes, root: Path) -> None:
    """Refuse a capture where git said it could not read a path it knows, or could not open a
    folder by its too long a path, or (UNLISTABLE_SINCE) list a folder made so since
    (unreadable.py; only imported then: a capture's usual way does not pay for it)."""
    if (
        b": Permission denied" in stderr
        or b"could not open directory" in stderr
        or (b"unable to stat" in stderr)
    ):
        from git_atomic.engine import unreadable

        unreadable.refuse(stderr, root=root, since=UNLISTABLE_SINCE.get())


def unholdable_names(repo: Repo, untracked: list[bytes]) -> list[bytes]:
    """Those of the `untracked` names git refuses to track whatever its settings: `.git` in
    another letter case, and a `.gitmodules` (in any letter case) that is a symbolic link
    (git's `verify_path`; only such a name is looked at on disk)."""
    found = [p for p in untracked if dot_git_variant(p)]
    links = [p for p in untracked if _gitmodules_name(p) and p not in found]
    if links:
        from git_atomic.engine import safefs

        with safefs.Tree(os.fsencode(repo.root)) as tree:
            for path in links:
                st = tree.lstat(path)
                if st is not None and stat.S_ISLNK(st.st_mode):
                    found.append(path)
    return found


def unholdable_left(names: Iterable[bytes]) -> tuple[bytes, ...]:
    """The paths a rollback names for `names` no checkpoint can hold: a `.git` in another
    letter case once, up to that name (`.GIT`, not each file git lists in it)."""
    found = set()
    for path in names:
        parts = path.split(b"/")
        at = next((i for i, p in enumerate(parts) if p.lower() == b".git" and p != b".git"), None)
        found.add(path if at is None else b"/".join(parts[: at + 1]))
    return tuple(sorted(found))


def unholdable_what(path: bytes) -> str:
    """What `path`, a name no checkpoint can hold, is, in a few words."""
    if dot_git_variant(path):
        return "a name that is .git in another letter case"
    if _gitmodules_name(path):
        return "a .gitmodules that is a symbolic link"
    return "a .git that is no repository"


def left_line(path: bytes) -> str:
    """The warning of a restore that leaves `path`, a name no checkpoint can hold, as it is
    (never "as before" over it)."""
    what = unholdable_what(path)
    how = "never lists" if what.endswith("no repository") else "refuses to track"
    return (
        f"{path.decode('utf-8', 'backslashreplace')}: {what}, which git {how}: no checkpoint "
        "holds it, so it is left as it is (remove it if it is not yours)"
    )


def left_lines(names: Iterable[bytes], paths: Iterable[bytes] = ()) -> list[str]:
    """`left_line` of each of `names` (a capture's `unholdable`) a restore of `paths` (all,
    where none are given) meets."""
    under = [p.rstrip(b"/") + b"/" for p in paths]
    return [
        left_line(name)
        for name in names
        if not under or any((name + b"/").startswith(u) for u in under)
    ]


def _gitmodules_name(path: bytes) -> bool:
    return path.rsplit(b"/", 1)[-1].lower() == b".gitmodules"


def gitmodules_link(path: bytes) -> bool:
    """Whether `path`, one git refused to track (`invalid path`), is a `.gitmodules` link: git
    refuses no other `.gitmodules`."""
    return _gitmodules_name(path) and not dot_git_variant(path)


def dot_git_variant(path: bytes) -> bool:
    """Whether a component of `path` is `.git` in another letter case (`.GIT`, `.Git`): git
    lists such a file as untracked, and refuses to track it whatever its settings."""
    return any(p.lower() == b".git" and p != b".git" for p in path.split(b"/"))


def parse(out: bytes) -> tuple[list[bytes], list[bytes], list[bytes]] | None:
    """(files gone from the disk, other files that differ from the scan index, untracked files)
    from `status -z --porcelain=v2`; None for anything a scan index should never show (unmerged
    entries, renames, an untracked nested repository)."""
    deleted: list[bytes] = []
    changed: list[bytes] = []
    untracked: list[bytes] = []
    for record in out.split(b"\0"):
        if not record:
            continue
        kind = record[:2]
        if kind == b"1 ":
            fields = record.split(b" ", 8)
            if len(fields) != 9:
                return None
            worktree = fields[1][1:2]
            if worktree == b"D":
                deleted.append(fields[8])
            elif worktree != b".":
                changed.append(fields[8])
        elif kind == b"? ":
            path = record[2:]
            if path.endswith(b"/"):
                return None
            untracked.append(path)
            changed.append(path)
        else:
            return None
    return deleted, changed, untracked
